"""The model and its file: name, size, SHA-256, format, the Keras that saved it and the
libraries that read it, its parameters and its inputs and outputs (and, in the JSON, the
config a file holds and the training state it keeps beside the weights)."""

from __future__ import annotations

from reportgen.analyse.facts import ModelFacts
from reportgen.i18n import N_, _
from reportgen.page.formatting import fmt_bytes, fmt_int
from reportgen.sections.base import Evidence, Page, Section

UNKNOWN = N_("unknown")  # what a weights-only file does not say


def collect(evidence: Evidence) -> ModelFacts:
    """The header's facts, gathered by the run from the file and the model."""
    return evidence.model


def view(facts: ModelFacts, _pictures, page: Page) -> dict:
    """The header's label/value pairs; what the file does not say is "unknown"."""
    return {"rows": summary_rows(facts, page.facts.mode)}


def summary_rows(m: ModelFacts, mode: str) -> list[tuple[str, str]]:
    """The file, the libraries, the parameters, the inputs and outputs."""
    if m.in_memory:  # no file: the model's name, its weights' hash, the Keras that holds it
        rows = [(_("Model"), m.file_name), (_("SHA-256 of the weights"), m.sha256),
                (_("Held in"), m.saved_by_keras_version)]
    else:
        rows = [(_("Model file"), m.file_name), (_("File size"), fmt_bytes(m.file_size)),
                ("SHA-256", m.sha256), (_("Format"), m.format),
                (_("Saved by Keras"), m.saved_by_keras_version)]
    if m.architecture_file_name:
        rows += [(_("Architecture from"),
                  _("{file} (SHA-256 {sha256}); the weights from {weights}").format(
                      file=m.architecture_file_name, sha256=m.architecture_sha256,
                      weights=m.file_name))]
    rows += [
        (_("Read with"), ", ".join(f"{lib} {version}" for lib, version in m.read_with)
         + f", reportgen {m.reportgen_version}"),
        (_("Generated"), m.generated_at),
        (_("Model class"), m.class_name or _(UNKNOWN)),
        (_("Parameters"), _("{total} ({trainable} trainable, {frozen} non-trainable)").format(
            total=fmt_int(m.n_params), trainable=fmt_int(m.n_trainable_params),
            frozen=fmt_int(m.n_non_trainable_params))
         if mode != "architecture-only" else _("unknown (no weights were read)")),
    ]
    rows += tensor_rows(_("Input shape"), _("Input {name}"), m.inputs, m.input_shape)
    return rows + tensor_rows(_("Output shape"), _("Output {name}"), m.outputs, m.output_shape)


def tensor_rows(label: str, named: str, tensors: tuple,
                shape: str | None) -> list[tuple[str, str]]:
    """One row for a single input (or output) by its shape (`label`); one per tensor when
    there are several, each named (`named`, a text with {name})."""
    if len(tensors) <= 1:
        return [(label, shape or _(UNKNOWN))]
    return [(named.format(name=name), f"{tensor_shape or _(UNKNOWN)} {dtype}")
            for name, tensor_shape, dtype in tensors]


def sidecar(m: ModelFacts, evidence: Evidence) -> dict:
    """The keys `model`, `model_config` (for a report that did not rebuild the model: the
    config the file holds) and `stored_state`."""
    return {
        "model": {
            "file": m.file_name, "file_size": m.file_size, "sha256": m.sha256,
            "in_memory": m.in_memory,
            "format": m.format, "saved_by_keras_version": m.saved_by_keras_version,
            "read_with": dict(m.read_with), "class_name": m.class_name or None,
            "params": ({"total": m.n_params, "trainable": m.n_trainable_params,
                        "non_trainable": m.n_non_trainable_params}
                       if evidence.mode != "architecture-only" else None),
            "input_shape": m.input_shape, "output_shape": m.output_shape,
            "inputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in m.inputs],
            "outputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in m.outputs],
            "architecture_from": ({"file": m.architecture_file_name,
                                   "sha256": m.architecture_sha256}
                                  if m.architecture_file_name else None),
        },
        "model_config": evidence.file_config,
        "stored_state": [{"path": path, "tensors": n_tensors, "values": n_values}
                         for path, n_tensors, n_values in evidence.stored_state],
    }


SECTION = Section(name="model", title=N_("Model"), template="model.html.j2", collect=collect,
                  view=view, sidecar=sidecar, toc=lambda *_args: [])
