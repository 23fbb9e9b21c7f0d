"""What a process that reportgen owns (the command line, a batch worker) sets for itself
before anything heavy is imported. A library call (a notebook's) leaves its process alone."""

from __future__ import annotations

import ctypes
import os
import sys

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
