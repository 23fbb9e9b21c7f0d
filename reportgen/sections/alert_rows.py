"""Alerts as the page shows them: a row per alert (its kind's title, the layer it links to,
the message), and rows grouped by kind. Several sections list alerts: the summary, a layer's
weights, a layer's feature maps, the evaluation and Grad-CAM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportgen.analyse.alert import Alert, AlertKind
from reportgen.analyse.verdict import SEVERITY_RANK
from reportgen.i18n import localised

OPEN_GROUP = 6  # alert groups longer than this start collapsed


def alert_row(alert: Alert, kinds: Mapping[str, AlertKind],
              targets: Mapping[str, str] | None = None) -> dict:
    """One alert line, linking to its layer's place on the page (when it has one)."""
    kind = kinds[alert.kind]
    return {"kind": alert.kind, "severity": alert.severity, "title": localised(kind.title),
            "layer": alert.layer.replace("/", " / "),
            "anchor": (targets or {}).get(alert.layer, ""), "message": localised(alert.message),
            "explanation": localised(kind.explanation), "subject": alert.subject}


def badge(rows: Sequence[dict]) -> str:
    """The number a badge shows for these alert rows: their errors and warnings (notes get
    none); "" for none."""
    n = sum(1 for row in rows if row["severity"] != "note")
    return str(n) if n else ""


def alert_groups(rows: Sequence[dict], kinds: Sequence[AlertKind]) -> list[dict]:
    """Alert rows grouped by kind: the most severe groups first, then the largest (then the
    order of `kinds`); long groups start collapsed."""
    groups = []
    for kind in kinds:
        members = [row for row in rows if row["kind"] == kind.name]
        if members:
            severity = min((row["severity"] for row in members), key=SEVERITY_RANK.get)
            groups.append({"title": localised(kind.title), "severity": severity,
                           "explanation": localised(kind.explanation),
                           "count": str(len(members)), "open": len(members) <= OPEN_GROUP,
                           "alerts": members})
    return sorted(groups, key=lambda g: (SEVERITY_RANK[g["severity"]], -len(g["alerts"])))
