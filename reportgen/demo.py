"""The built-in demo: the textbook's CNN trained for seconds on shapes reportgen draws itself.

No download and no outside file: the data set is generated here, deterministically. The
demo builds and trains its model with Keras itself (beside the training callback, the one
place outside the Keras boundary, reportgen/load/keras/, that does).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from reportgen.options import Options
from reportgen.i18n import _
from reportgen.load.keras.runtime import import_keras
from reportgen.progress import Progress

SIDE = 28
CLASSES = ("disc", "ring", "square", "frame", "cross", "triangle", "horizontal bars",
           "diagonal line")
N_PER_CLASS = 400
SAMPLE_PER_CLASS = 60
SEED = 20201
DEMO_OUTPUT_DIR = Path("output")


def shape_image(kind: int, rng: np.random.Generator) -> np.ndarray:
    """One 28x28 float image of a white shape on black, at a random place and size."""
    y, x = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    cy, cx = rng.uniform(10, 18, size=2)
    r = rng.uniform(5, 9)
    dy, dx = y - cy, x - cx
    name = CLASSES[kind]
    if name == "disc":
        mask = np.hypot(dy, dx) < r
    elif name == "ring":
        mask = np.abs(np.hypot(dy, dx) - r) < 1.3
    elif name == "square":
        mask = np.maximum(np.abs(dy), np.abs(dx)) < r
    elif name == "frame":
        mask = np.abs(np.maximum(np.abs(dy), np.abs(dx)) - r) < 1.3
    elif name == "cross":
        mask = ((np.abs(dy) < 1.5) | (np.abs(dx) < 1.5)) & (np.maximum(np.abs(dy), np.abs(dx)) < r)
    elif name == "triangle":
        mask = (dy < r * 0.8) & (dy > 2 * np.abs(dx) - r)
    elif name == "horizontal bars":
        mask = (np.abs(dx) < r) & (np.abs(dy) < r) & ((y.astype(int) // 3) % 2 == 0)
    else:
        mask = (np.abs(dy - dx) < 1.5) & (np.abs(dx) < r)
    image = mask.astype(np.float32) * rng.uniform(0.6, 1.0)
    return np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1).astype(np.float32)


def shapes_dataset(n_per_class: int = N_PER_CLASS, seed: int = SEED):
    """Images (N, 28, 28, 1) in 0..1 and their labels, shuffled deterministically."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES)), n_per_class)
    rng.shuffle(labels)
    images = np.stack([shape_image(int(k), rng) for k in labels])[..., None]
    return images, labels.astype(np.int64)


def run_demo(output: Path | None, options: Options, progress: Progress) -> tuple[Path, Path]:
    """Train the demo model, save it, and write its report."""
    from reportgen import api

    folder = output.parent if output else DEMO_OUTPUT_DIR
    model_path = folder / "demo-model.keras"
    progress.step(_("generating {n} images of {shapes} shapes").format(
        n=N_PER_CLASS * len(CLASSES), shapes=len(CLASSES)))
    images, labels = shapes_dataset()
    progress.step(_("training the textbook's CNN on them (importing TensorFlow)"))
    accuracy = train_demo_model(images, labels, len(CLASSES), model_path)
    progress.step(_("trained: accuracy {accuracy:.3f} on held-out shapes; saved {path}").format(
        accuracy=accuracy, path=model_path))

    labels_path = folder / "demo-labels.txt"
    labels_path.write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    inputs = sample_pictures(images, labels, folder)
    # A fresh labelled sample the model never saw, for the evaluation and data sections.
    held_out, held_labels = shapes_dataset(n_per_class=SAMPLE_PER_CLASS, seed=SEED + 1)
    data_path, data_labels_path = folder / "demo-sample.npy", folder / "demo-sample-labels.npy"
    np.save(data_path, (held_out[..., 0] * 255).round().astype(np.uint8))
    np.save(data_labels_path, held_labels)
    html = output or folder / "demo-model.html"
    drawing = {f.name: getattr(options, f.name) for f in fields(Options)}
    # Each page links the other: the text model's shows the section an image model cannot.
    text_html = folder / "demo-text-model.html"
    write_text_report(folder, text_html, html, drawing, progress)
    return api.write(model_path, html, inputs=[str(path) for path in inputs],
                     labels=labels_path, data=data_path, data_labels=data_labels_path,
                     progress=progress, see_also=[text_html], **drawing)


def write_text_report(folder: Path, html: Path, image_html: Path, drawing: dict,
                      progress: Progress) -> None:
    """Train the demo's text model and write its report: three held-out sentences drawn,
    their tokens shown as words, and a labelled sample of held-out sentences for the data
    sections."""
    from reportgen import api
    from reportgen.demo_text import (TEXT_CLASSES, TEXT_SAMPLE, TEXT_SEED, VOCABULARY,
                                     sentences, train_text_model)

    progress.step(_("training a small text model on generated sentences (for the section "
                    "on which words decided)"))
    tokens, labels = sentences()
    model_path = folder / "demo-text-model.keras"
    accuracy = train_text_model(tokens, labels, model_path)
    progress.step(_("trained: accuracy {accuracy:.3f} on held-out sentences; saved {path}")
                  .format(accuracy=accuracy, path=model_path))
    vocabulary, classes = folder / "demo-vocabulary.txt", folder / "demo-text-labels.txt"
    vocabulary.write_text("\n".join(VOCABULARY) + "\n", encoding="utf-8")
    classes.write_text("\n".join(TEXT_CLASSES) + "\n", encoding="utf-8")
    drawn = folder / "demo-sentences.npy"
    np.save(drawn, sentences(3, seed=TEXT_SEED + 1)[0])
    data, data_labels = folder / "demo-text-sample.npy", folder / "demo-text-sample-labels.npy"
    held_out, held_labels = sentences(TEXT_SAMPLE, seed=TEXT_SEED + 2)
    np.save(data, held_out)
    np.save(data_labels, held_labels)
    api.write(model_path, html, inputs=[str(drawn)], labels=classes, vocabulary=vocabulary,
              data=data, data_labels=data_labels, progress=progress, see_also=[image_html],
              **drawing)


def sample_pictures(images: np.ndarray, labels: np.ndarray, folder: Path) -> list[Path]:
    """Three of the training shapes (a ring, a cross, a triangle) as PNG files, for the
    feature maps drawn side by side."""
    from PIL import Image

    paths = []
    for name in ("ring", "cross", "triangle"):
        k = int(np.flatnonzero(labels == CLASSES.index(name))[0])
        path = folder / f"demo-input-{name}.png"
        Image.fromarray((images[k, :, :, 0] * 255).round().astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def book_cnn(n_classes: int):
    """The textbook's Fashion-MNIST CNN (chapter 8), with the layer names its notebook shows."""
    keras = import_keras()
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu", padding="same", name="conv2d"),
        layers.MaxPooling2D(2, name="max_pooling2d"),
        layers.Conv2D(64, 3, activation="relu", padding="same", name="conv2d_1"),
        layers.MaxPooling2D(2, name="max_pooling2d_1"),
        layers.Flatten(name="flatten"),
        layers.Dense(100, activation="relu", name="dense"),
        layers.Dropout(0.4, name="dropout"),
        layers.Dense(n_classes, activation="softmax", name="dense_1"),
    ], name="demo_cnn")


def train_demo_model(images: np.ndarray, labels: np.ndarray, n_classes: int, path: Path,
                     seed: int = 42, epochs: int = 4) -> float:
    """Train the book's CNN deterministically, save it to path; return held-out accuracy."""
    keras = import_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = book_cnn(n_classes)
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    n_train = int(len(images) * 0.8)
    model.fit(images[:n_train], labels[:n_train], batch_size=64, epochs=epochs,
              shuffle=True, verbose=0)
    _, accuracy = model.evaluate(images[n_train:], labels[n_train:], verbose=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return float(accuracy)
