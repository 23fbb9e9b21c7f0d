"""Turn image arrays into PNG bytes, and bytes into data URIs for a self-contained page."""

from __future__ import annotations

import base64
import io

import numpy as np


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode an (H, W, 4) or (H, W, 3) uint8 array as PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba)).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def data_uri(payload: bytes, mime: str = "image/png") -> str:
    """A data: URI that embeds the payload in the page."""
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"
