"""The code's shape in numbers: module sizes, function lengths and complexity, and the import
graph's arrows that run back up the stages and its circles (lazy imports included).

    python3 tools/structure.py            # a summary
    python3 tools/structure.py --detail   # every offender

tests/test_boundaries.py holds the code to the same limits; this prints the figures.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reportgen"
MAX_FUNCTION_LINES = 40
MAX_COMPLEXITY = 15
MAX_MODULE_LINES = 400

# The stages, lowest first: a module may import from its own stage and the ones below it.
STAGES = (
    ("base", ("reportgen.version", "reportgen.errors", "reportgen.i18n", "reportgen.text",
              "reportgen.options", "reportgen.progress", "reportgen.parallel",
              "reportgen.process", "reportgen.parser_words",
              "reportgen.option_types")),
    ("load", ("reportgen.load",)),
    ("analyse", ("reportgen.analyse",)),
    ("draw", ("reportgen.draw",)),
    ("page", ("reportgen.page",)),
    ("sections", ("reportgen.sections",)),
    ("pipeline", ("reportgen.pipeline",)),
    ("commands", ("reportgen.cli", "reportgen.api", "reportgen.compare", "reportgen.batch",
                  "reportgen.batch_worker", "reportgen.demo", "reportgen.demo_text",
                  "reportgen.keras",
                  "reportgen.workers", "reportgen.commands", "reportgen.subcommand",
                  "reportgen.__main__")),
    ("package", ("reportgen",)),
)


def module_name(path: Path) -> str:
    """reportgen/load/inputs.py -> reportgen.load.inputs."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage_of(module: str) -> int:
    """The rank of a module's stage (the longest matching prefix decides)."""
    best, rank = -1, len(STAGES) - 1
    for k, (_, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), k
    return rank


def modules() -> dict[str, Path]:
    """Every module of the package by name."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The reportgen modules a module imports, anywhere in it: lazy imports too, and modules
    named in a string (what importlib.import_module and worker start-ups take)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports the module; any other name is the base's.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        elif isinstance(node, ast.Constant) and str(node.value).startswith("reportgen.") \
                and node.value.split(":")[0] in known:
            targets = [node.value.split(":")[0]]  # importlib.import_module("reportgen.x")
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the reportgen modules it imports."""
    found = modules()
    known = set(found)
    return {name: imports_of(path, name, known) for name, path in found.items()}


def upward_arrows(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports from a lower stage into a higher one (the package's __init__ counts as the
    highest: nothing inside may import it)."""
    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if stage_of(b) > stage_of(a))


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm), ignoring
    a package's import of its own submodules' names through its __init__."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def complexity(function: ast.AST) -> int:
    """McCabe's cyclomatic complexity: 1 + one per decision point (nested functions count
    on their own, not here)."""
    score = 1
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While,
                             ast.ExceptHandler, ast.Assert, ast.match_case)):
            score += 1
        elif isinstance(node, ast.BoolOp):
            score += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            score += 1 + len(node.ifs)
        stack.extend(ast.iter_child_nodes(node))
    return score


def functions() -> list[tuple[str, int, int]]:
    """(module:function, lines, complexity) of every function and method."""
    found = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                found.append((f"{name}:{node.name}", lines, complexity(node)))
    return found


def module_lines() -> list[tuple[str, int]]:
    """(module, lines) of every module."""
    return [(name, len(path.read_text(encoding="utf-8").splitlines()))
            for name, path in modules().items()]


def main(argv: list[str]) -> int:
    detail = "--detail" in argv
    graph = import_graph()
    arrows, groups = upward_arrows(graph), circles(graph)
    funcs, mods = functions(), module_lines()
    longest = max(funcs, key=lambda f: f[1])
    knottiest = max(funcs, key=lambda f: f[2])
    largest = max(mods, key=lambda m: m[1])
    print(f"modules: {len(mods)}; largest {largest[0]} ({largest[1]} lines); over "
          f"{MAX_MODULE_LINES}: {sum(1 for m in mods if m[1] > MAX_MODULE_LINES)}")
    print(f"functions: {len(funcs)}; longest {longest[0]} ({longest[1]} lines); over "
          f"{MAX_FUNCTION_LINES}: {sum(1 for f in funcs if f[1] > MAX_FUNCTION_LINES)}")
    print(f"most complex {knottiest[0]} ({knottiest[2]}); over {MAX_COMPLEXITY}: "
          f"{sum(1 for f in funcs if f[2] > MAX_COMPLEXITY)}")
    print(f"imports that run back up the stages: {len(arrows)}; circles: {len(groups)}")
    if detail:
        for name, lines in sorted(mods, key=lambda m: -m[1]):
            if lines > MAX_MODULE_LINES:
                print(f"  module {name}: {lines} lines")
        for name, lines, score in sorted(funcs, key=lambda f: -f[1]):
            if lines > MAX_FUNCTION_LINES or score > MAX_COMPLEXITY:
                print(f"  function {name}: {lines} lines, complexity {score}")
        for a, b in arrows:
            print(f"  up: {a} -> {b}")
        for group in groups:
            print(f"  circle: {' <-> '.join(group)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
