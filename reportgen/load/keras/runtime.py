"""Keras itself: imported once, quietly, with the TensorFlow backend; and the versions that
read a model."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings


@contextlib.contextmanager
def _native_stderr_silenced(descriptors: tuple[int, ...] = (2,)):
    """Hide the C++ log lines TensorFlow prints at import (and its converter on stdout too),
    which no environment variable stops."""
    saved = [os.dup(fd) for fd in descriptors]
    try:
        with open(os.devnull, "wb") as devnull:
            for fd in descriptors:
                os.dup2(devnull.fileno(), fd)
        yield
    finally:
        for fd, copy in zip(descriptors, saved):
            os.dup2(copy, fd)
            os.close(copy)


def native_output_silenced():
    """Both native streams hidden (TensorFlow Lite's converter prints on each)."""
    sys.stdout.flush()
    sys.stderr.flush()
    return _native_stderr_silenced((1, 2))


_IMPORT_LOCK = threading.Lock()


def import_keras():
    """Import Keras with the TensorFlow backend, quietly, once.

    Once only and under a lock: the stderr redirection around the first import swaps a
    process-wide file descriptor, and two threads doing it at once could leave stderr on
    /dev/null for the rest of the run.
    """
    with _IMPORT_LOCK:
        if "keras" in sys.modules:
            return sys.modules["keras"]
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        with _native_stderr_silenced():
            import keras
        # Keras's advice to model authors (legacy format, input_shape arguments) is noise here,
        # and so is TensorFlow's about retracing: each randomised copy of the sanity check
        # traces its own gradient step, by design.
        logging.getLogger("absl").setLevel(logging.ERROR)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=r"keras(\.|$)")
        return keras


def read_with() -> tuple[tuple[str, str], ...]:
    """The libraries that read a model in the full report, with their versions."""
    keras = import_keras()
    import tensorflow

    return (("keras", keras.__version__), ("tensorflow", tensorflow.__version__))


def is_builtin_layer(class_name: str) -> bool:
    """Whether `keras.layers` has a layer class of this name (Keras's own code, which a
    config may name without running anything from the file)."""
    keras = import_keras()
    found = getattr(keras.layers, class_name, None)
    return isinstance(found, type) and issubclass(found, keras.layers.Layer)
