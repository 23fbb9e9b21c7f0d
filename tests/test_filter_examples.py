"""The images each filter responds to: the streamed top-k against a brute-force sort, the
receptive field against Keras's own gradients, and the mosaic's tiles."""

import numpy as np
import pytest

from reportgen.analyse.filter_examples import (FilterExampleAccumulator, example_layers)
from reportgen.analyse.receptive_field import FROM_CONFIG, FROM_RATIO, receptive_field
from reportgen.draw import filter_pictures, images


def random_maps(n: int, seed: int = 0) -> np.ndarray:
    """n feature maps 5x4 with 3 filters, small integers so that maxima tie often, a few NaN."""
    rng = np.random.default_rng(seed)
    maps = rng.integers(0, 6, size=(n, 5, 4, 3)).astype(np.float32)
    maps[rng.random(maps.shape) < 0.02] = np.nan
    return maps


def brute_force(maps: np.ndarray, k: int) -> list[list[tuple[int, float, int, int]]]:
    """Per filter the k (index, value, row, col) of the highest maxima, ties to the lower
    index, by sorting every image's maximum at once (NaN never counts)."""
    clean = np.where(np.isnan(maps), -np.inf, maps)
    found = []
    for f in range(maps.shape[3]):
        flat = clean[..., f].reshape(len(maps), -1)
        best = flat.max(axis=1)
        order = np.lexsort((np.arange(len(maps)), -best))[:k]
        found.append([(int(i), float(best[i]), *divmod(int(flat[i].argmax()), maps.shape[2]))
                      for i in order if np.isfinite(best[i])])
    return found


@pytest.mark.parametrize("batch", [1, 7, 64, 200])
def test_streamed_top_k_equals_a_brute_force_sort_across_batches(batch):
    maps = random_maps(200)
    accumulator = FilterExampleAccumulator(["conv"], k=6, max_filters=16)
    for start in range(0, len(maps), batch):
        accumulator.add(start, {"conv": maps[start:start + batch], "dense": np.zeros((1, 3))})
    facts = accumulator.result((10, 8))
    assert facts.n_samples == 200 and facts.k == 6
    (layer,) = facts.layers
    assert layer.map_size == (5, 4) and layer.n_filters == 3
    got = [[(e.index, e.value, e.row, e.col) for e in f.examples] for f in layer.filters]
    assert got == brute_force(maps, 6)


def test_only_the_first_filters_are_kept_and_memory_is_k_per_filter():
    accumulator = FilterExampleAccumulator(["conv"], k=4, max_filters=2)
    for start in range(0, 1000, 50):
        accumulator.add(start, {"conv": random_maps(50, seed=start)})
        assert accumulator.values["conv"].shape == (2, 4)
        assert accumulator.indices["conv"].shape == (2, 4)
    assert [f.filter for f in accumulator.result((10, 8)).layers[0].filters] == [0, 1]
    assert accumulator.result((10, 8)).layers[0].n_filters == 3


def test_a_filter_that_is_never_finite_has_no_examples_and_no_mosaic():
    maps = np.full((5, 3, 3, 1), np.nan, np.float32)
    accumulator = FilterExampleAccumulator(["conv"])
    accumulator.add(0, {"conv": maps})
    layer = accumulator.result((3, 3)).layers[0]
    assert layer.filters[0].examples == ()
    assert filter_pictures.filter_mosaic(layer, {}, ()) is None


def test_the_first_convolutions_are_chosen_and_the_cut_is_stated():
    layers = [("in", "InputLayer"), ("c1", "Conv2D"), ("p", "MaxPooling2D"),
              ("c2", "SeparableConv2D"), ("c3", "Conv2D"), ("d", "Dense")]
    assert example_layers(layers, cap=2) == (
        ("c1", "c2"), "Examples are shown for the first 2 of the 3 2-D convolution layers.")
    assert example_layers(layers[:3]) == (("c1",), "")


def book_like(keras, *, pooling="max"):
    """The chapter's CNN shape: Conv(3, same) -> Pool(2) -> Conv(3, same)."""
    pool = keras.layers.MaxPooling2D(2) if pooling == "max" else keras.layers.AveragePooling2D(2)
    return keras.Sequential([keras.Input((28, 28, 1)),
                             keras.layers.Conv2D(2, 3, padding="same", name="c1"), pool,
                             keras.layers.Conv2D(2, 3, padding="same", name="c2")])


def test_receptive_field_of_the_book_shape_by_hand():
    keras = pytest.importorskip("keras")
    config = {"class_name": "Sequential", "config": book_like(keras).get_config()}
    first = receptive_field(config, "c1", (28, 28), (28, 28))
    second = receptive_field(config, "c2", (28, 28), (14, 14))
    # c1: a 3x3 window around each pixel. c2: 3 + (2 - 1) + (3 - 1) x 2 = 8 pixels, a step
    # of 2; position 0 is centred between input pixels 0 and 1, its field rows -3..4.
    assert (first.size, first.jump, first.source) == ((3, 3), (1, 1), FROM_CONFIG)
    assert first.box(0, 0) == (-1, -1, 2, 2) and first.box(27, 5) == (26, 4, 29, 7)
    assert (second.size, second.jump, second.start) == ((8, 8), (2, 2), (0.5, 0.5))
    assert second.box(0, 0) == (-3, -3, 5, 5) and second.box(6, 13) == (9, 23, 17, 31)


def influence(model, layer: str, row: int, col: int, shape: tuple) -> np.ndarray:
    """Which input pixels change the layer's output at (row, col): Keras's own gradient of
    a linear model with positive weights, so every pixel in the field counts."""
    import tensorflow as tf
    keras = pytest.importorskip("keras")

    probe = keras.Model(model.inputs, model.get_layer(layer).output)
    image = tf.Variable(np.random.default_rng(0).random((1,) + shape, np.float32))
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(probe(image)[0, row, col])
    return np.abs(tape.gradient(value, image).numpy()[0, ..., 0]) > 0


def bounds(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the True pixels, bottom and right exclusive."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1


def clipped(box, shape) -> tuple[int, int, int, int]:
    """A box cut to the image."""
    return max(box[0], 0), max(box[1], 0), min(box[2], shape[0]), min(box[3], shape[1])


def positive_linear(model):
    """Every kernel set to ones and biases to zero: the model becomes a positive linear map."""
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([np.ones_like(w) if w.ndim > 1 else np.zeros_like(w)
                               for w in layer.get_weights()])
    return model


def test_receptive_field_equals_the_pixels_keras_gradients_reach():
    keras = pytest.importorskip("keras")
    sequential = positive_linear(book_like(keras, pooling="average"))
    inputs = keras.Input((23, 19, 1))
    x = keras.layers.ZeroPadding2D(((1, 0), (2, 1)), name="pad")(inputs)
    x = keras.layers.Conv2D(2, (3, 5), strides=2, padding="valid", name="strided")(x)
    side = keras.layers.Conv2D(2, 1, name="side")(x)
    x = keras.layers.Add(name="add")([x, side])
    x = keras.layers.Conv2D(2, 3, dilation_rate=2, padding="same", name="dilated")(x)
    functional = positive_linear(keras.Model(inputs, x))
    # (model, input, layer, position, whether the field is reached whole): near an edge, a
    # field may reach pixels the layers below never read (padding of a map inside the
    # model, a row a valid convolution drops); there it must only hold what is reached.
    cases = [(sequential, (28, 28, 1), "c1", (0, 0), True),
             (sequential, (28, 28, 1), "c1", (27, 13), True),
             (sequential, (28, 28, 1), "c2", (0, 0), True),
             (sequential, (28, 28, 1), "c2", (13, 13), True),
             (sequential, (28, 28, 1), "c2", (6, 2), True),
             (functional, (23, 19, 1), "strided", (0, 0), True),
             (functional, (23, 19, 1), "strided", (4, 3), True),
             (functional, (23, 19, 1), "dilated", (5, 4), True),
             (functional, (23, 19, 1), "dilated", (0, 0), False),
             (functional, (23, 19, 1), "dilated", (10, 8), False)]
    for model, shape, layer, (row, col), whole in cases:
        config = {"class_name": model.__class__.__name__, "config": model.get_config()}
        map_shape = tuple(model.get_layer(layer).output.shape[1:3])
        geometry = receptive_field(config, layer, shape[:2], map_shape)
        assert geometry.source == FROM_CONFIG
        # A dilated kernel skips pixels inside its field: the extent is what must agree.
        reached = bounds(influence(model, layer, row, col, shape))
        field = clipped(geometry.box(row, col), shape)
        inside = (field[0] <= reached[0], field[1] <= reached[1], reached[2] <= field[2],
                  reached[3] <= field[3])
        assert all(inside), (layer, row, col)
        assert reached == field or not whole, (layer, row, col)


def test_without_a_config_or_when_it_disagrees_the_field_is_the_block_per_position():
    for config in (None, {"class_name": "Sequential", "config": {"layers": []}}):
        geometry = receptive_field(config, "c2", (28, 28), (14, 14))
        assert geometry.source == FROM_RATIO and geometry.size == (2, 2)
        assert geometry.box(3, 5) == (6, 10, 8, 12)
    keras = pytest.importorskip("keras")
    config = {"class_name": "Sequential", "config": book_like(keras).get_config()}
    assert receptive_field(config, "c2", (28, 28), (13, 13)).source == FROM_RATIO


def test_small_inputs_are_shown_whole_with_the_field_outlined_outside_it():
    image = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28, 1)
    facts = FilterExampleAccumulator(["c"])
    maps = np.zeros((1, 28, 28, 1), np.float32)
    maps[0, 10, 12, 0] = 1.0
    facts.add(0, {"c": maps})
    example = facts.result((28, 28)).layers[0].filters[0].examples[0]
    assert example.box == (10, 12, 11, 13)     # no config: the one input pixel per position
    tile = filter_pictures.example_tile(image, example, (28, 28), zoom=3)
    assert tile.shape == (84, 84, 4)
    outline = np.array(filter_pictures.OUTLINE_RGB + (255,)) / 255
    ring = np.zeros((84, 84), bool)
    ring[28:35, 34:41] = True                  # two pixels around rows 30..32, cols 36..38
    ring[30:33, 36:39] = False
    assert np.allclose(tile[ring], outline) and not np.allclose(tile[~ring], outline, atol=0.05)
    # Inside and around the field the pixels are the image's, in gray_r over its range.
    expected = images.colour_table("gray_r")[images.colour_levels(image[..., 0], 0.0, 1.0)]
    assert np.allclose(tile[::3, ::3][~ring[::3, ::3]] * 255, expected[~ring[::3, ::3]])


def test_large_inputs_are_cropped_around_the_field_and_kept_inside_the_image():
    assert filter_pictures.crop_window((-3, 100, 5, 108), (224, 224)) == (0, 88, 32, 120)
    assert filter_pictures.crop_window((210, 220, 250, 260), (224, 224)) == (184, 184, 224, 224)
    assert filter_pictures.crop_window((0, 0, 3, 3), (28, 28)) == (0, 0, 28, 28)


def test_rendered_section_has_a_mosaic_per_layer_that_opens_and_closes(tmp_path):
    from html.parser import HTMLParser

    from reportgen.analyse.data_run import run_sample
    from reportgen.draw.data_pictures import response_images
    from reportgen.load.dataset import read_sample
    from reportgen.sections.responses.responses_view import filter_examples_view
    from reportgen.page.render import environment

    rng = np.random.default_rng(3)
    np.save(tmp_path / "images.npy", rng.integers(0, 256, size=(30, 8, 8), dtype=np.uint8))
    np.save(tmp_path / "labels.npy", rng.integers(0, 2, size=30))

    def forward(batch):
        conv = np.concatenate([batch, 1 - batch, np.zeros_like(batch)], axis=-1)
        vector = conv.mean(axis=(1, 2))
        return {"<c1>": conv, "vec": vector}, [np.full((len(batch), 2), 0.5, np.float32)]

    sample = read_sample(tmp_path / "images.npy", tmp_path / "labels.npy", (8, 8, 1), 2,
                         ("left", "<right>"), batch_size=4)
    facts = run_sample(sample, forward, 2, ["<c1>"], "vec", k=3)
    view = filter_examples_view(facts, response_images(facts, sample))
    assert "could not be read from the model config" in view["filter_layers"][0]["geometry"]
    assert view["dead_summary"] == "1 dead (zero for all 30 images) in 1 layer"
    html = environment().from_string('{% include "sections/responses.html.j2" %}').render(v=view)
    assert "<c1>" not in html and "&lt;c1&gt;" in html and "&lt;right&gt;" in html

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids, self.hrefs = [], []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            self.ids += [attrs["id"]] if "id" in attrs else []
            self.hrefs += [attrs["href"]] if tag == "a" else []

    links = Links()
    links.feed(html)
    assert {"responses-filters-0", "responses-classes"} <= set(links.ids)
    assert all(href[1:] in links.ids for href in links.hrefs)
    mosaic = view["filter_layers"][0]["grid"]
    # 3 filters x 3 images of 8x8 pixels at 10x (the largest whole zoom within 84 px), 2 px apart.
    assert (mosaic.picture.height, mosaic.picture.width) == (3 * 80 + 4, 3 * 80 + 4)
