"""Where a batch's reports are made: local worker processes, or an existing Dask cluster.

Both are concurrent.futures executors, so the batch has one code path: submit a task, wait
for futures. Local workers are spawned, never forked (TensorFlow is not fork-safe), import
TensorFlow once each and then take model after model; a worker is replaced by a fresh one
after MAX_TASKS models or when its memory has grown by MAX_GROWTH since its first model, so
that what Keras leaks per model stays bounded. (ProcessPoolExecutor's own
max_tasks_per_child hangs on Python 3.11: this pool does the same with a pipe per worker.)
A worker that dies fails only the task it was running; the next task gets a fresh worker.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import queue
import threading
from concurrent.futures import Executor, Future
from typing import Callable, Iterator

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg
from reportgen.process import own_process

MAX_TASKS = 50
# Client's own timeout covers the TCP connect only: a server that accepts and never answers
# the handshake would hold the batch forever, so the whole connection gets this deadline.
HANDSHAKE_SECONDS = 30
MAX_GROWTH = 2 << 30  # bytes of resident memory
_STOP = None


class WorkerDied(Exception):
    """The worker process running a task ended without an answer (killed, out of memory)."""


class WorkerPool(Executor):
    """n spawned worker processes, each fed by a thread of this process through a pipe.

    `initializer` ("module:function") runs once in each new worker, after `env` is set and
    before any task; task functions must be importable (they are pickled by name).
    """

    def __init__(self, n_workers: int, initializer: str, env: dict[str, str]):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._initializer, self._env = initializer, env
        self._threads = [threading.Thread(target=self._feed, daemon=True)
                         for _ in range(n_workers)]
        for thread in self._threads:
            thread.start()

    @property
    def n_workers(self) -> int:
        """How many tasks run at once."""
        return len(self._threads)

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        """Run fn(*args, **kwargs) in a worker; its Future has the result or the exception."""
        future: Future = Future()
        self._tasks.put((future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop every worker once the tasks submitted are done; with cancel_futures, the tasks
        not started yet are cancelled first (an interrupted batch ends after the running ones)."""
        if cancel_futures:
            with contextlib.suppress(queue.Empty):
                while True:
                    item = self._tasks.get_nowait()
                    if item is not _STOP:
                        item[0].cancel()
        for _ in self._threads:
            self._tasks.put(_STOP)
        if wait:
            for thread in self._threads:
                thread.join()

    def _feed(self) -> None:
        """One worker slot: start a worker at once (TensorFlow's import overlaps whatever the
        batch does meanwhile), hand it tasks one at a time, and replace it when it has done
        enough, grown too much or died."""
        worker: Worker | None = Worker(self._initializer, self._env)
        try:
            while (item := self._tasks.get()) is not _STOP:
                future, fn, args, kwargs = item
                if not future.set_running_or_notify_cancel():
                    continue
                if worker is None or worker.worn_out():
                    if worker is not None:
                        worker.stop()
                    worker = Worker(self._initializer, self._env)
                try:
                    future.set_result(worker.run(fn, args, kwargs))
                except WorkerDied as exc:
                    future.set_exception(exc)
                    worker.stop()
                    worker = None
                except Exception as exc:  # The task's own exception, passed back as it is.
                    future.set_exception(exc)
        finally:
            if worker is not None:
                worker.stop()


class Worker:
    """One spawned process and the pipe to it."""

    def __init__(self, initializer: str, env: dict[str, str]):
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, initializer, env), daemon=True)
        self.process.start()
        child.close()
        self.n_tasks, self.first_rss, self.rss = 0, None, None

    def run(self, fn: Callable, args: tuple, kwargs: dict):
        """fn(*args, **kwargs) in the worker: its result, or its exception raised here."""
        try:
            self.connection.send((fn, args, kwargs))
            ok, value, rss = self.connection.recv()
        except (EOFError, OSError):
            self.process.join(timeout=5)
            raise WorkerDied(msg("the worker process (pid {pid}) ended during the task, exit "
                                 "code {code}", pid=self.process.pid,
                                 code=self.process.exitcode)) from None
        self.n_tasks += 1
        self.rss = rss
        self.first_rss = self.first_rss or rss
        if not ok:
            raise value
        return value

    def worn_out(self) -> bool:
        """Whether the worker has done MAX_TASKS tasks or grown by MAX_GROWTH bytes."""
        grown = self.rss is not None and self.first_rss is not None and \
            self.rss - self.first_rss > MAX_GROWTH
        return self.n_tasks >= MAX_TASKS or grown

    def stop(self) -> None:
        """End the worker now: it is idle (or dead, or the batch was interrupted), and holds
        nothing that needs a clean exit; waiting for TensorFlow's own teardown costs a second."""
        self.connection.close()
        self.process.terminate()
        self.process.join()


def serve(connection, initializer: str, env: dict[str, str]) -> None:
    """A worker process's life: set the environment, run the initializer, then answer task
    after task with (ok, result or exception, resident bytes) until the pipe closes."""
    os.environ.update(env)
    own_process()
    module, _, name = initializer.partition(":")
    getattr(importlib.import_module(module), name)()
    while True:
        try:
            fn, args, kwargs = connection.recv()
        except EOFError:  # the pool closed the pipe, or the batch itself ended
            return
        try:
            answer = (True, fn(*args, **kwargs))
        except Exception as exc:  # Sent back to be raised in the parent, as a pool does.
            answer = (False, exc)
        try:
            connection.send(answer + (resident_bytes(),))
        except Exception as exc:  # An answer that cannot be pickled is reported, not lost.
            connection.send((False, RuntimeError(f"unpicklable result: {one_line(exc)}"),
                             resident_bytes()))


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@contextlib.contextmanager
def local_executor(n_workers: int, initializer: str) -> Iterator[Executor]:
    """A WorkerPool whose workers share the cores: TensorFlow in each gets its share of
    threads (n workers each using every core would fight over them), and numpy's BLAS one
    thread, as in a single run (a report analyses two layers at a time already)."""
    threads = str(max(1, default_jobs() // n_workers))
    env = {"OPENBLAS_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": threads,
           "REPORTGEN_THREADS": threads}
    pool = WorkerPool(n_workers, initializer, env)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """The Dask client's executor on the cluster whose scheduler is at `address`; Dask is only
    imported here, and its absence is a one-line refusal."""
    try:
        from distributed import Client
    except ImportError:
        raise ReportInputError(msg('--scheduler needs Dask\'s distributed package: '
                                   'pip install "reportgen[dask]"')) from None
    client = _connected(Client, address)
    try:
        # pure=False: two tasks with equal arguments are still two runs.
        yield client.get_executor(pure=False)
    finally:
        client.close()


def _connected(client_class, address: str, deadline: float = HANDSHAKE_SECONDS):
    """A Client connected to `address` within `deadline` seconds, or a one-line refusal.
    Whatever the far end answers (an HTTP server's reply read as a frame length, a huge
    length prefix) is a fault of the address given, never an internal error."""
    outcome: dict = {}

    def connect():
        try:
            outcome["client"] = client_class(address, timeout=f"{max(deadline - 5, 1):g}s")
        except Exception as exc:  # noqa: BLE001 - any answer from a wrong address is refused
            outcome["error"] = exc

    # A daemon thread: a handshake that never ends must not keep the process alive.
    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    thread.start()
    thread.join(deadline)
    if "client" in outcome:
        return outcome["client"]
    reason = (one_line(outcome["error"]) if "error" in outcome
              else msg("no answer to the handshake within {n} s", n=deadline))
    raise ReportInputError(msg("cannot reach the Dask scheduler at {address}: {error}",
                               address=address, error=reason))
