"""A model card's Markdown: YAML front matter in the Hugging Face Hub's format (library_name,
tags, metrics, model-index), then the card's sections.

Everything from the model file is untrusted: in the front matter every string is a JSON
string (valid YAML, so no value can open a new key); in the text, characters Markdown or
HTML would read as markup are escaped (md_text)."""

from __future__ import annotations

import json
import re

from reportgen.i18n import N_, _, localised

MARKUP = re.compile(r"([\\`*_\[\]|~])")
TO_FILL_MARK = "<!-- TO FILL -->"


def md_text(value: object) -> str:
    """Text as Markdown shows it literally: HTML's specials as entities, Markdown's
    punctuation backslash-escaped, on one line."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MARKUP.sub(r"\\\1", text)


def card_markdown(card, to_fill, lang: str | None = None) -> str:
    """The whole card (`lang` "en": English whatever the run's language, for the JSON)."""
    tr = (lambda text: text) if lang == "en" else _
    lines = front_matter(card) + [f"# {md_text(card.name)}", "",
                                  tr(N_("*Written by reportgen from an audit of the file; the "
                                     "sections marked TO FILL are for its owners.*")), ""]
    lines += _section(tr(N_("Model details")), [f"- **{key}**: {md_text(value)}"
                                            for key, value in card.identity])
    lines += _section(tr(N_("Architecture")), [md_text(card.architecture)])
    lines += _section(tr(N_("Evaluation")), _evaluation(card.evaluation, tr))
    lines += _section(tr(N_("Quantisation readiness")),
                      [f"- {md_text(line if lang == 'en' else localised(line))}"
                       for line in card.readiness]
                      or [tr(N_("Not audited (no weights were read)."))])
    lines += _section(tr(N_("Limitations found by the audit")),
                      [f"- {_limitation(layer, message, lang)}"
                       for layer, message in card.limitations]
                      or [tr(N_("No errors or warnings in the report."))])
    for heading, hint in to_fill:
        lines += _section(tr(heading), [TO_FILL_MARK, f"*{tr(N_('TO FILL'))}: {tr(hint)}*"])
    return "\n".join(lines).rstrip() + "\n"


def _limitation(layer: str, message: str, lang: str | None) -> str:
    """An error or warning of the report as a line of the card, in the card's language."""
    text = message if lang == "en" else localised(message)
    return md_text(f"{layer}: {text}" if layer else text)


def _section(heading: str, body: list[str]) -> list[str]:
    return [f"## {heading}", "", *body, ""]


def front_matter(card) -> list[str]:
    """The YAML header: library, tags, metrics and the evaluation's model-index entry."""
    task = "image-classification" if card.image_input else "other"
    lines = ["---", "library_name: keras", "tags:", "- keras", "- reportgen", f"- {task}"]
    evaluation = card.evaluation
    if evaluation is None:
        return lines + ["---", ""]
    sample = json.dumps(evaluation["sample"], ensure_ascii=False)
    lines += ["metrics:", "- accuracy", "model-index:",
              f"- name: {json.dumps(card.name, ensure_ascii=False)}", "  results:",
              "  - task:", f"      type: {task}", "    dataset:", f"      name: {sample}",
              f"      type: {sample}", "    metrics:", "    - type: accuracy",
              f"      value: {evaluation['accuracy']['value']:.6g}", "      name: Accuracy"]
    if evaluation["top5"]:
        lines += ["    - type: top_5_accuracy",
                  f"      value: {evaluation['top5']['value']:.6g}", "      name: Top-5 accuracy"]
    return lines + ["---", ""]


def _evaluation(evaluation: dict | None, tr) -> list[str]:
    """The evaluation's lines and per-class table."""
    if evaluation is None:
        return [tr(N_("Not evaluated: the report was made without a labelled sample "
                      "(--data)."))]
    accuracy = evaluation["accuracy"]
    lines = [f"- **{tr(N_('Sample'))}**: {md_text(evaluation['sample'])} "
             f"({evaluation['n']:,} {tr(N_('inputs'))})",
             f"- **{tr(N_('Accuracy'))}**: {accuracy['value']:.4f} "
             f"(95 % {tr(N_('interval'))} {accuracy['low']:.4f}–{accuracy['high']:.4f})"]
    if evaluation["top5"]:
        top5 = evaluation["top5"]
        lines.append(f"- **{tr(N_('Top-5 accuracy'))}**: {top5['value']:.4f} "
                     f"({top5['low']:.4f}–{top5['high']:.4f})")
    lines += [f"- **{tr(N_('Expected calibration error'))}**: {evaluation['ece']:.4f}", "",
              f"| {tr(N_('Class'))} | {tr(N_('Precision'))} | {tr(N_('Recall'))} | F1 | "
              f"{tr(N_('Support'))} |",
              "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {md_text(c['name'])} | {_score(c['precision'])} | {_score(c['recall'])} | "
              f"{_score(c['f1'])} | {c['support']:,} |" for c in evaluation["classes"]]
    return lines


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"
