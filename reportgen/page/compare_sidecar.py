"""The comparison's JSON sidecar: every number of the page, for scripts. Its keys are a public
contract (README: "The comparison's JSON")."""

from __future__ import annotations

import dataclasses

from reportgen.analyse.compare import KINDS, CompareFacts, FileFacts, LayerChange, WeightChange
from reportgen.analyse.compare_outputs import OutputComparison
from reportgen.i18n import current_language
from reportgen.page.sidecar import alert_record, strict_json

SCHEMA_VERSION = 1


def compare_dict(facts: CompareFacts) -> dict:
    """The sidecar's content as plain JSON-ready data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "compare",
        "lang": current_language(),
        "generated_at": facts.generated_at,
        "generator": {"name": "reportgen", "version": facts.reportgen_version},
        "a": file_dict(facts.a),
        "b": file_dict(facts.b),
        "alert_kinds": [dataclasses.asdict(kind) for kind in KINDS],
        "alerts": [alert_record(a) for a in facts.alerts],
        "layers": [layer_dict(layer) for layer in facts.layers],
        "unmatched": [{"path": u.path, "reason": u.reason, "weights_a": list(u.weights_a),
                       "weights_b": list(u.weights_b)} for u in facts.unmatched],
        "outputs": outputs_dict(facts.outputs) if facts.outputs else None,
        "outputs_note": facts.outputs_note or None,
    }


def file_dict(file: FileFacts) -> dict:
    """One of the two files."""
    return {"file": file.file_name, "file_size": file.file_size, "sha256": file.sha256,
            "format": file.format, "saved_by_keras_version": file.saved_by_keras_version,
            "class_name": file.class_name or None, "params": file.n_params}


def layer_dict(layer: LayerChange) -> dict:
    """A matched layer (`path` A's, `path_b` B's, `matched_by` "name" or "order and shape"):
    the whole-layer change and every weight's numbers."""
    return {"path": layer.path, "path_b": layer.path_b, "matched_by": layer.matched_by,
            "class_name": layer.class_name or None, "depth": layer.depth,
            "changed": layer.changed, "norm_a": layer.norm_a, "diff_norm": layer.diff_norm,
            "relative_change": layer.relative_change,
            "weights": [weight_dict(w) for w in layer.weights]}


def weight_dict(weight: WeightChange) -> dict:
    """One weight in A and B."""
    return {
        "name": weight.name, "shape": list(weight.shape), "identical": weight.identical,
        "norm_a": weight.norm_a, "norm_b": weight.norm_b, "diff_norm": weight.diff_norm,
        "max_abs_diff": weight.max_abs_diff, "relative_change": weight.relative_change,
        "cosine": weight.cosine, "std_a": weight.std_a, "std_b": weight.std_b,
        "std_change": weight.std_change, "n_non_finite": weight.n_non_finite,
        "spectral_a": dataclasses.asdict(weight.spectrum_a),
        "spectral_b": dataclasses.asdict(weight.spectrum_b),
    }


def outputs_dict(outputs: OutputComparison) -> dict:
    """Both models on the same inputs."""
    return {
        "n": len(outputs.inputs),
        "n_available": outputs.n_available,
        "accuracy_a": outputs.accuracy_a,
        "accuracy_b": outputs.accuracy_b,
        "inputs": [{"name": name, "source": source} for name, source in outputs.inputs],
        "agreement": outputs.agreement,
        "top_class_changed": [dataclasses.asdict(c) for c in outputs.changed],
        "cka": [dataclasses.asdict(s) for s in outputs.similarities],
    }


def compare_text(facts: CompareFacts) -> str:
    """The sidecar as strict, compact JSON (NaN and infinities written as null)."""
    return strict_json(compare_dict(facts))
