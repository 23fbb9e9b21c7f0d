"""What issues 28 and 29 add to a report, in seconds, against their budgets (2 cores):

- explain (issue 28): feature visualisation of 8 filters of the first and the last
  convolution (and of the fresh twin), IG, SmoothGrad and the sanity check of 2 inputs:
  book <= 10 s, ResNet50 <= 60 s;
- map (issue 28): the map of the representation (PCA, probe, silhouette) of the book's
  penultimate layer over the 10,000-image test set <= 3 s;
- int8 (issue 29): the quantisation section's weights audit of ResNet50 <= 5 s;
- variants (issue 29): the three fake-quantised accuracies over the test set <= 3 x one
  forward pass of the model over it (measured here, the baseline); TensorFlow Lite's real
  int8 model (conversion and the interpreter over the test set) reported apart.

Each part runs as the report runs it (the sections' own functions, TensorFlow imported and
the model loaded beforehand), --runs times (3); medians with their range are printed.
Usage: python benchmarks/explain_budget.py [--cache DIR] [--runs N] [--json] [--skip-resnet]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from reportgen.analyse import attribution_maps as sanity
from reportgen.analyse.quant_audit import tensor_audit
from reportgen.analyse.quant_variants import float16_weights, int8_weights
from reportgen.analyse.representation import representation_facts
from reportgen.load.keras import attribution, cascade, feature_vis
from reportgen.load.keras.gradients import cam_target, visualised_layers
from reportgen.load.keras.model import KerasModel
from reportgen.load.keras.runtime import import_keras
from reportgen.sections.attribution.attribution_run import (SANITY_IG_BIG_STEPS,
                                                             SANITY_IG_STEPS, sanity_methods)
from reportgen.sections.features import BUDGET_SHARE

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
BOOK = DATA / "book" / "best-cnn-model.keras"
TEST = DATA / "fashion-mnist-test"
BUDGETS = {"explain book": 10.0, "explain resnet50": 60.0, "map": 3.0, "int8 resnet50": 5.0,
           "fake-quantised / forward": 3.0}


def explain(model, x: np.ndarray) -> tuple[float, float]:
    """Seconds for the features section's and the attribution section's work on inputs x."""
    started = time.perf_counter()
    twin = cascade.fully_randomised(model, 0)
    for layer in visualised_layers(model):
        filters = list(range(min(8, feature_vis.channel_count(model, layer))))
        steps = feature_vis.steps_within(model, layer, len(filters),
                                         budget=feature_vis.STEP_BUDGET_MACS * BUDGET_SHARE)
        for which in (model, twin):
            feature_vis.visualise_filters(which, layer, filters, steps, 0)
    features = time.perf_counter() - started
    with attribution.shared_scorers():
        return features, attribution_seconds(model, x)


def attribution_seconds(model, x: np.ndarray) -> float:
    """Seconds for the attribution section's work: IG, SmoothGrad and the sanity check."""
    started = time.perf_counter()
    top = [int(np.argmax(row)) for row in model(x, training=False)]
    big = x[0].size > 50_000
    steps = 64 if big else attribution.IG_MAX_STEPS
    noisy = 10 if big else attribution.SMOOTHGRAD_N
    attribution.integrated_gradients(model, x, top, "black", steps)
    attribution.smoothgrad(model, x, top, n=noisy, absolute=True)
    checked = x[:1] if big else x
    n = len(cascade.weighted_layer_paths(model))
    methods = sanity_methods(checked, cam_target(model),
                             SANITY_IG_BIG_STEPS if big else SANITY_IG_STEPS, noisy)
    sanity.sanity_checks(model, checked, top[:len(checked)], methods, sorted({1, n}))
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


def parts(model: str, seconds: tuple[float, float]) -> dict[str, float]:
    """The explain budget's total and its two sections."""
    return {f"features {model}": seconds[0], f"attribution {model}": seconds[1],
            f"explain {model}": sum(seconds)}


def one_run(book, images, labels, resnet) -> dict[str, float]:
    """Every part once: the book's with 2 inputs, ResNet50's with the one input a report
    runs by default (the synthetic test pattern)."""
    found = parts("book", explain(book, images[:2]))
    found["map"] = representation_seconds(book, images, labels)
    one, three = variants_seconds(book, images)
    found |= {"forward pass": one, "three fake-quantised passes": three,
              "fake-quantised / forward": three / one,
              "TensorFlow Lite int8 (convert + run)": tflite_seconds(book, images)}
    if resnet is not None:
        found["int8 resnet50"] = int8_seconds(resnet)
        x = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype(np.float32)
        found |= parts("resnet50", explain(resnet, x))
    return found


def tflite_seconds(model, images: np.ndarray) -> float:
    """Seconds for the real int8 row: convert with 100 calibration inputs, run the sample."""
    started = time.perf_counter()
    KerasModel(model).tflite_int8_outputs(
        images[:100], lambda: (images[k:k + 64] for k in range(0, len(images), 64)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "reportgen-bench")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are reported")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    keras = import_keras()
    book = keras.models.load_model(BOOK, safe_mode=True)
    images = (np.load(TEST / "images.npy").astype(np.float32) / 255.0)[..., None]
    labels = np.load(TEST / "labels.npy")
    resnet = None
    if not args.skip_resnet:
        cached = args.cache / "resnet50.keras"
        resnet = keras.models.load_model(cached, safe_mode=True) if cached.exists() else \
            keras.applications.ResNet50(weights=None)
    runs = [one_run(book, images, labels, resnet) for _ in range(args.runs)]
    rows = [{"part": k, "median": round(statistics.median(r[k] for r in runs), 2),
             "range": [round(min(r[k] for r in runs), 2), round(max(r[k] for r in runs), 2)],
             "budget": BUDGETS.get(k)} for k in runs[0]]
    if args.json:
        print(json.dumps(rows))
        return
    print(f"medians of {args.runs} runs (min-max)")
    for row in rows:
        met = row["budget"] is None or row["median"] <= row["budget"]
        print(f"{row['part']:30} {row['median']:7.2f} ({row['range'][0]}-{row['range'][1]})  "
              f"budget {row['budget']}  {'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
