"""Shared fixtures: tiny models built here in seconds, and the reference data when present."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reportgen.load.repairs import config_objects

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The tests read the English report, the default outside a Korean locale: a Korean LANG of
# the caller's would switch it (tests/test_i18n.py sets the locale where it tests that).
for _name in ("LC_ALL", "LC_MESSAGES", "LANG"):
    if os.environ.get(_name, "").lower().startswith("ko"):
        os.environ[_name] = "C.UTF-8"

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
BOOK = SHARED_DATA / "book"
FASHION = SHARED_DATA / "fashion-mnist-sample"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


def require_shared(path: Path) -> Path:
    """The reference file, or skip the test saying why."""
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (it lives in ../shared/data beside a checkout)")
    return path


def tiny_cnn():
    """A small CNN like the textbook's, with a layer whose name is hostile HTML."""
    import keras

    keras.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.Input(shape=(12, 12, 1)),
        keras.layers.Conv2D(6, 3, activation="relu", padding="same", name=HOSTILE_NAME),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Conv2D(5, 3, activation="relu", name="conv_b"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(4, activation="softmax", name="probs"),
    ], name="tiny")
    # Weights away from their initialisation, as after training.
    for layer in model.layers:
        layer.set_weights([w * 3 + 0.01 for w in layer.get_weights()])
    return model


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory) -> dict[str, Path]:
    """The tiny CNN saved as .keras and as legacy .h5."""
    folder = tmp_path_factory.mktemp("models")
    model = tiny_cnn()
    files = {"keras": folder / "tiny.keras", "h5": folder / "tiny.h5"}
    model.save(files["keras"])
    model.save(files["h5"])
    return files


@pytest.fixture(scope="session")
def tiny_model():
    """The tiny CNN in memory."""
    return tiny_cnn()


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None):
    """Run the real command line in a fresh process."""
    return subprocess.run([sys.executable, "-m", "reportgen", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or REPO,
                          env={**os.environ, **(env or {})}, timeout=600)


def gray_png(path: Path, side: int = 20) -> Path:
    """Write a small grayscale PNG with a bright square on black."""
    from PIL import Image

    pixels = np.zeros((side, side), np.uint8)
    pixels[side // 4: side // 2, side // 4: side // 2] = 255
    Image.fromarray(pixels).save(path)
    return path


def keras2_style_h5(model, path: Path, patch) -> Path:
    """Save a model as legacy HDF5, then rewrite its config as Keras 2.x wrote it."""
    import json

    import h5py

    model.save(path)
    with h5py.File(path, "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        for node, _ in config_objects(config):
            patch(node["class_name"], node["config"])
        handle.attrs["model_config"] = json.dumps(config).encode("utf-8")
        handle.attrs["keras_version"] = b"2.4.0"
    return path


def recurrent_model():
    """Token ids -> Embedding -> Bidirectional LSTM -> GRU -> Dense."""
    import keras

    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input(shape=(10,), dtype="int32"),
        keras.layers.Embedding(50, 8, name="emb"),
        keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True, name="lstm"),
                                    name="bi"),
        keras.layers.GRU(3, name="gru"),
        keras.layers.Dense(2, activation="softmax", name="out"),
    ], name="recurrent")


def add_time_major(class_name: str, config: dict) -> None:
    """What Keras 2.x wrote into every recurrent layer's config."""
    if class_name in ("LSTM", "GRU", "SimpleRNN"):
        config["time_major"] = False


def legacy_weights_h5(model, path: Path) -> Path:
    """A Keras 2 `save_weights` file: per-layer groups, no model config."""
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        handle.attrs["keras_version"] = b"2.3.1"
        handle.attrs["backend"] = b"tensorflow"
        for layer in model.layers:
            group = handle.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0" for w in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, weight in zip(names, layer.weights):
                group.create_dataset(name, data=weight.numpy())
    return path


def numpy_blas_threads() -> int:
    """Threads of the OpenBLAS numpy's wheel brings (numpy.libs, its own threads); 0 when
    there is none (a numpy linked to the system's BLAS, or an OpenBLAS built on OpenMP,
    whose limits are per thread). TensorFlow loads scipy's BLAS too, which reportgen never
    calls."""
    from threadpoolctl import threadpool_info

    return max((info["num_threads"] for info in threadpool_info()
                if info["user_api"] == "blas" and "numpy" in info["filepath"]
                and info.get("threading_layer") == "pthreads"), default=0)
