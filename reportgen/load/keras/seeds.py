"""Random weights that depend on a seed only. Keras draws an unseeded initializer's seed from
Python's global generator when the initializer is made, so `set_random_seed(s)` then
`from_config` gave different weights whenever another thread made a layer in between (the
report's sections run side by side): two reports of one file differed in their twin
pictures. Instead every seed in a layer's config is set, from the seed asked for and the
layer's name."""

from __future__ import annotations

import itertools
import zlib

SEED_RANGE = 2 ** 31  # what every backend takes as a seed


def seeded_config(config, seed: int, name: str = ""):
    """A copy of a layer's config (nested layers' configs included) whose every `seed` entry
    (initializers, dropout) is an integer drawn from (seed, name) and the entry's place."""
    base = zlib.crc32(f"{seed}/{name}".encode())
    places = itertools.count()

    def walk(node):
        if isinstance(node, dict):
            copy = {key: walk(value) for key, value in node.items()}
            if "seed" in copy:
                copy["seed"] = (base + next(places)) % SEED_RANGE
            return copy
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node
    return walk(config)


def seeded_clone(layer, seed: int):
    """The layer made again from its config with every seed fixed (seeded_config), unbuilt."""
    return type(layer).from_config(seeded_config(layer.get_config(), seed, layer.name))
