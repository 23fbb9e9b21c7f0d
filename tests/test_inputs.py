import numpy as np
import pytest
from PIL import Image

from conftest import gray_png
from reportgen.errors import ReportInputError
from reportgen.load.inputs import load_inputs, pattern_image, read_labels, synthetic_input


def test_png_is_resized_to_the_model_and_scaled_by_255(tmp_path):
    path = gray_png(tmp_path / "a.png", side=20)
    [sample] = load_inputs([path], (10, 10, 1), "auto")
    assert sample.array.shape == (10, 10, 1) and sample.name == "a.png"
    assert 0.0 <= sample.array.min() and sample.array.max() <= 1.0
    assert sample.array[3, 3, 0] == pytest.approx(1.0) and sample.array[8, 8, 0] == 0.0


def test_same_size_image_keeps_exact_values(tmp_path):
    pixels = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    Image.fromarray(pixels).save(tmp_path / "p.png")
    [sample] = load_inputs([tmp_path / "p.png"], (4, 4, 1), "auto")
    assert np.allclose(sample.array[..., 0], pixels / 255.0)


def test_colour_image_becomes_grey_or_stays_rgb(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "red.png")
    [grey] = load_inputs([tmp_path / "red.png"], (8, 8, 1), "auto")
    assert np.allclose(grey.array, 1 / 3)
    [colour] = load_inputs([tmp_path / "red.png"], (8, 8, 3), "auto")
    assert np.allclose(colour.array[..., 0], 1.0) and np.allclose(colour.array[..., 1:], 0.0)


def test_npy_stack_gives_one_sample_per_image(tmp_path):
    stack = np.random.default_rng(0).integers(0, 256, size=(3, 6, 6), dtype=np.uint8)
    np.save(tmp_path / "s.npy", stack)
    samples = load_inputs([tmp_path / "s.npy"], (6, 6, 1), "auto")
    assert [s.name for s in samples] == ["s.npy", "s.npy[1]", "s.npy[2]"]
    assert np.allclose(samples[2].array[..., 0], stack[2] / 255.0)


def test_float_npy_is_left_as_is_and_scale_option_divides(tmp_path):
    values = np.full((5, 5), 0.25, np.float32)
    np.save(tmp_path / "f.npy", values)
    [auto] = load_inputs([tmp_path / "f.npy"], (5, 5, 1), "auto")
    [halved] = load_inputs([tmp_path / "f.npy"], (5, 5, 1), "2.0")
    assert np.allclose(auto.array, 0.25) and np.allclose(halved.array, 0.125)


def test_flat_model_input_gets_a_flattened_image(tmp_path):
    [sample] = load_inputs([gray_png(tmp_path / "a.png", 28)], (784,), "auto")
    assert sample.array.shape == (784,)


@pytest.mark.parametrize("name, content, message", [
    ("bad.png", b"not a png", "not a readable image"),
    ("bad.npy", b"garbage", "not a readable .npy"),
    ("notes.txt", b"hello", "unsupported input type"),
])
def test_unreadable_inputs_are_refused(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ReportInputError, match=message):
        load_inputs([tmp_path / name], (8, 8, 1), "auto")


def test_object_arrays_are_never_unpickled(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ReportInputError):
        load_inputs([tmp_path / "obj.npy"], (8, 8, 1), "auto")


def test_synthetic_pattern_is_deterministic_and_has_structure():
    a = synthetic_input((28, 28, 1)).array
    b = synthetic_input((28, 28, 1)).array
    assert np.array_equal(a, b) and a.shape == (28, 28, 1)
    assert a.min() >= -1.0 and a.max() <= 1.0
    pattern = pattern_image(28, 28)
    assert len(np.unique(pattern)) > 10  # a gradient, not just black and white


def test_synthetic_pattern_fits_colour_and_unknown_sizes():
    assert synthetic_input((32, 32, 3)).array.shape == (32, 32, 3)
    assert synthetic_input((None, None, 3)).array.shape == (64, 64, 3)


def test_labels_one_a_line(tmp_path):
    (tmp_path / "l.txt").write_text("cat\n\ndog\n", encoding="utf-8")
    assert read_labels(tmp_path / "l.txt") == ["cat", "dog"]
    assert read_labels(None) == []
