"""Work on two items at once: numpy, zlib and h5py release the GIL in their heavy parts,
and these machines have two cores. Results keep the order of the items."""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Other = TypeVar("Other")
# A batch's worker processes share the cores: each is given its share (workers.py).
WORKERS = max(1, int(os.environ.get("REPORTGEN_THREADS", "2") or 2))
_BLAS = threading.Lock()
_blas_controller = _blas_limit = None
_blas_users = 0


def ordered_map(function: Callable[[Item], Result], items: Iterable[Item],
                cost: Callable[[Item], float] | None = None) -> list[Result]:
    """function(item) for every item, two at a time, in the items' order; each call sees the
    caller's context variables (the report's language). With `cost`, the costliest items
    start first, so that one large item left for the end does not leave a core idle."""
    items = list(items)
    order = sorted(range(len(items)), key=lambda k: -cost(items[k])) if cost is not None \
        else range(len(items))
    with one_blas_thread(), ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {k: pool.submit(contextvars.copy_context().run, function, items[k])
                   for k in order}
        return [futures[k].result() for k in range(len(items))]


def beside(main: Callable[[], Result], other: Callable[[], Other]) -> tuple[Result, Other]:
    """(main(), other()), other running in a thread of its own meanwhile (with the caller's
    context variables); an exception of either is raised here, after both have ended."""
    found: dict[str, object] = {}

    def run_other():
        try:
            found["value"] = other()
        except BaseException as exc:  # raised in the caller's thread below
            found["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run_other,),
                              daemon=True)
    with one_blas_thread():
        thread.start()
        try:
            result = main()
        finally:
            thread.join()
    if "error" in found:
        raise found["error"]
    return result, found["value"]


@contextlib.contextmanager
def one_blas_thread():
    """numpy's BLAS limited to one thread while reportgen works: two report threads each
    starting two BLAS threads on two cores made the spectra 4-7 times slower, and a sum
    split over two threads rounds differently, so that facts would depend on who worked
    them out. A notebook or a training callback has loaded numpy before reportgen runs, so
    OPENBLAS_NUM_THREADS cannot do this there. Nested and concurrent uses share one limit,
    lifted when the last one ends."""
    global _blas_controller, _blas_limit, _blas_users
    with _BLAS:
        if _blas_users == 0:
            from threadpoolctl import ThreadpoolController

            _blas_controller = _blas_controller or ThreadpoolController()
            _hand_back_control()
            _blas_limit = _blas_controller.limit(limits=1, user_api="blas")
            _hand_back_control()
        _blas_users += 1
    try:
        yield
    finally:
        with _BLAS:
            _blas_users -= 1
            if _blas_users == 0:
                _hand_back_control()
                _blas_limit.restore_original_limits()
                _blas_limit = None
                _hand_back_control()


def _hand_back_control() -> None:
    """threadpoolctl (3.8 on) lets only the thread that last took control of OpenBLAS's
    limit change it, and silently ignores every other thread: a callback's reporting
    thread, the thread that lifts the limit after another set it, or any thread after the
    notebook's own code set a limit, changed nothing. With OpenBLAS's own threads (pip's
    numpy) the limit is the process's, and this one is set and lifted under one lock, so
    control is taken before and handed back after each change. (An OpenBLAS built on
    OpenMP limits the calling thread only; threadpoolctl leaves that one alone.)"""
    from threadpoolctl import OpenBLASController

    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
