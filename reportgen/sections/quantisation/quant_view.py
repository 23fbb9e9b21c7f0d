"""The quantisation section's page strings and JSON keys."""

from __future__ import annotations

import dataclasses

import numpy as np

from reportgen.analyse.quant_audit import PRUNING_SLACK, SQNR_WARN_DB
from reportgen.analyse.quantise import CLIP_PERCENTILE
from reportgen.i18n import _
from reportgen.page.formatting import fmt_int, fmt_percent


def db(value: float | None) -> str:
    """An SQNR for the page."""
    return "—" if value is None else f"{value:.1f}"


def quant_view(facts, chart, page, alerts: list[dict]) -> dict:
    """The summary, the chart, one row per tensor and the pruning claims."""
    tensor = [t.quant.sqnr_tensor_db for t in facts.tensors if t.quant.sqnr_tensor_db is not None]
    channel = [t.quant.sqnr_channel_db for t in facts.tensors
               if t.quant.sqnr_channel_db is not None]
    zeros = sum(t.sparsity.zero_share * t.sparsity.n_values for t in facts.tensors if t.sparsity)
    values = sum(t.sparsity.n_values for t in facts.tensors if t.sparsity)
    warned = {(row["layer"], row["subject"]) for row in alerts}
    return {
        "lede": _("Each kernel and embedding quantised to symmetric int8 (scale = max|w| / "
                  "127) per tensor and per output channel, and turned back: the "
                  "signal-to-quantisation-noise ratio (SQNR, dB) says what the rounding "
                  "costs. A warning below {db:g} dB. Biases and normalisation vectors stay "
                  "out: converters keep them in int32 or fold them — a batch normalisation "
                  "right after a kernel is folded into it first, as deployed.").format(
            db=SQNR_WARN_DB),
        "summary": _("{n} tensors; median SQNR {tensor} dB per tensor, {channel} dB per "
                     "channel; {zeros} of the weights are exactly zero.").format(
            n=fmt_int(len(facts.tensors)), tensor=db(_median(tensor)),
            channel=db(_median(channel)), zeros=fmt_percent(zeros / values if values else 0)),
        "chart": chart, "alerts": alerts,
        "percentile": f"{CLIP_PERCENTILE:g}",
        "rows": [_row(t, page.anchors.get(t.layer, ""),
                      (t.layer.replace("/", " / "), t.weight) in warned)
                 for t in facts.tensors],
        "claims": [{"layer": c.layer, "target": fmt_percent(c.target),
                    "found": fmt_percent(c.found),
                    "ok": c.found >= c.target - PRUNING_SLACK} for c in facts.claims],
    }


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _row(t, anchor: str, warned: bool) -> dict:
    """One tensor's row."""
    q, s = t.quant, t.sparsity
    return {"layer": t.layer, "anchor": anchor, "class_name": t.class_name,
            "weight": t.weight if not t.folded else _("{weight} with {norm} folded in").format(
                weight=t.weight, norm=t.folded),
            "n_values": fmt_int(q.n_values), "tensor": db(q.sqnr_tensor_db),
            "channel": db(q.sqnr_channel_db), "worst": db(q.sqnr_worst_channel_db),
            "low": warned,
            "range": _("{k} ({ratio}× the median)").format(
                k=q.range_channel, ratio=f"{q.range_ratio:.1f}" if q.range_ratio else "—"),
            "saturated": fmt_percent(q.saturated_share),
            "zeros": fmt_percent(s.zero_share) if s else "—",
            "zero_filters": f"{fmt_int(s.n_zero_channels)} / {fmt_int(s.n_channels)}" if s else "—",
            "two_four": fmt_percent(s.share_2_4) if s and s.share_2_4 is not None else "—"}


def quant_sidecar(facts) -> dict | None:
    """Per tensor its int8 and sparsity facts, the thresholds, and the pruning claims."""
    if facts is None:
        return None
    return {"sqnr_warn_db": SQNR_WARN_DB, "clip_percentile": CLIP_PERCENTILE,
            "tensors": [{"layer": t.layer, "weight": t.weight, "class_name": t.class_name,
                         "folded": t.folded or None,
                         "int8": dataclasses.asdict(t.quant),
                         "sparsity": dataclasses.asdict(t.sparsity) if t.sparsity else None}
                        for t in facts.tensors],
            "pruning_claims": [dataclasses.asdict(c) for c in facts.claims]}
