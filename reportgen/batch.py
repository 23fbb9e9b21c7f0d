"""`reportgen batch PATH... -o OUTDIR`: one report per model, made by worker processes that
import TensorFlow once each (or by an existing Dask cluster), and OUTDIR/index.html with
index.json over them: a row per model, and trend charts for each checkpoint series.

Exit codes: 0 when every model got a report; 3 when some did not (each has its row, "refused:
reason" for a file that is not a readable model); 2 for bad usage or an output that cannot be
written; 1 for an internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import time
from concurrent.futures import Future, as_completed
from pathlib import Path

from reportgen.version import __version__
from reportgen.analyse.batch_index import IndexFacts, IndexParts, Outcome, model_row
from reportgen.analyse.compare import main_weight_changes
from reportgen.analyse.series import SeriesMember, find_series
from reportgen.batch_worker import BatchTask, TaskResult, run_task
from reportgen.commands import run_guarded
from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import current_language, msg, nmsg
from reportgen.options import BATCH, build_parser, settings
from reportgen.load.guards import require_regular_file
from reportgen.load.inputs import read_labels
from reportgen.load.sample_index import index_sample
from reportgen.load.batch_files import find_models, report_names
from reportgen.load.model_file import check_model_file, file_sha256
from reportgen.load.weights_file import open_weights
from reportgen.pipeline.request import card_path, generation_time
from reportgen.progress import Progress
from reportgen.page.index_view import write_index
from reportgen.page.write import check_writable
from reportgen.pipeline.output import Output
from reportgen.workers import dask_executor, default_jobs, local_executor

EXIT_SOME_MISSING = 3
STATUS_WORDS = {"refused": msg("refused"), "failed": msg("failed")}
MAX_SIDECAR_BYTES = 1 << 30  # a report's own JSON; far above any real model's


def main(argv: list[str]) -> int:
    """Run `reportgen batch`; return the exit code."""
    args = build_parser(BATCH).parse_args(argv)
    return run_guarded(args, lambda: run_batch(args, Progress(quiet=args.quiet)))


def run_batch(args: argparse.Namespace, progress: Progress) -> int:
    """Plan, make the reports, write the index; 0 when every model got a report, else 3."""
    index_html, index_json = args.output / "index.html", args.output / "index.json"
    report_dir = args.shared_output or args.output / "reports"
    check_writable([index_html, index_json, report_dir / "report.html"])
    models = find_models(args.paths)
    given = given_files(args)
    wanted = signature(given)  # hashes the given files: once per batch
    outcomes, pending = plan(models, report_names(models), report_dir, args, given, wanted)
    with IndexGatherer(models, report_dir, wanted) as index:
        return made_and_indexed(args, progress, models, outcomes, pending, report_dir, index)


def made_and_indexed(args: argparse.Namespace, progress: Progress, models: list[Path],
                     outcomes: dict[Path, Outcome], pending: list, report_dir: Path,
                     index: "IndexGatherer") -> int:
    """Make the pending reports, each joining the index as it comes (its sidecar read, its
    change from its series' first checkpoint worked out) while the workers make the next
    ones; write the index; 0 when every model got a report, else 3."""
    index_html = args.output / "index.html"
    for k, (model, outcome) in enumerate(outcomes.items(), 1):
        index.add(model, outcome)
        progress.step(msg("[{k}/{n}] {model}: report up to date, reused", k=k, n=len(models),
                          model=str(model)))
    if args.scheduler:
        executor = dask_executor(args.scheduler)
        made_by = msg("the Dask cluster at {address}", address=args.scheduler)
    else:
        n_workers = worker_count(args.jobs, len(pending), progress)
        executor = local_executor(n_workers, "reportgen.batch_worker:warm_up")
        made_by = nmsg("{n} local worker process", "{n} local worker processes", n_workers)
    if pending:
        for model, result in make_reports(pending, executor, report_dir, progress,
                                          len(outcomes), len(models)):
            index.add(model, outcome_of(result, str(model), report_dir, args.output))
    facts = index.facts(made_by)
    write_index(facts, args.output)
    missing = sum(1 for row in facts.rows if row.outcome.report is None)
    progress.step(nmsg("wrote {index}: {reports} of {n} model has a report",
                       "wrote {index}: {reports} of {n} models have a report", len(models),
                       index=str(index_html), reports=len(models) - missing))
    return EXIT_SOME_MISSING if missing else 0


def worker_count(jobs: int | None, n_pending: int, progress: Progress) -> int:
    """Local workers: --jobs (default: the cores), at most one per core and per model; a
    --jobs past the cores is said, not silently cut."""
    cores = default_jobs()
    if jobs and jobs > cores:
        # Each worker holds its own TensorFlow: more workers than cores only adds memory.
        progress.step(nmsg("--jobs {jobs}: more workers than the {n} core this process may "
                           "use; {n} worker at most", "--jobs {jobs}: more workers than the "
                           "{n} cores this process may use; {n} workers at most",
                           cores, jobs=jobs))
    return min(jobs or cores, cores, n_pending)


def given_files(args: argparse.Namespace) -> dict:
    """The --input, --labels, --data and --data-labels files, checked before any work (a FIFO
    or a missing file is refused once, not once per model) and made absolute for the
    workers."""
    from reportgen.load.samples import parse_input

    inputs = []
    for text in args.inputs:
        item = parse_input(text)
        require_regular_file(item.path, msg("input file"))
        path = str(item.path.resolve())
        inputs.append(f"{item.input_name}={path}" if item.input_name else path)
    found = {"inputs": tuple(inputs)}
    for key, kind in (("labels", msg("labels file")), ("data_labels", msg("labels file"))):
        path = getattr(args, key)
        if path is not None:
            require_regular_file(path, kind)
        found[key] = str(path.resolve()) if path is not None else None
    if args.data is not None:
        # Listed and checked once, here (sample_index.py), before any worker starts.
        index_sample(args.data, args.data_labels, tuple(read_labels(args.labels)),
                     args.data_root)
    found["data"] = str(args.data.resolve()) if args.data is not None else None
    found["data_root"] = str(args.data_root.resolve()) if args.data_root is not None else None
    found["lang"] = current_language()
    return found


def signature(given: dict) -> dict:
    """What, beside a model's own file and the report settings, its batch report depends on:
    the language and the files given to every model, each with its SHA-256 (a folder: its
    path only). index.json keeps it per model; --resume compares it."""
    from reportgen.load.samples import parse_input

    def fingerprint(text: str | None, path: Path | None = None):
        if text is None:
            return None
        path = path or Path(text)
        return [text, file_sha256(path) if path.is_file() else None]

    return {"lang": given["lang"],
            "inputs": [fingerprint(text, parse_input(text).path) for text in given["inputs"]],
            **{key: fingerprint(given[key]) for key in ("labels", "data", "data_labels")}}


def plan(models: list[Path], names: list[str], report_dir: Path, args: argparse.Namespace,
         given: dict, wanted: dict) -> tuple[dict[Path, Outcome], list[tuple[Path, BatchTask]]]:
    """The models whose report --resume can keep (as outcomes: made with the `wanted`
    signature), and a task for every other."""
    reused, pending = {}, []
    shared = str(args.shared_output.resolve()) if args.shared_output else None
    before = previous_signatures(args.output / "index.json") if args.resume else {}
    for model, name in zip(models, names):
        html = report_dir / f"{name}.html"
        if args.resume and before.get(str(model)) == wanted and \
                up_to_date(model, html, settings(vars(args))) and \
                (not args.card or card_path(html).is_file()):
            reused[model] = Outcome(str(model), name, "reused", "", None,
                                    relative(html, args.output))
        else:
            pending.append((model, BatchTask(str(model.resolve()), name, shared, given["lang"],
                                             given["inputs"], given["labels"], given["data"],
                                             given["data_labels"], given["data_root"],
                                             tuple(settings(vars(args)).items())
                                             + (("card", bool(args.card)),))))
    return reused, pending


def previous_signatures(index_json: Path) -> dict[str, dict]:
    """The signature each model's report was made with, by model file, from the index of the
    batch before (none when there is no readable index)."""
    index = read_sidecar(index_json) or {}
    return {row.get("file"): row.get("signature") for row in index.get("models") or []
            if isinstance(row, dict) and row.get("report")}


def up_to_date(model: Path, html: Path, wanted: dict) -> bool:
    """Whether the report at `html` (and its sidecar) exists for this very file (SHA-256) and
    the `wanted` settings (the option table's, as every report records them)."""
    sidecar = read_sidecar(html.with_suffix(".json"))
    if sidecar is None or not html.is_file():
        return False
    try:
        digest = file_sha256(model)
    except OSError:
        return False
    return ((sidecar.get("model") or {}).get("sha256") == digest
            and sidecar.get("settings") == wanted)


def read_sidecar(path: Path) -> dict | None:
    """A report's JSON sidecar, or None when it is missing, too large or not JSON."""
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def relative(target: Path, folder: Path) -> str:
    """target's path from folder, with forward slashes (a link in the index)."""
    return Path(os.path.relpath(target.absolute(), folder.absolute())).as_posix()


def make_reports(pending: list[tuple[Path, BatchTask]], executor, report_dir: Path,
                 progress: Progress, n_done: int, n_total: int):
    """Run the tasks on the executor (a context manager giving a concurrent.futures executor);
    yield (model, result) as each comes, its report written to report_dir when the worker
    returned the text, with one progress line and an estimate of the time left."""
    with executor as pool:
        futures = {pool.submit(run_task, task): (model, task) for model, task in pending}
        first_done = None
        for k, future in enumerate(as_completed(futures), 1):
            model, task = futures[future]
            result = task_result(future, task)
            if result.html is not None:
                Output(report_dir / f"{result.name}.html", []).write(result.html, result.json,
                                                                    card=result.card)
            left = time_left(k, len(pending), result.seconds, first_done, n_workers(pool))
            first_done = first_done or time.perf_counter()
            progress.step(msg("[{k}/{n}] {model}: {outcome} ({seconds:.1f} s); about "
                              "{left:.0f} s left", k=n_done + k, n=n_total, model=str(model),
                              outcome=_said(result), seconds=result.seconds, left=left))
            yield model, result


def time_left(k: int, n: int, seconds: float, first_done: float | None, workers: int) -> float:
    """The seconds the last n - k of n tasks will take: from the pace since the first result
    (the workers' start-up, TensorFlow's import, is not in it), or for the first result from
    its own time shared by the workers."""
    if first_done is None or k < 2:
        return seconds * (n - k) / max(1, workers)
    return (time.perf_counter() - first_done) / (k - 1) * (n - k)


def n_workers(pool) -> int:
    """How many tasks the executor runs at once (1 when it does not say: a Dask executor)."""
    return int(getattr(pool, "n_workers", 1) or 1)


def task_result(future: Future, task: BatchTask) -> TaskResult:
    """The future's result, or a "failed" result saying why the task never finished (a worker
    that died, a cluster that lost it)."""
    try:
        return future.result()
    except Exception as exc:  # Whatever the executor raises, the batch goes on.
        return TaskResult(task.model, task.name, "failed",
                          msg("the worker failed: {error}", error=one_line(exc)), 0.0)


def _said(result: TaskResult) -> str:
    """A result in a few words for its progress line."""
    if result.status == "report":
        return msg("report")
    return msg("{status}: {reason}", status=STATUS_WORDS[result.status], reason=result.reason)


def outcome_of(result: TaskResult, source: str, report_dir: Path, output: Path) -> Outcome:
    """A task's result as an index outcome, its report linked relative to the index."""
    report = (relative(report_dir / f"{result.name}.html", output)
              if result.status == "report" else None)
    return Outcome(source, result.name, result.status, result.reason, result.seconds, report,
                   result.worker)


class IndexGatherer:
    """The index's facts, gathered a model at a time as reports come in: each report's
    sidecar is read once, and each series member's change from its series' first checkpoint
    is read from both files with h5py, the first kept open until its series' last member
    is in, instead of reopened for every member."""

    def __init__(self, models: list[Path], report_dir: Path, task_signature: dict):
        self.models, self.report_dir, self.signature = models, report_dir, task_signature
        self.members = find_series(models)
        self.firsts: dict[str, Path] = {}
        self.waiting: dict[str, int] = {}  # members of each series not yet in
        for model, member in sorted(self.members.items(), key=lambda item: item[1].epoch):
            self.firsts.setdefault(member.series, model)
            self.waiting[member.series] = self.waiting.get(member.series, 0) + 1
        self.parts = IndexParts()
        self._open: dict[str, contextlib.ExitStack] = {}
        self._first_weights: dict[str, object] = {}

    def __enter__(self) -> "IndexGatherer":
        return self

    def __exit__(self, *exc) -> None:
        for stack in self._open.values():
            stack.close()

    @property
    def changes(self) -> dict[str, dict[str, float | None]]:
        """Each series member's layer changes from its series' first epoch, by report name."""
        return self.parts.changes

    def add(self, model: Path, outcome: Outcome) -> None:
        """What one model's outcome (and its report, if there is one) adds to the index."""
        member = self.members.get(model)
        sidecar = read_sidecar(self.report_dir / f"{outcome.name}.json") \
            if outcome.report else None
        row = dataclasses.replace(model_row(outcome, sidecar, member),
                                  signature=self.signature if outcome.report else None)
        changes, renamed = self.start_change(model, member) if member is not None else \
            (None, None)
        self.parts.add(model, row, sidecar, changes, renamed)

    def start_change(self, model: Path, member: SeriesMember
                     ) -> tuple[dict[str, float | None], dict[str, str]]:
        """The member's layer changes from its series' first epoch and its layers renamed
        from it (main_weight_changes; both empty when either file cannot be read); the
        first is let go once its series' last member is in."""
        try:
            start = self.first_weights(member.series)
            if start is None:
                return {}, {}
            with open_weights(check_model_file(model)) as now:
                return main_weight_changes(start, now)
        except ReportInputError:
            return {}, {}
        finally:
            self.waiting[member.series] -= 1
            if not self.waiting[member.series] and member.series in self._open:
                self._open.pop(member.series).close()

    def first_weights(self, series: str):
        """The weights of a series' first checkpoint, opened once; None when it cannot be
        read."""
        if series not in self._first_weights:
            stack = self._open[series] = contextlib.ExitStack()
            try:
                self._first_weights[series] = stack.enter_context(
                    open_weights(check_model_file(self.firsts[series])))
            except ReportInputError:
                self._first_weights[series] = None
        return self._first_weights[series]

    def facts(self, executor: str) -> IndexFacts:
        """The index of every model, in the models' order."""
        return self.parts.facts(executor, generation_time(), __version__, order=self.models)
