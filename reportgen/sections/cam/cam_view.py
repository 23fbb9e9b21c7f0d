"""The Grad-CAM section's view and its JSON: display strings and pictures for
templates/sections/cam.html.j2 (which computes nothing), and the sidecar's `cam` key."""

from __future__ import annotations

from collections.abc import Sequence

from reportgen.analyse.alert import Alert
from reportgen.analyse.cam import (BORDER_BAND, QUADRANTS, TRUE_CLASS, CamFacts, CamInputFacts,
                                   CamMapFacts, MapStats)
from reportgen.draw.cam_pictures import OVERLAY_ALPHA, CamPictures
from reportgen.draw.figures import Picture
from reportgen.i18n import N_, _
from reportgen.page.formatting import fmt_number, fmt_percent

ANCHOR = "cam"
CHOSEN = {
    "automatic": N_("chosen automatically: the last convolution whose output is still larger "
                    "than 1 × 1 (--cam-layer chooses another)"),
    "--cam-layer": N_("chosen with --cam-layer"),
}


def cam_section(facts: CamFacts, pictures: Sequence[CamPictures],
                alerts: Sequence[dict], bar: Picture) -> dict:
    """Everything cam.html.j2 shows, as strings and pictures."""
    height, width, channels = facts.layer_shape
    return {
        "anchor": ANCHOR,
        "layer": facts.layer.replace("/", " / "),
        "layer_shape": f"{height} × {width} × {channels}",
        "chosen": _(CHOSEN[facts.chosen]) if facts.chosen in CHOSEN else facts.chosen,
        "score": facts.score,
        "overlay": _("Each map is scaled to its own peak and laid over the input at "
                     "{opacity:g} % opacity. Border: the share of the map's mass in the outer "
                     "{band:g} % of the height and width; peak: its largest value before "
                     "scaling (compare it between inputs, not methods).").format(
                         opacity=100 * OVERLAY_ALPHA, band=100 * BORDER_BAND),
        "bar": bar,
        "alerts": list(alerts),
        "n_mistakes": str(sum(1 for item in facts.inputs if is_mistake(item))),
        "inputs": [{"name": item.name, "anchor": f"{ANCHOR}-input-{item.index}",
                    "title": (_("Mistake: {name}") if is_mistake(item) else
                              _("Input: {name}")).format(name=item.name),
                    "first_mistake": is_mistake(item) and not any(
                        is_mistake(before) for before in facts.inputs[:k]),
                    "plain": drawn.plain,
                    "maps": [map_view(m, overlay, facts.layer,
                                      f"{ANCHOR}-input-{item.index}-map-{j}")
                             for j, (m, overlay) in enumerate(zip(item.maps, drawn.overlays))]}
                   for k, (item, drawn) in enumerate(zip(facts.inputs, pictures))],
    }


def is_mistake(item: CamInputFacts) -> bool:
    """Whether the maps are of a labelled sample's mistake: one of them is of its true class
    alone (not the class the model gave it)."""
    return any(m.roles == (TRUE_CLASS,) for m in item.maps)


def map_view(m: CamMapFacts, overlay: Picture | None, layer: str, anchor: str = "") -> dict:
    """One map's caption, statistics line and picture (with the id of its enlarged view), or
    the note saying why there is none."""
    label = (f"{m.class_label} ({m.class_index})" if m.class_label
             else _("class {index}").format(index=m.class_index))
    return {
        "id": anchor,
        "method": m.method,
        "class_text": label,
        "roles": _(" and ").join(_(role) for role in m.roles),
        "overlay": overlay,
        "stats": stats_text(m.stats, m.peak) if m.stats is not None else "",
        "note": blank_note(m, layer),
    }


def stats_text(stats: MapStats, peak: float) -> str:
    """Where the mass lies, in one line."""
    return _("border {border} · most in the {quadrant} ({share}) · mean {mean} · peak "
             "{peak}").format(border=fmt_percent(stats.border_share),
                              quadrant=_(stats.quadrant), share=fmt_percent(stats.quadrant_share),
                              mean=fmt_number(stats.mean, 2), peak=fmt_number(peak, 3))


def blank_note(m: CamMapFacts, layer: str) -> str:
    """Why a map is not drawn ("" when it is)."""
    if m.non_finite:
        return _("Not drawn: the gradients or activations hold NaN or Inf values.")
    if m.all_zero:
        return _("All zero: no channel of {layer} raises this class's score here (the "
                 "weighted sum is zero or negative everywhere), so there is nothing to "
                 "show.").format(layer=layer)
    return ""


def cam_sidecar(facts: CamFacts | None, alerts: Sequence[Alert] = (),
                reason: str = "") -> dict:
    """The sidecar's `cam` key: the layer, how it was chosen, the score, and per input and
    map its class, method and statistics (`reason` says why there are none)."""
    if facts is None:
        return {"layer": None, "reason": reason or None, "inputs": [], "alerts": []}
    return {
        "layer": facts.layer,
        "chosen": facts.chosen,
        "layer_shape": list(facts.layer_shape),
        "input_size": list(facts.input_size),
        "score": facts.score,
        "border_band": BORDER_BAND,
        "reason": None,
        "inputs": [{"index": item.index, "input": item.name,
                    "maps": [map_record(m) for m in item.maps]} for item in facts.inputs],
        "alerts": [{"kind": a.kind, "layer": a.layer, "subject": a.subject,
                    "message": a.message, "values": dict(a.values), "threshold": a.threshold}
                   for a in alerts],
    }


def map_record(m: CamMapFacts) -> dict:
    """One map in the sidecar; statistics null when it is all zero or non-finite."""
    s = m.stats
    return {
        "class_index": m.class_index, "class_label": m.class_label or None,
        "roles": list(m.roles), "method": m.method, "score": m.score, "peak": m.peak,
        "all_zero": m.all_zero, "non_finite": m.non_finite,
        "mean": s.mean if s else None,
        "border_share": s.border_share if s else None,
        "quadrant": s.quadrant if s else None,
        "quadrant_shares": dict(zip(QUADRANTS, s.quadrant_shares)) if s else None,
    }
