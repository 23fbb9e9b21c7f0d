"""The facts of a batch's index: one row per model, read from its report's JSON sidecar, and
the trends of each checkpoint series (pure functions of plain data)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from reportgen.analyse.series import (LayerTrend, Point, SeriesMember, layer_points,
                                      layer_trends, sidecar_layers)


@dataclass(frozen=True)
class Outcome:
    """What became of one model of the batch, before its sidecar is read: `status` is "report"
    (made now), "reused" (--resume found it up to date), "refused" (not a readable model) or
    "failed" (a bug, or a worker that died); `report` is the report's path relative to the
    index (None without a report); `worker` the host:pid that made it."""

    source: str
    name: str
    status: str
    reason: str
    seconds: float | None
    report: str | None
    worker: str = ""


@dataclass(frozen=True)
class ModelRow:
    """One model in the index: its outcome and what its report's sidecar says (None where
    there is no report, or the sidecar does not say)."""

    outcome: Outcome
    sha256: str | None
    mode: str | None
    params: int | None
    alerts: tuple[tuple[str, int], ...]
    mean_alpha: float | None
    series: str | None
    epoch: int | None
    accuracy: float | None = None
    logs: tuple[tuple[str, float], ...] = ()
    signature: dict | None = None  # what a batch made the report with (batch.signature)
    # The map of the representation (with --data): the linear probe's accuracy and the
    # silhouette by class of the layer before the output.
    probe: float | None = None
    silhouette: float | None = None


@dataclass(frozen=True)
class SeriesTrends:
    """A checkpoint series: its name, its files' epochs and reports in epoch order, and each
    layer's trend across them."""

    name: str
    epochs: tuple[int, ...]
    reports: tuple[str | None, ...]
    layers: tuple[LayerTrend, ...]
    probe: tuple[float | None, ...] = ()
    silhouette: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class IndexFacts:
    """Everything the index says."""

    rows: tuple[ModelRow, ...]
    series: tuple[SeriesTrends, ...]
    alert_kinds: tuple[tuple[str, str], ...]
    executor: str
    generated_at: str
    reportgen_version: str
    training_run: str | None = None  # the folder of a training callback's reports


def model_row(outcome: Outcome, sidecar: dict | None, member: SeriesMember | None,
              logs: tuple[tuple[str, float], ...] = ()) -> ModelRow:
    """A model's row: its outcome and the figures of its sidecar (empty without one), and the
    training logs of its epoch (a training callback's). Alerts that rest on the synthetic test
    pattern alone are not counted, as the report counts them."""
    sidecar = sidecar or {}
    model = sidecar.get("model") or {}
    counts: dict[str, int] = {}
    for alert in sidecar.get("alerts") or []:
        if not alert.get("synthetic"):
            counts[alert.get("kind", "")] = counts.get(alert.get("kind", ""), 0) + 1
    return ModelRow(outcome=outcome, sha256=model.get("sha256"), mode=sidecar.get("mode"),
                    params=(model.get("params") or {}).get("total"),
                    alerts=tuple(sorted(counts.items())), mean_alpha=mean_alpha(sidecar),
                    series=member.series if member else None,
                    epoch=member.epoch if member else None,
                    accuracy=((sidecar.get("evaluation") or {}).get("accuracy") or {}).get("value"),
                    logs=logs, **representation_numbers(sidecar))


def representation_numbers(sidecar: dict) -> dict:
    """The probe's accuracy and the silhouette of a report's map of the representation."""
    found = sidecar.get("representation") or {}
    return {"probe": (found.get("probe") or {}).get("accuracy"),
            "silhouette": (found.get("silhouette") or {}).get("value")}


def mean_alpha(sidecar: dict) -> float | None:
    """The mean power-law alpha of a report's trained weights (`layers[].weights[].spectral`),
    or None when it gives none."""
    alphas = [weight["spectral"]["alpha"]
              for layer in sidecar_layers(sidecar.get("layers") or [])
              for weight in layer.get("weights") or []
              if isinstance(weight.get("spectral"), dict)
              and isinstance(weight["spectral"].get("alpha"), (int, float))
              and math.isfinite(weight["spectral"]["alpha"])]
    return sum(alphas) / len(alphas) if alphas else None


def series_trends(rows: list[ModelRow], points: dict[str, dict[str, Point]],
                  start_changes: dict[str, dict[str, float | None]]
                  ) -> tuple[SeriesTrends, ...]:
    """The trends of every series among the rows, in the order series first appear, epochs
    in order; `points` holds layer_points() of each member's report and `start_changes`
    each member's layer changes from its series' first epoch, by report name."""
    names = list(dict.fromkeys(row.series for row in rows if row.series))
    found = []
    for name in names:
        members = sorted((row for row in rows if row.series == name), key=lambda r: r.epoch)
        found.append(SeriesTrends(name, tuple(row.epoch for row in members),
                                  tuple(row.outcome.report for row in members),
                                  layer_trends([points.get(row.outcome.name, {})
                                                for row in members],
                                               [start_changes.get(row.outcome.name, {})
                                                for row in members]),
                                  tuple(row.probe for row in members),
                                  tuple(row.silhouette for row in members)))
    return tuple(found)


def renamed_points(points: dict[str, Point], renamed: dict[str, str]) -> dict[str, Point]:
    """An epoch's points with each renamed layer under its name in the series' first
    checkpoint, the row its change from that checkpoint is in. A layer left unmatched keeps
    its own name unless a matched layer now holds it: a row stays one layer."""
    moved = {renamed[path]: point for path, point in points.items() if path in renamed}
    kept = {path: point for path, point in points.items()
            if path not in renamed and path not in moved}
    return {**kept, **moved}


def kind_titles(sidecar: dict) -> dict[str, str]:
    """The alert kinds a report checked, name -> title, in its own order."""
    return {kind.get("name", ""): kind.get("title", "")
            for kind in sidecar.get("alert_kinds") or []}


def fired_kinds(rows: list[ModelRow], titles: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(name, title) of every alert kind that fired in any row, in the reports' order."""
    fired = {kind for row in rows for kind, _ in row.alerts}
    order = list(titles) + sorted(fired - set(titles))
    return tuple((name, titles.get(name, name)) for name in order if name in fired)


class IndexParts:
    """What an index gathers as its models' reports come in (a batch's, or a training
    callback's epochs): a row for each, and for a series member its trend points and its
    layers' change from its series' first checkpoint. Only these are kept, never a
    report's sidecar: a long series of large models would not fit in memory."""

    def __init__(self):
        self.rows: dict[object, ModelRow] = {}
        self.points: dict[str, dict[str, Point]] = {}
        self.changes: dict[str, dict[str, float | None]] = {}
        self.titles: dict[str, str] = {}

    def add(self, key, row: ModelRow, sidecar: dict | None,
            start_change: dict[str, float | None] | None = None,
            renamed: dict[str, str] | None = None) -> None:
        """A model's row under `key`, what its sidecar (if any) adds, and for a series
        member (`start_change` given) its trend, its layers `renamed` from the series'
        first checkpoint (path -> first path) charted under their first names."""
        self.rows[key] = row
        if sidecar is not None:
            for kind, title in kind_titles(sidecar).items():
                self.titles.setdefault(kind, title)
        if start_change is not None:
            self.changes[row.outcome.name] = start_change
            if sidecar is not None:
                self.points[row.outcome.name] = renamed_points(layer_points(sidecar),
                                                               renamed or {})

    def facts(self, executor: str, generated_at: str, reportgen_version: str,
              order: list | None = None, training_run: str | None = None) -> IndexFacts:
        """The index of the rows, in `order` (keys) or as they came."""
        rows = [self.rows[key] for key in order] if order is not None \
            else list(self.rows.values())
        return IndexFacts(rows=tuple(rows), series=series_trends(rows, self.points,
                                                                 self.changes),
                          alert_kinds=fired_kinds(rows, self.titles), executor=executor,
                          generated_at=generated_at, reportgen_version=reportgen_version,
                          training_run=training_run)
