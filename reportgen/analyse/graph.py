"""The architecture graph of a Keras model, read from its saved config alone.

The config comes from an untrusted file, so every reader here accepts anything: a missing
key, a wrong type or a dangling reference loses that piece of the graph, never raises.
It understands Keras 3 and Keras 2 functional configs, Sequential configs (old files keep
them as a bare list of layers), nested models used as layers, shared layers and models
with several inputs and outputs. A nested model becomes a cluster of its own layers; its
input layers are left out, so edges run from the layer that feeds it to the layers that
read its inputs, and from its output layers on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEQUENCE = (list, tuple)  # get_config() gives tuples where saved JSON has lists
MAX_DEPTH = 16  # nested models deeper than this are drawn as one node
MAX_WALK = 10_000  # values visited when looking for tensors in one inbound node


@dataclass(frozen=True)
class GraphNode:
    """One layer: its path (`outer/inner/conv1`) and the nested model it sits in ("" at the top)."""

    path: str
    name: str
    class_name: str
    cluster: str


@dataclass(frozen=True)
class GraphEdge:
    """A tensor from one layer's output to another layer's input, by layer path."""

    source: str
    target: str


@dataclass(frozen=True)
class GraphCluster:
    """A nested model used as a layer; `parent` is the cluster it sits in ("" at the top)."""

    path: str
    name: str
    class_name: str
    parent: str
    label: str


@dataclass(frozen=True)
class Graph:
    """Layers in the config's order, the edges between them and the nested models.

    `n_unread` counts layer entries that could not be read (not a dict, no name, a name
    used twice in one model).
    """

    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[GraphEdge, ...] = ()
    clusters: tuple[GraphCluster, ...] = ()
    n_unread: int = 0


@dataclass(frozen=True)
class _Ports:
    """Where a layer or nested model is entered and left: node paths per input and output."""

    inputs: tuple[tuple[str, ...], ...]
    outputs: tuple[tuple[str, ...], ...]


@dataclass
class _Builder:
    """The graph as it is read; one per call of model_graph."""

    nodes: list[GraphNode] = field(default_factory=list)
    edges: dict[tuple[str, str], None] = field(default_factory=dict)
    clusters: list[GraphCluster] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)
    n_unread: int = 0

    def connect(self, sources, targets) -> None:
        """Add an edge from every source path to every target path (no self-loops)."""
        for source in sources:
            for target in targets:
                if source != target:
                    self.edges[(source, target)] = None


def model_graph(config: object) -> Graph:
    """The graph of a model config: `{"class_name": ..., "config": {...}}`, a bare
    `get_config()` dict, or an old Sequential's list of layers. Never raises on bad input."""
    builder = _Builder()
    read_model(config, "", "", 0, builder)
    return Graph(tuple(builder.nodes), tuple(GraphEdge(s, t) for s, t in builder.edges),
                 tuple(builder.clusters), builder.n_unread)


def model_body(config: object) -> tuple[str, list, dict]:
    """(class name, layer entries, body) of a model config in any of its saved forms."""
    class_name, body = "", config
    if isinstance(config, dict) and "class_name" in config and "config" in config:
        class_name, body = text(config.get("class_name")), config.get("config")
    if isinstance(body, SEQUENCE):  # Keras 2's oldest Sequential form
        return class_name or "Sequential", body, {}
    if not isinstance(body, dict) or not isinstance(body.get("layers"), SEQUENCE):
        return class_name, [], {}
    if not class_name:
        class_name = "Functional" if "input_layers" in body else "Sequential"
    return class_name, body["layers"], body


def is_model(entry: dict) -> bool:
    """Whether a layer entry is a model with layers of its own to draw (a subclassed model
    saves none and stays one node)."""
    body = entry.get("config")
    return isinstance(body, SEQUENCE) or (isinstance(body, dict)
                                          and isinstance(body.get("layers"), SEQUENCE))


def is_functional(class_name: str, entries: list, body: dict) -> bool:
    """Whether layers are wired by their inbound nodes rather than chained in order."""
    if class_name == "Sequential":
        return False
    return "input_layers" in body or any(
        isinstance(e, dict) and e.get("inbound_nodes") for e in entries)


def read_model(config: object, prefix: str, cluster: str, depth: int,
               builder: _Builder) -> _Ports:
    """Add a model's layers and edges to the builder; return where it is entered and left."""
    class_name, entries, body = model_body(config)
    if is_functional(class_name, entries, body):
        return read_functional(entries, body, prefix, cluster, depth, builder)
    return read_sequential(entries, prefix, cluster, depth, builder)


def layer_name(entry: dict) -> str:
    """A layer entry's name: Keras 3 and 2 functional entries carry it twice, Sequential once."""
    name = entry.get("name")
    if not isinstance(name, str) and isinstance(entry.get("config"), dict):
        name = entry["config"].get("name")
    return name if isinstance(name, str) else ""


def text(value: object) -> str:
    """A config value as a string when it is one, else ""."""
    return value if isinstance(value, str) else ""


def read_layer(entry: object, prefix: str, cluster: str, depth: int,
               builder: _Builder) -> tuple[str, _Ports | None]:
    """Add one layer entry (a nested model as a cluster); (its name, its ports) or ("", None)."""
    name = layer_name(entry) if isinstance(entry, dict) else ""
    path = prefix + name
    if not name or path in builder.paths:
        builder.n_unread += 1
        return "", None
    builder.paths.add(path)
    class_name = text(entry.get("class_name")) or "?"
    if is_model(entry) and depth < MAX_DEPTH:
        builder.clusters.append(GraphCluster(path, name, class_name, cluster,
                                             f"{name} ({class_name})"))
        return name, read_model(entry, path + "/", path, depth + 1, builder)
    builder.nodes.append(GraphNode(path, name, class_name, cluster))
    return name, _Ports(((path,),), ((path,),))


def is_input(entry: object) -> bool:
    """Whether a layer entry is an InputLayer."""
    return isinstance(entry, dict) and entry.get("class_name") == "InputLayer"


def read_sequential(entries: list, prefix: str, cluster: str, depth: int,
                    builder: _Builder) -> _Ports:
    """Chain the layers in order; a nested Sequential's own InputLayer is left out."""
    first: _Ports | None = None
    last: _Ports | None = None
    for entry in entries:
        if depth > 0 and is_input(entry):
            continue
        _, ports = read_layer(entry, prefix, cluster, depth, builder)
        if ports is None:
            continue
        if last is not None:
            builder.connect(flat(last.outputs), flat(ports.inputs))
        first, last = first or ports, ports
    if first is None or last is None:
        return _Ports((), ())
    return _Ports(first.inputs, last.outputs)


def flat(groups: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """All paths of a tuple of path groups, in order."""
    return tuple(path for group in groups for path in group)


def read_functional(entries: list, body: dict, prefix: str, cluster: str, depth: int,
                    builder: _Builder) -> _Ports:
    """Add the layers, then one edge per tensor of each inbound node."""
    ports: dict[str, _Ports] = {}
    entered: dict[str, list[str]] = {}  # a left-out input layer -> the paths that read it
    wired: list[tuple[str, object]] = []
    for entry in entries:
        if depth > 0 and is_input(entry):
            name = layer_name(entry)
            if name and name not in entered and name not in ports:
                entered[name] = []
            continue
        name, layer_ports = read_layer(entry, prefix, cluster, depth, builder)
        if layer_ports is not None:
            ports[name] = layer_ports
            wired.append((name, entry.get("inbound_nodes")))
    names = ports.keys() | entered.keys()
    for name, nodes in wired:
        for node in nodes if isinstance(nodes, SEQUENCE) else ():
            wire_node(node_refs(node, names), ports[name], ports, entered, builder)
    inputs = tuple(tuple(entered.get(name, ())) if name in entered else
                   flat(ports[name].inputs) if name in ports else ()
                   for name, _ in tensor_list(body.get("input_layers")))
    outputs = tuple(output_paths(ports, name, index)
                    for name, index in tensor_list(body.get("output_layers")))
    return _Ports(inputs, outputs)


def output_paths(ports: dict[str, _Ports], name: str, index: int) -> tuple[str, ...]:
    """The paths that produce output `index` of layer `name` (all outputs if out of range)."""
    if name not in ports:
        return ()
    outputs = ports[name].outputs
    return outputs[index] if 0 <= index < len(outputs) else flat(outputs)


def wire_node(refs: list[tuple[str, int]], target: _Ports, ports: dict[str, _Ports],
              entered: dict[str, list[str]], builder: _Builder) -> None:
    """Connect the tensors of one call to the layer or nested model they were passed to."""
    positional = len(refs) == len(target.inputs)  # tensor k feeds the model's input k
    for k, (source, index) in enumerate(refs):
        targets = target.inputs[k] if positional else flat(target.inputs)
        if source in entered:
            entered[source].extend(t for t in targets if t not in entered[source])
        else:
            builder.connect(output_paths(ports, source, index), targets)


def node_refs(node: object, names) -> list[tuple[str, int]]:
    """(layer name, output index) of every tensor one inbound node passes, in order.

    Keras 3 writes a node as {"args": [...], "kwargs": {...}} holding `__keras_tensor__`
    dicts; Keras 2 as a list of [name, node_index, tensor_index, kwargs] entries.
    """
    keras2 = isinstance(node, SEQUENCE)
    refs = []
    stack = [node]
    for _ in range(MAX_WALK):
        if not stack:
            break
        value = stack.pop()
        ref = tensor_ref(value, keras2)
        if ref is not None:
            if ref[0] in names:
                refs.append(ref)
            if keras2 and isinstance(value, SEQUENCE):
                stack.extend(reversed(value[3:]))  # kwargs may hold more tensors
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, SEQUENCE):
            stack.extend(reversed(value))
    return refs


def tensor_ref(value: object, keras2: bool) -> tuple[str, int] | None:
    """(layer name, output index) if the value stands for one tensor, else None."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        config = value.get("config")
        history = config.get("keras_history") if isinstance(config, dict) else None
        return history_ref(history)
    return history_ref(value) if keras2 else None


def history_ref(value: object) -> tuple[str, int] | None:
    """(name, tensor index) of a [name, node_index, tensor_index, ...] list, else None."""
    if (isinstance(value, SEQUENCE) and len(value) >= 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:3])):
        return value[0], value[2]
    return None


def tensor_list(value: object) -> list[tuple[str, int]]:
    """The (name, tensor index) entries of `input_layers`/`output_layers` in any nesting:
    one [name, 0, 0] triple, a list of them, or a dict of them (sorted, as Keras flattens)."""
    found = []
    stack = [value]
    for _ in range(MAX_WALK):
        if not stack:
            break
        item = stack.pop()
        ref = history_ref(item)
        if ref is not None:
            found.append(ref)
        elif isinstance(item, dict):
            stack.extend(item[k] for k in sorted(item, key=str, reverse=True))
        elif isinstance(item, SEQUENCE):
            stack.extend(reversed(item))
    return found
