"""Both models of `reportgen compare` run on the same inputs in lockstep, a minibatch at a
time: each batch's layer outputs go into each layer's minibatch CKA and are dropped, so that
memory holds one batch of both models, never every layer output of every input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.analyse.cka import MinibatchCka
from reportgen.analyse.compare_outputs import LayerSimilarity, layer_similarity
from reportgen.analyse.data_run import ACTIVATION_BUDGET, batch_size_for
from reportgen.i18n import msg
from reportgen.load.samples import Sample

MIN_BATCH = 8  # the minibatch CKA estimator needs 4 inputs a batch, and is steadier with more


@dataclass(frozen=True)
class BothRun:
    """Each layer's CKA between A and B, each model's first output for every input, and why
    a model could not run ("" when both ran)."""

    similarities: tuple[LayerSimilarity, ...] = ()
    scores_a: np.ndarray | None = None
    scores_b: np.ndarray | None = None
    error: str = ""
    failed: int = 0  # which model failed: 0 for A, 1 for B


def run_both(models, samples: list[Sample], output_shapes, done=None) -> BothRun:
    """A and B on the same samples, batch by batch (sized so that both models' layer outputs
    for one batch fit the activation budget); `done(n)` is told how many have run."""
    from reportgen.load.keras.loading import failure_reason

    # Both models' outputs of one batch are held, each with its Gram's working copy.
    chunk = max(MIN_BATCH, batch_size_for(output_shapes, ACTIVATION_BUDGET // 4))
    batches = [np.stack([s.arrays[k] for s in samples]) for k in range(len(samples[0].arrays))]
    ckas: dict[str, MinibatchCka] = {}
    scores: tuple[list, list] = ([], [])
    for start in range(0, len(samples), chunk):
        part = [b[start:start + chunk] for b in batches]
        runs = []
        for k, model in enumerate(models):
            try:
                runs.append(next(iter(model.forward_chunks(part, len(part[0])))))
            except Exception as exc:  # The model cannot run these inputs.
                shapes = ", ".join(str(b.shape[1:]) for b in batches)
                return BothRun(error=msg("input of shape {shapes}: {error}", shapes=shapes,
                                         error=failure_reason(exc)), failed=k)
        (layers_a, outputs_a), (layers_b, outputs_b) = runs
        for name in layers_a:
            if name in layers_b:
                ckas.setdefault(name, MinibatchCka()).add(layers_a[name], layers_b[name])
        scores[0].append(outputs_a[0])
        scores[1].append(outputs_b[0])
        if done is not None:
            done(start + len(part[0]))
    return BothRun(tuple(layer_similarity(name, cka) for name, cka in ckas.items()),
                   np.concatenate(scores[0]), np.concatenate(scores[1]))
