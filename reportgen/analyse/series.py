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
    """One layer's main weight across the epochs of a series (None where an epoch lacks it):
    its std, its relative change from a fresh initialisation ‖W − W₀‖ / ‖W₀‖, its power-law
    alpha, and its relative change from the series' first epoch ‖W − W₁‖ / ‖W₁‖."""

    path: str
    weight: str
    std: tuple[float | None, ...]
    relative_change: tuple[float | None, ...]
    alpha: tuple[float | None, ...]
    start_change: tuple[float | None, ...]


def main_weight_index(shapes: list) -> int | None:
    """Which of a layer's weights stands for it: its first matrix or kernel (two or more
    axes), else its first weight; None without weights."""
    return next((k for k, shape in enumerate(shapes) if len(shape or ()) >= 2),
                0 if shapes else None)


def main_weight(layer: dict) -> dict | None:
    """A sidecar layer's main weight (main_weight_index)."""
    weights = layer.get("weights") or []
    k = main_weight_index([w.get("shape") for w in weights])
    return None if k is None else weights[k]


def sidecar_layers(layers: list[dict]):
    """Every layer of a sidecar, nested models' layers right after their model."""
    for layer in layers:
        yield layer
        yield from sidecar_layers(layer.get("layers") or [])


@dataclass(frozen=True)
class Point:
    """What a report's sidecar says of one layer's main weight, for the trends."""

    weight: str
    std: float | None
    relative_change: float | None
    alpha: float | None


NO_POINT = Point("", None, None, None)


def layer_points(sidecar: dict) -> dict[str, Point]:
    """By layer path, what a report's sidecar says of each layer with weights: its main
    weight's name, std, relative change from initialisation and alpha. (Kept instead of the
    sidecar: a long series of large models' sidecars would not fit in memory.)"""
    points = {}
    for layer in sidecar_layers(sidecar.get("layers") or []):
        weight = main_weight(layer)
        if weight is not None:
            spectral = weight.get("spectral") or {}
            points[layer.get("path", "")] = Point(weight.get("name", ""), weight.get("std"),
                                                  weight.get("relative_change"),
                                                  spectral.get("alpha"))
    return points


def layer_trends(epochs: list[dict[str, Point]],
                 start_changes: list[dict[str, float | None]]) -> tuple[LayerTrend, ...]:
    """The trend of every layer found in any epoch's points (in epoch order), layers in the
    model order of the first epoch that has them; None where an epoch lacks a layer.
    `start_changes` gives, per epoch, each layer's change from the first epoch."""
    paths = list(dict.fromkeys(path for points in epochs for path in points))
    trends = []
    for path in paths:
        found = [points.get(path, NO_POINT) for points in epochs]
        name = next((point.weight for point in found if point.weight), "")
        trends.append(LayerTrend(path, name, tuple(point.std for point in found),
                                 tuple(point.relative_change for point in found),
                                 tuple(point.alpha for point in found),
                                 tuple(changes.get(path) for changes in start_changes)))
    return tuple(trends)
