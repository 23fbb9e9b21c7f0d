"""What issues 28 and 29 add to a report, in seconds, against their budgets (2 cores):

- explain (issue 28): feature visualisation of 8 filters of the first and the last
  convolution (and of the fresh twin), IG, SmoothGrad and the sanity check of 2 inputs:
  book <= 10 s, ResNet50 <= 60 s;
- map (issue 28): the map of the representation (PCA, probe, silhouette) of the book's
  penultimate layer over the 10,000-image test set <= 3 s;
- int8 (issue 29): the quantisation section's weights audit of ResNet50 <= 5 s;
- variants (issue 29): the three fake-quantised accuracies over the test set <= 3 x one
  forward pass of the model over it (measured here, the baseline), the rest reported.

Each part runs as the report runs it (the sections' own functions, TensorFlow imported and
the model loaded beforehand). Usage: python benchmarks/explain_budget.py [--cache DIR]
[--json] [--skip-resnet]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from reportgen.analyse import attribution_maps as sanity
from reportgen.analyse.cam import GRAD_CAM, GRAD_CAM_PP
from reportgen.analyse.quant_audit import tensor_audit
from reportgen.analyse.quant_variants import float16_weights, int8_weights
from reportgen.analyse.representation import representation_facts
from reportgen.load.keras import attribution, feature_vis
from reportgen.load.keras.gradients import cam_target, visualised_layers
from reportgen.load.keras.model import KerasModel
from reportgen.load.keras.runtime import import_keras

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
BOOK = DATA / "book" / "best-cnn-model.keras"
TEST = DATA / "fashion-mnist-test"
BUDGETS = {"explain book": 10.0, "explain resnet50": 60.0, "map": 3.0, "int8 resnet50": 5.0}


def explain(model, x: np.ndarray) -> float:
    """Seconds for the features and attribution sections' work on inputs x."""
    started = time.perf_counter()
    twin = next(iter(attribution.randomised_cascade(
        model, [len(attribution.weighted_layer_paths(model))], 0)))[1]
    for layer in visualised_layers(model):
        filters = list(range(min(8, feature_vis.channel_count(model, layer))))
        steps = feature_vis.steps_within(model, layer, len(filters),
                                         budget=feature_vis.STEP_BUDGET_MACS / 2)
        for which in (model, twin):
            feature_vis.visualise_filters(which, layer, filters, steps, 0)
    top = [int(np.argmax(row)) for row in model(x, training=False)]
    big = x[0].size > 50_000
    steps = 64 if big else attribution.IG_MAX_STEPS
    noisy = 10 if big else attribution.SMOOTHGRAD_N
    attribution.integrated_gradients(model, x, top, "black", steps)
    attribution.smoothgrad(model, x, top, n=noisy, absolute=True)
    checked = x[:1] if big else x
    n = len(attribution.weighted_layer_paths(model))
    layer = cam_target(model)
    methods = [(lambda m, a, c: attribution.integrated_gradients(m, a, c, "black", steps)
                .attributions, sanity.differs_from_baseline(checked)),
               (lambda m, a, c: attribution.smoothgrad(m, a, c, n=noisy, absolute=True), None),
               (sanity.cam_map_fn(layer, GRAD_CAM), None), (sanity.cam_map_fn(layer, GRAD_CAM_PP), None)]
    for map_fn, mask in methods:
        sanity.sanity_check(model, checked, top[:len(checked)], map_fn, sorted({1, n}), mask=mask)
    return time.perf_counter() - started


def representation_seconds(model, images: np.ndarray, labels: np.ndarray) -> float:
    """Seconds for the map of the penultimate layer over the whole test set."""
    keras = import_keras()
    penultimate = keras.Model(model.inputs, model.layers[-3].output)  # dense, before dropout
    vectors = np.asarray(penultimate.predict(images, batch_size=256, verbose=0))
    predicted = np.argmax(model.predict(images, batch_size=256, verbose=0), axis=1)
    started = time.perf_counter()
    representation_facts(vectors, labels, predicted, [str(k) for k in range(10)])
    return time.perf_counter() - started


def int8_seconds(model) -> float:
    """Seconds for the weights audit of every tensor."""
    started = time.perf_counter()
    for layer in model._flatten_layers(include_self=False, recursive=True):
        for weight in layer.weights:
            tensor_audit(layer.name, weight.path.rsplit("/", 1)[-1], type(layer).__name__,
                         np.asarray(weight.numpy()))
    return time.perf_counter() - started


def variants_seconds(model, images: np.ndarray) -> tuple[float, float]:
    """(one forward pass of the sample, the three fake-quantised passes) in seconds."""
    wrapped = KerasModel(model)

    def batches():
        return (images[k:k + 64] for k in range(0, len(images), 64))
    started = time.perf_counter()
    wrapped.variant_outputs({"float": lambda v, _c, _n: v}, batches)
    one = time.perf_counter() - started
    started = time.perf_counter()
    wrapped.variant_outputs({"int8_tensor": int8_weights(False), "int8_channel": int8_weights(True),
                             "float16": float16_weights}, batches)
    return one, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "reportgen-bench")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    keras = import_keras()
    book = keras.models.load_model(BOOK, safe_mode=True)
    images = (np.load(TEST / "images.npy").astype(np.float32) / 255.0)[..., None]
    labels = np.load(TEST / "labels.npy")
    found = {"explain book": explain(book, images[:2]),
             "map": representation_seconds(book, images, labels)}
    one, three = variants_seconds(book, images)
    found |= {"forward pass": one, "three fake-quantised passes": three}
    if not args.skip_resnet:
        cached = args.cache / "resnet50.keras"
        resnet = keras.models.load_model(cached, safe_mode=True) if cached.exists() else \
            keras.applications.ResNet50(weights=None)
        found["int8 resnet50"] = int8_seconds(resnet)
        x = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
        found["explain resnet50"] = explain(resnet, x)
    rows = [{"part": k, "seconds": round(v, 2), "budget": BUDGETS.get(k)} for k, v in found.items()]
    rows.append({"part": "fake-quantised / forward", "seconds": round(three / one, 2),
                 "budget": 3.0})
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        met = row["budget"] is None or row["seconds"] <= row["budget"]
        print(f"{row['part']:32} {row['seconds']:8.2f}  budget {row['budget']}  "
              f"{'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
