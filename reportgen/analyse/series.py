"""Checkpoint series and their trends: files of one training run, one per epoch, and how each
layer's weights moved across them, read from the reports' JSON sidecars (pure functions).

A series is two or more files in one folder whose names differ only by the epoch number and
the metrics written after it, as Keras's ModelCheckpoint names them: `model_01-0.3871.hdf5`,
`weights.05-1.23.h5`, `epoch-003.keras`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The last run of digits that is followed only by metrics ("-0.3871", "_1.2e-3") is the epoch.
EPOCH_NAME = re.compile(r"^(?P<prefix>.*?)(?P<epoch>\d+)"
                        r"(?P<metrics>(?:[-_][-+]?\d*\.\d+(?:[eE][-+]?\d+)?)*)$")


@dataclass(frozen=True)
class SeriesMember:
    """A file's place in a checkpoint series: the series (its folder and its name with
    `<epoch>` for the number, `runs/model_<epoch>.hdf5`) and the file's epoch."""

    series: str
    epoch: int


def epoch_of(path: Path) -> tuple[str, int] | None:
    """(series key, epoch) from a file name, or None when it has no epoch number. The key is
    the folder, the name around the epoch (metrics left out) and the suffix."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    found = EPOCH_NAME.match(stem)
    if found is None:
        return None
    return str(path.parent / f"{found['prefix']}<epoch>{path.suffix}"), int(found["epoch"])


def find_series(paths: list[Path]) -> dict[Path, SeriesMember]:
    """The files that belong to a series (two or more distinct epochs under one key), with
    their series and epoch; a file of no series is left out."""
    groups: dict[str, list[tuple[Path, int]]] = {}
    for path in paths:
        found = epoch_of(path)
        if found is not None:
            groups.setdefault(found[0], []).append((path, found[1]))
    members = {}
    for key, files in groups.items():
        epochs = [epoch for _, epoch in files]
        if len(set(epochs)) >= 2 and len(set(epochs)) == len(epochs):
            members.update({path: SeriesMember(key, epoch) for path, epoch in files})
    return members


@dataclass(frozen=True)
class LayerTrend:
    """One layer's main weight across the epochs of a series (None where a report lacks it):
    its std, and its relative change from a fresh initialisation, ‖W − W₀‖ / ‖W₀‖."""

    path: str
    weight: str
    std: tuple[float | None, ...]
    relative_change: tuple[float | None, ...]


def main_weight(layer: dict) -> dict | None:
    """A sidecar layer's weight that stands for the layer: its first matrix or kernel (two or
    more axes), else its first weight."""
    weights = layer.get("weights") or []
    return next((w for w in weights if len(w.get("shape") or ()) >= 2),
                weights[0] if weights else None)


def sidecar_layers(layers: list[dict]):
    """Every layer of a sidecar, nested models' layers right after their model."""
    for layer in layers:
        yield layer
        yield from sidecar_layers(layer.get("layers") or [])


Point = tuple[str, float | None, float | None]  # (weight name, std, relative change)


def layer_points(sidecar: dict) -> dict[str, Point]:
    """What a report's sidecar says of each layer with weights, for the trends: by layer
    path, its main weight's name, std and relative change from initialisation. (Kept
    instead of the sidecar: a long series of large models' sidecars would not fit in
    memory.)"""
    points = {}
    for layer in sidecar_layers(sidecar.get("layers") or []):
        weight = main_weight(layer)
        if weight is not None:
            points[layer.get("path", "")] = (weight.get("name", ""), weight.get("std"),
                                             weight.get("relative_change"))
    return points


def layer_trends(epochs: list[dict[str, Point]]) -> tuple[LayerTrend, ...]:
    """The trend of every layer found in any epoch's points (in epoch order), layers in the
    model order of the first epoch that has them; None where an epoch lacks a layer."""
    paths = list(dict.fromkeys(path for points in epochs for path in points))
    trends = []
    for path in paths:
        found = [points.get(path, ("", None, None)) for points in epochs]
        name = next((point[0] for point in found if point[0]), "")
        trends.append(LayerTrend(path, name, tuple(point[1] for point in found),
                                 tuple(point[2] for point in found)))
    return tuple(trends)
