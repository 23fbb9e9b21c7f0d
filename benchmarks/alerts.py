"""The planted-defect benchmark of the alerts (issue 24).

Healthy controls must raise no error and no warning (notes are allowed); each planted defect
must be found as its kind at warning or error severity (and on the right layer where it has
one). Accuracies are quoted on the official Fashion-MNIST test set (10,000 images).

    python benchmarks/alerts.py            # trains its CNNs (a few minutes on 2 cores)

Needs ../shared/data (the textbook's checkpoints and the test set). Everything it builds lives
in a temporary folder; it prints one table (Markdown, for benchmarks/RESULTS.md) and exits 1
when a budget is not met.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reportgen.cli import main  # noqa: E402

DATA = REPO.parent / "shared" / "data"
BOOK = DATA / "book"
TEST = DATA / "fashion-mnist-test"
SERIOUS = ("error", "warning")
# Keras's own accuracy of the two checkpoints on the test set (model.evaluate, images / 255).
BOOK_ACCURACY = {"best-cnn-model.keras": 0.9125, "best-cnn-model.h5": 0.9168}


@dataclass
class Case:
    """One row: a healthy control (expect empty) or a defect (expect kinds, maybe a layer)."""

    name: str
    args: list[str]
    expect: tuple[str, ...] = ()
    layer: str = ""
    accuracy: float | None = None
    sidecar: dict = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.expect

    def serious(self) -> list[dict]:
        return [a for a in self.sidecar.get("alerts", []) if a["severity"] in SERIOUS]

    def found(self) -> bool:
        return any(a["kind"] in self.expect and (not self.layer or a["layer"] == self.layer)
                   for a in self.serious())

    def met(self) -> bool:
        measured = self.measured_accuracy()
        accuracy_ok = self.accuracy is None or (measured is not None
                                                and round(measured, 4) == self.accuracy)
        return accuracy_ok and (not self.serious() if self.healthy else self.found())

    def expected(self) -> str:
        if self.healthy:
            return "healthy: no error, no warning"
        return " or ".join(self.expect) + (f" on {self.layer}" if self.layer else "")

    def measured_accuracy(self) -> float | None:
        evaluation = self.sidecar.get("evaluation")
        return evaluation["accuracy"]["value"] if evaluation else None


def keras():
    import keras as k
    return k


def test_set(folder: Path) -> dict[str, Path]:
    """The test set split 8,000 / 2,000 (the small CNNs train on the first part and are judged
    on the second), plus the whole set with its labels permuted."""
    images, labels = np.load(TEST / "images.npy"), np.load(TEST / "labels.npy")
    paths = {}
    for name, array in (("images", images), ("labels", labels),
                        ("held_images", images[8000:]), ("held_labels", labels[8000:]),
                        ("permuted_labels", np.array([3, 7, 0, 9, 1, 5, 8, 2, 6, 4])[labels])):
        paths[name] = folder / f"{name}.npy"
        np.save(paths[name], array)
    return paths


def small_cnn(normalised: bool):
    """Two convolutions (with BatchNormalization when normalised) and a dense head."""
    k = keras()
    layers = [k.Input((28, 28, 1))]
    for filters in (16, 32):
        if normalised:
            layers += [k.layers.Conv2D(filters, 3, padding="same", use_bias=False),
                       k.layers.BatchNormalization(), k.layers.ReLU()]
        else:
            layers.append(k.layers.Conv2D(filters, 3, padding="same", activation="relu"))
        layers.append(k.layers.MaxPooling2D())
    layers += [k.layers.Flatten(), k.layers.Dense(64, activation="relu"),
               k.layers.Dense(10, activation="softmax")]
    model = k.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(model, x, y, folder: Path, stem: str, epochs: int = 40) -> list[Path]:
    """To convergence: until the validation loss stops falling (best weights kept); returns the
    checkpoint after the first epoch and the final one."""
    k = keras()
    first = folder / f"{stem}-epoch1.keras"
    model.fit(x, y, epochs=1, batch_size=64, validation_split=0.1, verbose=0)
    model.save(first)
    stop = k.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(x, y, epochs=epochs, batch_size=64, validation_split=0.1, verbose=0,
                        callbacks=[stop])
    final = folder / f"{stem}.keras"
    model.save(final)
    print(f"  trained {stem}: {1 + len(history.history['loss'])} epochs", file=sys.stderr)
    return [first, final]


def planted(folder: Path) -> dict[str, Path]:
    """The textbook model with one defect each."""
    k = keras()
    paths = {}

    def save(name, model):
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])

    book = lambda: k.models.load_model(BOOK / "best-cnn-model.keras")  # noqa: E731
    fresh = k.models.clone_model(book())
    save("reinitialised", fresh)
    model = book()
    model.get_layer("conv2d_1").set_weights(fresh.get_layer("conv2d_1").get_weights())
    save("one_layer_reinitialised", model)
    model = book()
    kernel, bias = model.get_layer("conv2d").get_weights()
    kernel[1, 1, 0, 5] = np.nan
    model.get_layer("conv2d").set_weights([kernel, bias])
    save("nan_weight", model)
    model = book()
    kernel, bias = model.get_layer("dense").get_weights()
    model.get_layer("dense").set_weights([kernel, np.full_like(bias, -1000.0)])
    save("dead_relu", model)
    save("resnet50_untrained", k.applications.ResNet50(weights=None))
    save("mobilenet_untrained", k.applications.MobileNetV2(alpha=0.35, weights=None))
    return paths


def frozen_pair(x, y, folder: Path) -> tuple[Path, Path]:
    """A training that freezes its first convolution after a checkpoint."""
    model = small_cnn(normalised=False)
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    before = folder / "frozen-a.keras"
    model.save(before)
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    after = folder / "frozen-b.keras"
    model.save(after)
    return before, after


def cases(folder: Path) -> list[Case]:
    data = test_set(folder)
    k = keras()
    k.utils.set_random_seed(7)
    x = np.load(data["images"])[:8000, ..., None] / 255.0
    y = np.load(data["labels"])[:8000]
    plain = train(small_cnn(False), x, y, folder, "cnn")
    normalised = train(small_cnn(True), x, y, folder, "cnn-bn")
    bad = planted(folder)
    frozen = frozen_pair(x, y, folder)
    whole = ["--data", str(data["images"]), "--data-labels", str(data["labels"])]
    held = ["--data", str(data["held_images"]), "--data-labels", str(data["held_labels"])]
    labels = ["--labels", str(TEST / "classes.txt")]
    rows = []
    for name in BOOK_ACCURACY:
        rows += [Case(f"book {name}", [str(BOOK / name)]),
                 Case(f"book {name}, test set", [str(BOOK / name), *labels, *whole],
                      accuracy=BOOK_ACCURACY[name])]
    rows += [
        Case("small CNN, trained", [str(plain[1]), *held]),
        Case("small CNN with BatchNormalization, trained", [str(normalised[1]), *held]),
        Case("demo model (its own sample)", ["--demo"]),
        Case("compare: epoch 1 vs last of the BatchNormalization CNN",
             ["compare", *(str(p) for p in normalised), *held]),
        Case("whole model re-initialised", [str(bad["reinitialised"])], ("model_untrained",)),
        Case("ResNet50 as built (weights=None)", [str(bad["resnet50_untrained"])],
             ("model_untrained",)),
        Case("MobileNetV2 (alpha 0.35) as built (weights=None)",
             [str(bad["mobilenet_untrained"])], ("model_untrained",)),
        Case("one layer re-initialised", [str(bad["one_layer_reinitialised"])], ("untrained",),
             "conv2d_1"),
        Case("NaN in one weight", [str(bad["nan_weight"])], ("non_finite",), "conv2d"),
        Case("dead ReLU layer (bias -1000), test set", [str(bad["dead_relu"]), *whole],
             ("dead_channels",), "dense"),
        Case("labels permuted, test set", [str(BOOK / "best-cnn-model.keras"), "--data",
                                           str(data["images"]), "--data-labels",
                                           str(data["permuted_labels"])], ("label_order",)),
        Case("inputs at 0-255 (--input-scale 1), test set",
             [str(BOOK / "best-cnn-model.keras"), "--input-scale", "1", *whole],
             ("overconfidence", "no_better_than_majority")),
        Case("a frozen layer between two checkpoints", ["compare", *(str(p) for p in frozen)],
             ("frozen",), frozen_layer_name(frozen[0])),
    ]
    return rows


def frozen_layer_name(path: Path) -> str:
    return keras().models.load_model(path).layers[0].name


def run(case: Case, folder: Path, number: int) -> None:
    out = folder / f"report-{number}.html"
    status = main([*case.args, "-q", "-o", str(out)])
    if status != 0:
        raise SystemExit(f"{case.name}: reportgen exited {status}")
    case.sidecar = json.loads(out.with_suffix(".json").read_text("utf-8"))


def describe(case: Case) -> str:
    """A Markdown table row."""
    alerts = case.sidecar.get("alerts", [])
    count = " / ".join(str(sum(a["severity"] == s for a in alerts))
                       for s in ("error", "warning", "note"))
    groups: dict[tuple[str, str], list[str]] = {}
    for alert in case.serious():
        groups.setdefault((alert["kind"], alert["severity"]), []).append(alert["layer"])
    raised = [f"{kind} ({severity}) x{len(layers)}" + (
        f" on {', '.join(sorted(set(layers))[:3])}{', ...' if len(set(layers)) > 3 else ''}"
        if any(layers) else "") for (kind, severity), layers in groups.items()]
    accuracy = case.measured_accuracy()
    cells = [case.name, case.expected(), count, "; ".join(raised) or "-",
             "-" if accuracy is None else f"{accuracy:.4f}", "met" if case.met() else "NOT MET"]
    return "| " + " | ".join(cells) + " |"


def main_benchmark() -> int:
    if not (BOOK.is_dir() and TEST.is_dir()):
        print(f"needs {DATA} (the textbook's checkpoints and the Fashion-MNIST test set)")
        return 2
    with tempfile.TemporaryDirectory(prefix="reportgen-alerts-") as tmp:
        folder = Path(tmp)
        rows = cases(folder)
        for number, case in enumerate(rows):
            print(f"  {case.name}", file=sys.stderr)
            run(case, folder, number)
    print("| case | expected | errors / warnings / notes | errors and warnings raised "
          "| accuracy | |")
    print("| --- | --- | --- | --- | --- | --- |")
    for case in rows:
        print(describe(case))
    defects = [c for c in rows if not c.healthy]
    healthy = [c for c in rows if c.healthy]
    print(f"\nrecall: {sum(c.found() for c in defects)} of {len(defects)} planted defects found "
          f"at warning or error; healthy controls with an error or warning: "
          f"{sum(bool(c.serious()) for c in healthy)} of {len(healthy)}")
    return 0 if all(c.met() for c in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main_benchmark())
