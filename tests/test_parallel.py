"""reportgen.parallel: one BLAS thread while reportgen works, whichever threads ask."""

from __future__ import annotations

import threading

import pytest

from conftest import numpy_blas_threads
from reportgen.parallel import one_blas_thread


@pytest.fixture
def several_blas_threads():
    import numpy  # noqa: F401 - its BLAS is what is held

    if numpy_blas_threads() < 2:
        pytest.skip("numpy's BLAS runs one thread here already (one core, or "
                    "OPENBLAS_NUM_THREADS=1), or is not numpy's own OpenBLAS with its own "
                    "threads: nothing to hold process-wide")
    return numpy_blas_threads()


def in_thread(function):
    found = []
    thread = threading.Thread(target=lambda: found.append(function()))
    thread.start()
    thread.join()
    return found[0]


def held():
    with one_blas_thread():
        return numpy_blas_threads()


def test_each_thread_holds_blas_in_turn(several_blas_threads):
    # The main thread first, then a new thread each time (a training callback's writer):
    # every one holds it, and it is lifted after each.
    assert held() == 1
    assert numpy_blas_threads() == several_blas_threads
    assert [in_thread(held) for _ in range(2)] == [1, 1]
    assert numpy_blas_threads() == several_blas_threads
    assert held() == 1


def test_the_last_thread_to_leave_lifts_what_another_set(several_blas_threads):
    entered, leave = threading.Event(), threading.Event()

    def hold_until_told():
        with one_blas_thread():
            entered.set()
            leave.wait(10)

    other = threading.Thread(target=hold_until_told)
    other.start()
    entered.wait(10)
    with one_blas_thread():
        assert numpy_blas_threads() == 1
        leave.set()
        other.join()
        assert numpy_blas_threads() == 1  # this thread still works
    assert numpy_blas_threads() == several_blas_threads


def test_a_limit_the_callers_own_code_set_does_not_lock_reportgen_out(several_blas_threads):
    # A notebook that called threadpool_limits itself (not as a context) has taken control
    # of OpenBLAS's limit in its main thread; a report made in another thread still holds it.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=several_blas_threads, user_api="blas")
    assert in_thread(held) == 1
    assert numpy_blas_threads() == several_blas_threads
