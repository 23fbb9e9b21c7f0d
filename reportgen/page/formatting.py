"""Number formatting for people; the JSON sidecar keeps full precision."""

from __future__ import annotations

import math

MISSING = "—"


def fmt_number(value: float | int | None, digits: int = 4) -> str:
    """A float to `digits` significant digits; ints with thousands separators."""
    if value is None:
        return MISSING
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    if 1e-4 <= abs(value) < 1e6:
        exponent = int(math.floor(math.log10(abs(value))))
        decimals = max(0, digits - 1 - exponent)
        if abs(round(value, decimals)) >= 10.0 ** (exponent + 1):
            decimals = max(0, decimals - 1)  # rounding carried a digit: 0.99996 is 1.000
        return f"{value:,.{decimals}f}"
    return f"{value:.{digits - 1}e}"


def fmt_int(value: int) -> str:
    """An integer with thousands separators."""
    return f"{value:,}"


def fmt_percent(fraction: float | None) -> str:
    """A fraction as a percentage with one decimal."""
    return MISSING if fraction is None else f"{100 * fraction:.1f} %"


def fmt_bytes(size: int) -> str:
    """A byte count in binary units: 3.9 MiB."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def fmt_shape(shape: tuple) -> str:
    """A shape as Python writes a tuple: (3, 3, 1, 32)."""
    return str(tuple(shape))
