"""Ready for int8? Each weight tensor quantised to symmetric int8 per tensor and per output
channel (SQNR, the channel that sets the range, what percentile calibration clips), how
sparse it already is (zeros, whole filters, 2:4 groups), and whether a layer wrapped for
pruning holds what its schedule promised. From the weights alone: weights-only reports have
it too, and it is built beside the model run."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.analyse.bn_fold import Fold, epsilons, folded, folds
from reportgen.analyse.quant_audit import (QUANT_KINDS, SQNR_WARN_DB, PruningClaim,
                                           TensorAudit, pruning_claims, quant_alerts,
                                           tensor_audit)
from reportgen.draw.quant_chart import sqnr_chart
from reportgen.i18n import N_
from reportgen.load.snapshot import all_layers
from reportgen.sections.base import WEIGHTS, Evidence, Page, Section
from reportgen.sections.quantisation.quant_view import quant_sidecar, quant_view

KIND_NAMES = frozenset(kind.name for kind in QUANT_KINDS)


@dataclass(frozen=True)
class QuantisationFacts:
    """Every audited tensor in model order, and the pruning claims checked."""

    tensors: tuple[TensorAudit, ...]
    claims: tuple[PruningClaim, ...]


def collect(evidence: Evidence) -> QuantisationFacts | None:
    """Each kernel's and embedding's facts, a normalisation that follows a kernel folded in
    as converters fold it (None for a model without one)."""
    if evidence.snapshot is None:
        return None
    layers = list(all_layers(evidence.snapshot.layers))
    config = evidence.config or evidence.file_config
    found = folds(evidence.facts.get("architecture"), layers, epsilons(config))
    tensors = tuple(audit for layer in layers for weight in layer.weights
                    if (audit := _audit(layer, weight, found.get(layer.path or layer.name)))
                    is not None)
    if not tensors:
        return None
    zeros = {t.layer: t.sparsity.zero_share for t in tensors
             if t.sparsity is not None and t.weight.endswith("kernel")}
    return QuantisationFacts(tensors, pruning_claims(evidence.config or evidence.file_config,
                                                     zeros))


def _audit(layer, weight, fold: Fold | None) -> TensorAudit | None:
    """One weight's audit, the fold applied to a kernel that has one."""
    path = layer.path or layer.name
    if fold is None or not weight.name.endswith("kernel"):
        return tensor_audit(path, weight.name, layer.class_name, weight.values)
    return tensor_audit(path, weight.name, layer.class_name, weight.values,
                        folded(weight.values, layer.class_name, weight.name, fold), fold.norm)


def alerts(facts: QuantisationFacts | None, evidence: Evidence):
    """The audit's alerts, an int8 warning made a note where the shipping section's run of
    that scheme on the labelled sample kept the predictions (quant_audit's rules)."""
    if facts is None:
        return ()
    shipping = evidence.measured.get("shipping")
    measured = {v.key: (v.agreement, v.accuracy.n)
                for v in getattr(shipping, "quantised", ())}
    return quant_alerts(facts.tensors, facts.claims, measured)


def pictures(facts: QuantisationFacts | None, _evidence: Evidence):
    """The SQNR-by-depth chart."""
    if facts is None:
        return None
    return sqnr_chart([t.quant.sqnr_tensor_db for t in facts.tensors],
                      [t.quant.sqnr_channel_db for t in facts.tensors],
                      [f"{t.layer}/{t.weight}" for t in facts.tensors], SQNR_WARN_DB)


def view(facts: QuantisationFacts | None, chart, page: Page) -> dict | None:
    if facts is None:
        return None
    return quant_view(facts, chart, page, [row for row in page.alert_rows
                                           if row["kind"] in KIND_NAMES])


def sidecar(facts: QuantisationFacts | None, _evidence: Evidence) -> dict:
    """The key `quantisation`: per tensor its int8 and sparsity facts, and the claims."""
    return {"quantisation": quant_sidecar(facts)}


SECTION = Section(name="quantisation", title=N_("Ready for int8?"),
                  template="quantisation.html.j2", needs=frozenset({WEIGHTS}),
                  after=("architecture",),
                  kinds=QUANT_KINDS, collect=collect, alerts=alerts, pictures=pictures,
                  view=view, sidecar=sidecar)
