"""One model of a batch, as a worker process runs it: the task, its result, and the function
that makes one report (report.run.generate_report) and never raises.

Tasks and results are plain picklable data: they travel to spawned local processes and to
Dask workers alike. A worker that cannot write to the machine that started the batch returns
the HTML and JSON text; with a shared output folder it writes them there itself.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import language, msg
from reportgen.progress import Progress


@dataclass(frozen=True)
class BatchTask:
    """One model to report on: its absolute path, the reports' file stem, the folder the
    worker writes them to (None: return their text), and the report's language."""

    model: str
    name: str
    shared_folder: str | None = None
    lang: str = "en"
    # What every report of the batch is made with (absolute paths, as --input/--labels/--data
    # of a single report take them).
    inputs: tuple[str, ...] = ()
    labels: str | None = None
    data: str | None = None
    data_labels: str | None = None
    data_root: str | None = None
    # The report's settings (options by dest, as the option table declares them).
    values: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class TaskResult:
    """What became of one task. `status` is "report", "refused" (the file cannot be read as a
    model: `reason` says why) or "failed" (a bug, or a worker that died). `html` and `json`
    hold the report's text when the worker returned it."""

    model: str
    name: str
    status: str
    reason: str
    seconds: float
    html: str | None = None
    json: str | None = None
    worker: str = ""
    card: str | None = None  # the model card's text, with --card


def warm_up() -> None:
    """Prepare a fresh local worker process: TensorFlow imported once, before the first model
    arrives."""
    from reportgen.load.keras.runtime import import_keras

    import_keras()


# A Dask worker may run several tasks at once in threads; Keras's global seed and graph state
# are not thread-safe, so each process makes one report at a time.
_ONE_AT_A_TIME = threading.Lock()


def run_task(task: BatchTask) -> TaskResult:
    """Make one report; a refused file or a bug becomes the result's status, never an error.
    Library warnings are silenced while it runs: they would interleave on the batch's stderr."""
    with _ONE_AT_A_TIME, warnings.catch_warnings(), language(task.lang):
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        try:
            html, json, card = _report(task)
            status, reason = "report", ""
        except ReportInputError as exc:
            html = json = card = None
            status, reason = "refused", one_line(exc)
        except Exception as exc:  # A bug in one model's report must not end the batch.
            html = json = card = None
            status, reason = "failed", msg("internal error: {error}", error=one_line(exc))
        seconds = time.perf_counter() - started
    return TaskResult(task.model, task.name, status, reason, seconds, html, json,
                      f"{socket.gethostname()}:{os.getpid()}", card)


def _report(task: BatchTask) -> tuple[str | None, str | None, str | None]:
    """Write the report where the task says, or into a temporary folder whose files' text is
    returned."""
    from reportgen.load.samples import parse_input
    from reportgen.pipeline.request import ReportRequest, card_path
    from reportgen.pipeline.run import generate_report

    def request(folder: Path) -> ReportRequest:
        optional = {"labels_path": task.labels, "data_path": task.data,
                    "data_labels_path": task.data_labels}
        values = dict(task.values) | ({"data_root": Path(task.data_root)}
                                      if task.data_root else {})
        return ReportRequest(model_path=Path(task.model), output=folder / f"{task.name}.html",
                             inputs=tuple(parse_input(text) for text in task.inputs),
                             values=values,
                             **{key: Path(value) for key, value in optional.items()
                                if value is not None})

    if task.shared_folder is not None:
        generate_report(request(Path(task.shared_folder)), Progress(quiet=True))
        return None, None, None
    with tempfile.TemporaryDirectory(prefix="reportgen-batch-") as folder:
        html_path, json_path = generate_report(request(Path(folder)), Progress(quiet=True))
        card = card_path(html_path)
        return (html_path.read_text(encoding="utf-8"), json_path.read_text(encoding="utf-8"),
                card.read_text(encoding="utf-8") if card.is_file() else None)
