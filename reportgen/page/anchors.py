"""Anchors: the ids the page's links point to."""

from __future__ import annotations

import re


def layer_anchors(names: list[str]) -> dict[str, str]:
    """A stable, unique, URL-safe anchor for each layer name: layer-conv2d_1."""
    anchors: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = "layer-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "unnamed")
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        anchors[name] = anchor
    return anchors
