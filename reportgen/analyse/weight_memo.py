"""The costliest facts of trained weight tensors (statistics with percentiles, the spectrum,
the filter similarity), kept by the tensor's content so that they can be worked out ahead.

A full report spends seconds importing TensorFlow and loading the model with a core idle,
while the weights lie in the file all along (the GIL is free for most of TensorFlow's
import, and numpy releases it). `Prefetch` works through the file's tensors, largest first,
in a thread meanwhile; the report's own pass over the loaded model then finds each tensor
done, or waits for the one under way, instead of working it out again. The memo outlives a
report: a training callback's starting weights are compared with every epoch's, and worked
out once.

Entries are keyed by class, weight name, dtype, shape and a SHA-256 digest of the values, so
a tensor that Keras holds differently from the file (cast, repaired, another file's) is
never given another's facts: it is simply worked out anew.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.weight_alerts import DUPLICATE_COSINE
from reportgen.analyse.tensor_facts import TensorStats
from reportgen.analyse.spectral import SpectralFacts, spectral_of
from reportgen.analyse.stats import filter_similarity, size_of, summarise

# Tensors up to this many values (16 MB of float32) are memoised and read into memory once;
# larger ones are read in blocks, once, as before: hashing them would be one more pass over
# hundreds of megabytes (VGG16's fc1), and no two of them are ever alike.
MEMO_VALUES = 1 << 22
CAPACITY = 4096  # tensors whose facts are kept (ResNet50 has 320, trained and fresh twice that)


@dataclass(frozen=True)
class TensorFacts:
    """What a weight tensor costs to know: its statistics, its spectrum (None when the weight
    mixes no channels) and, for a trained kernel, the largest cosine between two filters
    with the number of pairs above the duplicate threshold (random ones are never compared:
    they are never near-duplicates)."""

    stats: TensorStats
    spectral: SpectralFacts | None
    max_filter_cosine: float | None = None
    similar_filter_pairs: int = 0


def tensor_facts(class_name: str, weight_name: str, values, spectral_max_dim: int | None,
                 trained: bool = True) -> tuple[TensorFacts, np.ndarray]:
    """The costly facts of one weight tensor (read on demand or in memory), and the finite
    sample its histogram uses (summarise's)."""
    stats, sample = summarise(values)
    cosine, similar = filter_similarity(np.asarray(values), DUPLICATE_COSINE) \
        if trained and len(values.shape) >= 3 else (None, 0)
    return TensorFacts(stats, spectral_of(class_name, weight_name, values, spectral_max_dim),
                       cosine, similar), sample


def content_key(class_name: str, weight_name: str, values: np.ndarray) -> tuple:
    """What identifies a tensor's facts: its kind and its exact values."""
    values = np.ascontiguousarray(values)
    return (class_name, weight_name, str(values.dtype), values.shape,
            hashlib.sha256(values.view(np.uint8)).hexdigest())


def in_memory(values):
    """A tensor small enough to memoise, read into memory (every pass then reads it there);
    a larger one as it is, read on demand."""
    return np.asarray(values) if size_of(values) <= MEMO_VALUES else values


class WeightMemo:
    """Tensor facts by content, each worked out once, by whichever thread asks first; the
    `capacity` most recently used are kept (a few kilobytes each)."""

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._lock = threading.Lock()
        self._found: collections.OrderedDict[tuple, Future] = collections.OrderedDict()

    def facts(self, class_name: str, weight_name: str, values, spectral_max_dim: int | None,
              trained: bool = True) -> tuple[TensorFacts, np.ndarray | None]:
        """The tensor's facts (known, waited for, or worked out here), and its histogram
        sample when it was worked out here (None: take finite_sample of it)."""
        if size_of(values) > MEMO_VALUES:
            return tensor_facts(class_name, weight_name, values, spectral_max_dim, trained)
        values = np.asarray(values)
        key = (*content_key(class_name, weight_name, values), spectral_max_dim, trained)
        with self._lock:
            future = self._found.get(key)
            mine = future is None
            if mine:
                future = self._found[key] = Future()
            else:
                self._found.move_to_end(key)
        if not mine:
            try:
                return future.result(), None
            except Exception:  # noqa: BLE001 - it failed in another thread: worked out here
                return tensor_facts(class_name, weight_name, values, spectral_max_dim, trained)
        try:
            found, sample = tensor_facts(class_name, weight_name, values, spectral_max_dim,
                                         trained)
        except BaseException as exc:
            with self._lock:
                self._found.pop(key, None)
            future.set_exception(exc)
            raise
        future.set_result(found)
        self._forget_oldest()
        return found, sample

    def _forget_oldest(self) -> None:
        with self._lock:
            excess = len(self._found) - self.capacity
            if excess <= 0:
                return
            oldest = [key for key, future in self._found.items() if future.done()][:excess]
            for key in oldest:
                del self._found[key]


# One memo for the process: a training callback's starting weights, or a notebook's model
# reported again, are then worked out once.
SHARED = WeightMemo()


class Prefetch:
    """Works through the tensors of a model file into a memo, largest first, in a thread of
    its own, while the report loads the model (see the module's docstring)."""

    def __init__(self, open_snapshot, spectral_max_dim: int | None,
                 memo: WeightMemo | None = None):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        args=(open_snapshot, spectral_max_dim, memo or SHARED),
                                        name="reportgen-prefetch")
        self._thread.start()

    def enough(self) -> None:
        """Stop after the tensor under way (the report's own pass takes the rest from here:
        going on would only compete with it), without waiting."""
        self._stop.set()

    def stop(self) -> None:
        """Stop after the tensor under way, and wait for it."""
        self._stop.set()
        self._thread.join()

    def _work(self, open_snapshot, spectral_max_dim: int | None, memo: WeightMemo) -> None:
        """`open_snapshot()` opens the file's weights (a context manager, h5py); a file it
        cannot read is left to the report, which says why. It runs inside build_report's
        one BLAS thread (a process-wide limit), as the report's own pass does: a sum over two
        threads rounds differently, and the facts must not depend on which thread worked
        them out."""
        from reportgen.load.snapshot import all_layers

        try:
            with open_snapshot() as snapshot:
                tensors = [(layer.class_name, weight) for layer in all_layers(snapshot.layers)
                           for weight in layer.weights if size_of(weight.values) <= MEMO_VALUES]
                tensors.sort(key=lambda item: -size_of(item[1].values))
                for class_name, weight in tensors:
                    if self._stop.is_set():
                        return
                    memo.facts(class_name, weight.name, weight.values, spectral_max_dim)
        except Exception:  # noqa: BLE001 - the report's own pass works out what is missing
            return
