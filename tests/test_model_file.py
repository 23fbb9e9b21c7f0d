import hashlib
import json
import zipfile

import h5py
import pytest

from reportgen.errors import ReportInputError
from reportgen.load.model_file import check_model_file


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
