"""The architecture graph section's view: a laid-out graph as the plain data the
graph.html.j2 macros place (anchors link each layer to its section)."""

from __future__ import annotations

from reportgen.draw.graph_layout import Layout, PlacedNode
from reportgen.i18n import ngettext


def graph_view(layout: Layout, anchors: dict[str, str], shapes: dict[str, str],
               graph_id: str = "graph") -> dict:
    """A laid-out graph (and its collapsed blocks, each with its own id) for the template."""
    return {
        "id": graph_id, "width": layout.width, "height": layout.height,
        "label": ngettext("Architecture graph: {n} node", "Architecture graph: {n} nodes",
                          len(layout.nodes)).format(n=len(layout.nodes)),
        "nodes": [_node_view(n, anchors, shapes, graph_id) for n in layout.nodes],
        "edges": [e.d for e in layout.edges],
        "clusters": [{"x": c.x, "y": c.y, "w": c.w, "h": c.h, "label_x": c.label_x,
                      "label_y": c.label_y, "label_box": c.label_box, "label": c.label,
                      "title": c.title, "depth": c.depth} for c in layout.clusters],
        "blocks": [{"id": f"{graph_id}-block-{k}", "label": b.label, "n_layers": b.n_layers,
                    "graph": graph_view(b.layout, anchors, shapes, f"{graph_id}-block-{k}")
                    if b.layout else None} for k, b in enumerate(layout.blocks)],
    }


def _node_view(node: PlacedNode, anchors: dict[str, str], shapes: dict[str, str],
               graph_id: str) -> dict:
    """One node: a block links to its expandable drawing, a layer to its section."""
    if node.block is not None:
        href, tooltip = f"#{graph_id}-block-{node.block}", f"{node.name}: {node.subtitle}"
    else:
        href = f"#{anchors[node.path]}" if node.path in anchors else ""
        tooltip = "\n".join(t for t in (node.name, node.class_name, shapes.get(node.path, ""))
                            if t)
    return {"x": node.x, "y": node.y, "w": node.w, "h": node.h, "cx": node.cx,
            "title_y": node.title_y, "subtitle_y": node.subtitle_y, "title": node.title,
            "subtitle": node.subtitle, "tooltip": tooltip, "href": href,
            "block": node.block is not None, "external": node.external}
