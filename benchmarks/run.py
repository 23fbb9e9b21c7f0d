"""Benchmark reportgen against what cannot be avoided and against the textbook's notebook.

Every case runs as a whole process, several times, round-robin with the other cases of its
group (so that a slow spell of this shared machine hits all alike); the table gives the
median and the range of wall time, the median peak RSS (from the kernel's accounting of the finished child,
os.wait4), the HTML size, and each target's ratio with pass/fail. Baselines are measured in
the same run. Run from the repository root:

    python benchmarks/run.py              # book cases (5 runs) and large models (3 runs)
    python benchmarks/run.py --quick      # book cases only

The large models (ResNet50, VGG16 with fresh weights) are built once into --cache, outside
the repository. The book cases need ../shared/data and are skipped, with a reason, without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
BOOK = DATA / "book" / "best-cnn-model.keras"
BOOT = DATA / "fashion-mnist-sample" / "ankle_boot.png"
LABELS = DATA / "fashion-mnist-sample" / "classes.txt"
HERE = Path(__file__).resolve().parent


@dataclass
class Measured:
    """The runs of one case."""

    name: str
    seconds: list[float]
    rss_mib: list[float]
    html_bytes: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rss(self) -> float:
        return statistics.median(self.rss_mib)


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one whole process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{stderr[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def measure_all(cases: list[tuple[str, list[str], Path | None]], runs: int) -> list[Measured]:
    """Run the cases round-robin, `runs` times each (after one uncounted warm-up round that
    fills the file cache), so a slow spell of this shared machine hits every case alike and
    the ratios between them stay fair."""
    for _, command, _ in cases:
        run_once(command)
    found = {name: Measured(name, [], []) for name, _, _ in cases}
    for _ in range(runs):
        for name, command, _ in cases:
            seconds, rss = run_once(command)
            found[name].seconds.append(seconds)
            found[name].rss_mib.append(rss)
    for name, _, html in cases:
        if html is not None and html.exists():
            found[name].html_bytes = html.stat().st_size
        print(f"  measured {name}: median {found[name].median:.2f} s", file=sys.stderr)
    return list(found.values())


def reportgen(*args: str) -> list[str]:
    return [sys.executable, "-m", "reportgen", "-q", *args]


def book_cases(out: Path, runs: int) -> list[Measured]:
    """B1, B2, B3 on the textbook's checkpoint."""
    html = out / "book.html"
    return measure_all([
        ("floor: import TF + load_model + forward",
         [sys.executable, str(HERE / "floor.py"), str(BOOK)], None),
        ("textbook notebook script", [sys.executable, str(HERE / "notebook_baseline.py"),
                                      str(BOOK), str(BOOT), str(out / "notebook")], None),
        ("reportgen full (book)", reportgen(str(BOOK), "-o", str(html), "--input", str(BOOT),
                                            "--labels", str(LABELS)), html),
        ("floor: python + numpy, h5py, Pillow, Jinja2 imports",
         [sys.executable, "-c", "import numpy, h5py, PIL.Image, jinja2"], None),
        ("reportgen --weights-only (book)",
         reportgen(str(BOOK), "--weights-only", "-o", str(out / "book-wo.html")),
         out / "book-wo.html"),
    ], runs)


def large_cases(out: Path, cache: Path, runs: int) -> list[Measured]:
    """B4 on ResNet50 and VGG16 built locally."""
    subprocess.run([sys.executable, str(HERE / "build_models.py"), str(cache)], check=True,
                   cwd=REPO)
    return measure_all([
        ("reportgen full (ResNet50 .keras)",
         reportgen(str(cache / "resnet50.keras"), "-o", str(out / "resnet50.html")),
         out / "resnet50.html"),
        ("reportgen --weights-only (VGG16 .h5)",
         reportgen(str(cache / "vgg16.h5"), "--weights-only", "-o", str(out / "vgg16-wo.html")),
         out / "vgg16-wo.html"),
        ("bare load_model (VGG16 .h5)",
         [sys.executable, str(HERE / "floor.py"), str(cache / "vgg16.h5"), "--no-forward"], None),
        ("reportgen full (VGG16 .h5)",
         reportgen(str(cache / "vgg16.h5"), "-o", str(out / "vgg16.html")), out / "vgg16.html"),
    ], runs)


def targets(found: dict[str, Measured]) -> list[tuple[str, str, bool]]:
    """Each target that could be measured: (target, measured figure, met?)."""
    rows = []
    def get(name):
        return found.get(name)
    floor, notebook = get("floor: import TF + load_model + forward"), get("textbook notebook script")
    full, fast = get("reportgen full (book)"), get("reportgen --weights-only (book)")
    if floor and full:
        ratio = full.median / floor.median
        rows.append(("B1 book full <= 1.15 x floor", f"{ratio:.2f} x", ratio <= 1.15))
    if notebook and full:
        ratio = notebook.median / full.median
        rows.append(("B2 book full >= 1.6 x faster than the notebook", f"{ratio:.2f} x", ratio >= 1.6))
    if fast:
        rows.append(("B3 book --weights-only <= 0.4 s", f"{fast.median:.2f} s", fast.median <= 0.4))
        imports = get("floor: python + numpy, h5py, Pillow, Jinja2 imports")
        if imports:
            rows.append(("(B3 against its own floor: the imports alone)",
                         f"{fast.median / imports.median:.2f} x", True))
    resnet, vgg_fast = get("reportgen full (ResNet50 .keras)"), get("reportgen --weights-only (VGG16 .h5)")
    bare, vgg = get("bare load_model (VGG16 .h5)"), get("reportgen full (VGG16 .h5)")
    if resnet:
        rows.append(("B4 ResNet50 full <= 15 s", f"{resnet.median:.1f} s", resnet.median <= 15))
        rows.append(("B4 ResNet50 HTML <= 15 MB", f"{resnet.html_bytes / 1e6:.1f} MB",
                     resnet.html_bytes <= 15e6))
        rows.append(("B4 ResNet50 peak RSS <= 1.5 GiB", f"{resnet.rss / 1024:.2f} GiB",
                     resnet.rss <= 1.5 * 1024))
    if vgg_fast:
        rows.append(("B4 VGG16 weights-only <= 3 s", f"{vgg_fast.median:.1f} s", vgg_fast.median <= 3))
        rows.append(("B4 VGG16 weights-only peak RSS <= 1.3 GiB", f"{vgg_fast.rss / 1024:.2f} GiB",
                     vgg_fast.rss <= 1.3 * 1024))
    if vgg:
        rows.append(("B4 VGG16 full <= 30 s", f"{vgg.median:.1f} s", vgg.median <= 30))
    if vgg and bare:
        ratio = vgg.rss / bare.rss
        rows.append(("B4 VGG16 full peak RSS <= 1.3 x bare load_model", f"{ratio:.2f} x", ratio <= 1.3))
    return rows


def print_tables(measured: list[Measured]) -> None:
    print("| case | runs | median s | min-max s | peak RSS MiB (median) | HTML |")
    print("| --- | --- | --- | --- | --- | --- |")
    for m in measured:
        html = f"{m.html_bytes / 1e6:.2f} MB" if m.html_bytes else ""
        print(f"| {m.name} | {len(m.seconds)} | {m.median:.2f} | {min(m.seconds):.2f}-"
              f"{max(m.seconds):.2f} | {m.rss:.0f} | {html} |")
    print()
    print("| target | measured | met |")
    print("| --- | --- | --- |")
    for target, figure, met in targets({m.name: m for m in measured}):
        print(f"| {target} | {figure} | {'yes' if met else 'NO'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per book case (default 5)")
    parser.add_argument("--large-runs", type=int, default=3, help="runs per large case (default 3)")
    parser.add_argument("--quick", action="store_true", help="book cases only")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "reportgen-bench",
                        help="where the large models are built once")
    args = parser.parse_args()
    measured: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as folder:
        out = Path(folder)
        if BOOK.exists():
            measured += book_cases(out, args.runs)
        else:
            print(f"skipping the book cases: {BOOK} is absent", file=sys.stderr)
        if not args.quick:
            measured += large_cases(out, args.cache, args.large_runs)
    print_tables(measured)


if __name__ == "__main__":
    main()
