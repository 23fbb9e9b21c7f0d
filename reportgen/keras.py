"""`ReportCallback`: a Keras callback that writes an audit report every N epochs as a model
trains, and the batch index over them (reportgen batch's, with its trends) refreshed each time.

    model.fit(x, y, epochs=20, callbacks=[reportgen.keras.ReportCallback("audit", every=5)])

Without `inputs` or `data` a report costs what a weights-only one does (no forward pass,
no re-initialisation: the weights are compared with the ones training started from), and it
is written beside training: at the epoch's end the callback only copies the weights, and a
thread of its own makes the report from the copy while the next epoch trains (training's
threads leave a core idle much of the time). `model.fit` returns once every report is
written. Reports that run the model (inputs or data given) are made at the epoch's end, while
the model stands still. A failure never stops training: it becomes a warning and a row in
the index.
"""

from __future__ import annotations

import collections
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import keras

from reportgen.analyse.batch_index import IndexParts
from reportgen.errors import one_line

# Copies of the weights waiting for the reporting thread: when it falls this far behind,
# the epoch's end waits for the oldest, so that memory stays bounded (a copy each).
MAX_WAITING = 2


class ReportCallback(keras.callbacks.Callback):
    """Write `output_dir/epoch-NNN.html` (+ .json) every `every` epochs, and
    `output_dir/index.html` (+ index.json) with the trends, refreshed each time.

    `weights_only` (default: when neither `inputs` nor `data` is given) makes the cheap
    report, compared with the weights training started from; False makes full reports (a
    fresh initialisation, feature maps of `inputs` or the synthetic pattern)."""

    def __init__(self, output_dir: str | Path, every: int = 1, inputs=None, data=None,
                 data_labels=None, labels=None, weights_only: bool | None = None,
                 **options: Any):
        super().__init__()
        if every < 1:
            raise ValueError("every must be a whole number of at least 1")
        if "initial" in options:
            raise TypeError("ReportCallback compares with the weights training started from "
                            "itself: 'initial' is not an option")
        self.output_dir, self.every = Path(output_dir), every
        self.weights_only = (inputs is None and data is None) if weights_only is None \
            else weights_only
        self.arguments = {"inputs": inputs, "data": data, "data_labels": data_labels,
                          "labels": labels, **options}
        self.start: dict | None = None
        # Only what the index shows is kept per epoch (never a report's facts): a long run
        # of a large model stays small.
        self.index = IndexParts()
        self._writer: ThreadPoolExecutor | None = None
        self._waiting: collections.deque = collections.deque()
        # Said by the reporting thread, warned by the training thread (warnings' filters
        # are not thread-safe): at the next epoch's end, or when training ends.
        self._said: collections.deque = collections.deque()

    @property
    def rows(self) -> list:
        """The index's rows so far: one per epoch reported on."""
        return list(self.index.rows.values())

    def on_train_begin(self, logs=None):
        from reportgen.load.keras.snapshot import hold

        self.on_train_end()  # a fit that raised never ended its writer
        try:
            self.start = weights_of(hold(self.model).snapshot)
        except Exception as exc:  # as everywhere here: training goes on
            self.start = None
            _warn(f"reportgen: the starting weights could not be read: {one_line(exc)}")
        if self.weights_only:
            self._writer = ThreadPoolExecutor(max_workers=1,
                                              thread_name_prefix="reportgen-callback")

    def on_epoch_end(self, epoch: int, logs=None):
        self._warn_said()
        if (epoch + 1) % self.every:
            return
        if self._writer is None:  # the report runs the model: now, while it stands still
            self.report_epoch(epoch + 1, logs or {}, self.model, self.start)
            self._warn_said()
            return
        from reportgen.load.keras.snapshot import hold

        while len(self._waiting) >= MAX_WAITING:  # before copying: at most MAX_WAITING copies
            self._waiting.popleft().result()
        try:
            held = hold(self.model)  # this epoch's weights, copied: training moves on
        except Exception as exc:  # the epoch's row says why
            held = exc
        self._waiting.append(self._writer.submit(self.report_epoch, epoch + 1,
                                                 dict(logs or {}), held, self.start))

    def on_train_end(self, logs=None):
        """Training returns once every report and the index are written."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
            self._waiting.clear()
        self._warn_said()

    def report_epoch(self, epoch: int, logs: dict, model, start: dict | None) -> None:
        """One epoch's report of `model` (the live model, the weights held at the epoch's
        end, or why they could not be held) against `start`, and the index after it;
        whatever fails is said, never raised."""
        from reportgen.parallel import one_blas_thread

        with one_blas_thread():  # as build_report does, for the index too: training pays
            try:
                self.record(epoch, logs, model, start)
            except Exception as exc:  # Training goes on whatever the report meets.
                self._said.append(f"reportgen: no report for epoch {epoch}: {one_line(exc)}")
            self.write_index()

    def record(self, epoch: int, logs: dict, model, start: dict | None) -> None:
        """One epoch's report, and its row and trend points for the index (a failed report
        is a row that says why)."""
        from reportgen.analyse.batch_index import Outcome, model_row
        from reportgen.analyse.series import SeriesMember

        name = f"epoch-{epoch:03d}"
        member = SeriesMember(self.output_dir.name, epoch)
        numbers = tuple((key, float(value)) for key, value in sorted(logs.items())
                        if isinstance(value, (int, float)))
        started = time.perf_counter()
        try:
            if isinstance(model, Exception):
                raise model
            facts = self.write_report(self.output_dir / f"{name}.html", model, start)
        except Exception as exc:
            outcome = Outcome(f"{name}.html", name, "failed", one_line(exc),
                              time.perf_counter() - started, None)
            self.index.add(name, model_row(outcome, None, member, numbers), None)
            raise
        outcome = Outcome(f"{name}.html", name, "report", "", time.perf_counter() - started,
                          f"{name}.html")
        self.index.add(name, model_row(outcome, facts, member, numbers), facts,
                       change_from(start, model))

    def write_report(self, path: Path, model, start: dict | None) -> dict:
        """One epoch's report, saved; its sidecar's data."""
        from reportgen import api

        initial = start if self.weights_only else None
        result = api.report(model, weights_only=self.weights_only, initial=initial,
                            **self.arguments)
        result.save(path)
        return result.facts

    def write_index(self) -> None:
        """The index of the reports so far, never letting its own failure stop training."""
        from reportgen.version import __version__
        from reportgen.i18n import language, msg
        from reportgen.page.index_view import write_index
        from reportgen.pipeline.request import generation_time

        try:
            with language(self.arguments.get("lang")):  # the reports' language
                write_index(self.index.facts(msg("the training callback"), generation_time(),
                                             __version__, training_run=self.output_dir.name),
                            self.output_dir)
        except Exception as exc:  # as above: training goes on
            self._said.append(f"reportgen: the index could not be written: {one_line(exc)}")

    def _warn_said(self) -> None:
        """Warn, from the training thread, what the reporting thread has said."""
        while self._said:
            _warn(self._said.popleft())


def weights_of(snapshot) -> dict[str, list]:
    """Every layer's weights by layer path (nested models' layers too)."""
    from reportgen.load.snapshot import all_layers

    return {layer.path: [w.values for w in layer.weights]
            for layer in all_layers(snapshot.layers) if layer.weights}


def change_from(start: dict | None, model) -> dict[str, float | None]:
    """Each layer's main weight's ‖W − W_start‖ / ‖W_start‖, for the live model or the
    weights held."""
    from reportgen.analyse.compare import main_change
    from reportgen.load.keras.snapshot import HeldModel, snapshot

    if start is None:
        return {}
    now = weights_of(model.snapshot if isinstance(model, HeldModel) else snapshot(model))
    return {path: main_change(before, now[path]) for path, before in start.items()
            if path in now}


def _warn(text: str) -> None:
    """A warning that can never become an exception inside model.fit (a caller's
    `warnings.simplefilter("error")` would otherwise turn it into one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(text, RuntimeWarning, stacklevel=3)
