"""What no report can avoid: import TensorFlow, load the model, one forward pass.

Usage: python floor.py MODEL [--no-forward] [--predict IMAGES.npy]

--predict replaces the one forward pass by a prediction on every image of IMAGES.npy
(N x H x W [x C], 8-bit, divided by 255 as the textbook does): the floor of a --data report.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

model = keras.models.load_model(sys.argv[1], compile=False)
if "--predict" in sys.argv:
    images = np.load(sys.argv[sys.argv.index("--predict") + 1]) / 255.0
    shape = [d or 1 for d in model.inputs[0].shape[1:]]
    model.predict(images.reshape(len(images), *shape).astype(np.float32), verbose=0)
elif "--no-forward" not in sys.argv:
    shape = [d or 1 for d in model.inputs[0].shape[1:]]
    model(np.zeros([1, *shape], np.float32), training=False)
