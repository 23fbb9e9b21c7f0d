"""Structural promises: one module talks to Keras; installation problems are not bugs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

KERAS_MODULES = {"keras", "tensorflow", "tf_keras"}
# The only modules that may import Keras or TensorFlow (anywhere in them, at any depth): the
# load stage's Keras side, for loading and running a model and for its gradients.
BOUNDARY = {Path("reportgen/load/keras_model.py"), Path("reportgen/load/keras_gradients.py"),
            Path("reportgen/keras.py")}  # the training callback: a Keras class by definition


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_keras_modules_import_keras_or_tensorflow():
    offenders = [str(path.relative_to(REPO)) for path in sorted((REPO / "reportgen").rglob("*.py"))
                 if imported_roots(path) & KERAS_MODULES and path.relative_to(REPO) not in BOUNDARY]
    assert offenders == []


@pytest.mark.slow
def test_importing_keras_from_two_threads_leaves_stderr_working():
    code = """
import os, sys, threading
from reportgen.load import keras_model
threads = [threading.Thread(target=keras_model.import_keras) for _ in range(2)]
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
