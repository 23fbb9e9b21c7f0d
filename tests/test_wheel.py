"""A non-editable install (the built wheel, templates inside) writes the same report.

The wheel is built from a copy of the sources in a temporary folder (building writes
build/ and *.egg-info, never into the repository), and installed into a new virtual
environment that sees the packages of the interpreter running the tests (TensorFlow and the
rest) through a .pth file: inside a virtual environment those are the environment's own,
which `system_site_packages` would miss.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv

from conftest import REPO, run_cli

SOURCES = ("reportgen", "templates", "pyproject.toml", "README.md")


def running_site_packages() -> list[str]:
    """Where the running interpreter finds its installed packages."""
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    paths.update(site.getsitepackages())
    return sorted(p for p in paths if os.path.isdir(p))


def test_installed_wheel_renders_the_same_report(tmp_path, tiny_files):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, source / name)
    before = sorted(p.name for p in REPO.iterdir())
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=600)
    assert sorted(p.name for p in REPO.iterdir()) == before

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # Plain paths: appended after the new environment's own site-packages, so the wheel's
    # reportgen comes first and an editable install of the running one is never seen.
    with open(os.path.join(purelib, "running-interpreter.pth"), "w", encoding="utf-8") as pth:
        pth.write("\n".join(running_site_packages()) + "\n")
    [wheel] = wheels.glob("reportgen-*.whl")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    # A PYTHONPATH of the caller's would shadow the installed wheel.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    where = subprocess.run([str(python), "-c",
                            "import reportgen.page.render as r; print(r.templates_dir())"],
                           cwd=outside, capture_output=True, text=True, check=True, env=env)
    assert str(env_dir) in where.stdout

    installed = subprocess.run([str(python), "-m", "reportgen", str(tiny_files["keras"]), "-q",
                                "-o", str(outside / "wheel.html")],
                               cwd=outside, capture_output=True, text=True, env=env, timeout=600)
    assert installed.returncode == 0, installed.stderr
    source_run = run_cli(tiny_files["keras"], "-q", "-o", tmp_path / "source.html",
                         env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert source_run.returncode == 0, source_run.stderr
    assert (outside / "wheel.html").read_bytes() == (tmp_path / "source.html").read_bytes()
