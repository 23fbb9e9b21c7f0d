"""What shipping would cost, measured: the labelled sample's accuracy with the weights
fake-quantised to int8 per tensor, int8 per channel and float16, with Keras's own
`model.quantize("int8")` where it covers layers, and after global magnitude pruning at 50, 80
and 90 %; with each, the share of inputs whose top-1 agrees with the float model. And each
layer's activation range over a calibration sample (the first CALIBRATION inputs of the
labelled sample, else the inputs run) with int8's error at that range.

The model is never changed: a clone runs the variants (load/keras/variants.py).
"""

from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np

from reportgen.analyse.activation_ranges import ActivationRange, activation_ranges
from reportgen.analyse.data_run import joined, predicted_classes
from reportgen.analyse.evaluation import RateInterval, wilson_interval
from reportgen.analyse.quant_variants import (PRUNING_LEVELS, float16_weights, int8_weights,
                                              magnitude_threshold, pruned_weights)
from reportgen.i18n import N_, _, msg
from reportgen.page.formatting import fmt_percent
from reportgen.sections.base import INPUTS, MODEL, Evidence, Page, Section

CALIBRATION = 256
LITE_CALIBRATION = 100  # the representative sample TensorFlow Lite calibrates on


@dataclass(frozen=True)
class VariantAccuracy:
    """One variant's accuracy on the sample, its agreement with the float model's top-1,
    and what computed it (`path`)."""

    key: str
    label: str
    path: str
    accuracy: RateInterval
    agreement: float


@dataclass(frozen=True)
class ShippingFacts:
    """The float accuracy, the variants', and the calibration's activation ranges."""

    float_accuracy: RateInterval | None
    quantised: tuple[VariantAccuracy, ...]
    pruned: tuple[VariantAccuracy, ...]
    ranges: tuple[ActivationRange, ...]
    n_calibration: int
    keras_note: str = ""


def measure(model, evidence: Evidence) -> ShippingFacts | None:
    """The variants' accuracies (with an evaluated sample) and the activation ranges."""
    outputs = evidence.outputs
    if outputs is None or outputs.error:
        return None
    data, sample = outputs.data, outputs.sample
    calibration = _calibration(outputs)
    ranges = activation_ranges(joined(model.forward_chunks([calibration]))[0]) \
        if calibration is not None else ()
    if data is None or data.evaluation is None or data.predicted is None:
        return ShippingFacts(None, (), (), ranges, len(calibration) if calibration is not None
                             else 0)
    return _accuracies(model, sample, data, ranges, len(calibration))


def _calibration(outputs) -> np.ndarray | None:
    """The calibration inputs: the labelled sample's first CALIBRATION, else those run."""
    if outputs.sample is not None:
        return outputs.sample.conformed(range(min(CALIBRATION, outputs.sample.n_images)))
    arrays = [s.arrays[0] for s in outputs.samples if len(s.arrays) == 1]
    return np.stack(arrays[:CALIBRATION]) if arrays and len(
        {a.shape for a in arrays}) == 1 else None


def _accuracies(model, sample, data, ranges, n_calibration: int) -> ShippingFacts:
    """Every variant run over the sample, then scored against its labels and the float
    model's predictions."""
    weights = model.weight_arrays()
    variants = {"int8_tensor": int8_weights(False), "int8_channel": int8_weights(True),
                "float16": float16_weights}
    variants |= {f"pruned_{int(level * 100)}": pruned_weights(magnitude_threshold(weights, level))
                 for level in PRUNING_LEVELS}
    def batches():
        return (batch for _start, batch in sample.batches())
    found = model.variant_outputs(variants, batches)
    keras_outputs, covered = model.keras_int8_outputs(batches)
    lite = model.tflite_int8_outputs(sample.conformed(range(min(LITE_CALIBRATION,
                                                                sample.n_images))), batches)
    labels, reference = sample.labels, data.predicted
    scored = {key: _scored(key, out, labels, reference) for key, out in found.items()}
    quantised = [scored["int8_tensor"], scored["int8_channel"], scored["float16"]]
    note = ""
    if lite is not None:
        quantised.append(_scored("tflite_int8", lite, labels, reference))
    if keras_outputs is not None:
        quantised.append(_scored("keras_int8", keras_outputs, labels, reference))
        note = msg("Keras's model.quantize(\"int8\") quantised {n} layers: {names}; the "
                   "others stay float in its row.", n=len(covered), names=", ".join(covered))
    return ShippingFacts(data.evaluation.accuracy, tuple(quantised),
                         tuple(scored[key] for key in scored if key.startswith("pruned")),
                         ranges, n_calibration, note)


LABELS = {"int8_tensor": (N_("int8 weights, per tensor"), N_("reportgen's fake quantisation")),
          "int8_channel": (N_("int8 weights, per channel"), N_("reportgen's fake quantisation")),
          "float16": (N_("float16 weights"), N_("reportgen's fake quantisation")),
          "keras_int8": (N_("int8, Keras's model.quantize"), N_("Keras's own int8 layers")),
          "tflite_int8": (N_("int8 weights and activations, TensorFlow Lite"),
                          N_("TensorFlow Lite's converter (100 calibration inputs) and "
                             "interpreter")),
          "pruned_50": (N_("50 % of weights pruned"), N_("global magnitude pruning")),
          "pruned_80": (N_("80 % of weights pruned"), N_("global magnitude pruning")),
          "pruned_90": (N_("90 % of weights pruned"), N_("global magnitude pruning"))}


def _scored(key: str, outputs: np.ndarray, labels: np.ndarray,
            reference: np.ndarray) -> VariantAccuracy:
    """A variant's accuracy and agreement from its outputs."""
    predicted = predicted_classes(outputs)
    label, path = LABELS[key]
    return VariantAccuracy(key, label, path,
                           wilson_interval(int(np.sum(predicted == labels)), len(labels)),
                           float(np.mean(predicted == reference)))


def collect(evidence: Evidence) -> ShippingFacts | None:
    return evidence.measured.get("shipping")


def view(facts: ShippingFacts | None, _pictures, _page: Page) -> dict | None:
    """The accuracy table, the pruning table and the activation ranges."""
    if facts is None:
        return None
    return {"float": _accuracy_text(facts.float_accuracy) if facts.float_accuracy else "",
            "quantised": [_variant_row(v) for v in facts.quantised],
            "pruned": [_variant_row(v) for v in facts.pruned],
            "keras_note": facts.keras_note,
            "calibration": _("Activation ranges over {n} calibration inputs; int8 at [min, "
                             "99.99th percentile], 256 levels.").format(n=facts.n_calibration),
            "ranges": [{"layer": r.layer, "low": f"{r.low:.4g}", "high": f"{r.high:.4g}",
                        "clip": f"{r.clip_high:.4g}", "clipped": fmt_percent(r.clipped_share),
                        "sqnr": "—" if r.sqnr_db is None else f"{r.sqnr_db:.1f}"}
                       for r in facts.ranges]}


def _accuracy_text(a: RateInterval) -> str:
    return f"{a.value:.4f} ({a.low:.4f}–{a.high:.4f})"


def _variant_row(v: VariantAccuracy) -> dict:
    return {"label": _(v.label), "path": _(v.path), "accuracy": _accuracy_text(v.accuracy),
            "agreement": fmt_percent(v.agreement)}


def sidecar(facts: ShippingFacts | None, _evidence: Evidence) -> dict:
    """The key `shipping`: accuracies with intervals and agreement, activation ranges."""
    if facts is None:
        return {"shipping": None}
    return {"shipping": {"float_accuracy": asdict(facts.float_accuracy)
                         if facts.float_accuracy else None,
                         "quantised": [asdict(v) for v in facts.quantised],
                         "pruned": [asdict(v) for v in facts.pruned],
                         "keras_note": str(facts.keras_note),
                         "n_calibration": facts.n_calibration,
                         "activation_ranges": [asdict(r) for r in facts.ranges]}}


SECTION = Section(name="shipping", title=N_("Accuracy after int8 and pruning"),
                  template="shipping.html.j2", needs=frozenset({MODEL, INPUTS}),
                  collect=collect, view=view, sidecar=sidecar, measure=measure,
                  measuring=N_("measuring quantised and pruned variants"))
