"""The architecture graph: the layers and their connections as the model config describes
them, laid out and drawn as inline SVG (graph.html.j2); each layer links to its section."""

from __future__ import annotations

from reportgen.analyse.alert import ERROR, WARNING
from reportgen.analyse.facts import all_layer_facts
from reportgen.analyse.graph import Graph, model_graph
from reportgen.draw.graph_layout import Layout, PlacedNode, graph_layout
from reportgen.i18n import N_, ngettext
from reportgen.sections.base import CONFIG, Evidence, Page, Section


def collect(evidence: Evidence) -> Graph | None:
    """The graph the model config describes."""
    return model_graph(evidence.config) if evidence.config is not None else None


def pictures(graph: Graph | None, evidence: Evidence) -> Layout | None:
    """The graph laid out, with each layer's output shape; None for an empty graph."""
    if graph is None or not graph.nodes:
        return None
    shapes = {layer.path: layer.output_shape
              for layer in all_layer_facts(evidence.facts.get("layers") or ())
              if layer.output_shape}
    return graph_layout(graph, shapes)


def view(_graph, layout: Layout | None, page: Page) -> dict | None:
    """The laid-out graph for the template, each layer linked to its weights section (or its
    row of the layer table)."""
    if layout is None:
        return None
    layers = list(all_layer_facts(page.facts.section("layers") or ()))
    places = {layer.path: page.anchors[layer.path] if layer.weights
              else f"row-{page.anchors[layer.path]}" for layer in layers}
    return graph_view(layout, places, {layer.path: layer.output_shape or "" for layer in layers},
                      worst_severity(page.by_layer))


SEVERITY_ORDER = (ERROR, WARNING)  # notes do not colour a box: they are heuristics


def worst_severity(by_layer: dict[str, list[dict]]) -> dict[str, str]:
    """Each layer's most serious alert (error, then warning) and how many it has."""
    found = {}
    for path, rows in by_layer.items():
        for severity in SEVERITY_ORDER:
            if any(row["severity"] == severity for row in rows):
                found[path] = severity
                break
    return found


def sidecar(graph: Graph | None, _evidence: Evidence) -> dict:
    """The key `graph`: layers by path, edges as [source, target], nested models."""
    if graph is None:
        return {"graph": None}
    return {"graph": {"nodes": [{"path": n.path, "name": n.name, "class_name": n.class_name,
                                 "cluster": n.cluster or None} for n in graph.nodes],
                      "edges": [[e.source, e.target] for e in graph.edges],
                      "clusters": [{"path": c.path, "class_name": c.class_name}
                                   for c in graph.clusters],
                      "n_unread": graph.n_unread}}


def graph_view(layout: Layout, anchors: dict[str, str], shapes: dict[str, str],
               severities: dict[str, str] | None = None, graph_id: str = "graph") -> dict:
    """A laid-out graph (and its collapsed blocks, each with its own id) for the template."""
    return {
        "id": graph_id, "width": layout.width, "height": layout.height,
        "label": ngettext("Architecture graph: {n} node", "Architecture graph: {n} nodes",
                          len(layout.nodes)).format(n=len(layout.nodes)),
        "nodes": [_node_view(n, anchors, shapes, graph_id) | {
            "severity": (severities or {}).get(n.path, "") if n.block is None else ""}
            for n in layout.nodes],
        "edges": [e.d for e in layout.edges],
        "clusters": [{"x": c.x, "y": c.y, "w": c.w, "h": c.h, "label_x": c.label_x,
                      "label_y": c.label_y, "label_box": c.label_box, "label": c.label,
                      "title": c.title, "depth": c.depth} for c in layout.clusters],
        "blocks": [{"id": f"{graph_id}-block-{k}", "label": b.label, "n_layers": b.n_layers,
                    "graph": graph_view(b.layout, anchors, shapes, severities,
                                        f"{graph_id}-block-{k}")
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


SECTION = Section(name="architecture", title=N_("Architecture"), template="architecture.html.j2",
                  needs=frozenset({CONFIG}), after=("layers",), collect=collect,
                  pictures=pictures, view=view, sidecar=sidecar)
