"""The textbook's notebook code (chapter 8-3) run as a script: the figures reportgen replaces.

It loads the checkpoint, prints the first kernel's shape, mean and std, draws its histogram
and the 2x16 grid of filters with imshow(vmin=-0.5, vmax=0.5), does the same for a freshly
initialised Conv2D(32, 3), and draws the feature maps of conv1 (4x8) and conv2 (8x8) for one
image, each saved to PNG. This is the baseline of benchmark target B2.

Usage: python notebook_baseline.py MODEL IMAGE OUT_DIR
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def filters_grid(weights, path):
    fig, axs = plt.subplots(2, 16, figsize=(15, 2))
    for i in range(2):
        for j in range(16):
            axs[i, j].imshow(weights[:, :, 0, i * 16 + j], vmin=-0.5, vmax=0.5)
            axs[i, j].axis("off")
    fig.savefig(path)
    plt.close(fig)


def histogram(weights, path):
    plt.hist(weights.reshape(-1, 1))
    plt.xlabel("weight")
    plt.ylabel("count")
    plt.savefig(path)
    plt.close()


def feature_maps(model, layer_index, image, rows, path):
    probe = keras.Model(model.inputs[0], model.layers[layer_index].output)
    maps = probe.predict(image, verbose=0)
    fig, axs = plt.subplots(rows, 8, figsize=(15, rows * 2))
    for i in range(rows):
        for j in range(8):
            axs[i, j].imshow(maps[0, :, :, i * 8 + j])
            axs[i, j].axis("off")
    fig.savefig(path)
    plt.close(fig)


def main(model_path, image_path, out):
    out.mkdir(parents=True, exist_ok=True)
    model = keras.models.load_model(model_path)
    conv = model.layers[0]
    print(conv.weights[0].shape, conv.weights[1].shape)
    conv_weights = conv.weights[0].numpy()
    print(conv_weights.mean(), conv_weights.std())
    histogram(conv_weights, out / "hist.png")
    filters_grid(conv_weights, out / "filters.png")

    no_training_model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, kernel_size=3, activation="relu", padding="same")])
    no_training_weights = no_training_model.layers[0].weights[0].numpy()
    print(no_training_weights.mean(), no_training_weights.std())
    histogram(no_training_weights, out / "hist-init.png")
    filters_grid(no_training_weights, out / "filters-init.png")

    image = np.asarray(Image.open(image_path).convert("L"), dtype=np.float32)
    inputs = image.reshape(-1, 28, 28, 1) / 255.0
    feature_maps(model, 0, inputs, 4, out / "maps-conv1.png")
    feature_maps(model, 2, inputs, 8, out / "maps-conv2.png")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
