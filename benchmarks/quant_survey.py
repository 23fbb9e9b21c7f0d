"""The int8 alerts' thresholds held to healthy models (docs/alerts.md, int8_per_tensor and
int8_poor): each model's per-tensor and per-channel SQNR, worst channel and range ratio
(min, median, max over its tensors), and the alerts the audit raises on them.

    python benchmarks/quant_survey.py

The models: the textbook's two checkpoints, a CNN with BatchNormalization, a depthwise and a
separable convolution trained here on the official test set's first 8,000 images (its
accuracy on the other 2,000 printed), MobileNetV2's and ResNet50's initialisations, and the
demo's text model (an embedding whose few deciding rows set the range).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from reportgen.analyse.quant_audit import quant_alerts, tensor_audit
from reportgen.load.keras.runtime import import_keras

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def survey(name: str, model) -> None:
    """One line: the model's SQNR figures and its alerts."""
    keras = import_keras()
    started = time.perf_counter()
    audits = [audit for layer in model._flatten_layers(include_self=False, recursive=True)
              if not isinstance(layer, keras.Model) for weight in layer.weights
              if (audit := tensor_audit(layer.name, weight.path.rsplit("/", 1)[-1],
                                        type(layer).__name__, np.asarray(weight.numpy())))]
    seconds = time.perf_counter() - started
    quant = [a.quant for a in audits]

    def spread(values) -> str:
        values = [v for v in values if v is not None]
        return f"{min(values):.1f}/{np.median(values):.1f}/{max(values):.1f}" if values else "—"
    alerts = [(a.kind, a.layer) for a in quant_alerts(tuple(audits), ())]
    print(f"{name}: {len(audits)} tensors in {seconds:.1f} s; per tensor "
          f"{spread(q.sqnr_tensor_db for q in quant)} dB, per channel "
          f"{spread(q.sqnr_channel_db for q in quant)} dB, worst channel "
          f"{spread(q.sqnr_worst_channel_db for q in quant)} dB, range ratio "
          f"{spread(q.range_ratio for q in quant)} (min/median/max); alerts {alerts}",
          flush=True)


def depthwise_cnn(keras, x: np.ndarray, y: np.ndarray):
    """Conv, BN, depthwise, BN, pointwise, separable, dense: trained on x[:8000]."""
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(16, 3, padding="same"),
        layers.BatchNormalization(), layers.ReLU(), layers.DepthwiseConv2D(3, padding="same"),
        layers.BatchNormalization(), layers.ReLU(), layers.Conv2D(32, 1, activation="relu"),
        layers.MaxPooling2D(), layers.SeparableConv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:8000], y[:8000], epochs=12, batch_size=64, verbose=0)
    print(f"depthwise CNN: accuracy {model.evaluate(x[8000:], y[8000:], verbose=0)[1]:.4f} "
          "on the test set's last 2,000 images")
    return model


def main() -> int:
    keras = import_keras()
    book = DATA / "book"
    test = DATA / "fashion-mnist-test"
    if (book / "best-cnn-model.keras").exists():
        survey("book .keras", keras.models.load_model(book / "best-cnn-model.keras"))
        survey("book .h5", keras.models.load_model(book / "best-cnn-model.h5", compile=False))
    else:
        print(f"skipped the book's checkpoints: {book} is missing")
    if (test / "images.npy").exists():
        x = np.load(test / "images.npy").astype("float32")[..., None] / 255.0
        survey("trained depthwise CNN", depthwise_cnn(keras, x, np.load(test / "labels.npy")))
    survey("MobileNetV2 initialisation", keras.applications.MobileNetV2(weights=None))
    survey("ResNet50 initialisation", keras.applications.ResNet50(weights=None))
    from reportgen.demo_text import sentences, train_text_model

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "text.keras"
        print(f"demo text model: accuracy {train_text_model(*sentences(), path):.4f} held out")
        survey("demo text model", keras.models.load_model(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
