"""Which time steps or tokens decided: Integrated Gradients over a sequence model's inputs
(token ids read by an Embedding first, or a 1-D signal (time, channels) read by Conv1D, LSTM,
GRU...), for each drawn input's top class. Tokens are shown coloured in place (as words with
--vocabulary), a signal as a strip of |attribution| per time step; the most attributed
positions are listed. Baseline: token 0 (padding) for tokens, zeros for a signal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.draw import images
from reportgen.draw.figures import picture
from reportgen.errors import one_line
from reportgen.i18n import N_, _, msg
from reportgen.sections.base import (GRADIENTS, Evidence, Page, Section, class_label,
                                     input_rank)
from reportgen.sections.cam import top_class

ATTRIBUTED = 4
TOP_POSITIONS = 5
SHADES = 5  # the view's background levels for a token (CSS classes shade-0..4)
SHOWN_TOKENS = 400


@dataclass(frozen=True)
class SequenceInput:
    """One input: its name, top class (with its --labels name), per-position values (token
    ids or the signal's first channel), the attributions (signed, per position), IG's steps
    and completeness error."""

    name: str
    top: int
    label: str
    tokens: bool
    values: tuple[float, ...]
    attributions: tuple[float, ...]
    steps: int
    error: float | None


@dataclass(frozen=True)
class SequenceFacts:
    """The attributed inputs, the score explained, and the words of the tokens
    (--vocabulary; empty: token ids are shown)."""

    inputs: tuple[SequenceInput, ...]
    score: str
    vocabulary: tuple[str, ...] = ()


def prepare(_model, evidence: Evidence) -> bool:
    """Whether the model reads one sequence (token ids, or a signal): the section has work."""
    return input_rank(evidence) in (1, 2)


def measure(model, evidence: Evidence):
    """IG of the first drawn sequence inputs; None for an image model (or with none)."""
    from reportgen.load.keras.attribution import integrated_gradients

    samples, tops = _sequences(evidence)
    if not samples:
        return None
    batch = np.stack([s.arrays[0] for s in samples])
    try:
        ig = integrated_gradients(model, batch, tops)
    except ValueError as exc:
        return msg("the model cannot be attributed: {error}", error=one_line(exc))
    tokens = "int" in str(batch.dtype)
    found = tuple(_attributed(sample.name, tops[k], class_label(evidence, tops[k]), tokens,
                              batch[k], ig.attributions[k], int(ig.steps[k]), ig.errors[k])
                  for k, sample in enumerate(samples))
    return SequenceFacts(found, ig.score, evidence.vocabulary if tokens else ())


def _sequences(evidence: Evidence) -> tuple[list, list[int]]:
    """The first drawn inputs that are sequences (all of one shape) and their top classes."""
    outputs = evidence.outputs
    if outputs is None or outputs.error or len(evidence.model.inputs) != 1 or not outputs.scores:
        return [], []
    samples = [s for s in outputs.samples[:ATTRIBUTED] if s.arrays[0].ndim in (1, 2)]
    if not samples or len({s.arrays[0].shape for s in samples}) != 1:
        return [], []
    return samples, [top_class(row) for row in outputs.scores[0][:len(samples)]]


def _attributed(name: str, top: int, label: str, tokens: bool, values: np.ndarray,
                attribution, steps: int, error: float | None) -> SequenceInput:
    """One input's facts: per position its value (a signal's first channel) and its
    attribution (summed over channels)."""
    attribution = np.asarray(attribution, np.float64)
    if attribution.ndim == 2:
        attribution = attribution.sum(axis=-1)
    shown = values if values.ndim == 1 else values[:, 0]
    return SequenceInput(name, top, label, tokens, tuple(float(v) for v in shown),
                         tuple(float(a) for a in attribution), steps, error)


def collect(evidence: Evidence) -> SequenceFacts | None:
    found = evidence.measured.get("sequence")
    return found if isinstance(found, SequenceFacts) else None


def pictures(facts: SequenceFacts | None, _evidence: Evidence):
    """A signal's strip: |attribution| per time step under the signal's own strip."""
    if facts is None:
        return ()
    return tuple(None if item.tokens else picture(_strip(item), _(
        "input {name}: the signal (top) and |attribution| per time step (bottom)").format(
        name=item.name)) for item in facts.inputs)


def _strip(item: SequenceInput):
    """Two rows, the signal on its own range and |attribution| on its own, enlarged."""
    signal = np.asarray(item.values, np.float32)
    weight = np.abs(np.asarray(item.attributions, np.float32))
    rows = np.stack([_unit(signal), _unit(weight)])
    zoom = max(1, min(8, 800 // max(1, len(signal))))
    big = rows.repeat(24, axis=0).repeat(zoom, axis=1)
    return images.colourise(big, 0.0, 1.0, "viridis")


def _unit(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / ((high - low) or 1.0)


def view(facts: SequenceFacts | None, drawn, _page: Page) -> dict | None:
    if facts is None:
        return None
    return {"score": facts.score,
            "inputs": [_input_view(item, pic, facts.vocabulary) for item, pic in
                       zip(facts.inputs, drawn)]}


def _input_view(item: SequenceInput, pic, vocabulary) -> dict:
    """Tokens with a shade each (or the strip), and the top positions."""
    weights = np.asarray(item.attributions)
    top = np.argsort(-np.abs(weights), kind="stable")[:TOP_POSITIONS]
    peak = float(np.abs(weights).max()) or 1.0

    def word(k: int) -> str:
        token = int(item.values[k])
        return vocabulary[token] if 0 <= token < len(vocabulary) else str(token)
    return {"name": item.name, "top_class": item.label or item.top, "strip": pic,
            "error": "—" if item.error is None else f"{item.error:.1%}", "steps": item.steps,
            "tokens": [{"text": word(k),
                        "shade": f"shade-{min(SHADES - 1, int(abs(w) / peak * SHADES))}",
                        "sign": "pos" if w >= 0 else "neg", "title": f"{k}: {w:+.4g}"}
                       for k, w in enumerate(weights[:SHOWN_TOKENS])] if item.tokens else [],
            "top": [{"position": int(k), "what": word(int(k)) if item.tokens
                     else f"{item.values[int(k)]:.4g}", "attribution": f"{weights[k]:+.4g}"}
                    for k in top]}


def sidecar(facts: SequenceFacts | None, _evidence: Evidence) -> dict:
    """The key `sequence_attribution`: per input its attributions per position."""
    if facts is None:
        return {"sequence_attribution": None}
    return {"sequence_attribution": {
        "score": facts.score, "baseline": "token 0 / zeros",
        "inputs": [{"input": i.name, "class_index": i.top, "tokens": i.tokens,
                    "steps": i.steps, "completeness_error": i.error,
                    "values": [int(v) if i.tokens else round(v, 6) for v in i.values],
                    "attributions": [round(a, 6) for a in i.attributions]}
                   for i in facts.inputs]}}


SECTION = Section(name="sequence", title=N_("Which time steps or tokens decided"),
                  template="sequence.html.j2", needs=frozenset({GRADIENTS}),
                  collect=collect, pictures=pictures, view=view, sidecar=sidecar,
                  prepare=prepare, measure=measure,
                  measuring=N_("attributing the sequence inputs"))
