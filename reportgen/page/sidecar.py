"""What every JSON sidecar is written with: strict, compact JSON (no NaN), statistics under
their own names, and alerts as records. The sidecar's keys are a public contract: each section
gives its own (reportgen/sections/), docs/sidecar.md lists them."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np

from reportgen.analyse.alert import Alert
from reportgen.analyse.tensor_facts import TensorStats

STAT_FIELDS = tuple(field.name for field in dataclasses.fields(TensorStats))


def plain(stats: TensorStats) -> dict:
    """Statistics under their own names (dataclasses.asdict deep-copies, slowly)."""
    return {name: getattr(stats, name) for name in STAT_FIELDS}


def alert_record(alert: Alert) -> dict:
    """One alert as the JSON keeps it: kind, severity, layer, message, subject, the values it
    rests on, and whether it rests on the synthetic pattern only."""
    return {"kind": alert.kind, "severity": alert.severity, "layer": alert.layer,
            "message": alert.message, "subject": alert.subject, "values": dict(alert.values),
            "synthetic": alert.synthetic}


# A string (skipped whole: names from a model file may say "NaN") or a bare non-finite number.
_STRING_OR_NON_FINITE = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


def strict_json(data) -> str:
    """Data as strict, compact JSON, every NaN or infinite number written as null (JSON has
    no NaN); numpy scalars become Python numbers, tuples lists, a Message its English text
    (the JSON is language-neutral).

    Compact and without a Python walk over the data, because only then does Python's C
    encoder do all the work (a ResNet50 sidecar took seconds indented, 1.6 s walked). The
    encoder refuses non-finite numbers, which a healthy model has none of; only when there
    are some is the text scanned and each written as null (0.4 s for ResNet50's 9.6 MB, whose
    alert explanations say "NaN" in words: scanning whenever the text holds the word cost
    that on every report).
    """
    compact = {"separators": (",", ":"), "default": _plain_number}
    try:
        return json.dumps(data, allow_nan=False, **compact) + "\n"
    except ValueError:
        text = json.dumps(data, **compact)
    return _STRING_OR_NON_FINITE.sub(lambda found: "null" if found.group(1)
                                     else found.group(0), text) + "\n"


def _plain_number(value):
    """A numpy scalar as the Python number the encoder writes."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")
