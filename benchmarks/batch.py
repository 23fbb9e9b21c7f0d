"""Benchmark `reportgen batch` and `reportgen compare` against their budgets (issue 13), every
figure measured in the same run as its baseline, as whole processes, round-robin, median of
--runs (3):

- 20 book-sized checkpoints (the textbook's CNN, reportgen.demo.book_cnn):
  `reportgen batch --jobs 1` against 20 separate `python -m reportgen` runs (target >= 4x
  faster); `--jobs 2` against `--jobs 1` (target >= 1.6x); a Dask LocalCluster of 2 worker
  processes against `--jobs 2` (target <= 1.3x the time). The cluster is started once, as an
  existing cluster would be; its workers are restarted before each timed run, so each run
  imports TensorFlow again as --jobs 2 does (a warm run is shown too).
- `reportgen compare` of two ResNet50 checkpoints (weights=None, saved twice with one layer
  changed), weights-only (target <= 8 s); and, for information, with every layer changed.

Run from the repository root: python benchmarks/batch.py [--runs N]. Models are built once
into --cache (default ~/.cache/reportgen-bench); outputs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from child_env import REPO, child_env

N_BOOK = 20
BUILD = """
import sys
from pathlib import Path
from reportgen.demo import book_cnn
from reportgen.load.keras.runtime import import_keras
keras = import_keras()
cache = Path(sys.argv[1])
book = cache / "book20"
book.mkdir(parents=True, exist_ok=True)
for k in range(1, {n} + 1):
    target = book / f"book_{{k:02d}}.keras"
    if not target.exists():
        keras.utils.set_random_seed(k)
        book_cnn(10).save(target)
names = ("resnet50-a.keras", "resnet50-b.keras", "resnet50-all.keras")
if not all((cache / name).exists() for name in names):
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None)
    model.save(cache / names[0])
    layer = model.get_layer("conv3_block2_2_conv")
    layer.set_weights([w * 1.1 + 0.001 for w in layer.get_weights()])
    model.save(cache / names[1])
    for layer in model.layers:
        if layer.get_weights():
            layer.set_weights([w * 1.01 + 1e-4 for w in layer.get_weights()])
    model.save(cache / names[2])
""".format(n=N_BOOK)


def run_once(command: list[str], ok_codes: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of one whole process; a failure ends the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=child_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in ok_codes:
        raise SystemExit(f"benchmark command failed ({done.returncode}): {' '.join(command)}\n"
                         f"{done.stderr[-2000:]}")
    return seconds


def separate_runs(models: list[Path], out: Path) -> float:
    """20 separate `python -m reportgen` processes, one after the other."""
    return sum(run_once([sys.executable, "-m", "reportgen", str(m), "-q", "-o",
                         str(out / f"{m.stem}.html")]) for m in models)


def batch_run(folder: Path, out: Path, *options: str) -> float:
    """One `reportgen batch` process into a fresh output folder."""
    shutil.rmtree(out, ignore_errors=True)
    return run_once([sys.executable, "-m", "reportgen", "batch", str(folder), "-o", str(out),
                     "-q", *options])


def main() -> None:
    """Build the models, time every case round-robin, print the figures and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true",
                        help="print the times and targets as JSON (for benchmarks/run.py)")
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "reportgen-bench")
    args = parser.parse_args()
    env = child_env()  # the Dask workers this process starts run as benchmarked processes do
    os.environ.clear()
    os.environ.update(env)
    subprocess.run([sys.executable, "-c", BUILD, str(args.cache)], cwd=REPO, check=True,
                   env=child_env())
    book = args.cache / "book20"
    models = sorted(book.glob("*.keras"))
    from distributed import Client, LocalCluster

    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as scratch, \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as client:
        out = Path(scratch)
        address = cluster.scheduler_address
        a, b, every = (str(args.cache / f"resnet50-{k}.keras") for k in ("a", "b", "all"))

        def fresh_dask() -> float:
            client.restart()  # new worker processes, not timed: each imports TensorFlow again
            return batch_run(book, out / "dask", "--scheduler", address)

        def compare(other: str) -> float:
            return run_once([sys.executable, "-m", "reportgen", "compare", a, other, "-q",
                             "-o", str(out / "compare.html")])

        cases = {
            "20 separate python -m reportgen": lambda: separate_runs(models, out / "separate"),
            "batch --jobs 1": lambda: batch_run(book, out / "jobs1", "--jobs", "1"),
            "batch --jobs 2": lambda: batch_run(book, out / "jobs2", "--jobs", "2"),
            "batch --scheduler (2 fresh Dask workers)": fresh_dask,
            "batch --scheduler (2 warm Dask workers)":
                lambda: batch_run(book, out / "dask", "--scheduler", address),
            "compare ResNet50, one layer changed": lambda: compare(b),
            "compare ResNet50, every layer changed": lambda: compare(every),
        }
        for _ in range(args.runs):
            for name, case in cases.items():
                times.setdefault(name, []).append(case())
                print(f"  {name}: {times[name][-1]:.2f} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"times": times, "targets": [
            {"name": name, "value": value, "target": target, "met": met(value)}
            for name, value, target, met in targets_of(times)]}))
    else:
        report(times, args.runs)


def report(times: dict[str, list[float]], runs: int) -> None:
    """The table of medians and ranges, then each target with its ratio."""
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\nmedian of {runs} runs, wall seconds (range); load average now "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for name, values in times.items():
        print(f"  {name:45s} {median[name]:8.2f}  ({min(values):.2f}-{max(values):.2f})")
    print("\ntargets")
    for name, value, target, met in targets_of(times):
        verdict = "met" if met(value) else "MISSED"
        print(f"  {name:45s} {value:8.2f}  target {target:16s} {verdict}")


def targets_of(times: dict[str, list[float]]) -> list[tuple]:
    """(name, value, target, met) of each budget, from the medians."""
    median = {name: statistics.median(values) for name, values in times.items()}
    return [
        ("batch --jobs 1 vs 20 separate runs", median["20 separate python -m reportgen"]
         / median["batch --jobs 1"], ">= 4x faster", lambda r: r >= 4),
        ("batch --jobs 2 vs --jobs 1", median["batch --jobs 1"] / median["batch --jobs 2"],
         ">= 1.6x faster", lambda r: r >= 1.6),
        ("Dask, 2 fresh workers vs --jobs 2",
         median["batch --scheduler (2 fresh Dask workers)"] / median["batch --jobs 2"],
         "<= 1.3x the time", lambda r: r <= 1.3),
        ("compare ResNet50 (one layer changed)",
         median["compare ResNet50, one layer changed"], "<= 8 s", lambda s: s <= 8),
        ("compare ResNet50 (every layer changed)",
         median["compare ResNet50, every layer changed"], "<= 8 s", lambda s: s <= 8),
    ]


if __name__ == "__main__":
    main()
