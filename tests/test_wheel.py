"""A non-editable install (the built wheel, templates inside) writes the same report."""

from __future__ import annotations

import os
import subprocess
import sys
import venv

from conftest import REPO, run_cli


def test_installed_wheel_renders_the_same_report(tmp_path, tiny_files):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                    str(REPO)], check=True, capture_output=True, timeout=600)
    env_dir = tmp_path / "venv"
    # System site-packages supply TensorFlow; the wheel's reportgen comes first on the path.
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    [wheel] = wheels.glob("reportgen-*.whl")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = subprocess.run([str(python), "-c", "import reportgen.report.render as r; print(r.templates_dir())"],
                           cwd=outside, capture_output=True, text=True, check=True)
    assert str(env_dir) in where.stdout

    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    installed = subprocess.run([str(python), "-m", "reportgen", str(tiny_files["keras"]), "-q",
                                "-o", str(outside / "wheel.html")],
                               cwd=outside, capture_output=True, text=True, env=env, timeout=600)
    assert installed.returncode == 0, installed.stderr
    source = run_cli(tiny_files["keras"], "-q", "-o", tmp_path / "source.html",
                     env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert source.returncode == 0, source.stderr
    assert (outside / "wheel.html").read_bytes() == (tmp_path / "source.html").read_bytes()
