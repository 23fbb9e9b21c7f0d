"""The architecture graph: configs read into nodes and edges, laid out, drawn as SVG.

Expected edges are the connections each test declares when it builds its model; block
names come from the Keras application's own layer names.
"""

from __future__ import annotations

import json
import re
import zipfile
from html.parser import HTMLParser

import pytest

from conftest import HOSTILE_NAME
from reportgen.analyse.graph import Graph, model_graph
from reportgen.sections.architecture import graph_view
from reportgen.draw.graph_layout import Layout, graph_layout
from reportgen.page.render import environment
from reportgen.page.anchors import layer_anchors


def wrapped(model) -> dict:
    """A model's config as a .keras file's config.json holds it, tuples turned to lists."""
    config = {"class_name": type(model).__name__, "config": model.get_config()}
    return json.loads(json.dumps(config))


def edge_set(graph: Graph) -> set[tuple[str, str]]:
    """The graph's edges as (source, target) path pairs."""
    return {(e.source, e.target) for e in graph.edges}


def is_connected(graph: Graph) -> bool:
    """Whether every node can be reached from every other, ignoring edge direction."""
    parent = {node.path: node.path for node in graph.nodes}

    def root(p):
        while parent[p] != p:
            p = parent[p]
        return p
    for e in graph.edges:
        parent[root(e.source)] = root(e.target)
    return len({root(p) for p in parent}) == 1


def residual_model():
    """Two inputs, a three-way residual Add, a Concatenate and two outputs."""
    import keras
    from keras import layers

    left, right = keras.Input((8,), name="left"), keras.Input((8,), name="right")
    dense_a = layers.Dense(8, name="dense_a")(left)
    dense_b = layers.Dense(8, name="dense_b")(right)
    added = layers.Add(name="residual_add")([dense_a, dense_b, left])
    joined = layers.Concatenate(name="concat")([added, right])
    return keras.Model([left, right], [layers.Dense(3, name="class_out")(joined),
                                       layers.Dense(1, name="score_out")(added)], name="residual")


RESIDUAL_EDGES = {("left", "dense_a"), ("right", "dense_b"), ("dense_a", "residual_add"),
                  ("dense_b", "residual_add"), ("left", "residual_add"),
                  ("residual_add", "concat"), ("right", "concat"), ("concat", "class_out"),
                  ("residual_add", "score_out")}


def nested_model():
    """A functional model calling a shared layer twice, a nested two-in two-out functional
    model and a nested Sequential head."""
    import keras
    from keras import layers

    i1, i2 = keras.Input((4,), name="i1"), keras.Input((4,), name="i2")
    shared = layers.Dense(4, name="shared")
    p, q = keras.Input((4,), name="p"), keras.Input((4,), name="q")
    added = layers.Dense(2, name="o_add")(layers.Add(name="s_add")([p, q]))
    subtracted = layers.Dense(3, name="o_sub")(layers.Subtract(name="s_sub")([p, q]))
    sub = keras.Model([p, q], [added, subtracted], name="sub")
    total, difference = sub([shared(i1), shared(i2)])
    head = keras.Sequential([layers.Dense(5, name="h1"), layers.Dense(1, name="h2")], name="head")
    out = head(layers.Concatenate(name="cat")([total, difference]))
    return keras.Model([i1, i2], [out, difference], name="outer")


NESTED_EDGES = {("i1", "shared"), ("i2", "shared"), ("shared", "sub/s_add"),
                ("shared", "sub/s_sub"), ("sub/s_add", "sub/o_add"), ("sub/s_sub", "sub/o_sub"),
                ("sub/o_add", "cat"), ("sub/o_sub", "cat"), ("cat", "head/h1"),
                ("head/h1", "head/h2")}


def teachable_machine_like(base):
    """Sequential[ Sequential[ base, pooling ], Sequential[ Dense, Dense ] ], as Teachable
    Machine exports image models."""
    import keras
    from keras import layers

    features = keras.Sequential([base, layers.GlobalAveragePooling2D(name="pool")],
                                name="sequential_1")
    head = keras.Sequential([layers.Dense(8, name="dense_Dense1"),
                             layers.Dense(3, name="dense_Dense2")], name="sequential_3")
    return keras.Sequential([keras.Input(base.input_shape[1:]), features, head],
                            name="sequential_4")


def small_base():
    """A small functional feature extractor with a residual connection."""
    import keras
    from keras import layers

    image = keras.Input((16, 16, 3), name="image")
    conv = layers.Conv2D(4, 3, padding="same", name="stem_conv")(image)
    branch = layers.Conv2D(4, 3, padding="same", name="branch_conv")(conv)
    return keras.Model(image, layers.Add(name="merge")([conv, branch]), name="base")


# --- reading configs ------------------------------------------------------------------------

def test_residual_edges_are_the_declared_connections():
    model = residual_model()
    graph = model_graph(wrapped(model))
    assert edge_set(graph) == RESIDUAL_EDGES
    assert [n.path for n in graph.nodes] == [layer.name for layer in model.layers]
    assert [n.class_name for n in graph.nodes] == [type(layer).__name__ for layer in model.layers]
    assert graph.clusters == () and graph.n_unread == 0


def test_get_config_tuples_and_saved_files_give_the_same_graph(tmp_path):
    import h5py

    model = residual_model()
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    from_zip = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))
    with h5py.File(tmp_path / "m.h5") as handle:
        from_h5 = json.loads(handle.attrs["model_config"])
    for config in (model.get_config(), from_zip, from_h5):
        assert edge_set(model_graph(config)) == RESIDUAL_EDGES


def test_shared_layers_and_nested_models_resolve_to_their_inner_layers():
    graph = model_graph(wrapped(nested_model()))
    assert edge_set(graph) == NESTED_EDGES
    assert is_connected(graph)
    assert {(c.path, c.parent, c.label) for c in graph.clusters} == {
        ("sub", "", "sub (Functional)"), ("head", "", "head (Sequential)")}
    assert {n.path: n.cluster for n in graph.nodes}["sub/o_sub"] == "sub"
    assert "sub/p" not in {n.path for n in graph.nodes}  # a nested model's inputs are left out


def test_sequential_with_and_without_input_layer():
    import keras
    from keras import layers

    def chain(with_input):
        first = [keras.Input((4,), name="x")] if with_input else []
        return keras.Sequential(first + [layers.Dense(3, name="d1"), layers.Dense(2, name="d2")])
    assert edge_set(model_graph(wrapped(chain(False)))) == {("d1", "d2")}
    with_input = model_graph(wrapped(chain(True)))
    input_name = with_input.nodes[0].path
    assert with_input.nodes[0].class_name == "InputLayer"
    assert edge_set(with_input) == {(input_name, "d1"), ("d1", "d2")}


def test_sequential_of_sequentials_is_connected_with_nested_clusters():
    graph = model_graph(wrapped(teachable_machine_like(small_base())))
    assert is_connected(graph)
    top_input = graph.nodes[0].path
    base = "sequential_1/base/"
    assert edge_set(graph) == {
        (top_input, base + "stem_conv"), (base + "stem_conv", base + "branch_conv"),
        (base + "stem_conv", base + "merge"), (base + "branch_conv", base + "merge"),
        (base + "merge", "sequential_1/pool"), ("sequential_1/pool", "sequential_3/dense_Dense1"),
        ("sequential_3/dense_Dense1", "sequential_3/dense_Dense2")}
    assert {(c.path, c.parent) for c in graph.clusters} == {
        ("sequential_1", ""), ("sequential_1/base", "sequential_1"), ("sequential_3", "")}
    assert {n.path: n.cluster for n in graph.nodes}[base + "merge"] == "sequential_1/base"


# Keras 2.x wrote functional configs with nodes as [[name, node_index, tensor_index, kwargs]],
# a nested model's call as its node 1, and nested Sequentials with their own InputLayer.
KERAS2_RESIDUAL = {"class_name": "Model", "config": {
    "name": "residual",
    "layers": [
        {"class_name": "InputLayer", "name": "left", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 8], "dtype": "float32", "name": "left"}},
        {"class_name": "InputLayer", "name": "right", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 8], "dtype": "float32", "name": "right"}},
        {"class_name": "Dense", "name": "dense_a", "config": {"name": "dense_a", "units": 8},
         "inbound_nodes": [[["left", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "dense_b", "config": {"name": "dense_b", "units": 8},
         "inbound_nodes": [[["right", 0, 0, {}]]]},
        {"class_name": "Add", "name": "residual_add", "config": {"name": "residual_add"},
         "inbound_nodes": [[["dense_a", 0, 0, {}], ["dense_b", 0, 0, {}], ["left", 0, 0, {}]]]},
        {"class_name": "Concatenate", "name": "concat", "config": {"name": "concat", "axis": -1},
         "inbound_nodes": [[["residual_add", 0, 0, {}], ["right", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "class_out", "config": {"name": "class_out", "units": 3},
         "inbound_nodes": [[["concat", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "score_out", "config": {"name": "score_out", "units": 1},
         "inbound_nodes": [[["residual_add", 0, 0, {}]]]},
    ],
    "input_layers": [["left", 0, 0], ["right", 0, 0]],
    "output_layers": [["class_out", 0, 0], ["score_out", 0, 0]]}}

KERAS2_NESTED_BASE = {"class_name": "Functional", "config": {
    "name": "classifier",
    "layers": [
        {"class_name": "InputLayer", "name": "image", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 16, 16, 3], "name": "image"}},
        {"class_name": "Sequential", "name": "features", "inbound_nodes": [[["image", 0, 0, {}]]],
         "config": {"name": "features", "layers": [
             {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 16, 16, 3],
                                                     "name": "c1_input"}},
             {"class_name": "Conv2D", "config": {"name": "c1", "filters": 4}},
             {"class_name": "Conv2D", "config": {"name": "c2", "filters": 4}}]}},
        {"class_name": "GlobalAveragePooling2D", "name": "gap", "config": {"name": "gap"},
         "inbound_nodes": [[["features", 1, 0, {}]]]},
        {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 2},
         "inbound_nodes": [[["gap", 0, 0, {}]]]},
    ],
    "input_layers": [["image", 0, 0]],
    "output_layers": [["out", 0, 0]]}}


def test_keras2_configs_give_the_same_edges_as_keras3():
    import keras
    from keras import layers

    keras3 = wrapped(residual_model())
    assert edge_set(model_graph(KERAS2_RESIDUAL)) == edge_set(model_graph(keras3)) == RESIDUAL_EDGES
    image = keras.Input((16, 16, 3), name="image")
    features = keras.Sequential([layers.Conv2D(4, 3, name="c1"), layers.Conv2D(4, 3, name="c2")],
                                name="features")
    pooled = layers.GlobalAveragePooling2D(name="gap")(features(image))
    keras3 = keras.Model(image, layers.Dense(2, name="out")(pooled), name="classifier")
    expected = {("image", "features/c1"), ("features/c1", "features/c2"),
                ("features/c2", "gap"), ("gap", "out")}
    assert edge_set(model_graph(KERAS2_NESTED_BASE)) == expected
    assert edge_set(model_graph(wrapped(keras3))) == expected


def test_keras2_sequential_forms_and_tensors_in_keyword_arguments():
    layers = [{"class_name": "Dense", "config": {"name": n}} for n in ("a", "b", "c")]
    assert edge_set(model_graph({"class_name": "Sequential", "config": layers})) == {
        ("a", "b"), ("b", "c")}
    assert edge_set(model_graph({"class_name": "Sequential",
                                 "config": {"name": "s", "layers": layers}})) == {
        ("a", "b"), ("b", "c")}
    # Keras 2's TFOpLambda: one node [name, 0, 0, kwargs] whose kwargs hold another tensor.
    op = {"class_name": "TFOpLambda", "name": "tf.__operators__.add",
          "config": {"name": "tf.__operators__.add", "function": "__operators__.add"},
          "inbound_nodes": [["x", 0, 0, {"y": ["y", 0, 0], "name": None}]]}
    inputs = [{"class_name": "InputLayer", "name": n, "config": {"name": n}, "inbound_nodes": []}
              for n in ("x", "y")]
    graph = model_graph({"class_name": "Functional", "config": {
        "layers": inputs + [op], "input_layers": [["x", 0, 0], ["y", 0, 0]]}})
    assert edge_set(graph) == {("x", "tf.__operators__.add"), ("y", "tf.__operators__.add")}


HOSTILE_CONFIGS = [
    None, 7, "config", [], {}, {"class_name": 5, "config": []},
    {"config": {"layers": {"a": 1}}}, [None, 1, {"name": 3}, {"config": "x"}],
    {"class_name": "Functional", "config": {"layers": [{"name": "a", "inbound_nodes": 7}],
                                            "input_layers": 5, "output_layers": [["zz", "0", 0]]}},
    {"class_name": "Functional", "config": {"layers": [
        {"name": "a", "class_name": "Dense", "inbound_nodes": [{"args": [
            {"class_name": "__keras_tensor__", "config": {"keras_history": ["nowhere", 0, 0]}},
            {"class_name": "__keras_tensor__", "config": {"keras_history": "a"}},
            {"class_name": "__keras_tensor__", "config": None}]}]},
        {"name": "a", "class_name": "Dense", "inbound_nodes": []}]}},
    {"class_name": "Sequential", "config": {"layers": [{"class_name": "Functional", "config": {
        "name": "inner", "layers": [], "output_layers": [["missing", 9, 9]]}},
        {"class_name": "Dense", "config": {"name": "after"}}]}},
]


@pytest.mark.parametrize("config", HOSTILE_CONFIGS)
def test_malformed_configs_give_what_can_be_read(config):
    graph = model_graph(config)
    check_layout(graph_layout(graph))
    assert {e.source for e in graph.edges} | {e.target for e in graph.edges} <= {
        n.path for n in graph.nodes}


def test_cycles_self_references_and_deep_nesting_do_not_raise():
    cycle = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Dense", "name": n, "config": {}, "inbound_nodes": [[[m, 0, 0, {}]]]}
        for n, m in (("a", "c"), ("b", "a"), ("c", "b"), ("d", "c"))]}}
    graph = model_graph(cycle)
    assert edge_set(graph) == {("c", "a"), ("a", "b"), ("b", "c"), ("c", "d")}
    layout = graph_layout(graph)
    check_layout(layout)
    assert len(layout.edges) == 3  # the edge closing the cycle is not drawn
    loop = {"class_name": "Sequential", "config": {"name": "loop", "layers": []}}
    loop["config"]["layers"].append(loop)
    assert len(model_graph(loop).nodes) == 1
    deep = {"class_name": "Dense", "config": {"name": "leaf"}}
    for k in range(3000):
        deep = {"class_name": "Sequential", "config": {"name": f"s{k}", "layers": [deep]}}
    check_layout(graph_layout(model_graph(deep)))


def test_a_hundred_thousand_layers_collapse_into_a_bounded_drawing():
    names = [f"{'ab'[k % 2]}{k}" for k in range(100_000)]
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": name}} for name in names]}}
    # Its time (once asserted < 20 s here): benchmarks/time_limits.py.
    layout = graph_layout(model_graph(config))
    check_layout(layout)
    assert layout.n_ranks <= 80 and len(layout.nodes) <= 80
    assert sum(block.n_layers for block in layout.blocks) + sum(
        1 for n in layout.nodes if n.block is None) == len(names)


# --- layout ---------------------------------------------------------------------------------

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def path_points(d: str) -> list[tuple[float, float]]:
    """The points of an SVG path made of M, V and C commands."""
    points: list[tuple[float, float]] = []
    for command, args in re.findall(r"([MVC])([^MVC]*)", d):
        values = [float(v) for v in NUMBER.findall(args)]
        if command == "V":
            points.append((points[-1][0], values[0]))
        else:
            points += list(zip(values[::2], values[1::2]))
    return points


def check_layout(layout: Layout) -> None:
    """Edges go down the ranks from their source's bottom to their target's top, nodes of a
    rank do not overlap, everything lies inside the drawing; the same for every block."""
    nodes = layout.nodes
    for edge in layout.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        assert source.rank < target.rank
        points = path_points(edge.d)
        assert points[0][1] == pytest.approx(source.y + source.h)
        assert source.x <= points[0][0] <= source.x + source.w
        assert points[-1][1] == pytest.approx(target.y)
        assert target.x <= points[-1][0] <= target.x + target.w
        assert all(0 <= x <= layout.width and 0 <= y <= layout.height for x, y in points)
    ranks: dict[int, list] = {}
    for node in nodes:
        ranks.setdefault(node.rank, []).append(node)
        assert 0 <= node.x and node.x + node.w <= layout.width
        assert 0 <= node.y and node.y + node.h <= layout.height
    for row in ranks.values():
        row.sort(key=lambda n: n.x)
        assert len({n.y for n in row}) == 1
        assert all(a.x + a.w < b.x for a, b in zip(row, row[1:]))
    for c in layout.clusters:
        assert 0 <= c.x and c.x + c.w <= layout.width and 0 <= c.y and c.y + c.h <= layout.height
    for block in layout.blocks:
        if block.layout is not None:
            check_layout(block.layout)


def overlap(a, b) -> bool:
    """Whether two rectangles (anything with x, y, w, h) overlap."""
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def check_clusters(layout: Layout, graph: Graph) -> None:
    """Every node lies inside the rectangle of each nested model around it and outside all
    others; rectangles of nested models are disjoint unless one holds the other."""
    rects = {c.path: c for c in layout.clusters}
    cluster_of = {n.path: n.cluster for n in graph.nodes}
    parent = {c.path: c.parent for c in graph.clusters}

    def around(cluster):
        while cluster:
            yield cluster
            cluster = parent[cluster]
    for node in layout.nodes:
        inside = set(around(cluster_of.get(node.path, "")))
        for path, rect in rects.items():
            if path in inside:
                assert rect.x < node.x and node.x + node.w < rect.x + rect.w
                assert rect.y < node.y and node.y + node.h < rect.y + rect.h
            else:
                assert not overlap(rect, node), (node.path, path)
    for a in rects:
        for b in rects:
            if a < b and a not in around(b) and b not in around(a):
                assert not overlap(rects[a], rects[b]), (a, b)


def side_by_side_model():
    """A plain branch between two nested models, one of them fed from the branch."""
    import keras
    from keras import layers

    x = keras.Input((8, 8, 3), name="x")
    wide = keras.Sequential([layers.Conv2D(4, 1, name="a_very_wide_convolution_name"),
                             layers.Conv2D(4, 1, name="b"), layers.Conv2D(4, 1, name="c")],
                            name="wide")
    side1 = layers.Conv2D(4, 1, name="side1")(x)
    side3 = layers.Conv2D(4, 1, name="side3")(layers.Conv2D(4, 1, name="side2")(side1))
    narrow = keras.Sequential([layers.Conv2D(4, 1, name="p"), layers.Conv2D(4, 1, name="q")],
                              name="narrow")
    joined = layers.Concatenate(name="join")([wide(x), side3, narrow(side1)])
    return keras.Model(x, joined, name="side_by_side")


@pytest.mark.parametrize("build", [residual_model, nested_model, side_by_side_model,
                                   lambda: teachable_machine_like(small_base())])
def test_layout_invariants_of_small_models(build):
    graph = model_graph(wrapped(build()))
    layout = graph_layout(graph)
    check_layout(layout)
    check_clusters(layout, graph)
    assert layout.blocks == ()
    assert sorted(n.path for n in layout.nodes) == sorted(n.path for n in graph.nodes)
    assert len(layout.edges) == len(graph.edges)


def test_long_names_are_cut_and_shapes_shown():
    import keras

    long_name = "a_layer_with_a_name_far_too_long_for_any_box_" * 3
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name=long_name)])
    layout = graph_layout(model_graph(wrapped(model)), {long_name: "(None, 2)"})
    node = layout.nodes[-1]
    assert node.name == long_name and node.title.endswith("…") and len(node.title) == 24
    assert node.subtitle == "Dense (None, 2)"


@pytest.fixture(scope="session")
def resnet50():
    """ResNet50 without weights (a few seconds to build)."""
    import keras

    return keras.applications.ResNet50(weights=None)


@pytest.mark.big_model
def test_resnet50_collapses_into_its_residual_blocks(resnet50):
    graph = model_graph(wrapped(resnet50))
    # Its time (once asserted < 0.5 s here): benchmarks/time_limits.py.
    layout = graph_layout(graph)
    names = [layer.name for layer in resnet50.layers]
    block_of = re.compile(r"(conv\d_block\d+)_").match
    expected = sorted({m.group(1) for m in map(block_of, names) if m})
    assert len(expected) == 16
    by_label = {block.label: block for block in layout.blocks}
    assert sorted(set(by_label) - {"conv1"}) == expected
    for label in expected:
        block = by_label[label]
        members = {n.path for n in block.layout.nodes if not n.external}
        assert members == {name for name in names if name.startswith(label + "_")}
        check_layout(block.layout)
        assert any(n.class_name == "Add" for n in block.layout.nodes)
    assert layout.n_ranks < 80
    check_layout(layout)


@pytest.mark.big_model
def test_mobilenet_v2_collapses_into_its_blocks():
    import keras

    model = keras.applications.MobileNetV2(weights=None)
    layout = graph_layout(model_graph(wrapped(model)))
    names = [layer.name for layer in model.layers]
    expected = {m.group(1) for m in map(re.compile(r"(block_\d+)_").match, names) if m}
    assert {block.label for block in layout.blocks} == expected | {"expanded_conv"}
    assert layout.n_ranks < 80
    check_layout(layout)


# --- drawing --------------------------------------------------------------------------------

class Collector(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML fragment."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def render(view: dict) -> Collector:
    """The macro's output through the report's own Jinja2 environment, parsed."""
    macro = environment().get_template("graph.html.j2").module.graph_svg
    html = str(macro(view))
    assert "<script" not in html.lower()
    parsed = Collector()
    parsed.feed(html)
    return parsed


def test_rendered_links_go_only_to_supplied_anchors_and_names_are_escaped():
    import keras

    quote_name = 'q"uote&<b>\x07\u202e'
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name=HOSTILE_NAME),
                              keras.layers.Dense(2, name=quote_name)], name="hostile")
    graph = model_graph(wrapped(model))
    anchors = layer_anchors([layer.name for layer in model.layers])
    shapes = {HOSTILE_NAME: "(None, 3)", quote_name: "(None, 2)"}
    parsed = render(graph_view(graph_layout(graph, shapes), anchors, shapes))
    hrefs = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert sorted(hrefs) == sorted(f"#{anchor}" for anchor in anchors.values())
    assert all(tag not in ("img", "script", "b") for tag, _ in parsed.tags)
    assert all("style" not in attrs and not any(k.startswith("on") for k in attrs)
               for _, attrs in parsed.tags)
    text = "".join(parsed.text)
    assert HTML_NAME_SHOWN in text and "\x07" not in text and "\u202e" not in text
    assert "q\"uote&<b>\ufffd\ufffd" in text  # control characters shown as U+FFFD
    markers = {attrs["id"] for tag, attrs in parsed.tags if tag == "marker"}
    assert {attrs["marker-end"] for tag, attrs in parsed.tags if tag == "path"
            and "marker-end" in attrs} == {f"url(#{m})" for m in markers}


HTML_NAME_SHOWN = HOSTILE_NAME[:23] + "…"


def test_rendered_blocks_each_have_details_and_their_own_graph(resnet50):
    graph = model_graph(wrapped(resnet50))
    layout = graph_layout(graph)
    anchors = layer_anchors([layer.name for layer in resnet50.layers])
    parsed = render(graph_view(layout, anchors, {}))
    ids = [attrs["id"] for _, attrs in parsed.tags if "id" in attrs]
    assert len(ids) == len(set(ids))
    supplied = {f"#{a}" for a in anchors.values()}
    block_ids = {f"#graph-block-{k}" for k in range(len(layout.blocks))}
    hrefs = {attrs["href"] for tag, attrs in parsed.tags if tag == "a"}
    assert block_ids <= hrefs <= supplied | block_ids
    assert {f"#{i}" for i in ids} >= block_ids
    assert sum(tag == "details" for tag, _ in parsed.tags) == len(layout.blocks)
    assert sum(tag == "svg" for tag, _ in parsed.tags) == 1 + len(layout.blocks)


def test_a_layer_with_an_error_or_a_warning_is_framed_in_its_colour():
    from reportgen.sections.architecture import worst_severity

    by_layer = {"a": [{"severity": "note"}, {"severity": "warning"}],
                "b": [{"severity": "warning"}, {"severity": "error"}],
                "c": [{"severity": "note"}]}
    assert worst_severity(by_layer) == {"a": "warning", "b": "error"}
    graph = model_graph({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [None, 4]}},
        {"class_name": "Dense", "config": {"name": "a", "units": 2}},
        {"class_name": "Dense", "config": {"name": "b", "units": 2}}]}})
    view = graph_view(graph_layout(graph, {}), {}, {}, {"b": "error"})
    assert {n["title"]: n["severity"] for n in view["nodes"]}["b"] == "error"
    assert 'class="graph-node graph-error"' in environment().get_template(
        "graph.html.j2").module.graph_picture(view)
