"""The documentation cannot drift: the command-line page is what the option table gives, the
JSON Schema holds for real sidecars of every mode, every sidecar key is documented, and the
README stays one screen or three."""

from __future__ import annotations

import importlib.util
import json
import re

import jsonschema
import numpy as np
import pytest

from conftest import REPO
from handmade import conv_evidence, dense_evidence, report_of
from reportgen.cli import main

SCHEMA = json.loads((REPO / "docs" / "sidecar.schema.json").read_text(encoding="utf-8"))
README_LIMIT = 12 * 1024


def tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_command_line_page_is_what_the_option_table_gives():
    assert tool("cli_doc").render() == (REPO / "docs" / "cli.md").read_text(encoding="utf-8"), \
        "docs/cli.md is stale: run python3 tools/cli_doc.py"


def test_every_option_has_a_row_in_its_commands_table():
    from reportgen.options import OPTIONS

    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for option in OPTIONS:
        shown = option.flags[-1] if option.flags else (option.metavar or option.dest.upper())
        assert shown in text, option.dest


def test_the_readme_is_short():
    assert len((REPO / "README.md").read_bytes()) <= README_LIMIT


def full_sidecars():
    """Sidecars of reports built from hand-made evidence: full (conv) and weights only."""
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": []}}
    return [json.loads(report_of(conv_evidence(config=config)).sidecar),
            json.loads(report_of(dense_evidence(np.ones((3, 2), np.float32))).sidecar)]


def test_the_schema_holds_for_hand_made_reports():
    for sidecar in full_sidecars():
        jsonschema.validate(sidecar, SCHEMA)


@pytest.mark.parametrize("mode", ["weights-only", "full"])
def test_the_schema_holds_for_the_command_line_reports(tmp_path, tiny_files, mode):
    out = tmp_path / "r.html"
    args = [str(tiny_files["h5"]), "-o", str(out), "-q"] + (
        ["--weights-only"] if mode == "weights-only" else [])
    assert main(args) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["mode"] == mode
    jsonschema.validate(sidecar, SCHEMA)


def test_every_top_level_key_of_a_sidecar_is_documented():
    documented = set(re.findall(r"^\| `(\w+)`", (REPO / "docs" / "sidecar.md").read_text(
        encoding="utf-8"), flags=re.M))
    for sidecar in full_sidecars():
        assert set(sidecar) - documented == set()


def test_the_alerts_page_lists_every_kind_as_the_code_states_it():
    page = (REPO / "docs" / "alerts.md").read_text(encoding="utf-8")
    assert tool("alerts_doc").render(page) == page, \
        "docs/alerts.md is stale: run python3 tools/alerts_doc.py"
