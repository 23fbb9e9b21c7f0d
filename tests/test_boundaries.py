"""Structural promises: one package talks to Keras, the stages import only downwards and
never in a circle, functions and modules stay small, installation problems are not bugs."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import REPO

KERAS_MODULES = {"keras", "tensorflow", "tf_keras"}
BOUNDARY_PACKAGE = Path("reportgen/load/keras")
# Beside the Keras boundary, the modules that import Keras by definition: the training
# callback (a Keras class) and the demo (it builds and trains its model).
ALSO_KERAS = {Path("reportgen/keras.py"), Path("reportgen/demo.py")}


def structure():
    """tools/structure.py, which measures the code's shape."""
    spec = importlib.util.spec_from_file_location("structure", REPO / "tools" / "structure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_boundary(path: Path) -> bool:
    return BOUNDARY_PACKAGE in path.parents or path in ALSO_KERAS


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_keras_boundary_imports_keras_or_tensorflow():
    offenders = [str(path.relative_to(REPO)) for path in sorted((REPO / "reportgen").rglob("*.py"))
                 if imported_roots(path) & KERAS_MODULES and not in_boundary(path.relative_to(REPO))]
    assert offenders == []


def test_outside_the_boundary_a_model_is_handled_only_through_its_methods():
    # `unwrap` and the KerasModel's inside are the boundary's own business.
    offenders = []
    for path in sorted((REPO / "reportgen").rglob("*.py")):
        if in_boundary(path.relative_to(REPO)):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = node.attr if isinstance(node, ast.Attribute) else \
                node.id if isinstance(node, ast.Name) else ""
            if named in ("_model", "unwrap", "_keras_history"):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {named}")
    assert offenders == []


def test_private_keras_api_is_used_only_in_compat():
    offenders = []
    for path in sorted((REPO / "reportgen").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name != "compat.py" and ("._keras_history" in text or "from keras.src" in text
                                         or "import keras.src" in text):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_imports_run_down_the_stages_and_never_in_a_circle():
    tool = structure()
    graph = tool.import_graph()
    assert tool.upward_arrows(graph) == []
    assert tool.circles(graph) == []
    # and nothing inside imports the package's __init__ (the API's lazy front door)
    assert [a for a, targets in graph.items() if "reportgen" in targets] == []


def test_every_module_of_the_package_is_placed_in_a_stage():
    tool = structure()
    unplaced = [name for name in tool.modules() if name != "reportgen"
                and tool.stage_of(name) == len(tool.STAGES) - 1]
    assert unplaced == []


def test_functions_and_modules_stay_small():
    tool = structure()
    long = [f"{name}: {lines} lines, complexity {score}" for name, lines, score in tool.functions()
            if lines > tool.MAX_FUNCTION_LINES or score > tool.MAX_COMPLEXITY]
    big = [f"{name}: {lines} lines" for name, lines in tool.module_lines()
           if lines > tool.MAX_MODULE_LINES]
    assert long == [] and big == []


def test_every_package_ships_in_the_wheel():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    packages = {".".join(path.parent.relative_to(REPO).parts)
                for path in (REPO / "reportgen").rglob("__init__.py")}
    assert packages <= listed


@pytest.mark.slow
def test_importing_keras_from_two_threads_leaves_stderr_working():
    code = """
import os, sys, threading
from reportgen.load.keras.runtime import import_keras
threads = [threading.Thread(target=import_keras) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
os.write(2, b"stderr still works\\n")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300,
                          cwd=REPO)
    assert done.returncode == 0
    assert b"stderr still works" in done.stderr


def test_a_missing_package_is_one_line_and_exit_2(tmp_path, tiny_files):
    code = f"""
import sys
sys.modules["h5py"] = None  # as if h5py were not installed
from reportgen.cli import main
sys.exit(main([{str(tiny_files['keras'])!r}, "--weights-only", "-q",
               "-o", {str(tmp_path / 'r.html')!r}]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "internal error" not in done.stderr
    assert "'h5py' is not installed" in done.stderr and "pip install h5py" in done.stderr
