"""The labelled sample: three forms that agree, bounded batches, and every hostile file refused."""

import os
import signal
import struct
import tracemalloc
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import FASHION, require_shared
from reportgen.errors import ReportInputError
from reportgen.load.dataset import MAX_IMAGE_PIXELS, read_sample
from reportgen.load.sample_index import index_sample, skipped_note

CLASSES = ("cat", "dog", "fox")
PER_CLASS = 4


def small_images() -> tuple[np.ndarray, np.ndarray]:
    """12 random 8x8 grey images, 4 per class, in class order."""
    images = np.random.default_rng(3).integers(0, 256, size=(12, 8, 8), dtype=np.uint8)
    return images, np.repeat(np.arange(3), PER_CLASS)


def write_npy_pair(folder: Path) -> tuple[Path, Path]:
    """The sample as images.npy and labels.npy."""
    images, labels = small_images()
    np.save(folder / "images.npy", images)
    np.save(folder / "labels.npy", labels.astype(np.uint8))
    return folder / "images.npy", folder / "labels.npy"


def write_class_folders(folder: Path) -> Path:
    """The sample as one folder per class; 'dog' as BMP in a nested folder, plus a stray file."""
    images, labels = small_images()
    for k, (image, label) in enumerate(zip(images, labels)):
        name = CLASSES[label]
        where = folder / name / ("deep" if name == "dog" else "")
        where.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(where / f"{k:03d}.{'bmp' if name == 'dog' else 'png'}")
    (folder / "cat" / "notes.txt").write_text("not an image")
    (folder / ".cache").mkdir()
    return folder


def write_csv(folder: Path, class_folder: Path, header: bool, named: bool) -> Path:
    """The sample as a CSV listing the class folders' files, relative to the CSV."""
    images, labels = small_images()
    lines = ["path,label"] if header else []
    for k, label in enumerate(labels):
        name = CLASSES[label]
        file = f"{name}/deep/{k:03d}.bmp" if name == "dog" else f"{name}/{k:03d}.png"
        relative = os.path.relpath(class_folder / file, folder)
        lines.append(f"{relative},{name if named else label}")
    path = folder / "sample.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def all_batches(sample) -> np.ndarray:
    """Every batch of a sample, concatenated."""
    return np.concatenate([batch for _, batch in sample.batches()])


@contextmanager
def within(seconds: float):
    """Fail instead of hanging: a blocking open() of a FIFO is interrupted by SIGALRM."""
    def expire(signum, frame):
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refusal(call, path: Path) -> str:
    """The one-line ReportInputError message of a call, which must name the file."""
    with within(5), pytest.raises(ReportInputError) as caught:
        call()
    message = str(caught.value)
    assert str(path) in message and "\n" not in message, message
    return message


@pytest.mark.parametrize("input_shape", [(8, 8, 1), (4, 4, 3), (64,)])
def test_npy_pair_folder_and_csv_give_the_same_sample(tmp_path, input_shape):
    data, labels = write_npy_pair(tmp_path)
    folder = write_class_folders(tmp_path / "classes")
    csv_named = write_csv(tmp_path, folder, header=True, named=True)
    from_npy = read_sample(data, labels, input_shape, 3, batch_size=5)
    from_folder = read_sample(folder, None, input_shape, 3, batch_size=5)
    from_csv = read_sample(csv_named, None, input_shape, 3, batch_size=5)
    expected = all_batches(from_npy)
    assert expected.shape == (12, *input_shape) and expected.dtype == np.float32
    for other in (from_folder, from_csv):
        assert np.array_equal(all_batches(other), expected)
        assert np.array_equal(other.labels, from_npy.labels)
        assert other.class_names == CLASSES and other.n_images == 12
    assert from_npy.class_names == ()


def test_same_size_images_are_divided_by_255_or_by_the_given_scale(tmp_path):
    data, labels = write_npy_pair(tmp_path)
    images, _ = small_images()
    auto = all_batches(read_sample(data, labels, (8, 8, 1), 3))
    halved = all_batches(read_sample(data, labels, (8, 8, 1), 3, scale="2"))
    assert np.allclose(auto[..., 0], images / 255.0) and np.allclose(halved[..., 0], images / 2.0)


def test_folder_order_and_labels_are_keras_image_dataset_from_directory(tmp_path):
    keras = pytest.importorskip("keras")
    folder = write_class_folders(tmp_path / "classes")
    ours = read_sample(folder, None, (8, 8, 3), 3)
    # TensorFlow decodes BMP only as RGB; grey pixels become three equal channels either way.
    theirs = keras.utils.image_dataset_from_directory(
        folder, labels="inferred", shuffle=False, image_size=(8, 8), color_mode="rgb",
        batch_size=64, verbose=False)
    assert list(ours.sources) == [os.path.relpath(p, folder) for p in theirs.file_paths]
    assert tuple(theirs.class_names) == ours.class_names
    [(pixels, labels)] = list(theirs.as_numpy_iterator())
    assert np.array_equal(ours.labels, labels)
    assert np.allclose(all_batches(ours) * 255.0, pixels, atol=1e-4)


def test_csv_takes_integer_labels_absolute_paths_and_no_header(tmp_path):
    folder = write_class_folders(tmp_path / "classes")
    plain = write_csv(tmp_path, folder, header=False, named=False)
    text = plain.read_text().replace("classes/", f"{folder}/")
    plain.write_text(text)
    sample = read_sample(plain, None, (8, 8, 1), 3, class_names=("a", "b", "c"))
    assert sample.n_images == 12 and list(sample.labels) == [0] * 4 + [1] * 4 + [2] * 4
    assert sample.class_names == ("a", "b", "c")
    assert sample.sources[0] == f"{folder}/cat/000.png"


def test_given_class_names_set_the_label_order_of_folders(tmp_path):
    folder = write_class_folders(tmp_path / "classes")
    sample = read_sample(folder, None, (8, 8, 1), 3, class_names=("fox", "cat", "dog"))
    assert list(sample.labels) == [0] * 4 + [1] * 4 + [2] * 4
    assert sample.sources[0] == "fox/008.png" and sample.sources[4] == "cat/000.png"


def test_sources_name_every_image(tmp_path):
    data, labels = write_npy_pair(tmp_path)
    sample = read_sample(data, labels, (8, 8, 1), 3)
    assert sample.sources[:2] == ("images.npy[0]", "images.npy[1]")
    folder = write_class_folders(tmp_path / "classes")
    from_folder = read_sample(folder, None, (8, 8, 1), 3)
    assert from_folder.sources[4] == os.path.join("dog", "deep", "004.bmp")
    from_csv = read_sample(write_csv(tmp_path, folder, True, True), None, (8, 8, 1), 3)
    assert from_csv.sources[4] == "classes/dog/deep/004.bmp"


def test_folder_images_are_decoded_a_batch_at_a_time(tmp_path, monkeypatch):
    from reportgen.load import dataset

    decoded = []
    real = dataset._decoded
    monkeypatch.setattr(dataset, "_decoded", lambda path: decoded.append(path) or real(path))
    sample = read_sample(write_class_folders(tmp_path / "classes"), None, (8, 8, 1), 3,
                         batch_size=5)
    assert decoded == []
    start, batch = next(sample.batches())
    assert start == 0 and len(batch) == 5 and len(decoded) == 5


def test_batches_of_10000_memory_mapped_images_stay_bounded(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(10_000, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "big.npy", images)
    np.save(tmp_path / "big-labels.npy", np.arange(10_000) % 10)
    del images
    sample = read_sample(tmp_path / "big.npy", tmp_path / "big-labels.npy", (28, 28, 1), 10)
    assert isinstance(sample.read_image(0), np.memmap)
    tracemalloc.start()
    try:
        sizes, starts = [], []
        for start, batch in sample.batches():
            sizes.append(len(batch))
            starts.append(start)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert max(sizes) == 64 and sum(sizes) == 10_000 and starts[1] == 64
    # All 10,000 images as float32 would be 31 MB; one batch is 200 KB.
    assert peak < 4 * 2**20, f"peak {peak:,} bytes"


def test_fashion_mnist_sample_reads_as_the_reference_says():
    folder = require_shared(FASHION)
    names = tuple(line for line in (folder / "classes.txt").read_text().splitlines() if line)
    sample = read_sample(folder / "images.npy", folder / "labels.npy", (28, 28, 1), 10, names)
    assert sample.n_images == 900 and len(names) == 10
    assert list(np.bincount(sample.labels)) == [90] * 10 and sample.labels[810] == 9
    _, first = next(sample.batches())
    images = np.load(folder / "images.npy")
    assert first.shape == (64, 28, 28, 1) and np.allclose(first[..., 0], images[:64] / 255.0)


# --- refusals: each one line naming the file, never a hang or a traceback ---------------

def test_fifo_is_refused_at_once_wherever_a_file_is_read(tmp_path):
    data, labels = write_npy_pair(tmp_path)
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    refusal(lambda: read_sample(fifo, labels, (8, 8, 1), 3), fifo)
    refusal(lambda: read_sample(data, fifo, (8, 8, 1), 3), fifo)
    folder = write_class_folders(tmp_path / "classes")
    image_fifo = folder / "cat" / "zzz.png"
    os.mkfifo(image_fifo)
    refusal(lambda: read_sample(folder, None, (8, 8, 1), 3), image_fifo)
    csv = tmp_path / "list.csv"
    csv.write_text(f"{image_fifo},0\n")
    refusal(lambda: read_sample(csv, None, (8, 8, 1), 3), image_fifo)
    csv_fifo = tmp_path / "pipe.csv"
    os.mkfifo(csv_fifo)
    refusal(lambda: read_sample(csv_fifo, None, (8, 8, 1), 3), csv_fifo)


def test_device_is_refused(tmp_path):
    data, _ = write_npy_pair(tmp_path)
    assert "not a regular file" in refusal(
        lambda: read_sample(data, Path("/dev/zero"), (8, 8, 1), 3), Path("/dev/zero"))


def npy_header_only(path: Path, shape: tuple, descr: str) -> Path:
    """An .npy of 1,000 bytes whose header declares `shape`."""
    with open(path, "wb") as stream:
        np.lib.format.write_array_header_1_0(
            stream, {"descr": descr, "fortran_order": False, "shape": shape})
        stream.write(b"\0" * 1000)
    return path


@pytest.mark.parametrize("shape, descr, says", [
    ((100_000, 100_000), "<f4", "more than"),   # 40 GB: above the cap on what is read
    ((1000, 28, 28), "|u1", "the file holds"),  # 784 kB: below the cap, beyond the file
])
def test_npy_header_declaring_more_than_the_file_holds_is_refused(tmp_path, shape, descr, says):
    data, labels = write_npy_pair(tmp_path)
    huge = npy_header_only(tmp_path / "huge.npy", shape, descr)
    assert huge.stat().st_size < 2000
    assert says in refusal(lambda: read_sample(huge, labels, (28, 28, 1), 3), huge)
    assert says in refusal(lambda: read_sample(data, huge, (8, 8, 1), 3), huge)


def test_pickled_object_npy_is_never_loaded(tmp_path):
    data, labels = write_npy_pair(tmp_path)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}, None, 3], dtype=object), allow_pickle=True)
    assert "object" in refusal(lambda: read_sample(objects, labels, (8, 8, 1), 3), objects)
    assert "object" in refusal(lambda: read_sample(data, objects, (8, 8, 1), 3), objects)


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A small real PNG whose IHDR is patched to claim width x height (CRC recomputed)."""
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    raw = bytearray(path.read_bytes())
    # Signature (8 bytes), IHDR length (4), b"IHDR" (4), then width and height.
    assert raw[12:16] == b"IHDR"
    raw[16:24] = struct.pack(">II", width, height)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("width, height", [(20_000, 20_000), (8_000, 6_000)])
def test_image_with_too_many_pixels_is_refused_before_decoding(tmp_path, width, height):
    assert width * height > MAX_IMAGE_PIXELS
    folder = write_class_folders(tmp_path / "classes")
    bomb = png_claiming(folder / "fox" / "zzz.png", width, height)
    # Refused while the sample is listed, from the header: before any model is loaded.
    message = refusal(lambda: read_sample(folder, None, (8, 8, 1), 3), bomb)
    # Below Pillow's own limit the header is read (its CRC holds) and our cap speaks.
    assert "pixels" in message and (width * height > 2 * Image.MAX_IMAGE_PIXELS
                                    or f"{width}x{height}" in message)


def test_one_large_image_listed_many_times_is_refused_for_the_whole_samples_cost(tmp_path):
    # The red team's case: a CSV naming one 40-Mpx PNG 64 times took 67 s and 1.2 GiB.
    # Each image is within the per-image cap; the sample's sum is not.
    png_claiming(tmp_path / "big.png", 8_000, 5_000)
    assert 8_000 * 5_000 <= MAX_IMAGE_PIXELS
    csv = tmp_path / "list.csv"
    csv.write_text("".join(f"big.png,{k % 3}\n" for k in range(64)), encoding="utf-8")
    message = refusal(lambda: read_sample(csv, None, (8, 8, 1), 3), csv)
    assert "2,560,000,000 pixels" in message and "give fewer or smaller images" in message
    csv.write_text("".join(f"big.png,{k % 3}\n" for k in range(3)), encoding="utf-8")
    assert read_sample(csv, None, (8, 8, 1), 3).n_images == 3


def test_corrupt_image_is_refused(tmp_path):
    folder = write_class_folders(tmp_path / "classes")
    broken = folder / "cat" / "000.png"
    whole = broken.read_bytes()
    broken.write_bytes(whole[:20])  # no header: refused while the sample is listed
    assert "not a readable image" in refusal(lambda: read_sample(folder, None, (8, 8, 1), 3),
                                             broken)
    broken.write_bytes(whole[:50])  # a header, no pixels: refused when it is decoded
    sample = read_sample(folder, None, (8, 8, 1), 3)
    assert "not a readable image" in refusal(lambda: all_batches(sample), broken)


def test_label_count_must_match_the_images(tmp_path):
    data, _ = write_npy_pair(tmp_path)
    short = tmp_path / "short.npy"
    np.save(short, np.zeros(11, np.int64))
    assert "11 labels for the 12 images" in refusal(
        lambda: read_sample(data, short, (8, 8, 1), 3), short)


def test_labels_must_be_integers_in_range(tmp_path):
    data, _ = write_npy_pair(tmp_path)
    wide = tmp_path / "wide.npy"
    np.save(wide, np.arange(12) % 4)
    assert "label 3 of image 3 is outside 0..2" in refusal(
        lambda: read_sample(data, wide, (8, 8, 1), 3), wide)
    floats = tmp_path / "floats.npy"
    np.save(floats, np.zeros(12, np.float32))
    assert "integers" in refusal(lambda: read_sample(data, floats, (8, 8, 1), 3), floats)
    column = tmp_path / "column.npy"
    np.save(column, np.zeros((12, 1), np.int64))
    assert read_sample(data, column, (8, 8, 1), 3).labels.shape == (12,)


def test_csv_labels_must_be_known(tmp_path):
    folder = write_class_folders(tmp_path / "classes")
    csv = write_csv(tmp_path, folder, header=True, named=True)
    csv.write_text(csv.read_text() + "classes/cat/000.png,wolf\n")
    assert "'wolf' is not one of the 3 class names" in refusal(
        lambda: read_sample(csv, None, (8, 8, 1), 3, class_names=CLASSES), csv)
    assert "4 class names" in refusal(lambda: read_sample(csv, None, (8, 8, 1), 3), csv)
    numbers = write_csv(tmp_path, folder, header=False, named=False)
    numbers.write_text(numbers.read_text() + "classes/cat/000.png,7\n")
    assert "label 7 of image 12" in refusal(lambda: read_sample(numbers, None, (8, 8, 1), 3),
                                            numbers)
    # A label past what an int64 holds was once "Python int too large to convert to C long".
    numbers.write_text(numbers.read_text().replace(",7\n", ",99999999999999999999999999\n"))
    assert "label 99999999999999999999999999 is not a class index" in refusal(
        lambda: read_sample(numbers, None, (8, 8, 1), 3), numbers)


def test_csv_row_that_is_no_image_is_refused(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("path,label\na.png,0\nnotes.txt,1\n")
    assert "line 3" in refusal(lambda: read_sample(csv, None, (8, 8, 1), 3), csv)


def test_empty_class_folder_is_refused(tmp_path):
    folder = write_class_folders(tmp_path / "classes")
    for file in (folder / "fox").iterdir():
        file.unlink()
    assert "holds no images" in refusal(lambda: read_sample(folder, None, (8, 8, 1), 3),
                                        folder / "fox")


def test_class_folders_must_match_the_model(tmp_path):
    folder = write_class_folders(tmp_path / "classes")
    assert "3 class names but the model has 10" in refusal(
        lambda: read_sample(folder, None, (8, 8, 1), 10), folder)
    assert "'fox' is not one of the 3 class names" in refusal(
        lambda: read_sample(folder, None, (8, 8, 1), 3, class_names=("cat", "dog", "cow")),
        folder)


def test_npy_sample_needs_its_labels_and_folders_take_none(tmp_path):
    data, labels = write_npy_pair(tmp_path)
    assert "--data-labels" in refusal(lambda: read_sample(data, None, (8, 8, 1), 3), data)
    folder = write_class_folders(tmp_path / "classes")
    refusal(lambda: read_sample(folder, labels, (8, 8, 1), 3), labels)


def test_missing_and_unsupported_data_are_refused(tmp_path):
    missing = tmp_path / "nothing.npy"
    refusal(lambda: read_sample(missing, None, (8, 8, 1), 3), missing)
    text = tmp_path / "sample.txt"
    text.write_text("x")
    refusal(lambda: read_sample(text, None, (8, 8, 1), 3), text)


def test_links_that_lead_out_of_a_sample_folder_are_skipped_and_named(tmp_path):
    # Once a class folder linked to /usr/share pulled 4,958 system images into the report.
    folder = write_class_folders(tmp_path / "classes")
    elsewhere = tmp_path / "private"
    elsewhere.mkdir()
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(elsewhere / "secret.png")
    (folder / "cat" / "link.png").symlink_to(elsewhere / "secret.png")
    (folder / "wolf").symlink_to(elsewhere, target_is_directory=True)
    # A link that stays inside the sample is read as any image.
    (folder / "dog" / "again.png").symlink_to(folder / "cat" / "000.png")
    sample = read_sample(folder, None, (8, 8, 1), 3)
    assert sample.n_images == 13 and not any("secret" in s for s in sample.sources)
    assert sorted(s.path for s in sample.skipped) == ["cat/link.png", "wolf"]
    assert all(str(elsewhere) in s.reason for s in sample.skipped)
    # The report says so among its notes.
    note = skipped_note(index_sample(folder, None))
    assert note.startswith("2 files of the labelled sample were left out: wolf: it "
                           "leads outside the sample's folder")


def test_csv_rows_leading_out_of_its_folder_need_data_root(tmp_path):
    folder = write_class_folders(tmp_path / "data" / "classes")
    outside = tmp_path / "outside.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(outside)
    csv = write_csv(tmp_path / "data", folder, header=False, named=False)
    csv.write_text(csv.read_text() + f"../outside.png,1\n{outside},2\n", encoding="utf-8")
    sample = read_sample(csv, None, (8, 8, 1), 3)
    assert sample.n_images == 12 and [s.path for s in sample.skipped] == ["sample.csv:13",
                                                                          "sample.csv:14"]
    assert "give --data-root to allow it" in sample.skipped[0].reason
    opened = read_sample(csv, None, (8, 8, 1), 3, root=tmp_path)
    assert opened.n_images == 14 and not opened.skipped


@pytest.mark.parametrize("shape", [(20, 0, 28), (0, 28, 28), (20, 28, 0)])
def test_an_npy_sample_with_empty_images_is_refused(tmp_path, shape):
    # (20, 0, 28) was once "evaluated": accuracy 0.1 and no warning.
    images, labels = tmp_path / "images.npy", tmp_path / "labels.npy"
    np.save(images, np.zeros(shape, np.uint8))
    np.save(labels, np.zeros(shape[0], np.uint8))
    assert "empty" in refusal(lambda: read_sample(images, labels, (28, 28, 1), 10), images)
