"""The index of a training run's reports (written by reportgen.keras.ReportCallback): a row
per epoch, and the trend of each layer's change from where training started."""

from __future__ import annotations

import json
from pathlib import Path

from reportgen.draw.diagnostic_charts import trend_chart
from reportgen.i18n import _
from reportgen.page.formatting import fmt_int, fmt_number
from reportgen.page.render import environment
from reportgen.page.sidecar import finite
from reportgen.page.write import write_all


def layer_trends(entries: list[dict]) -> list[tuple[str, list[float | None]]]:
    """Per layer with weights, its main weight's relative change at each reported epoch
    (None where that epoch has no report)."""
    series: dict[str, list[float | None]] = {}
    for k, entry in enumerate(entries):
        for layer in _weighted(entry.get("facts", {}).get("layers", [])):
            values = series.setdefault(layer["path"], [None] * len(entries))
            values[k] = _main_change(layer)
    return list(series.items())


def _weighted(layers: list[dict]):
    for layer in layers:
        if layer["weights"]:
            yield layer
        yield from _weighted(layer["layers"])


def _main_change(layer: dict) -> float | None:
    """The relative change of a layer's kernel (its first matrix), else of its first weight."""
    weights = [w for w in layer["weights"] if len(w["shape"]) >= 2] or layer["weights"]
    return weights[0].get("relative_change")


def epoch_rows(entries: list[dict]) -> list[dict]:
    """A row per reported epoch: its report, the training logs, its alerts, its cost."""
    rows = []
    for entry in entries:
        facts = entry.get("facts", {})
        alerts = [a for a in facts.get("alerts", []) if not a.get("synthetic")]
        rows.append({"epoch": str(entry["epoch"]), "report": entry.get("report", ""),
                     "error": entry.get("error", ""),
                     "logs": ", ".join(f"{k} {fmt_number(float(v))}"
                                       for k, v in sorted(entry.get("logs", {}).items())),
                     "alerts": fmt_int(len(alerts)) if facts else "",
                     "seconds": f"{entry.get('seconds', 0.0):.2f} s"})
    return rows


def write_epoch_index(folder: Path, entries: list[dict]) -> None:
    """index.html and index.json of the reports in `folder`, replaced as a pair."""
    trends = layer_trends(entries)
    epochs = [float(entry["epoch"]) for entry in entries]
    chart = trend_chart(epochs, [(name, [float("nan") if v is None else v for v in values])
                                 for name, values in trends],
                        _("change from the start")) if trends else None
    view = {"title": _("reportgen: training run in {folder}").format(folder=folder.name),
            "rows": epoch_rows(entries),
            "chart": chart, "n_layers": str(len(trends))}
    html = environment().get_template("epochs.html.j2").render(**view)
    record = {"schema_version": 1,
              "epochs": [{key: value for key, value in entry.items() if key != "facts"}
                         for entry in entries],
              "relative_change": {name: values for name, values in trends}}
    write_all({folder / "index.html": html,
               folder / "index.json": json.dumps(finite(record), allow_nan=False) + "\n"})
