"""The drawing options every stage agrees on (plain data, importable without numpy)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """The drawing options: caps and the kernel colour scale (a number, or 'layer')."""

    max_filters: int = 64
    max_channels: int = 64
    kernel_scale: str = "auto"
    max_map_layers: int = 12
    max_inputs: int = 8
    spectral_max_dim: int = 2048
