import base64
import io

import numpy as np
from PIL import Image

from reportgen.encode import data_uri, png_bytes


def test_png_round_trips_exactly():
    rgba = np.random.default_rng(3).integers(0, 256, size=(7, 9, 4), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(rgba))))
    assert np.array_equal(decoded, rgba)


def test_data_uri_embeds_the_bytes():
    uri = data_uri(b"\x89PNG abc")
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == b"\x89PNG abc"
