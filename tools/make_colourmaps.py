"""Freeze the matplotlib colormaps reportgen uses into reportgen/draw/colourmaps.py.

Importing matplotlib costs about 0.2 s on every run, more than a weights-only report of a
small model takes altogether; the lookup tables are 768 bytes each. The test suite
checks the frozen tables against matplotlib, so they cannot drift.

Usage: python tools/make_colourmaps.py > reportgen/draw/colourmaps.py
"""

import numpy as np
from matplotlib import colormaps

NAMES = ("RdBu_r", "viridis", "gray", "gray_r", "turbo")


def table(name: str) -> str:
    """A colormap as 256 RGB triples, hex encoded."""
    rgba = colormaps[name](np.linspace(0.0, 1.0, 256))
    return (rgba[:, :3] * 255).round().astype(np.uint8).tobytes().hex()


print('"""Colour lookup tables frozen from matplotlib by tools/make_colourmaps.py: do not edit."""')
print()
print("TABLES = {")
for name in NAMES:
    hexed = table(name)
    lines = [hexed[i:i + 88] for i in range(0, len(hexed), 88)]
    print(f'    "{name}": (')
    for line in lines:
        print(f'        "{line}"')
    print("    ),")
print("}")
