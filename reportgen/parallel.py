"""Work on two items at once: numpy, zlib and h5py release the GIL in their heavy parts,
and these machines have two cores. Results keep the order of the items."""

from __future__ import annotations

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
# A batch's worker processes share the cores: each is given its share (workers.py).
WORKERS = max(1, int(os.environ.get("REPORTGEN_THREADS", "2") or 2))


def ordered_map(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """function(item) for every item, two at a time, in the items' order; each call sees the
    caller's context variables (the report's language)."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(contextvars.copy_context().run, function, item) for item in items]
        return [future.result() for future in futures]
