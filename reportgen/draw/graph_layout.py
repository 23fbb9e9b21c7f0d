"""A layered top-to-bottom drawing of an architecture graph, as plain numbers and strings.

The classic layered method, kept small: longest-path ranks, bend points where an edge
skips ranks, barycentre sweeps against crossings, x positions pulled towards neighbours
(those three in graph_place), and cubic edge paths. A graph too deep or too big to read
(more than MAX_RANKS ranks or MAX_NODES layers) is collapsed into blocks of layers sharing
a Keras name prefix (`conv2_block1_*`, `block_3_*`); the overview draws a block as one node
and each block gets a small layout of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from reportgen.analyse.graph import Graph
from reportgen.analyse.graph_blocks import MIN_BLOCK, layer_blocks, topological_order
from reportgen.draw.graph_place import (CLUSTER_PAD, neighbours, order_rows, path_data,
                                        position_x, route, shared_depth)
from reportgen.draw.graph_text import columns, full_text, short_text
from reportgen.i18n import ngettext

MAX_RANKS = 80  # deeper graphs are collapsed into blocks
MAX_NODES = 500  # and so are graphs with more layers than this
MAX_DRAWN = 4000  # nodes drawn inside blocks (with their stubs), all blocks together

TITLE_COLUMNS, SUBTITLE_COLUMNS, LABEL_COLUMNS = 24, 44, 48
# Text is set in a monospace font (see the template), so widths follow from character counts.
TITLE_CHAR_W, SUBTITLE_CHAR_W, LABEL_CHAR_W = 7.2, 6.6, 6.6
NODE_H, MIN_NODE_W, TEXT_PAD = 36.0, 72.0, 10.0
RANK_GAP, MARGIN, LABEL_H = 30.0, 8.0, 15.0
PORT_GAP = 10.0  # spacing of edge ends along a node's top or bottom side


@dataclass(frozen=True)
class PlacedNode:
    """A drawn layer or block: top-left corner, size, and its two lines of text.

    `path` is the layer's path ("" for a block); `block` indexes the layout's blocks for a
    block node; `external` marks a layer outside a block that feeds it. `name` and
    `class_name` are the full texts for a tooltip.
    """

    path: str
    name: str
    class_name: str
    title: str
    subtitle: str
    x: float
    y: float
    w: float
    h: float
    rank: int
    block: int | None = None
    external: bool = False

    @property
    def cx(self) -> float:
        """The x of the node's centre, where its text is anchored."""
        return round(self.x + self.w / 2, 1)

    @property
    def title_y(self) -> float:
        """The baseline of the title line."""
        return round(self.y + 15, 1)

    @property
    def subtitle_y(self) -> float:
        """The baseline of the subtitle line."""
        return round(self.y + 29, 1)


@dataclass(frozen=True)
class PlacedEdge:
    """An edge between two nodes (indices into the layout's nodes) and its SVG path."""

    source: int
    target: int
    d: str


@dataclass(frozen=True)
class PlacedCluster:
    """A nested model's rectangle, its label (shortened to fit) and its full label."""

    path: str
    label: str
    title: str
    x: float
    y: float
    w: float
    h: float
    depth: int

    @property
    def label_x(self) -> float:
        """Where the label starts."""
        return round(self.x + 5, 1)

    @property
    def label_y(self) -> float:
        """The label's baseline, inside the rectangle's top."""
        return round(self.y + LABEL_H - 3, 1)

    @property
    def label_box(self) -> tuple[float, float, float, float]:
        """x, y, width and height of the label's background, which hides edges under it."""
        return (round(self.x + 3, 1), round(self.y + 2, 1),
                round(columns(self.label) * LABEL_CHAR_W + 4, 1), LABEL_H - 2)


@dataclass(frozen=True)
class Block:
    """A run of layers drawn as one node of the overview; `layout` is None when the block
    has more than MAX_RANKS layers or MAX_DRAWN is used up."""

    label: str
    n_layers: int
    layout: Layout | None


@dataclass(frozen=True)
class Layout:
    """One drawn graph: size, nodes, edges, nested-model rectangles and collapsed blocks."""

    width: float
    height: float
    n_ranks: int
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]
    clusters: tuple[PlacedCluster, ...]
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class _Box:
    """Something to draw before it is placed; `lineage` lists its clusters, outermost first."""

    path: str
    name: str
    class_name: str
    title: str
    subtitle: str
    lineage: tuple[str, ...]
    block: int | None = None
    external: bool = False


def graph_layout(graph: Graph, shapes: Mapping[str, str] | None = None) -> Layout:
    """The drawing of a graph, collapsed into blocks when it is too deep or too big.

    `shapes` maps layer paths to output shapes, shown after the class name."""
    lineages = cluster_lineages(graph)
    boxes = [layer_box(node.path, node.name, node.class_name,
                       lineages.get(node.cluster, ()), shapes or {}) for node in graph.nodes]
    index = {node.path: i for i, node in enumerate(graph.nodes)}
    edges = [(index[e.source], index[e.target]) for e in graph.edges
             if e.source in index and e.target in index]
    labels = {c.path: (c.label, c.name) for c in graph.clusters}
    if len(boxes) <= MAX_NODES and max(rank_nodes(len(boxes), edges)[0], default=0) < MAX_RANKS:
        return place(boxes, edges, labels, ())
    groups = [(block.label, [index[path] for path in block.paths])
              for block in layer_blocks(graph, MAX_RANKS)]
    return collapsed_layout(boxes, edges, labels, groups)


def cluster_lineages(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Each cluster's path with the paths of the clusters around it, outermost first."""
    parents = {c.path: c.parent for c in graph.clusters}
    lineages = {}
    for path in parents:
        chain = [path]
        while parents.get(chain[-1]) and len(chain) <= len(parents):  # a loop stops here
            chain.append(parents[chain[-1]])
        lineages[path] = tuple(reversed(chain))
    return lineages


def layer_box(path: str, name: str, class_name: str, lineage: tuple[str, ...],
              shapes: Mapping[str, str]) -> _Box:
    """A layer's box: its name, then its class and output shape."""
    shape = shapes.get(path) or ""
    # The shape is what a reader looks for: it stays whole, the class name gives way.
    room = SUBTITLE_COLUMNS - columns(shape) - 1
    subtitle = f"{short_text(class_name, room)} {shape}" if shape and room >= 8 else \
        short_text(f"{class_name} {shape}".strip(), SUBTITLE_COLUMNS)
    return _Box(path, full_text(name), full_text(class_name), short_text(name, TITLE_COLUMNS),
                subtitle, lineage)


def box_width(box: _Box) -> float:
    """A box's width from its longer line of text."""
    return max(MIN_NODE_W, columns(box.title) * TITLE_CHAR_W + 2 * TEXT_PAD,
               columns(box.subtitle) * SUBTITLE_CHAR_W + 2 * TEXT_PAD)


def rank_nodes(n: int, edges: list[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
    """Longest-path ranks, and the edges that go down (those closing a cycle are dropped).

    A node without inputs sits just above its first reader, not at the very top."""
    order = topological_order(n, edges)
    position = [0] * n
    for i, v in enumerate(order):
        position[v] = i
    forward = sorted({(u, v) for u, v in edges if position[u] < position[v]})
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for u, v in forward:
        preds[v].append(u)
        succs[u].append(v)
    rank = [0] * n
    for v in order:
        rank[v] = max((rank[u] + 1 for u in preds[v]), default=0)
    for v in order:
        if not preds[v] and succs[v]:
            rank[v] = min(rank[w] for w in succs[v]) - 1
    return rank, forward


def common_lineage(lineages) -> tuple[str, ...]:
    """The clusters all the lineages share."""
    lineages = list(lineages)
    first = lineages[0]
    k = min(shared_depth(first, other) for other in lineages)
    return first[:k]


def collapsed_layout(boxes: list[_Box], edges: list[tuple[int, int]],
                     labels: dict[str, tuple[str, str]],
                     groups: list[tuple[str, list[int]]]) -> Layout:
    """The overview (a block per group of MIN_BLOCK layers or more) with each block's own
    layout, until MAX_DRAWN layers are drawn inside blocks."""
    group_of = [0] * len(boxes)
    for g, (_, members) in enumerate(groups):
        for v in members:
            group_of[v] = g
    inner: list[list[tuple[int, int]]] = [[] for _ in groups]
    for u, v in edges:  # an edge from another group brings its source along, as a stub
        inner[group_of[v]].append((u, v))
    item_of = [0] * len(boxes)
    overview: list[_Box] = []
    blocks: list[Block] = []
    budget = MAX_DRAWN
    for g, (label, members) in enumerate(groups):
        for v in members:
            item_of[v] = len(overview) + (0 if len(members) >= MIN_BLOCK else members.index(v))
        if len(members) < MIN_BLOCK:
            overview += [boxes[v] for v in members]
            continue
        box, block, budget = _block_of(label, members, inner[g], boxes, labels, budget,
                                       len(blocks))
        overview.append(box)
        blocks.append(block)
    over_edges = sorted({(item_of[u], item_of[v]) for u, v in edges if item_of[u] != item_of[v]})
    return place(overview, over_edges, labels, tuple(blocks))


def _block_of(label: str, members: list[int], edges: list[tuple[int, int]], boxes: list[_Box],
              labels: dict[str, tuple[str, str]], budget: int, index: int):
    """A group of layers as one node of the overview, and its block with its own layout
    while the budget of drawn layers lasts; the budget left."""
    lineage = common_lineage(boxes[v].lineage for v in members)
    size = len(members) + len({u for u, _ in edges} - set(members))  # with stubs
    drawn = len(members) <= MAX_RANKS and size <= budget
    sub = block_layout(members, edges, boxes, labels, len(lineage)) if drawn else None
    box = _Box("", full_text(label), "", short_text(label, TITLE_COLUMNS),
               ngettext("{n} layer", "{n} layers", len(members)).format(n=len(members)),
               lineage, index)
    return box, Block(full_text(label), len(members), sub), budget - (size if drawn else 0)


def block_layout(members: list[int], edges: list[tuple[int, int]], boxes: list[_Box],
                 labels: dict[str, tuple[str, str]], depth: int) -> Layout:
    """The layout of one block's layers, with the layers outside that feed it drawn as
    stubs; clusters around the whole block are left out."""
    local = {v: k for k, v in enumerate(members)}
    sub_boxes = [replace(boxes[v], lineage=boxes[v].lineage[depth:]) for v in members]
    for u, _ in edges:
        if u not in local:
            local[u] = len(sub_boxes)
            sub_boxes.append(replace(boxes[u], lineage=(), external=True))
    return place(sub_boxes, [(local[u], local[v]) for u, v in edges], labels, ())


def place(boxes: list[_Box], edges: list[tuple[int, int]], labels: dict[str, tuple[str, str]],
          blocks: tuple[Block, ...]) -> Layout:
    """Ranks, bend points, row order, x and y: the finished drawing of boxes and edges."""
    n = len(boxes)
    ranks, forward = rank_nodes(n, edges)
    chains, ranks, lineage, width = route(forward, ranks, [b.lineage for b in boxes],
                                          [box_width(b) for b in boxes])
    rows: list[list[int]] = [[] for _ in range(max(ranks, default=-1) + 1)]
    for i, r in enumerate(ranks):
        rows[r].append(i)
    up, down = neighbours(chains, ranks)
    rows = order_rows(rows, up, down, lineage)
    xs = position_x(rows, up, down, width, lineage)
    left = min((x - w / 2 - CLUSTER_PAD * len(c) for x, w, c in zip(xs, width, lineage)),
               default=0.0)
    xs = [x - left + MARGIN for x in xs]
    tops, height = rank_tops(len(rows), ranks, lineage, n)
    nodes = tuple(PlacedNode(b.path, b.name, b.class_name, b.title, b.subtitle,
                             round(xs[i] - width[i] / 2, 1), tops[ranks[i]], round(width[i], 1),
                             NODE_H, ranks[i], b.block, b.external) for i, b in enumerate(boxes))
    right = max((x + w / 2 + CLUSTER_PAD * len(c) for x, w, c in zip(xs, width, lineage)),
                default=MARGIN)
    return Layout(round(right + MARGIN, 1), height, len(rows), nodes,
                  edge_paths(chains, xs, ranks, tops, width),
                  cluster_rects(nodes, lineage, labels), blocks)


def rank_tops(n_ranks: int, ranks: list[int], lineage, n_real: int) -> tuple[list[float], float]:
    """The top y of every rank, leaving room above a rank for the labels of the nested
    models that start there and below it for those that end there; and the height."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i in range(n_real):
        for c in lineage[i]:
            first[c] = min(first.get(c, ranks[i]), ranks[i])
            last[c] = max(last.get(c, ranks[i]), ranks[i])
    opens = [0] * n_ranks
    closes = [0] * n_ranks
    for i in range(n_real):
        chain, r = lineage[i], ranks[i]
        opens[r] = max(opens[r], len(chain) - next(
            (k for k, c in enumerate(chain) if first[c] == r), len(chain)))
        closes[r] = max(closes[r], len(chain) - next(
            (k for k, c in enumerate(chain) if last[c] == r), len(chain)))
    tops, y = [], MARGIN
    for r in range(n_ranks):
        y += opens[r] * (CLUSTER_PAD + LABEL_H)
        tops.append(round(y, 1))
        y += NODE_H + closes[r] * CLUSTER_PAD + RANK_GAP
    return tops, round(y - RANK_GAP + MARGIN, 1) if n_ranks else 2 * MARGIN


def cluster_rects(nodes: tuple[PlacedNode, ...], lineage, labels: dict[str, tuple[str, str]]):
    """Each nested model's rectangle: around its nodes, one padding per level of nesting,
    labelled `name (Class)`, or only its name when that does not fit."""
    bounds: dict[str, list[float]] = {}
    for node, chain in zip(nodes, lineage):
        for k, c in enumerate(chain):
            levels = len(chain) - k
            box = [node.x - CLUSTER_PAD * levels, node.y - (CLUSTER_PAD + LABEL_H) * levels,
                   node.x + node.w + CLUSTER_PAD * levels, node.y + node.h + CLUSTER_PAD * levels]
            old = bounds.setdefault(c, box)
            bounds[c] = [min(old[0], box[0]), min(old[1], box[1]),
                         max(old[2], box[2]), max(old[3], box[3])]
    depth = {c: k for chain in lineage for k, c in enumerate(chain)}
    rects = []
    for c, (x0, y0, x1, y1) in sorted(bounds.items(), key=lambda item: depth[item[0]]):
        label, name = (full_text(text) for text in labels.get(c, (c, c)))
        fits = max(4, min(LABEL_COLUMNS, int((x1 - x0 - 10) / LABEL_CHAR_W)))
        shown = label if columns(label) <= fits else short_text(name, fits)
        rects.append(PlacedCluster(c, shown, label, round(x0, 1), round(y0, 1),
                                   round(x1 - x0, 1), round(y1 - y0, 1), depth[c]))
    return tuple(rects)


def edge_paths(chains, xs, ranks, tops, width) -> tuple[PlacedEdge, ...]:
    """Every edge as an SVG path from the bottom of its source to the top of its target,
    straight through its bend points, with ends spread along the nodes' sides."""
    starts = spread([(chain[0], xs[chain[1]]) for chain in chains], width)
    ends = spread([(chain[-1], xs[chain[-2]]) for chain in chains], width)
    edges = []
    for chain, start, end in zip(chains, starts, ends):
        points = [(xs[chain[0]] + start, tops[ranks[chain[0]]] + NODE_H)]
        for bend in chain[1:-1]:
            points += [(xs[bend], tops[ranks[bend]]), (xs[bend], tops[ranks[bend]] + NODE_H)]
        points.append((xs[chain[-1]] + end, tops[ranks[chain[-1]]]))
        edges.append(PlacedEdge(chain[0], chain[-1], path_data(points)))
    return tuple(edges)


def spread(ends: list[tuple[int, float]], width: list[float]) -> list[float]:
    """Offsets from the node centre for edge ends meeting one node, ordered by where the
    other end of each edge lies so that they do not cross at the node."""
    by_node: dict[int, list[tuple[float, int]]] = {}
    for k, (node, other_x) in enumerate(ends):
        by_node.setdefault(node, []).append((other_x, k))
    offsets = [0.0] * len(ends)
    for node, items in by_node.items():
        items.sort()
        step = min(PORT_GAP, (width[node] - 2 * TEXT_PAD) / max(len(items) - 1, 1))
        for j, (_, k) in enumerate(items):
            offsets[k] = (j - (len(items) - 1) / 2) * step
    return offsets
