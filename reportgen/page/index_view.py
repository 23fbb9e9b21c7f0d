"""The batch index's view (display strings for templates/index.html.j2) and its JSON."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from reportgen.analyse.batch_index import IndexFacts, ModelRow, SeriesTrends
from reportgen.draw.diagnostic_charts import trend_chart
from reportgen.i18n import N_, _, current_language, html_lang, ngettext
from reportgen.page.formatting import MISSING, fmt_int, fmt_number, fmt_percent
from reportgen.page.render import environment
from reportgen.page.sidecar import strict_json
from reportgen.page.write import write_all

# 2: a training callback's index has the batch index's layout (in 1 it had `epochs` and
# `relative_change`); series layers gained `alpha` and `start_change`, models `accuracy`,
# `logs` and `signature`.
SCHEMA_VERSION = 2
TREND_WIDTH = 640
STATUS_TEXT = {"report": N_("made"), "reused": N_("reused (unchanged)"), "refused": N_("refused"),
               "failed": N_("failed")}
MODE_NAMES = {"full": N_("full"), "weights-only": N_("weights-only"),
              "architecture-only": N_("architecture-only")}


def href(relative_path: str) -> str:
    """A relative file path as a link target: each part percent-encoded, so a name with '#',
    '?' or spaces still points at its file."""
    return "/".join(quote(part) for part in relative_path.split("/"))


def index_view(facts: IndexFacts) -> dict:
    """Everything the index template shows: a batch's models, or a training run's epochs."""
    n_reports = sum(1 for row in facts.rows if row.outcome.report)
    n_missing = len(facts.rows) - n_reports
    n = len(facts.rows)
    if facts.training_run is not None:
        title = _("reportgen: training run in {folder}").format(folder=facts.training_run)
        summary = ngettext("{n} epoch reported: {reports} with a report.",
                           "{n} epochs reported: {reports} with a report.", n)
    else:
        title = ngettext("reportgen batch: {n} model", "reportgen batch: {n} models", n)
        summary = (ngettext("{n} model: {reports} with a report, {missing} without (refused "
                            "or failed).", "{n} models: {reports} with a report, {missing} "
                            "without (refused or failed).", n)
                   if n_missing else
                   ngettext("{n} model: {reports} with a report.",
                            "{n} models: {reports} with a report.", n))
    log_names = list(dict.fromkeys(name for row in facts.rows for name, _value in row.logs))
    return {
        "title": title.format(n=n),
        "html_lang": html_lang(),
        "summary": summary.format(n=n, reports=n_reports, missing=n_missing),
        # The titles come from the reports' sidecars, in English: their msgids.
        "kinds": [_(title) for _name, title in facts.alert_kinds],
        "has_accuracy": any(row.accuracy is not None for row in facts.rows),
        "has_probe": any(row.probe is not None for row in facts.rows),
        "log_names": log_names,
        "rows": [row_view(k, row, facts.alert_kinds, log_names)
                 for k, row in enumerate(facts.rows, 1)],
        "series": [series_view(k, s, facts.training_run is not None)
                   for k, s in enumerate(facts.series, 1)],
        "log_headers": [_("{name} (training log)").format(name=name) for name in log_names],
        "executor": facts.executor,
        "generated_at": facts.generated_at,
        "generator": f"reportgen {facts.reportgen_version}",
    }


def row_view(number: int, row: ModelRow, kinds: tuple[tuple[str, str], ...],
             log_names: list[str]) -> dict:
    """One model's row of the table."""
    outcome = row.outcome
    counts = dict(row.alerts)
    logs = dict(row.logs)
    problem = outcome.status in ("refused", "failed")
    return {
        "number": str(number),
        "file": outcome.source,
        "href": href(outcome.report) if outcome.report else "",
        "status": (f"{_(STATUS_TEXT[outcome.status])}: {outcome.reason}" if problem
                   else _(STATUS_TEXT[outcome.status])),
        "status_class": f"status-{outcome.status}",
        "mode": _(MODE_NAMES[row.mode]) if row.mode in MODE_NAMES else row.mode or MISSING,
        "params": fmt_int(row.params) if row.params is not None else MISSING,
        "alerts": [fmt_int(counts.get(name, 0)) if outcome.report else MISSING
                   for name, _ in kinds],
        "accuracy": fmt_percent(row.accuracy) if row.accuracy is not None else MISSING,
        "probe": fmt_percent(row.probe) if row.probe is not None else MISSING,
        "silhouette": fmt_number(row.silhouette, 3),
        "logs": [fmt_number(logs[name]) if name in logs else MISSING for name in log_names],
        "mean_alpha": fmt_number(row.mean_alpha, 3),
        "seconds": f"{outcome.seconds:.2f} s" if outcome.seconds is not None else MISSING,
    }


# The trends of a series, in the order they are drawn: (LayerTrend field, the chart's label).
TRENDS = (("start_change", N_("relative change from the first epoch ‖W − W₁‖ / ‖W₁‖")),
          ("std", N_("std of each layer's main weight")),
          ("alpha", N_("power-law alpha of each layer's main weight")),
          ("relative_change", N_("relative change from initialisation ‖W − W₀‖ / ‖W₀‖")))
SERIES_LEGEND = N_("Each line is one layer's main weight (its first kernel or matrix, else its "
                   "first weight) across the epochs: how far it moved from the first epoch, "
                   "‖W − W₁‖ / ‖W₁‖; its standard deviation; its power-law alpha; and its "
                   "relative change from the same layer freshly initialised, ‖W − W₀‖ / ‖W₀‖ (a "
                   "chart the reports give no value for is left out). Hover a line for its "
                   "layer.")
TRAINING_LEGEND = N_("Each line is one layer's main weight (its first kernel or matrix, else "
                     "its first weight) across the epochs: how far it moved from the weights "
                     "training started from, ‖W − W_start‖ / ‖W_start‖; its standard deviation; "
                     "its power-law alpha; and its relative change from the same layer freshly "
                     "initialised, ‖W − W₀‖ / ‖W₀‖ (a chart the reports give no value for is "
                     "left out). Hover a line for its layer.")
# A training run's reports are compared with the weights training started from (epoch 0).
START_OF_TRAINING = N_("relative change from the start of training ‖W − W_start‖ / ‖W_start‖")


def series_view(number: int, series: SeriesTrends, training: bool = False) -> dict:
    """A series: its epochs with links, and a chart with a line per layer for each trend the
    reports give (a trend no epoch has is left out: relative change from initialisation is
    unknown for weights-only reports, alpha for layers too small to fit)."""
    epochs = list(series.epochs)
    charts = []
    for field, label in TRENDS:
        lines = [(t.path, [float("nan") if v is None else v for v in getattr(t, field)])
                 for t in series.layers]
        if any(v is not None for t in series.layers for v in getattr(t, field)):
            label = START_OF_TRAINING if training and field == "start_change" else label
            charts.append(trend_chart(epochs, lines, _(label), width=TREND_WIDTH))
    charts += separation_chart(series, epochs)
    return {"name": series.name, "anchor": f"series-{number}",
            "legend": _(TRAINING_LEGEND if training else SERIES_LEGEND),
            "epochs": [{"epoch": str(e), "href": href(r) if r else ""}
                       for e, r in zip(series.epochs, series.reports)],
            "charts": charts}


def separation_chart(series: SeriesTrends, epochs: list[int]) -> list:
    """The linear probe's accuracy and the silhouette by epoch, when the reports have them."""
    lines = [(name, [float("nan") if v is None else v for v in values])
             for name, values in ((_("linear probe accuracy"), series.probe),
                                  (_("silhouette by class"), series.silhouette))
             if any(v is not None for v in values)]
    return [trend_chart(epochs, lines, _("the representation's separation"),
                        width=TREND_WIDTH)] if lines else []


def index_dict(facts: IndexFacts) -> dict:
    """index.json: the table and the trends as plain data (README: "The batch index")."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "training" if facts.training_run is not None else "batch",
        "lang": current_language(),
        "generated_at": facts.generated_at,
        "generator": {"name": "reportgen", "version": facts.reportgen_version},
        "executor": facts.executor,
        "counts": {status: sum(1 for row in facts.rows if row.outcome.status == status)
                   for status in ("report", "reused", "refused", "failed")},
        "alert_kinds": [{"name": name, "title": title} for name, title in facts.alert_kinds],
        "models": [model_dict(row) for row in facts.rows],
        "series": [{"name": s.name, "epochs": list(s.epochs), "reports": list(s.reports),
                    "layers": [{"path": t.path, "weight": t.weight, "std": list(t.std),
                                "relative_change": list(t.relative_change),
                                "alpha": list(t.alpha), "start_change": list(t.start_change)}
                               for t in s.layers],
                    "probe_accuracy": list(s.probe), "silhouette": list(s.silhouette)}
                   for s in facts.series],
    }


def model_dict(row: ModelRow) -> dict:
    """One model's entry in index.json."""
    outcome = row.outcome
    return {"file": outcome.source, "name": outcome.name, "status": outcome.status,
            "reason": outcome.reason or None, "seconds": outcome.seconds,
            "report": outcome.report, "worker": outcome.worker or None,
            "sidecar": re.sub(r"\.html$", ".json", outcome.report) if outcome.report else None,
            "sha256": row.sha256, "mode": row.mode, "params": row.params,
            "alerts": dict(row.alerts), "mean_alpha": row.mean_alpha,
            "accuracy": row.accuracy, "logs": dict(row.logs), "signature": row.signature,
            "probe_accuracy": row.probe, "silhouette": row.silhouette,
            "series": row.series, "epoch": row.epoch}


def index_text(facts: IndexFacts) -> str:
    """index.json as strict, compact JSON."""
    return strict_json(index_dict(facts))


def write_index(facts: IndexFacts, folder: Path) -> None:
    """folder/index.html and folder/index.json, written as a pair (see write_all)."""
    write_all({folder / "index.html": environment().get_template("index.html.j2").render(
        **index_view(facts)), folder / "index.json": index_text(facts)})
