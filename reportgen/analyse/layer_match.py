"""Which layer of checkpoint B is which layer of checkpoint A (pure functions).

By name first: a layer of the same path with the same weight names and shapes. Then the
layers left over by order and weight shapes, as Keras's `load_weights(by_name=False)` pairs
layers: the layers that have weights, in order, each pair with the same list of weight
shapes. Names are not always the same across files: another Keras version, or a model
built twice in one session, numbers its layers from another start (`conv1d`, `conv1d_1`, …
where the original had `conv1d_1`, `conv1d_2`, …), and then the same name is the
neighbouring layer. So when the order pairs more layers than the names do, the order is
taken: each layer's name pair would be its neighbour, the same shape only by chance.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.i18n import msg
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, all_layers

BY_NAME = "name"
BY_ORDER = "order and shape"


@dataclass(frozen=True)
class LayerPair:
    """A layer of A, its counterpart in B, and how they were matched (BY_NAME: the same path
    and weights; BY_ORDER: the same place among the layers with weights, the same weight
    shapes)."""

    a: LayerSnapshot
    b: LayerSnapshot
    matched_by: str


@dataclass(frozen=True)
class Unmatched:
    """A layer with weights that has no counterpart in the other file."""

    path: str
    reason: str
    weights_a: tuple[str, ...]
    weights_b: tuple[str, ...]


def weight_signature(layer: LayerSnapshot) -> tuple[str, ...]:
    """A layer's weights as 'name (shape)' strings: what a match by name must agree on."""
    return tuple(f"{w.name} {shape}" for w, shape in zip(layer.weights, weight_shapes(layer)))


def weight_shapes(layer: LayerSnapshot) -> tuple[tuple[int, ...], ...]:
    """A layer's weight shapes in order: what a match by order must agree on."""
    return tuple(tuple(int(d) for d in w.values.shape) for w in layer.weights)


def match_layers(a: ModelSnapshot, b: ModelSnapshot
                 ) -> tuple[list[LayerPair], tuple[Unmatched, ...]]:
    """The layers with weights of A paired with B's, in A's order, and every layer with
    weights that found no partner."""
    in_a = [layer for layer in all_layers(a.layers) if layer.weights]
    in_b = [layer for layer in all_layers(b.layers) if layer.weights]
    shapes_a, shapes_b = [weight_shapes(x) for x in in_a], [weight_shapes(x) for x in in_b]
    named = named_pairs(in_a, in_b)
    by_names = named + gap_pairs(shapes_a, shapes_b, named)
    by_order = ordered_pairs(shapes_a, shapes_b, list(range(len(in_a))),
                             list(range(len(in_b))))
    chosen = sorted(by_order if len(by_order) > len(by_names) else by_names)
    pairs = [LayerPair(in_a[i], in_b[j], BY_NAME if same_layer(in_a[i], in_b[j]) else BY_ORDER)
             for i, j in chosen]
    return pairs, unmatched_layers(in_a, in_b, chosen)


def same_layer(a: LayerSnapshot, b: LayerSnapshot) -> bool:
    """Whether two layers match by name: the same path, the same weight names and shapes."""
    return a.path == b.path and weight_signature(a) == weight_signature(b)


def named_pairs(in_a: list[LayerSnapshot], in_b: list[LayerSnapshot]) -> list[tuple[int, int]]:
    """(index in A, index in B) of the layers that match by name. A path found in both
    with other weights is no pair: the same name is then not the same layer."""
    where_b = {layer.path: j for j, layer in enumerate(in_b)}
    return [(i, where_b[layer.path]) for i, layer in enumerate(in_a)
            if layer.path in where_b and same_layer(layer, in_b[where_b[layer.path]])]


def gap_pairs(shapes_a: list, shapes_b: list,
              named: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The layers between two consecutive name pairs (and before the first, after the last)
    paired by order and shape with B's layers between the same two: a pair never crosses a
    name pair."""
    taken = {j for _, j in named}
    bounds = [(-1, -1), *sorted(named), (len(shapes_a), len(shapes_b))]
    found: list[tuple[int, int]] = []
    for (i0, j0), (i1, j1) in zip(bounds, bounds[1:]):
        rows_b = [j for j in range(j0 + 1, j1) if j not in taken]
        found += ordered_pairs(shapes_a, shapes_b, list(range(i0 + 1, i1)), rows_b)
        taken.update(j for _, j in found)
    return found


def ordered_pairs(shapes_a: list, shapes_b: list, rows_a: list[int],
                  rows_b: list[int]) -> list[tuple[int, int]]:
    """Layers `rows_a` of A and `rows_b` of B paired in order, from the first while their
    weight shapes agree, then from the last while they agree: all of them when both have as
    many of the same shapes (Keras's own rule), and the rest still paired when a layer was
    added, removed or replaced (a new head, a new first layer)."""
    n = min(len(rows_a), len(rows_b))
    head = 0
    while head < n and shapes_a[rows_a[head]] == shapes_b[rows_b[head]]:
        head += 1
    tail = 0
    while head + tail < n and shapes_a[rows_a[-1 - tail]] == shapes_b[rows_b[-1 - tail]]:
        tail += 1
    return ([(rows_a[k], rows_b[k]) for k in range(head)] +
            [(rows_a[-1 - k], rows_b[-1 - k]) for k in range(tail)])


def unmatched_layers(in_a: list[LayerSnapshot], in_b: list[LayerSnapshot],
                     pairs: list[tuple[int, int]]) -> tuple[Unmatched, ...]:
    """The layers of A and then of B left without a partner; a path left over on both
    sides is one entry, with both its weights."""
    paired_a, paired_b = {i for i, _ in pairs}, {j for _, j in pairs}
    left_b = {layer.path: layer for j, layer in enumerate(in_b) if j not in paired_b}
    found = []
    for i, layer in enumerate(in_a):
        if i in paired_a:
            continue
        other = left_b.pop(layer.path, None)
        found.append(Unmatched(layer.path, msg("only in A"), weight_signature(layer), ())
                     if other is None else
                     Unmatched(layer.path, msg("different weights"), weight_signature(layer),
                               weight_signature(other)))
    found += [Unmatched(path, msg("only in B"), (), weight_signature(layer))
              for path, layer in left_b.items()]
    return tuple(found)
