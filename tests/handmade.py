"""Reports made from hand-built evidence: a model snapshot and the outputs of a model run in
plain numpy, no Keras. What the page and the JSON show of them is known by construction."""

from __future__ import annotations

import numpy as np

from reportgen.analyse.collect import collect_model
from reportgen.load.samples import Sample
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, TensorSpec, WeightArray
from reportgen.options import Options, settings
from reportgen.pipeline.run import rendered
from reportgen.sections.base import (CONFIG, GRADIENTS, INIT, INPUTS, MODEL, WEIGHTS, Evidence,
                                     ModelOutputs)

FILE_INFO = dict(file_name="m.keras", file_size=10, sha256="ab", format="Keras v3",
                 saved_by_keras_version="3.0", read_with=(("keras", "3"),),
                 reportgen_version="0", generated_at="2020-01-01 00:00:00 UTC")
SETTINGS = settings({})


def conv_snapshot(layer_name: str, rng: np.random.Generator) -> ModelSnapshot:
    """A 3x3 convolution of 4 filters on a 6x6x1 input, then a Flatten."""
    kernel = WeightArray("kernel", rng.normal(0, 0.2, (3, 3, 1, 4)).astype(np.float32), True)
    bias = WeightArray("bias", np.zeros(4, np.float32), True)
    layers = (LayerSnapshot(layer_name, "Conv2D", "(None, 6, 6, 4)", 40, True, "relu",
                            (kernel, bias), path=layer_name),
              LayerSnapshot("flat", "Flatten", "(None, 144)", 0, True, "", (), path="flat"))
    return ModelSnapshot("Sequential", layers, (TensorSpec("in", (6, 6, 1)),),
                         (TensorSpec("probs", (2,), activation="softmax"),))


def conv_evidence(layer_name: str = "conv", label: str = "boot",
                  config: dict | None = None) -> Evidence:
    """A full report's evidence of conv_snapshot run on one 6x6 image (class 0 at 0.9)."""
    rng = np.random.default_rng(0)
    snapshot = conv_snapshot(layer_name, rng)
    init = {layer_name: [rng.normal(0, 0.1, (3, 3, 1, 4)).astype(np.float32),
                         np.zeros(4, np.float32)]}
    drawn = {layer_name: rng.random((1, 6, 6, 4)).astype(np.float32),
             "flat": rng.random((1, 144)).astype(np.float32)}
    image = rng.random((6, 6, 1)).astype(np.float32)
    outputs = ModelOutputs(samples=(Sample("in.png", "in.png", (image,), (False,)),),
                           drawn=drawn, scores=(np.array([[0.9, 0.1]], np.float32),))
    has = {WEIGHTS, INIT, MODEL, INPUTS, GRADIENTS} | ({CONFIG} if config else set())
    return Evidence(mode="full", has=frozenset(has), options=Options(kernel_scale="0.5"),
                    model=collect_model(snapshot, FILE_INFO), snapshot=snapshot, init=init,
                    config=config, labels=(label, "other"), notes=["a note"], outputs=outputs)


def dense_evidence(values: np.ndarray) -> Evidence:
    """A weights-only report's evidence of one Dense kernel, compared with zeros."""
    layer = LayerSnapshot("d", "Dense", "(None, 2)", values.size, True, "",
                          (WeightArray("kernel", values, True),), path="d")
    snapshot = ModelSnapshot("Sequential", (layer,), (TensorSpec("in", (3,)),),
                             (TensorSpec("out", (2,)),))
    return Evidence(mode="full", has=frozenset({WEIGHTS, INIT}), options=Options(),
                    model=collect_model(snapshot, FILE_INFO), snapshot=snapshot,
                    init={"d": [np.zeros_like(values)]})


def report_of(evidence: Evidence):
    """The page, JSON and facts the evidence makes."""
    return rendered(evidence, None, SETTINGS)
