"""The sanity check's figures on the textbook model (docs/alerts.md, map_survives_randomisation):
the median Spearman correlation of each method's maps for the model and for the model with
every weighted layer re-initialised, over the first 8 and 30 images of the official test set.

    python benchmarks/sanity_book.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from reportgen.analyse import attribution_maps as sanity
from reportgen.load.keras import attribution, cascade
from reportgen.load.keras.gradients import cam_target
from reportgen.load.keras.runtime import import_keras
from reportgen.sections.attribution.attribution_run import SANITY_IG_STEPS, sanity_methods

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def main() -> int:
    book = DATA / "book" / "best-cnn-model.keras"
    images = DATA / "fashion-mnist-test" / "images.npy"
    if not book.exists() or not images.exists():
        print(f"skipped: {book} or {images} is missing")
        return 0
    model = import_keras().models.load_model(book)
    x = (np.load(images)[:30] / 255.0).astype("float32").reshape(-1, 28, 28, 1)
    top = [int(np.argmax(row)) for row in model(x, training=False)]
    everything = [len(cascade.weighted_layer_paths(model))]
    for count in (8, 30):
        methods = sanity_methods(x[:count], cam_target(model), SANITY_IG_STEPS,
                                 attribution.SMOOTHGRAD_N)
        found = sanity.sanity_checks(model, x[:count], top[:count], methods, everything)
        print(f"{count} inputs: " + ", ".join(f"{name} {check.stages[-1].median:.2f}"
                                              for name, check in found.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
