"""A non-editable install (the built wheel, templates and catalogs inside) writes the same
report, in English and in Korean.

The wheel is built from a copy of the sources in a temporary folder (building writes
build/ and *.egg-info, never into the repository) without the network: no build isolation
(the setuptools and wheel of the interpreter running the tests, from the test extras) and no
package index. It is installed, offline too, into a new virtual environment that sees the
packages of the interpreter running the tests (TensorFlow and the rest) through a .pth file:
inside a virtual environment those are the environment's own, which `system_site_packages`
would miss.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, run_cli

pytestmark = pytest.mark.wheel

SOURCES = ("reportgen", "templates", "pyproject.toml", "README.md")
CATALOG = "reportgen/locale/ko/LC_MESSAGES/reportgen.mo"


def running_site_packages() -> list[str]:
    """Where the running interpreter finds its installed packages."""
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    paths.update(site.getsitepackages())
    return sorted(p for p in paths if os.path.isdir(p))


@dataclass(frozen=True)
class Installed:
    """The built wheel, the environment it is installed in, and a folder outside the
    checkout to run it from."""

    wheel: Path
    python: Path
    env_dir: Path
    outside: Path
    env: dict


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """The wheel built from a copy of the sources, installed into a new environment."""
    tmp_path = tmp_path_factory.mktemp("wheel")
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
                    "--no-build-isolation", "--no-index", "-w", str(wheels), str(source)],
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
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, timeout=600)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    # A PYTHONPATH of the caller's would shadow the installed wheel; LANG is pinned so that
    # the default language is English whatever the caller's locale.
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    env.update(SOURCE_DATE_EPOCH="1700000000", LANG="C.UTF-8")
    return Installed(wheel, python, env_dir, outside, env)


def test_installed_wheel_renders_the_same_report(installed, tmp_path, tiny_files):
    where = subprocess.run([str(installed.python), "-c",
                            "import reportgen.page.render as r; print(r.templates_dir())"],
                           cwd=installed.outside, capture_output=True, text=True, check=True,
                           env=installed.env)
    assert str(installed.env_dir) in where.stdout

    installed_run = subprocess.run([str(installed.python), "-m", "reportgen",
                                    str(tiny_files["keras"]), "-q",
                                    "-o", str(installed.outside / "wheel.html")],
                                   cwd=installed.outside, capture_output=True, text=True,
                                   env=installed.env, timeout=600)
    assert installed_run.returncode == 0, installed_run.stderr
    source_run = run_cli(tiny_files["keras"], "-q", "-o", tmp_path / "source.html",
                         env={"SOURCE_DATE_EPOCH": "1700000000", "LANG": "C.UTF-8"})
    assert source_run.returncode == 0, source_run.stderr
    assert (installed.outside / "wheel.html").read_bytes() == \
        (tmp_path / "source.html").read_bytes()


def test_the_wheel_ships_the_korean_catalog_and_the_installed_command_uses_it(installed,
                                                                              tiny_files):
    # The compiled catalog is inside the wheel (a .po alone would not do: gettext reads .mo).
    with zipfile.ZipFile(installed.wheel) as wheel:
        assert CATALOG in wheel.namelist()
        assert wheel.read(CATALOG) == (REPO / CATALOG).read_bytes()
    where = subprocess.run([str(installed.python), "-c",
                            "import reportgen.i18n as i; print(i.LOCALE_DIR)"],
                           cwd=installed.outside, capture_output=True, text=True, check=True,
                           env=installed.env)
    assert str(installed.env_dir) in where.stdout

    out = installed.outside / "korean.html"
    run = subprocess.run([str(installed.python), "-m", "reportgen", str(tiny_files["keras"]),
                          "--lang", "ko", "-o", str(out)],
                         cwd=installed.outside, capture_output=True, text=True,
                         env=installed.env, timeout=600)
    assert run.returncode == 0, run.stderr
    page = out.read_text(encoding="utf-8")
    assert '<html lang="ko">' in page
    for korean in ("요약", "가중치", "특성 맵", "검사한 항목과 임곗값"):
        assert korean in page, korean
    assert "통계 계산 중" in run.stderr and "파일을 썼습니다" in run.stderr  # progress lines
    assert json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["lang"] == "ko"

    # The one-line error of the installed command, in Korean by the locale alone.
    missing = subprocess.run([str(installed.python), "-m", "reportgen", "absent.keras"],
                             cwd=installed.outside, capture_output=True, text=True,
                             env={**installed.env, "LANG": "ko_KR.UTF-8"}, timeout=600)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "reportgen: absent.keras: 없는 모델 파일입니다"
