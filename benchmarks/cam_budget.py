"""What Grad-CAM adds to a report, per drawn input (issue 11's budget: at most 0.3 s on the
book model, 1.5 s on ResNet50, on 2 cores).

Measured after TensorFlow is imported and the model loaded, as a report run has them: the
target layer, the gradients of both methods' class scores (one tape per batch), both maps,
their facts and the encoded pictures. The first run (which builds the probe and warms
TensorFlow's kernels up) is shown apart from the median of the next three.

Usage: python benchmarks/cam_budget.py [--cache DIR] [--json]   (ResNet50 from DIR/resnet50.keras,
built there with weights=None by build_models.py, or in memory when absent)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from reportgen.analyse import cam
from reportgen.draw.cam_pictures import cam_pictures
from reportgen.load.keras.gradients import cam_gradients, cam_target
from reportgen.load.keras.forward import forward
from reportgen.load.keras.runtime import import_keras

BOOK = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "book" / \
    "best-cnn-model.keras"
BUDGETS = {"book": 0.3, "resnet50": 1.5}   # seconds per drawn input
RUNS = 3


def cam_section(model, x: np.ndarray, top: list[int]) -> None:
    """Everything Grad-CAM adds for the inputs x and their top classes (which the report's
    forward pass has found already): target, gradients, maps, facts, pictures."""
    layer = cam_target(model)
    requests = cam.cam_requests(top)
    found = cam_gradients(model, layer, x, [r.class_index for r in requests])
    map_sets = [cam.cam_maps(found.activations, found.gradients, method, x.shape[1:3])
                for method in cam.METHODS]
    facts = cam.cam_facts(layer, "automatic", found.activations.shape[1:], found.score,
                          requests, found.scores, map_sets, [str(k) for k in range(len(x))], [])
    cam_pictures(list(x), facts, requests, map_sets)


def measure(model, x: np.ndarray) -> tuple[float, float, float]:
    """(first run, median of the next RUNS) in seconds of wall time, all inputs together,
    and the median CPU time of the process (both cores: a busy machine's wall time is
    longer, its CPU time is not)."""
    _, outputs = forward(model, [x])   # the report's own pass, before Grad-CAM
    top = [int(k) for k in np.argmax(outputs[0], axis=1)]
    times, cpu = [], []
    for _ in range(RUNS + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        cam_section(model, x, top)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return times[0], statistics.median(times[1:]), statistics.median(cpu[1:])


def models(cache: Path):
    """(name, model, input side, channels) of each measured model."""
    keras = import_keras()
    if BOOK.exists():
        yield "book", keras.models.load_model(BOOK, compile=False), 28, 1
    stored = cache / "resnet50.keras"
    resnet = (keras.models.load_model(stored, compile=False) if stored.exists()
              else keras.applications.ResNet50(weights=None))
    yield "resnet50", resnet, 224, 3


def measure_all(cache: Path) -> list[dict]:
    """One row per model and number of inputs: first run, median, CPU, per input, budget."""
    rows = []
    for name, model, side, channels in models(cache):
        for n in (1, 8):
            x = np.random.default_rng(0).uniform(0, 1, (n, side, side, channels))
            first, median, cpu = measure(model, x.astype(np.float32))
            per_input = max(first, median) / n
            rows.append({"model": name, "inputs": n, "first": first, "median": median,
                         "cpu": cpu, "per_input": per_input, "budget": BUDGETS[name],
                         "met": per_input <= BUDGETS[name]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "reportgen-bench")
    parser.add_argument("--json", action="store_true",
                        help="print the rows as one JSON list (benchmarks/run.py reads it)")
    args = parser.parse_args()
    rows = measure_all(args.cache)
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'model':<10} {'inputs':>6} {'first s':>8} {'median s':>9} {'cpu s':>6} "
          f"{'per input':>10}  budget")
    for row in rows:
        print(f"{row['model']:<10} {row['inputs']:>6} {row['first']:>8.3f} {row['median']:>9.3f} "
              f"{row['cpu']:>6.2f} {row['per_input']:>10.3f}  <= {row['budget']} s "
              f"{'ok' if row['met'] else 'OVER'}")


if __name__ == "__main__":
    main()
