"""Turn image arrays into PNG bytes, and bytes into data URIs for a self-contained page."""

from __future__ import annotations

import base64
import io

import numpy as np

from reportgen.draw.images import Indexed


def png_bytes(image: Indexed | np.ndarray) -> bytes:
    """Encode an image as PNG: a palette image as 8-bit palette PNG, an array as RGB(A)."""
    from PIL import Image

    if isinstance(image, Indexed):
        encoded = Image.fromarray(np.ascontiguousarray(image.indices), mode="P")
        encoded.putpalette(np.ascontiguousarray(image.palette).tobytes(), rawmode="RGBA")
    else:
        encoded = Image.fromarray(np.ascontiguousarray(image))
    buffer = io.BytesIO()
    encoded.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def data_uri(payload: bytes, mime: str = "image/png") -> str:
    """A data: URI that embeds the payload in the page."""
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"
