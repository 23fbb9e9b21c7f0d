import hashlib
import json
import zipfile

import h5py
import pytest

from reportgen.errors import ReportInputError
from reportgen.load.model_file import check_model_file, read_architecture


def test_keras_zip_is_recognised(tiny_files):
    info = check_model_file(tiny_files["keras"])
    assert info.format.startswith("Keras v3")
    assert info.size == tiny_files["keras"].stat().st_size
    assert info.sha256 == hashlib.sha256(tiny_files["keras"].read_bytes()).hexdigest()
    with zipfile.ZipFile(tiny_files["keras"]) as archive:
        saved = json.loads(archive.read("metadata.json"))["keras_version"]
    assert info.saved_by_keras_version == saved


def test_legacy_hdf5_reports_its_saving_version(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = b"2.11.0"
    info = check_model_file(path)
    assert info.format.startswith("HDF5")
    assert info.saved_by_keras_version == "2.11.0"


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"hello, I am a text file\n", "not a Keras model file"),
])
def test_files_that_are_not_models_are_refused(tmp_path, content, message):
    path = tmp_path / "model.h5"
    path.write_bytes(content)
    with pytest.raises(ReportInputError, match=message):
        check_model_file(path)


def test_missing_path_and_directory_are_refused(tmp_path):
    with pytest.raises(ReportInputError, match="no such model file"):
        check_model_file(tmp_path / "absent.keras")
    with pytest.raises(ReportInputError, match="directory"):
        check_model_file(tmp_path)


def nested_sequentials(depth: int) -> str:
    """A to_json() text of a Dense inside `depth` Sequentials, each inside the next."""
    text = '{"class_name": "Dense", "config": {"name": "d", "units": 2}}'
    for k in range(depth):
        text = f'{{"class_name": "Sequential", "config": {{"name": "s{k}", "layers": [{text}]}}}}'
    return text


@pytest.mark.parametrize("text", ["[" * 60_000 + "]" * 60_000, nested_sequentials(2_000),
                                  nested_sequentials(100)],
                         ids=["json-60000-deep", "sequential-2000-deep", "sequential-100-deep"])
def test_an_architecture_nested_past_any_real_model_is_refused(tmp_path, text):
    # Once "maximum recursion depth exceeded", an internal error (exit 1).
    path = tmp_path / "deep.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportInputError, match=r"deep\.json: the config is nested more than "
                                               r"256 levels deep, which no real model has"):
        read_architecture(path)


def test_a_real_architecture_is_well_within_the_nesting_limit(tmp_path):
    path = tmp_path / "shallow.json"
    path.write_text(nested_sequentials(3), encoding="utf-8")
    assert read_architecture(path).config["class_name"] == "Sequential"


def test_a_damaged_keras_archive_is_refused_as_damaged(tmp_path, tiny_files):
    data = tiny_files["keras"].read_bytes()
    with zipfile.ZipFile(tiny_files["keras"]) as archive:
        weights = archive.getinfo("model.weights.h5")
    # Cut before its table of contents (a download stopped short): once an
    # architecture-only report that never said the file was damaged.
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[:data.find(b"PK\x01\x02")])
    with pytest.raises(ReportInputError, match=r"cut\.keras: a damaged \.keras archive "
                                               r"\(cut short\?\)"):
        check_model_file(cut)
    # One byte of the weights changed: Keras would read a wrong weight without a word.
    flipped = bytearray(data)
    flipped[weights.header_offset + 30 + len("model.weights.h5") + weights.file_size // 2] ^= 1
    damaged = tmp_path / "flipped.keras"
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(ReportInputError, match=r"flipped\.keras: a damaged \.keras archive: "
                                               r"model\.weights\.h5 fails its checksum"):
        check_model_file(damaged)
    assert check_model_file(tiny_files["keras"]).format.startswith("Keras v3")
