"""What the spectral analysis costs in a report (issue 12's budget: book model <= 0.1 s,
ResNet50 <= 6 s on 2 cores, VGG16 <= 45 s or the default --spectral-max-dim cap).

Measured in process after TensorFlow is imported and the models loaded, as a report run has
them: reportgen.analyse.spectral.spectral_facts on every trained weight of the model's
snapshot (nested layers included; the fresh initialisation's spectra are not counted), two
weights at a time through reportgen.parallel.ordered_map, with OPENBLAS_NUM_THREADS=1 set
before numpy is imported, as the command line sets it. The models are timed round-robin,
--runs times each after one uncounted warm-up round; VGG16 without the cap
(--spectral-max-dim off: fc1 and fc2 analysed) is timed --uncapped-runs times, apart.

Usage: python benchmarks/spectral_budget.py [--cache DIR] [--runs N] [--uncapped-runs N] [--json]
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy, as reportgen/process.py does
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from reportgen.analyse.spectral import DEFAULT_MAX_DIM, spectral_facts  # noqa: E402
from reportgen.load.keras.runtime import import_keras  # noqa: E402
from reportgen.load.keras.snapshot import snapshot  # noqa: E402
from reportgen.load.snapshot import all_layers  # noqa: E402
from reportgen.parallel import ordered_map  # noqa: E402

BOOK = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "book" / \
    "best-cnn-model.keras"
BUDGETS = {"book": 0.1, "resnet50": 6.0, "vgg16": 45.0}   # seconds


def trained_weights(model) -> list[tuple[str, str, object, str]]:
    """(layer class, weight name, values, layer path) of every weight of the model, as
    collect sees them."""
    return [(layer.class_name, weight.name, weight.values, layer.path or layer.name)
            for layer in all_layers(snapshot(model).layers) for weight in layer.weights]


def spectra(weights, max_dim: int | None) -> list:
    """The spectral facts of every weight, two at a time (what collect_layer computes)."""
    return ordered_map(lambda w: spectral_facts(w[0], w[1], w[2], max_dim), weights)


def timed(weights, max_dim: int | None) -> tuple[float, list]:
    started = time.perf_counter()
    found = spectra(weights, max_dim)
    return time.perf_counter() - started, found


def models(cache: Path):
    keras = import_keras()
    if BOOK.exists():
        yield "book", keras.models.load_model(BOOK, compile=False)
    yield "resnet50", keras.models.load_model(cache / "resnet50.keras", compile=False)
    yield "vgg16", keras.models.load_model(cache / "vgg16.keras", compile=False)


def measure(cache: Path, runs: int, uncapped_runs: int) -> list[dict]:
    """One row per model (and one for VGG16 uncapped): seconds of each run, the number of
    weights analysed and the names of the ones the cap skipped."""
    cases = [(name, trained_weights(model)) for name, model in models(cache)]
    seconds: dict[str, list[float]] = {name: [] for name, _ in cases}
    found: dict[str, list] = {}
    for round_ in range(runs + 1):  # round 0 warms up: uncounted
        for name, weights in cases:
            spent, found[name] = timed(weights, DEFAULT_MAX_DIM)
            if round_:
                seconds[name].append(spent)
    rows = [row(name, weights, found[name], seconds[name], f"default {DEFAULT_MAX_DIM}")
            for name, weights in cases]
    vgg = dict(cases).get("vgg16")
    if vgg is not None and uncapped_runs:
        uncapped = [timed(vgg, None) for _ in range(uncapped_runs)]
        rows.append(row("vgg16", vgg, uncapped[-1][1], [s for s, _ in uncapped], "none"))
    return rows


def row(name: str, weights, found: list, seconds: list[float], cap: str) -> dict:
    analysed = [f for f in found if f.n_matrices and f.reason is None]
    skipped = [f"{weights[k][3]}/{weights[k][1]}" for k, f in enumerate(found)
               if f.reason and "spectral-max-dim" in f.reason]
    return {"model": name, "cap": cap, "seconds": seconds, "median": statistics.median(seconds),
            "weights": len(weights), "analysed": len(analysed), "skipped": skipped,
            "skipped_shapes": [list(f.matrix_shape) for f in found
                               if f.reason and "spectral-max-dim" in f.reason],
            "budget": BUDGETS[name]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "reportgen-bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--uncapped-runs", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON list")
    args = parser.parse_args()
    rows = measure(args.cache, args.runs, args.uncapped_runs)
    if args.json:
        print(json.dumps(rows))
        return
    for r in rows:
        print(f"{r['model']:<9} cap {r['cap']:<13} median {r['median']:.3f} s "
              f"(min {min(r['seconds']):.3f}, max {max(r['seconds']):.3f}; {len(r['seconds'])} "
              f"runs), {r['analysed']} of {r['weights']} weights analysed, skipped "
              f"{r['skipped'] or 'none'}  budget <= {r['budget']} s")


if __name__ == "__main__":
    main()
