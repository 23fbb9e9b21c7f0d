"""What the Python API and the training callback cost (issue 15's budgets), in process.

    python benchmarks/api_budget.py api [--runs 5] [--json]
        reportgen.report(model) on the textbook's model loaded in memory (TensorFlow already
        imported, the model loaded, one uncounted warm-up call): <= 0.5 s, median of --runs.
    python benchmarks/api_budget.py callback [--runs 3] [--json]
        the demo's training (reportgen/demo.py shapes_dataset, the book's CNN, the settings of
        reportgen.demo.train_demo_model, 5 epochs), once without and once with
        ReportCallback(every=1), a pair a round (which runs first alternates), --runs times
        each after one uncounted round of both: the callback adds <= 10 % to the median time of model.fit. Each fit starts
        from a collected heap: a full garbage collection of TensorFlow's objects takes
        ~0.4 s (~9 % of the training) and otherwise falls into whichever fit happens to
        reach its threshold, with the callback or without.

Neither sets OPENBLAS_NUM_THREADS: a notebook that calls the API does not either.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

BOOK = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "book" / \
    "best-cnn-model.keras"
EPOCHS = 5


def api_seconds(runs: int) -> dict:
    """Wall seconds of reportgen.report(model): the warm-up call, then each counted call."""
    import keras

    import reportgen

    model = keras.models.load_model(BOOK, compile=False)
    seconds = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        reportgen.report(model)
        seconds.append(time.perf_counter() - started)
    return {"warm_up": seconds[0], "seconds": seconds[1:]}


def train(images, labels, n_classes: int, callbacks: list) -> float:
    """Wall seconds of model.fit as reportgen.demo.train_demo_model runs it."""
    import keras
    import tensorflow as tf

    from reportgen.demo import book_cnn

    keras.utils.set_random_seed(42)
    tf.config.experimental.enable_op_determinism()
    model = book_cnn(n_classes)
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    n_train = int(len(images) * 0.8)
    gc.collect()
    started = time.perf_counter()
    model.fit(images[:n_train], labels[:n_train], batch_size=64, epochs=EPOCHS, shuffle=True,
              verbose=0, callbacks=callbacks)
    return time.perf_counter() - started


def callback_seconds(runs: int) -> dict:
    """model.fit without and with ReportCallback(every=1), alternating; the callback's own
    seconds per epoch (as it records them in its index rows)."""
    from reportgen.demo import CLASSES, shapes_dataset
    from reportgen.keras import ReportCallback

    images, labels = shapes_dataset()
    plain, with_callback, per_epoch, reports = [], [], [], 0
    for round_ in range(runs + 1):  # round 0 warms up: uncounted
        if round_ % 2:  # which of the pair runs first alternates: no order effect in pairs
            without = train(images, labels, len(CLASSES), [])
        with tempfile.TemporaryDirectory(prefix="reportgen-callback-") as folder:
            callback = ReportCallback(folder, every=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with_ = train(images, labels, len(CLASSES), [callback])
            reports = len(list(Path(folder).glob("epoch-*.html")))
        if not round_ % 2:
            without = train(images, labels, len(CLASSES), [])
        if round_:
            plain.append(without)
            with_callback.append(with_)
            per_epoch += [row.outcome.seconds for row in callback.rows]
    return {"without": plain, "with": with_callback, "callback_per_epoch": per_epoch,
            "reports_per_training": reports,
            "errors": [row.outcome.reason for row in callback.rows
                       if row.outcome.status != "report"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("api", "callback"))
    parser.add_argument("--runs", type=int)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.what == "api":
        found = api_seconds(args.runs or 5)
    else:
        found = callback_seconds(args.runs or 3)
    if args.json:
        print(json.dumps(found))
        return
    for key, value in found.items():
        shown = [round(v, 3) for v in value] if isinstance(value, list) and value and \
            isinstance(value[0], float) else value
        median = f" (median {statistics.median(value):.3f})" if isinstance(value, list) and \
            value and isinstance(value[0], float) else ""
        print(f"{key}: {shown}{median}")


if __name__ == "__main__":
    main()
