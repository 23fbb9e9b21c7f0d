"""The quantisation and sparsity audit of a model's weights: each tensor's int8 and zero facts
(quantise.py), what pruning a layer claims against what it holds, and the alerts.

Rules (docs/alerts.md holds them with the measurements behind the thresholds):
- `int8_per_tensor` (warning): one output channel's range is at least RANGE_RATIO_WARN times
  the median channel's, under its per-tensor scale some channel keeps less than
  CHANNEL_WARN_DB, and per-channel int8 reaches SQNR_WARN_DB: one channel's range sets
  everyone's scale; quantise it per channel (what TFLite does for convolutions, not what
  every converter does for every layer). The whole tensor's SQNR cannot show this: the large
  channel dominates its signal (a depthwise kernel with one channel 50 times the others
  keeps 35 dB overall while its small channels keep 4-11 dB).
- `int8_poor` (warning): even per-channel int8 stays below SQNR_WARN_DB: the kernel's values
  are spread too widely for 8 bits (outliers within channels); keep it in float16.
- Either int8 warning is a note instead when the labelled sample was run with the scheme it
  names (every tensor int8 per tensor, or per channel) and that model's top-1 agreed with the
  float model's on at least MEASURED_AGREEMENT of at least MEASURED_MIN inputs: the risk the
  SQNR shows did not reach the predictions (an embedding whose few deciding rows set the
  range, say), and the note says what was measured.
- `pruning_not_applied` (warning): a layer wrapped for pruning (tfmot's PruneLowMagnitude)
  whose kernel holds fewer zeros than its schedule's final sparsity, less PRUNING_SLACK: the
  file holds the weights before pruning (or pruning was never stripped and applied).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reportgen.analyse.alert import NOTE, WARNING, Alert, AlertKind
from reportgen.analyse.quantise import QuantFacts, SparsityFacts, quant_facts, sparsity_facts
from reportgen.i18n import N_, msg

# Below this SQNR int8 weights lose accuracy measurably. Healthy trained kernels measured
# 35-42 dB per tensor and 39-48 dB per channel (docs/alerts.md).
SQNR_WARN_DB = 25.0
# The per-tensor failure: one channel's range RANGE_RATIO_WARN times the median's, leaving
# some channel under CHANNEL_WARN_DB. The book's kernels: ratios 1.4-4.4, worst channels
# 24-39 dB; the planted depthwise outlier: ratio about 40, small channels 4-11 dB.
RANGE_RATIO_WARN = 10.0
CHANNEL_WARN_DB = 15.0
# A measured int8 model that agrees with float this often, over this many inputs, shows that
# the SQNR's risk did not reach the predictions (the shipping section measures it).
MEASURED_AGREEMENT = 0.99
MEASURED_MIN = 100
# The variant (shipping section's key) that measures each warning's scheme.
MEASURED_BY = {"int8_per_tensor": "int8_tensor", "int8_poor": "int8_channel"}
PRUNING_SLACK = 0.05
PRUNE_WRAPPERS = frozenset({"PruneLowMagnitude"})


@dataclass(frozen=True)
class TensorAudit:
    """One weight tensor: its layer (path), weight name, layer class, and its int8 and
    sparsity facts (None where the tensor is not quantised: biases, BatchNorm vectors)."""

    layer: str
    weight: str
    class_name: str
    quant: QuantFacts | None
    sparsity: SparsityFacts | None
    folded: str = ""  # the normalisation folded into the kernel before quantising


@dataclass(frozen=True)
class PruningClaim:
    """A layer wrapped for pruning: the final sparsity its schedule asks for, and the share
    of zeros its kernel holds."""

    layer: str
    target: float
    found: float


PER_TENSOR_CHANNELS = N_("{weight}: channel {channel_index} spans {ratio:.1f} times the median "
                         "channel's range, so per-tensor int8 leaves channel {worst} "
                         "{worst_db:.1f} dB; per channel: {channel:.1f} dB")
# An embedding's channels are its rows, one per token.
PER_TENSOR_ROWS = N_("{weight}: the row of token {channel_index} spans {ratio:.1f} times the "
                     "median row's range, so per-tensor int8 leaves the row of token {worst} "
                     "{worst_db:.1f} dB; per row: {channel:.1f} dB")

QUANT_KINDS = (
    AlertKind("int8_per_tensor", msg("int8 needs per-channel scales"),
              msg("a channel's range {ratio:g}× the median's, leaving a channel below {low:g} dB "
                  "per tensor, while per-channel int8 reaches {db:g} dB; a note when the "
                  "sample run with int8 per tensor agrees with float on {agree:.0%} of {n} "
                  "inputs or more", ratio=RANGE_RATIO_WARN, low=CHANNEL_WARN_DB,
                  db=SQNR_WARN_DB, agree=MEASURED_AGREEMENT, n=MEASURED_MIN),
              msg("One output channel's range sets the scale of the whole tensor, so the other "
                  "channels keep only a few int8 levels; per-channel quantisation fixes it.")),
    AlertKind("int8_poor", msg("int8 loses this kernel"),
              msg("per-channel int8 SQNR below {db:g} dB; a note when the sample run with int8 "
                  "per channel agrees with float on {agree:.0%} of {n} inputs or more",
                  db=SQNR_WARN_DB, agree=MEASURED_AGREEMENT, n=MEASURED_MIN),
              msg("Even with a scale per output channel, outliers within channels leave the "
                  "other weights a few int8 levels; keep this layer in float16.")),
    AlertKind("pruning_not_applied", msg("Pruning not applied"),
              msg("a pruning wrapper's final sparsity minus {slack:g} above the zeros held",
                  slack=PRUNING_SLACK),
              msg("The layer was wrapped for pruning, but its kernel is not that sparse: the "
                  "file holds the weights before pruning, or pruning was never applied.")),
)


def tensor_audit(layer: str, weight: str, class_name: str, values,
                 deployed=None, folded: str = "") -> TensorAudit | None:
    """One tensor's facts; None when it is neither quantised nor worth a sparsity count.
    `deployed`: the values int8 would quantise when they differ from the stored ones (a
    normalisation `folded` in); zeros are counted in the stored values."""
    quant = quant_facts(values if deployed is None else deployed, class_name, weight)
    if quant is None:
        return None
    return TensorAudit(layer, weight, class_name, quant,
                       sparsity_facts(values, class_name, weight), folded)


def pruning_claims(config: dict | None, zero_shares: dict[str, float]) -> tuple[PruningClaim, ...]:
    """The layers a config wraps for pruning, with the zero share of their kernel."""
    claims = []
    for name, target in _wrapped(config):
        if name in zero_shares:
            claims.append(PruningClaim(name, target, zero_shares[name]))
    return tuple(claims)


def _wrapped(config) -> list[tuple[str, float]]:
    """(layer name, final sparsity) of every pruning wrapper anywhere in a config."""
    found = []
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") in PRUNE_WRAPPERS and isinstance(item.get("config"), dict):
                found += _claim(item["config"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _claim(config: dict) -> list[tuple[str, float]]:
    """The wrapped layer's name and the schedule's final sparsity, when the config says."""
    schedule = config.get("pruning_schedule")
    inner = config.get("layer")
    target = schedule.get("config", {}).get("final_sparsity", schedule.get("config", {}).get(
        "target_sparsity")) if isinstance(schedule, dict) else None
    name = config.get("name") or (inner.get("config", {}).get("name")
                                  if isinstance(inner, dict) else None)
    return [(str(name), float(target))] if isinstance(target, (int, float)) and name else []


def quant_alerts(tensors: tuple[TensorAudit, ...], claims: tuple[PruningClaim, ...],
                 measured: dict[str, tuple[float, int]] | None = None) -> list[Alert]:
    """The audit's alerts (the rules in the module's docstring). `measured`: the shipping
    section's variants that ran, by key, as (agreement with float, inputs)."""
    return [_as_measured(alert, (measured or {}).get(MEASURED_BY.get(alert.kind, "")))
            for alert in _sqnr_alerts(tensors)] + \
        [_claim_alert(c) for c in claims if c.found < c.target - PRUNING_SLACK]


def _as_measured(alert: Alert, measured: tuple[float, int] | None) -> Alert:
    """A warning made a note where its scheme, measured, kept the predictions."""
    if measured is None or measured[0] < MEASURED_AGREEMENT or measured[1] < MEASURED_MIN:
        return alert
    agreement, n = measured
    return dataclasses.replace(alert, severity=NOTE, message=msg(
        "{warning}; measured: the sample's int8 model agrees with float on {agreement:.1%} of "
        "{n} inputs", warning=alert.message, agreement=agreement, n=n),
        values=alert.values + (("measured_agreement", round(agreement, 4)),
                               ("measured_inputs", n)))


def _sqnr_alerts(tensors: tuple[TensorAudit, ...]) -> list[Alert]:
    """int8_poor and int8_per_tensor, from each tensor's SQNRs."""
    found = []
    for t in tensors:
        q = t.quant
        if q is None or q.sqnr_channel_db is None or q.sqnr_tensor_db is None:
            continue
        values = (("sqnr_tensor_db", round(q.sqnr_tensor_db, 2)),
                  ("sqnr_channel_db", round(q.sqnr_channel_db, 2)),
                  ("range_channel", q.range_channel),
                  ("range_ratio", round(q.range_ratio, 2) if q.range_ratio else 0))
        if q.sqnr_channel_db < SQNR_WARN_DB:
            found.append(Alert("int8_poor", WARNING, t.layer, msg(
                "{weight}: int8 SQNR {channel:.1f} dB per channel, {tensor:.1f} dB per tensor "
                "(below {limit:g} dB)", weight=t.weight, channel=q.sqnr_channel_db,
                tensor=q.sqnr_tensor_db, limit=SQNR_WARN_DB), t.weight, values, SQNR_WARN_DB))
        elif _one_channel_sets_range(q):
            text = PER_TENSOR_ROWS if t.class_name == "Embedding" else PER_TENSOR_CHANNELS
            found.append(Alert("int8_per_tensor", WARNING, t.layer, msg(
                text, weight=t.weight, channel_index=q.range_channel, ratio=q.range_ratio,
                worst=q.worst_channel, worst_db=q.sqnr_worst_channel_db,
                channel=q.sqnr_channel_db), t.weight,
                values + (("worst_channel", q.worst_channel),
                          ("sqnr_worst_channel_db", round(q.sqnr_worst_channel_db, 2))),
                CHANNEL_WARN_DB))
    return found


def _one_channel_sets_range(q: QuantFacts) -> bool:
    """The per-tensor failure (see the module's docstring)."""
    return (q.range_ratio is not None and q.range_ratio >= RANGE_RATIO_WARN
            and q.sqnr_worst_channel_db is not None
            and q.sqnr_worst_channel_db < CHANNEL_WARN_DB)


def _claim_alert(claim: PruningClaim) -> Alert:
    return Alert("pruning_not_applied", WARNING, claim.layer, msg(
        "the pruning schedule asks for {target:.0%} zeros; the kernel holds {found:.1%}",
        target=claim.target, found=claim.found), "kernel",
        (("target", claim.target), ("found", round(claim.found, 4))), claim.target)
