"""The randomised copies of a model for the sanity check of attribution maps (Adebayo et al.
2018, cascading randomisation): clones whose top weighted layers are re-initialised by their
own initialisers, from the output down, the others holding the original weights. The model
given is only read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from reportgen.load.keras.base import unwrap
from reportgen.load.keras import seeds
from reportgen.load.keras.gradients import _placed_layers
from reportgen.load.keras.runtime import import_keras


def _weighted_leaves(model) -> list:
    """Every layer that holds weights and is not itself a model, in the model's order
    (nested models entered): the units the cascade re-initialises."""
    keras = import_keras()
    return [p for p in _placed_layers(model)
            if p.layer.weights and not isinstance(p.layer, keras.Model)]


def weighted_layer_paths(model) -> tuple[str, ...]:
    """The paths of the layers the cascade re-initialises, bottom to top."""
    return tuple(p.path for p in _weighted_leaves(unwrap(model)))


def default_stages(n_weighted: int) -> tuple[int, ...]:
    """How many weighted layers each cumulative stage randomises, from the top: the top
    one, the top third, two thirds, all (fewer stages when these coincide)."""
    if n_weighted < 1:
        raise ValueError("the model has no layer with weights to randomise")
    counts = (1, -(-n_weighted // 3), -(-2 * n_weighted // 3), n_weighted)
    return tuple(sorted(set(counts)))


def checked_stages(stages: Sequence[int] | None, n_weighted: int) -> tuple[int, ...]:
    """The stages asked for (counts of top weighted layers, increasing), or the default."""
    if stages is None:
        return default_stages(n_weighted)
    counts = tuple(int(k) for k in stages)
    if not counts or any(not 1 <= k <= n_weighted for k in counts) or \
            any(b <= a for a, b in zip(counts, counts[1:])):
        raise ValueError(f"stages must increase within 1..{n_weighted}; got {counts}")
    return counts


def randomised_cascade(model, stages: Sequence[int] | None = None,
                       seed: int = 0) -> Iterator[tuple[str, object]]:
    """(label, model) per cumulative stage: a clone whose top `k` weighted layers (counted
    from the output; BatchNormalization's statistics count as weights) are re-initialised
    by their own initialisers and the others hold the original weights.

    `stages` are the counts k, increasing; by default the top layer, the top third, two
    thirds and all (default_stages). Each layer of a clone has its seeds fixed from `seed`
    and its name (seeds.seeded_clone), so a layer gets the same random weights at every
    stage and in every run, whatever other threads draw meanwhile. The model given is only
    read (get_weights)."""
    keras = import_keras()
    model = unwrap(model)
    leaves = _weighted_leaves(model)
    for k in checked_stages(stages, len(leaves)):
        clone = keras.models.clone_model(
            model, clone_function=lambda layer: seeds.seeded_clone(layer, seed))
        copies = _weighted_leaves(clone)
        if [p.path for p in copies] != [p.path for p in leaves]:
            raise ValueError("the clone's weighted layers do not match the model's")
        for original, copy in zip(leaves[:len(leaves) - k], copies):
            copy.layer.set_weights(original.layer.get_weights())
        yield _stage_label(leaves, k), clone


def fully_randomised(model, seed: int = 0):
    """The clone with every weighted layer re-initialised (the cascade's last stage): the
    chapter's freshly initialised twin of the whole model."""
    return next(iter(randomised_cascade(model, [len(weighted_layer_paths(model))], seed)))[1]


def _stage_label(leaves: list, k: int) -> str:
    """The stage in words: how many weighted layers are randomised, down to which."""
    down_to = leaves[len(leaves) - k].path
    return f"top {k} of {len(leaves)} weighted layers randomised (down to {down_to})"
