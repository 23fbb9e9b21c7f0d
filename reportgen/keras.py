"""`ReportCallback`: a Keras callback that writes an audit report every N epochs as a model
trains, and an index of them with the trend of each layer's change from its start.

    model.fit(x, y, epochs=20, callbacks=[reportgen.keras.ReportCallback("audit", every=5)])

Without `inputs` or `data` a report costs what a weights-only one does (no forward pass,
no re-initialisation: the weights are compared with the ones training started from).
A failure never stops training: it becomes a warning and a line in the index.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import keras

from reportgen.errors import one_line


class ReportCallback(keras.callbacks.Callback):
    """Write `output_dir/epoch-NNN.html` (+ .json) every `every` epochs, and
    `output_dir/index.html` (+ index.json) with the trends, refreshed each time."""

    def __init__(self, output_dir: str | Path, every: int = 1, inputs=None, data=None,
                 data_labels=None, labels=None, **options: Any):
        super().__init__()
        if every < 1:
            raise ValueError("every must be a whole number of at least 1")
        self.output_dir, self.every = Path(output_dir), every
        self.arguments = {"inputs": inputs, "data": data, "data_labels": data_labels,
                          "labels": labels, **options}
        self.initial: dict | None = None
        self.entries: list[dict] = []

    def on_train_begin(self, logs=None):
        from reportgen.load.keras_model import weights_by_path

        self.initial = weights_by_path(self.model)

    def on_epoch_end(self, epoch: int, logs=None):
        if (epoch + 1) % self.every:
            return
        started = time.perf_counter()
        path = self.output_dir / f"epoch-{epoch + 1:03d}.html"
        try:
            self.entries.append(self.write_report(epoch + 1, path, logs or {}))
        except Exception as exc:  # Training goes on whatever the report meets.
            warnings.warn(f"reportgen: no report for epoch {epoch + 1}: {one_line(exc)}",
                          RuntimeWarning, stacklevel=2)
            self.entries.append({"epoch": epoch + 1, "error": one_line(exc)})
        self.entries[-1]["seconds"] = time.perf_counter() - started
        self.write_index()

    def write_report(self, epoch: int, path: Path, logs: dict) -> dict:
        """One epoch's report; the figures the index needs from it."""
        from reportgen import api

        runs = any(self.arguments.get(k) is not None for k in ("inputs", "data"))
        result = api.report(self.model, weights_only=not runs,
                            initial=None if runs else self.initial, **self.arguments)
        result.save(path)
        return {"epoch": epoch, "report": path.name, "logs": dict(logs),
                "facts": result.facts}

    def write_index(self) -> None:
        """The index of the reports so far, never letting its own failure stop training."""
        from reportgen.i18n import language
        from reportgen.page.epochs_view import write_epoch_index

        try:
            with language(self.arguments.get("lang")):  # the reports' language
                write_epoch_index(self.output_dir, self.entries)
        except Exception as exc:  # as above: training goes on
            warnings.warn(f"reportgen: the index could not be written: {one_line(exc)}",
                          RuntimeWarning, stacklevel=2)
