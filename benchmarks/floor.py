"""What no report can avoid: import TensorFlow, load the model, one forward pass.

Usage: python floor.py MODEL [--no-forward]
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

model = keras.models.load_model(sys.argv[1], compile=False)
if "--no-forward" not in sys.argv:
    shape = [d or 1 for d in model.inputs[0].shape[1:]]
    model(np.zeros([1, *shape], np.float32), training=False)
