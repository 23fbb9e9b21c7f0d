import base64
import io

import numpy as np
from PIL import Image

from reportgen.draw.encode import data_uri, png_bytes


def decoded(png: bytes) -> tuple[str, np.ndarray]:
    image = Image.open(io.BytesIO(png))
    return image.mode, np.asarray(image.convert("RGBA"))


def test_palette_images_round_trip_exactly():
    from reportgen.draw.images import colourise

    values = np.linspace(-1, 1, 12 * 20).reshape(12, 20)
    values[3, :] = np.nan
    image = colourise(values, -1.0, 1.0, "viridis")
    mode, pixels = decoded(png_bytes(image))
    assert mode == "P" and np.array_equal(pixels, image.rgba())
    assert (pixels[3, :, 3] == 0).all()  # the NaN row is transparent


def test_rgba_arrays_stay_exact():
    rgba = np.random.default_rng(3).integers(0, 256, size=(30, 40, 4), dtype=np.uint8)
    mode, pixels = decoded(png_bytes(rgba))
    assert mode == "RGBA" and np.array_equal(pixels, rgba)


def test_data_uri_embeds_the_bytes():
    uri = data_uri(b"\x89PNG abc")
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == b"\x89PNG abc"


def test_a_picture_with_every_colour_and_gaps_stays_an_exact_palette_png():
    from reportgen.draw.images import colourise

    values = np.tile(np.linspace(0, 1, 256), (4, 1))
    values[2, ::3] = np.nan
    image = colourise(values, 0.0, 1.0, "RdBu_r")
    mode, pixels = decoded(png_bytes(image))
    assert mode == "P" and np.array_equal(pixels, image.rgba())
