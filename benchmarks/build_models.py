"""Build the large benchmark models once (no download: weights=None), into a cache folder.

Usage: python benchmarks/build_models.py CACHE_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build(cache: Path) -> None:
    """ResNet50 and VGG16 with fresh weights, each as .keras and legacy .h5."""
    import keras

    cache.mkdir(parents=True, exist_ok=True)
    for name, make in (("resnet50", keras.applications.ResNet50),
                       ("vgg16", keras.applications.VGG16)):
        targets = [cache / f"{name}.keras", cache / f"{name}.h5"]
        if all(t.exists() for t in targets):
            continue
        keras.utils.set_random_seed(0)
        model = make(weights=None)
        for target in targets:
            partial = target.with_name(target.stem + ".partial" + target.suffix)
            model.save(partial)
            partial.replace(target)
        print(f"built {name}", file=sys.stderr)


if __name__ == "__main__":
    build(Path(sys.argv[1]))
