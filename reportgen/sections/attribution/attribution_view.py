"""The attribution section's page strings and JSON keys."""

from __future__ import annotations

import math
from dataclasses import asdict

from reportgen.analyse.attribution_maps import SURVIVES_SPEARMAN
from reportgen.i18n import _, ngettext
from reportgen.sections.attribution.attribution_run import ig_map_name


def _rho(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "—"


# The sanity check runs IG from its black baseline: its verdict is that map's alone (the
# sample-mean map, drawn beside it, is not checked and gets no mark from it).
CHECKED_MAP = {"IG": ig_map_name("black")}


def checked_map(method: str) -> str:
    """The map (as the section names its maps) a check's method was run on."""
    return CHECKED_MAP.get(method, method)


def map_names(baselines) -> dict[str, str]:
    """Each IG map's name on the page: its baseline in the run's language."""
    return {ig_map_name(b): ig_map_name(_(b)) for b in baselines}


def attribution_view(facts, drawn, alerts: list[dict]) -> dict:
    """The lede, each input's maps, and the sanity table."""
    surviving = {checked_map(check.method) for check in facts.checks if check.survives}
    shown = map_names(facts.baselines)
    return {
        "lede": _("Integrated Gradients (IG) adds up the gradient of {score} along a straight "
                  "path from a baseline ({baselines}) to the input, in up to {steps} steps "
                  "until the attributions sum to the score's change within 5 %; SmoothGrad "
                  "averages |gradient| over {n} noisy copies (noise 15 % of the input's "
                  "range). The model is never changed.").format(
            score=facts.score, baselines=", ".join(_(b) for b in facts.baselines),
            steps=facts.max_steps, n=facts.smoothgrad_n),
        "alerts": alerts,
        "inputs": [{"title": f"{item.name} → {item.label or item.top}",
                    "id": f"attribution-{k}",
                    "plain": pics.plain,
                    "maps": [{"method": shown.get(method, method), "picture": pic,
                              "warn": method in surviving}
                             for method, pic in zip(facts.methods, pics.overlays)],
                    "ig": "; ".join(_("IG ({baseline}): {steps} steps, completeness error "
                                      "{error}").format(
                        baseline=_(b), steps=s, error="—" if e is None else f"{e:.1%}")
                        for b, s, e in zip(facts.baselines, item.steps, item.errors))}
                   for k, (item, pics) in enumerate(zip(facts.inputs, drawn))],
        "sanity_lede": ngettext(
            "Each method's maps of {n} input against those of the model with its top weighted "
            "layer, then all {layers}, re-initialised (fixed seed): the median Spearman rank "
            "correlation. Above {limit:g} with every layer random, a method's maps show the "
            "input more than the model.",
            "Each method's maps of {n} inputs against those of the model with its top weighted "
            "layer, then all {layers}, re-initialised (fixed seed): the median Spearman rank "
            "correlation. Above {limit:g} with every layer random, a method's maps show the "
            "input more than the model.", facts.n_checked).format(
            n=facts.n_checked, layers=facts.n_weighted, limit=SURVIVES_SPEARMAN),
        "checks": [{"method": shown.get(checked_map(check.method), check.method),
                    "stages": [_rho(median) for _label, median in check.stages],
                    "survives": bool(check.survives)} for check in facts.checks],
        "stage_labels": _stage_headers(facts),
    }


def _stage_headers(facts) -> list[dict]:
    """Short column heads for the stages (the top layer, then all), the full label as title."""
    stages = facts.checks[0].stages if facts.checks else ()
    heads = [_("all {n} random").format(n=facts.n_weighted)] if len(stages) == 1 else \
        [_("top layer random"), _("all {n} random").format(n=facts.n_weighted)]
    return [{"text": head, "title": label} for head, (label, _median) in zip(heads, stages)]


def attribution_sidecar(facts, reason: str) -> dict | None:
    """The facts as JSON (None with `reason` when nothing was attributed)."""
    if facts is None:
        return {"reason": reason or None, "inputs": [], "checks": []}
    return {"reason": None, "score": facts.score, "baselines": list(facts.baselines),
            "methods": list(facts.methods), "max_steps": facts.max_steps,
            "smoothgrad_n": facts.smoothgrad_n, "n_weighted": facts.n_weighted,
            "n_checked": facts.n_checked, "survives_spearman": SURVIVES_SPEARMAN,
            "inputs": [asdict(item) for item in facts.inputs],
            "checks": [{"method": c.method, "full_median": _finite(c.full_median),
                        "survives": c.survives,
                        "stages": [{"label": label, "median": _finite(median)}
                                   for label, median in c.stages]} for c in facts.checks]}


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None
