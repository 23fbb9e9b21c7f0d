"""Layers in dependency order, and runs of them grouped into blocks for a collapsed drawing.

A block is a run of layers of one nested model sharing a Keras name prefix
(`conv2_block1_*`, `block_3_*`); graph_layout draws each block as one node of an overview.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from reportgen.analyse.graph import Graph

BLOCK_TARGET = 24  # a name-prefix run bigger than this is split by its next numbered part
MIN_BLOCK = 3  # smaller blocks are drawn as their layers
MAX_BLOCK = 60  # bigger runs are cut into pieces of this size
MERGED_BLOCKS = 40  # blocks runs are merged down to when prefixes leave too many


@dataclass(frozen=True)
class LayerBlock:
    """Consecutive layers (in dependency order) drawn as one node of a collapsed graph."""

    label: str
    paths: tuple[str, ...]


def layer_blocks(graph: Graph, max_items: int = 80) -> tuple[LayerBlock, ...]:
    """Every layer in one block: maximal runs, in dependency order, of layers of one nested
    model sharing a name prefix (see block_key); a run bigger than BLOCK_TARGET is split by
    the next numbered part of its names, one bigger than MAX_BLOCK is cut. When the
    collapsed graph would still have more than `max_items` nodes, neighbouring runs are
    merged into about MERGED_BLOCKS blocks."""
    index = {node.path: i for i, node in enumerate(graph.nodes)}
    edges = [(index[e.source], index[e.target]) for e in graph.edges
             if e.source in index and e.target in index]
    nodes = graph.nodes
    names = [node.name for node in nodes]
    order = topological_order(len(nodes), edges)
    runs = prefix_runs(order, nodes, names)
    if sum(1 if len(run) >= MIN_BLOCK else len(run) for run in runs) > max_items:
        runs = merge_runs(runs, math.ceil(len(order) / MERGED_BLOCKS))
    labels = numbered([run_label([names[v] for v in run]) for run in runs])
    return tuple(LayerBlock(label, tuple(nodes[v].path for v in run))
                 for label, run in zip(labels, runs))


def prefix_runs(order: list[int], nodes, names: list[str]) -> list[list[int]]:
    """Runs of layers of one nested model sharing a name prefix, split by the next numbered
    part of their names when big, cut at MAX_BLOCK."""
    runs = [piece for run in runs_by(order, lambda v: (nodes[v].cluster, block_key(names[v], 1)))
            for piece in split_run(run, names, 2)]
    return [run[i:i + MAX_BLOCK] for run in runs for i in range(0, len(run), MAX_BLOCK)]


def numbered(labels: list[str]) -> list[str]:
    """Labels made unique: pieces of a cut run share a prefix, so the second and later of a
    label are numbered (#2, #3, ...)."""
    seen: dict[str, int] = {}
    found = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        found.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return found


def block_key(name: str, level: int) -> str:
    """The name's `_`-separated parts up to its `level`-th numbered part that is not its
    last part (`conv2_block1_1_conv`: conv2, then conv2_block1; `block_3_expand`: block_3);
    a name without one is keyed by its first part (`expanded_conv_project`: expanded)."""
    parts = name.split("_")
    cuts = [i + 1 for i, part in enumerate(parts[:-1]) if any(c.isdigit() for c in part)]
    if not cuts:
        return parts[0]
    return "_".join(parts[:cuts[min(level, len(cuts)) - 1]])


def runs_by(members: list[int], key) -> list[list[int]]:
    """Maximal runs of consecutive members with the same key."""
    runs: list[list[int]] = []
    last = None
    for v in members:
        k = key(v)
        if not runs or k != last:
            runs.append([])
        runs[-1].append(v)
        last = k
    return runs


def split_run(run: list[int], names: list[str], level: int) -> list[list[int]]:
    """A run bigger than BLOCK_TARGET split by the `level`-th numbered part of its names."""
    if len(run) <= BLOCK_TARGET or level > 8:
        return [run]
    subs = runs_by(run, lambda v: block_key(names[v], level))
    if len(subs) == 1:
        return [run]
    return [piece for sub in subs for piece in split_run(sub, names, level + 1)]


def merge_runs(runs: list[list[int]], size: int) -> list[list[int]]:
    """Neighbouring runs joined while they fit in `size` layers."""
    merged: list[list[int]] = []
    for run in runs:
        if merged and len(merged[-1]) + len(run) <= size:
            merged[-1].extend(run)
        else:
            merged.append(list(run))
    return merged


def run_label(names: list[str]) -> str:
    """The name parts all names of a run share (`conv2_block1`), else `first … last`."""
    if len(names) == 1:
        return names[0]
    parts = [name.split("_") for name in names]
    k = 0
    while all(len(p) > k and p[k] == parts[0][k] for p in parts):
        k += 1
    return "_".join(parts[0][:k]) or f"{names[0]} … {names[-1]}"


def topological_order(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Nodes 0..n-1 in dependency order, smallest index first among the ready ones (so a
    Keras config's own order is kept); a cycle is broken at its smallest index."""
    indegree = [0] * n
    succs: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        succs[u].append(v)
        indegree[v] += 1
    ready = [v for v in range(n) if indegree[v] == 0]
    heapq.heapify(ready)
    done, order, next_unseen = [False] * n, [], 0
    while len(order) < n:
        if not ready:  # only cycles are left: go on from the first node not yet placed
            while done[next_unseen]:
                next_unseen += 1
            ready.append(next_unseen)
        v = heapq.heappop(ready)
        if done[v]:
            continue
        done[v] = True
        order.append(v)
        for w in succs[v]:
            indegree[w] -= 1
            if indegree[w] == 0 and not done[w]:
                heapq.heappush(ready, w)
    return order
