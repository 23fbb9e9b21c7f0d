"""Where the items of a ranked drawing go: bend items for edges that skip ranks, the
order of each row, and every item's x.

Barycentre sweeps reduce crossings, keeping the items of a nested model together; x
positions are pulled towards neighbours and then moved as little as the gaps and the
nested-model bands need. Items are plain indices with a rank, a width and a lineage (the
nested models around them, outermost first); graph_layout turns the result into a drawing,
its edges into SVG paths (path_data).
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort

from reportgen.analyse.graph_blocks import topological_order

MAX_BENDS = 5000  # bend points per layout; edges beyond this are drawn without them
SWEEPS = 4  # down-and-up barycentre sweeps
PLACE_PASSES = 8  # passes pulling x positions towards neighbours, and a last one down
BEND_W = 8.0  # width reserved for an edge passing through a rank
NODE_GAP = 14.0  # between neighbouring nodes of a row
CLUSTER_PAD = 8.0  # between a nested model's border and what is inside or outside it


def route(forward: list[tuple[int, int]], ranks: list[int], lineage: list[tuple[str, ...]],
          width: list[float]):
    """Each edge as a chain of items, with a bend item on every rank it skips (while
    MAX_BENDS lasts); returns the chains and the ranks, lineages and widths of all items."""
    ranks, lineage, width = list(ranks), list(lineage), list(width)
    chains, budget = [], MAX_BENDS
    for u, v in forward:
        chain = [u]
        span = ranks[v] - ranks[u]
        if 1 < span <= budget + 1:
            shared = lineage[u][:shared_depth(lineage[u], lineage[v])]
            for r in range(ranks[u] + 1, ranks[v]):
                chain.append(len(ranks))
                ranks.append(r)
                lineage.append(shared)
                width.append(BEND_W)
            budget -= span - 1
        chains.append(chain + [v])
    return chains, ranks, lineage, width


def neighbours(chains: list[list[int]], ranks: list[int]):
    """For every item, the items linked to it on the rank above and on the rank below."""
    up: list[list[int]] = [[] for _ in ranks]
    down: list[list[int]] = [[] for _ in ranks]
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            if ranks[b] == ranks[a] + 1:
                up[b].append(a)
                down[a].append(b)
    return up, down


def order_rows(rows: list[list[int]], up, down, lineage) -> list[list[int]]:
    """Barycentre sweeps down and up, keeping the order with the fewest crossings; then one
    left-to-right order of the nested models for all rows."""
    pos = [0] * len(lineage)
    set_positions(rows, pos)
    best, fewest = [list(row) for row in rows], crossings(rows, up, pos)
    for _ in range(SWEEPS):
        for sweep, links in ((range(1, len(rows)), up), (range(len(rows) - 2, -1, -1), down)):
            for r in sweep:
                rows[r] = sort_row(rows[r], links, pos, lineage)
                set_positions([rows[r]], pos)
            n_cross = crossings(rows, up, pos)
            if n_cross < fewest:
                best, fewest = [list(row) for row in rows], n_cross
    return shared_cluster_order(best, lineage)


def set_positions(rows: list[list[int]], pos: list[int]) -> None:
    """Record each item's place in its row."""
    for row in rows:
        for k, i in enumerate(row):
            pos[i] = k


def sort_row(row: list[int], links, pos: list[int], lineage) -> list[int]:
    """A row ordered by the mean place of each item's neighbours, ties kept in their order;
    the items of a nested model stay together, placed as a group by their own means."""
    bary = {i: sum(pos[j] for j in links[i]) / len(links[i]) if links[i] else float(pos[i])
            for i in row}
    total: dict[str, list[float]] = {}
    for i in row:
        for c in lineage[i]:
            sums = total.setdefault(c, [0.0, 0.0, 0])
            sums[0] += bary[i]
            sums[1] += pos[i]
            sums[2] += 1

    def key(i):
        """Group means outermost first, then the item's own barycentre and place."""
        groups = tuple((total[c][0] / total[c][2], total[c][1] / total[c][2], c)
                       for c in lineage[i])
        return groups + ((bary[i], float(pos[i]), ""),)
    return sorted(row, key=key)


def shared_cluster_order(rows: list[list[int]], lineage) -> list[list[int]]:
    """Rows re-sorted so that nested models come in the same left-to-right order in every
    row (each at the mean relative place of its items), as their bands need; the other
    items keep their relative places."""
    place = {i: (k + 0.5) / len(row) for row in rows for k, i in enumerate(row)}
    total: dict[str, list[float]] = {}
    for i, t in place.items():
        for c in lineage[i]:
            sums = total.setdefault(c, [0.0, 0])
            sums[0] += t
            sums[1] += 1

    def key(i):
        """The mean places of the item's clusters, outermost first, then its own place."""
        return tuple((total[c][0] / total[c][1], c) for c in lineage[i]) + ((place[i], ""),)
    return [sorted(row, key=key) for row in rows]


def crossings(rows: list[list[int]], up, pos: list[int]) -> int:
    """Edge crossings between neighbouring rows (inversions, counted with a sorted list)."""
    total = 0
    for row in rows[1:]:
        pairs = sorted((pos[j], pos[i]) for i in row for j in up[i])
        seen: list[int] = []
        for _, below in pairs:
            total += len(seen) - bisect_right(seen, below)
            insort(seen, below)
    return total


def position_x(rows, up, down, width: list[float], lineage) -> list[float]:
    """Centre x of every item. Each pass moves the rows in turn, each item towards the mean
    of its neighbours above (or below) and apart as little as the row needs, then the
    whole drawing as little as the nested-model bands need. The last pass looks up, so
    chains hang straight under their source and a merge sits centred under its inputs."""
    n_vars, bands = band_constraints(rows, width, lineage)
    xs = project([0.0] * len(width), n_vars, bands)
    for p in range(PLACE_PASSES + 1):
        links = up if p % 2 == 0 else down
        for row in rows if p % 2 == 0 else reversed(rows):
            wish = [sum(xs[j] for j in links[i]) / len(links[i]) if links[i] else xs[i]
                    for i in row]
            for i, x in zip(row, pack(wish, row_gaps(row, width, lineage))):
                xs[i] = x
        xs = project(xs, n_vars, bands)
    return xs


def row_gaps(row: list[int], width: list[float], lineage) -> list[float]:
    """The least distance between neighbouring centres in a row: half of each width, a gap,
    and a padding for every nested-model border between them."""
    gaps = []
    for a, b in zip(row, row[1:]):
        borders = len(lineage[a]) + len(lineage[b]) - 2 * shared_depth(lineage[a], lineage[b])
        gap = NODE_GAP if BEND_W not in (width[a], width[b]) else NODE_GAP / 3
        gaps.append((width[a] + width[b]) / 2 + gap + CLUSTER_PAD * borders)
    return gaps


def pack(wish: list[float], gaps: list[float]) -> list[float]:
    """Positions in order, at least `gaps` apart, as close as possible (least squares) to
    the wished ones: isotonic regression by pooling adjacent violators."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    pools: list[list[float]] = []  # [mean, count]
    for w, o in zip(wish, offsets):
        pools.append([w - o, 1])
        while len(pools) > 1 and pools[-2][0] > pools[-1][0]:
            m2, c2 = pools.pop()
            m1, c1 = pools.pop()
            pools.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    values = [m for m, c in pools for _ in range(int(c))]
    return [v + o for v, o in zip(values, offsets)]


def band_constraints(rows, width: list[float], lineage):
    """Constraints `x[b] - x[a] >= gap` that keep the items of a row apart and each nested
    model in one band over all its rows, with its items inside and all else outside.

    Items are variables 0..n-1; each cluster adds two, its left and right border."""
    n = len(width)
    borders: dict[str, int] = {}

    def border(c: str) -> int:
        """The variable of the cluster's left border (the right one is the next)."""
        return borders.setdefault(c, n + 2 * len(borders))
    gaps: dict[tuple[int, int], float] = {}

    def need(a: int, b: int, gap: float) -> None:
        """Record x[b] - x[a] >= gap, keeping the largest gap asked for."""
        gaps[(a, b)] = max(gap, gaps.get((a, b), gap))
    for i, chain in enumerate(lineage):
        if chain:
            need(border(chain[-1]), i, width[i] / 2 + CLUSTER_PAD)
            need(i, border(chain[-1]) + 1, width[i] / 2 + CLUSTER_PAD)
        for outer, inner in zip(chain, chain[1:]):
            need(border(outer), border(inner), CLUSTER_PAD)
            need(border(inner) + 1, border(outer) + 1, CLUSTER_PAD)
    for row in rows:
        for a, b in zip(row, row[1:]):
            k = shared_depth(lineage[a], lineage[b])  # below k, a and b sit in different boxes
            gap = NODE_GAP if BEND_W not in (width[a], width[b]) else NODE_GAP / 3
            left, left_half = (border(lineage[a][k]) + 1, 0.0) if len(lineage[a]) > k else (
                a, width[a] / 2)
            right, right_half = (border(lineage[b][k]), 0.0) if len(lineage[b]) > k else (
                b, width[b] / 2)
            need(left, right, left_half + gap + right_half)
    return n + 2 * len(borders), [(a, b, gap) for (a, b), gap in gaps.items()]


def project(wish: list[float], n_vars: int, constraints) -> list[float]:
    """Positions meeting the constraints near the wished ones: the mean of the solution
    that pushes items right only as far as needed and the one that pushes them left (both
    meet the constraints, so their mean does too). Borders have no wish of their own."""
    order = topological_order(n_vars, [(a, b) for a, b, _ in constraints])
    before: list[list[tuple[int, float]]] = [[] for _ in range(n_vars)]
    after: list[list[tuple[int, float]]] = [[] for _ in range(n_vars)]
    for a, b, gap in constraints:
        before[b].append((a, gap))
        after[a].append((b, gap))
    free = [(w,) for w in wish] + [()] * (n_vars - len(wish))
    low = [0.0] * n_vars
    for v in order:
        low[v] = max([*free[v], *(low[a] + gap for a, gap in before[v])], default=-math.inf)
    high = [0.0] * n_vars
    for v in reversed(order):
        high[v] = min([*free[v], *(high[b] - gap for b, gap in after[v])], default=math.inf)
    return [(low[i] + high[i]) / 2 for i in range(len(wish))]


def shared_depth(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many outer clusters two lineages have in common."""
    k = 0
    while k < len(a) and k < len(b) and a[k] == b[k]:
        k += 1
    return k


def path_data(points: list[tuple[float, float]]) -> str:
    """An SVG path through the points: vertical lines where x stays, else a cubic curve
    leaving and arriving vertically."""
    d = [f"M{num(points[0][0])},{num(points[0][1])}"]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if abs(x1 - x0) < 0.05:
            d.append(f"V{num(y1)}")
        else:
            mid = (y0 + y1) / 2
            d.append(f"C{num(x0)},{num(mid)} {num(x1)},{num(mid)} {num(x1)},{num(y1)}")
    return " ".join(d)


def num(value: float) -> str:
    """A coordinate with at most one decimal."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
