"""What a process that reportgen owns (the command line, a batch worker) sets for itself
before anything heavy is imported. A library call (a notebook's) leaves its process alone."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_interrupted = False
M_ARENA_MAX = -8  # glibc's mallopt parameter
ARENAS = 2


def own_process() -> None:
    """One BLAS thread from the start (parallel.one_blas_thread says why), and at most two
    malloc arenas."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    _fewer_arenas()


def _fewer_arenas() -> None:
    """glibc gives threads malloc arenas of their own, up to eight per core, and an arena
    keeps the memory its freed arrays held: with TensorFlow's threads and the report's
    beside them, a ResNet50 report peaked 70-100 MB higher than with two arenas, and was no
    faster. Nothing where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, ARENAS)
    except (OSError, AttributeError, TypeError):
        pass


def interrupt_on_ctrl_c() -> None:
    """Ctrl-C stops the run even when Python loses the KeyboardInterrupt: raised inside a
    weakref callback (TensorFlow runs many), it is printed as "Exception ignored" and the run
    went on to write its report and exit 0. The interrupt is remembered, and raised again at
    the next progress line (raise_if_interrupted)."""
    def interrupted(_signum, _frame):
        global _interrupted
        _interrupted = True
        raise KeyboardInterrupt

    def quiet_about_it(unraisable):
        # The lost interrupt is not a traceback for the user: it is taken up again.
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            sys.__unraisablehook__(unraisable)

    signal.signal(signal.SIGINT, interrupted)
    sys.unraisablehook = quiet_about_it


def was_interrupted() -> bool:
    """Whether Ctrl-C was pressed (and perhaps lost) since the start."""
    return _interrupted


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed (and perhaps lost) since the start."""
    if _interrupted:
        raise KeyboardInterrupt
