"""A new section is three files: its module, its template and one line in the registry
(docs/ARCHITECTURE.md). This test follows that recipe on a copy of the package and finds the
section everywhere a section shows: the page, the table of contents, the sidecar and the alerts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO

MODULE = '''
"""A section written by the test: how many weight tensors each layer has."""

from dataclasses import dataclass

from reportgen.analyse.alert import NOTE, Alert, AlertKind
from reportgen.sections.base import WEIGHTS, Evidence, Page, Section


@dataclass(frozen=True)
class CountFacts:
    counts: tuple[tuple[str, int], ...]


def collect(evidence: Evidence) -> CountFacts:
    return CountFacts(tuple((layer.name, len(layer.weights))
                            for layer in evidence.snapshot.layers))


def alerts(facts: CountFacts, _evidence: Evidence):
    return tuple(Alert("two_tensors", NOTE, name, f"{n} tensors", "", (("n", n),))
                 for name, n in facts.counts if n == 2)


def view(facts: CountFacts, _pictures, _page: Page) -> dict:
    return {"rows": [f"{name}={n}" for name, n in facts.counts]}


def sidecar(facts: CountFacts, _evidence: Evidence) -> dict:
    return {"tensor_counts": dict(facts.counts)}


SECTION = Section(name="tensor_counts", title="Tensor counts", template="tensor_counts.html.j2",
                  needs=frozenset({WEIGHTS}),
                  kinds=(AlertKind("two_tensors", "Two tensors", "exactly two", "a test kind",
                                   severity=NOTE),),
                  collect=collect, alerts=alerts, view=view, sidecar=sidecar)
'''

TEMPLATE = '''<section id="tensor_counts"><h2>Tensor counts</h2>
{% for row in v.rows %}<p class="tensor-count">{{ row }}</p>{% endfor %}</section>
'''


@pytest.mark.slow  # several seconds; CI's full run (tests/run.sh) has it
def test_a_section_added_by_the_recipe_shows_on_the_page_the_contents_and_the_sidecar(
        tmp_path, tiny_files):
    copy = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "reportgen", copy / "reportgen", ignore=ignore)
    shutil.copytree(REPO / "templates", copy / "templates", ignore=ignore)
    # The three files of the recipe, and nothing else.
    (copy / "reportgen" / "sections" / "tensor_counts.py").write_text(textwrap.dedent(MODULE))
    (copy / "templates" / "sections" / "tensor_counts.html.j2").write_text(TEMPLATE)
    registry = copy / "reportgen" / "sections" / "registry.py"
    text = registry.read_text()
    # One line at the end of SECTIONS (the tuple ends with ".SECTION,\n)").
    end = text.index(".SECTION,\n)") + len(".SECTION,\n")
    registry.write_text(text[:end] + "    __import__('reportgen.sections.tensor_counts',"
                        " fromlist=['SECTION']).SECTION,\n" + text[end:])

    out = tmp_path / "r.html"
    env = {**os.environ, "PYTHONPATH": str(copy), "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-m", "reportgen", str(tiny_files["keras"]), "-q",
                          "-o", str(out)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    page = out.read_text("utf-8")
    assert '<section id="tensor_counts">' in page
    assert '<p class="tensor-count">probs=2</p>' in page
    assert 'href="#tensor_counts"' in page  # the table of contents
    data = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert data["tensor_counts"]["probs"] == 2 and data["tensor_counts"]["pool"] == 0
    assert {"kind": "two_tensors", "layer": "probs"}.items() <= \
        next(a for a in data["alerts"] if a["layer"] == "probs" and
             a["kind"] == "two_tensors").items()
    assert "two_tensors" in {kind["name"] for kind in data["alert_kinds"]}
