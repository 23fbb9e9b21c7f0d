"""Keras 3's sharded weights (issue "Real checkpoints", point 5): `save_weights(
"m.weights.json", max_shard_size=...)` writes a JSON index and numbered `.weights.h5` shards.
The index, or any one of its shards, gives one report over every tensor of the set; with
--architecture, a full report; a hostile index or shard is refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import REPO
from reportgen.cli import main

# In GB, as Keras takes it: about 1.7 kB, so the tiny model below fills three shards and its
# `dense_1` is split over two of them.
SHARD_GB = 0.0000016
INDEX = "m.weights.json"


def tiny_model():
    """Layers named as Keras 3 stores them, so the weights-only names are the model's."""
    import keras

    keras.utils.set_random_seed(11)
    layers = keras.layers
    model = keras.Sequential([keras.Input((6, 6, 1)), layers.Conv2D(4, 3, name="conv2d"),
                              layers.BatchNormalization(name="batch_normalization"),
                              layers.Flatten(name="flatten"), layers.Dense(6, name="dense"),
                              layers.Dense(6, activation="relu", name="dense_1"),
                              layers.Dense(3, name="dense_2")])
    # Away from the initialisation, as after training (the moving statistics too).
    for layer in model.layers:
        layer.set_weights([w * 2 + 0.05 for w in layer.get_weights()])
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The model, and a folder with its sharded save, its single-file save and its to_json()."""
    model = tiny_model()
    folder = tmp_path_factory.mktemp("sharded")
    model.save_weights(folder / INDEX, max_shard_size=SHARD_GB)
    model.save_weights(folder / "single.weights.h5")
    (folder / "arch.json").write_text(model.to_json(), encoding="utf-8")
    return model, folder


def weight_map(folder: Path) -> dict:
    return json.loads((folder / INDEX).read_text(encoding="utf-8"))["weight_map"]


def copied(saved, tmp_path: Path) -> Path:
    """The save copied to a folder of this test's own (to be damaged there)."""
    return Path(shutil.copytree(saved[1], tmp_path / "save"))


def report(tmp_path: Path, *args) -> dict:
    out = tmp_path / "out" / "r.html"
    assert main([*map(str, args), "-q", "-o", str(out)]) == 0
    return json.loads(out.with_suffix(".json").read_text("utf-8"))


def refused(tmp_path: Path, capsys, fragment: str, *args) -> str:
    """The command exits 2 with one line naming the problem, and writes nothing."""
    out = tmp_path / "out" / "r.html"
    code = main([*map(str, args), "-q", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("reportgen: "), err
    assert "Traceback" not in err and fragment in err, err
    assert not (tmp_path / "out").exists()
    return err


def weights_of(data: dict) -> dict[tuple[str, str], dict]:
    return {(layer["name"], weight["name"]): weight for layer in data["layers"]
            for weight in layer["weights"]}


def test_keras_really_wrote_several_shards_with_a_group_split_over_two(saved):
    _, folder = saved
    shards = sorted(folder.glob("m_*.weights.h5"))
    assert len(shards) >= 3
    assert {name for names in weight_map(folder).values() for name in names} == \
        {shard.name for shard in shards}
    assert any(len(names) > 1 for names in weight_map(folder).values())


def test_the_index_gives_one_report_over_every_tensor_with_numpy_s_statistics(saved, tmp_path):
    model, folder = saved
    data = report(tmp_path, folder / INDEX)
    assert data["mode"] == "weights-only"
    assert "no architecture" in data["weights_only_reason"]
    assert data["model"]["file"] == INDEX
    assert "sharded" in data["model"]["format"]
    found = weights_of(data)
    # Every tensor once: as many as the model has, none twice, in the model's own order.
    names = [(layer["name"], weight["name"]) for layer in data["layers"]
             for weight in layer["weights"]]
    assert len(names) == len(set(names)) == len(model.weights)
    expected = model.get_weights()
    ours = [found[(layer.name, weight.name)] for layer in model.layers
            for weight in layer.weights]
    for weight, values in zip(ours, expected):
        values = values.astype(np.float64)
        assert weight["shape"] == list(values.shape)
        assert weight["count"] == values.size
        assert weight["mean"] == pytest.approx(values.mean(), abs=1e-7)
        assert weight["std"] == pytest.approx(values.std(), abs=1e-7)
        assert weight["min"] == pytest.approx(values.min(), abs=1e-7)
        assert weight["max"] == pytest.approx(values.max(), abs=1e-7)
        assert weight["l2_norm"] == pytest.approx(np.linalg.norm(values), rel=1e-6)


def test_the_sharded_report_is_the_single_file_s(saved, tmp_path):
    _, folder = saved
    sharded = report(tmp_path / "a", folder / INDEX)
    single = report(tmp_path / "b", folder / "single.weights.h5")
    assert [layer["name"] for layer in sharded["layers"]] == \
        [layer["name"] for layer in single["layers"]]
    for key, weight in weights_of(single).items():
        ours = weights_of(sharded)[key]
        assert {k: ours[k] for k in ("shape", "mean", "std", "p50", "histogram")} == \
            {k: weight[k] for k in ("shape", "mean", "std", "p50", "histogram")}


def test_a_shard_reads_the_whole_set_and_says_so(saved, tmp_path):
    _, folder = saved
    whole = report(tmp_path / "a", folder / INDEX)
    shard = sorted(folder.glob("m_*.weights.h5"))[1]
    data = report(tmp_path / "b", shard)
    assert weights_of(data).keys() == weights_of(whole).keys()
    assert data["model"]["file"] == INDEX and data["model"]["sha256"] == whole["model"]["sha256"]
    [note] = [note for note in data["notes"] if shard.name in note]
    assert INDEX in note and "shards" in note


def test_the_set_s_sha256_is_its_files_read_one_after_the_other(saved, tmp_path):
    import hashlib

    _, folder = saved
    data = report(tmp_path, folder / INDEX)
    files = [folder / INDEX, *sorted(folder.glob("m_*.weights.h5"))]
    assert data["model"]["sha256"] == hashlib.sha256(
        b"".join(path.read_bytes() for path in files)).hexdigest()
    assert data["model"]["file_size"] == sum(path.stat().st_size for path in files)


def test_a_shard_without_its_index_is_read_alone_with_a_note(saved, tmp_path):
    folder = copied(saved, tmp_path)
    (folder / INDEX).unlink()
    shard = sorted(folder.glob("m_*.weights.h5"))[0]
    data = report(tmp_path, shard)
    assert data["model"]["file"] == shard.name
    assert any("no index" in note and shard.name in note for note in data["notes"])


def test_with_an_architecture_the_report_is_full_and_predicts_as_the_model(saved, tmp_path):
    model, folder = saved
    rng = np.random.default_rng(3)
    images = rng.random((2, 6, 6, 1), np.float32)
    np.save(tmp_path / "x.npy", images)
    data = report(tmp_path, folder / INDEX, "--architecture", folder / "arch.json",
                  "--input", tmp_path / "x.npy")
    assert data["mode"] == "full"
    assert data["model"]["architecture_from"]["file"] == "arch.json"
    expected = model.predict(images, verbose=0)
    assert len(data["predictions"]) == 2
    for k, prediction in enumerate(data["predictions"]):
        [output] = prediction["outputs"]
        assert output["values"] == pytest.approx(expected[k].tolist(), abs=1e-5)
    assert all(layer["init"] is not None for layer in data["layers"] if layer["weights"])


def test_the_weights_only_read_never_imports_tensorflow(saved, tmp_path):
    _, folder = saved
    code = ("import sys; from reportgen.cli import main; "
            f"code = main([{str(folder / INDEX)!r}, '-q', '-o', {str(tmp_path / 'r.html')!r}]); "
            "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.stdout.split() == ["0", "False", "False"], result.stderr


def test_the_sidecar_may_not_replace_the_index_of_the_shard_given(saved, tmp_path, capsys):
    folder = copied(saved, tmp_path)
    before = (folder / INDEX).read_bytes()
    shard = sorted(folder.glob("m_*.weights.h5"))[0]
    code = main([str(shard), "-q", "-o", str(folder / "m.weights.html")])
    assert code == 2 and "overwrite an input" in capsys.readouterr().err
    assert (folder / INDEX).read_bytes() == before


def test_two_sharded_saves_compare(saved, tmp_path):
    from reportgen.compare import main as compare

    _, folder = saved
    out = tmp_path / "c.html"
    assert compare([str(folder / INDEX), str(folder / "single.weights.h5"), "-q",
                    "-o", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert data["layers"] and not any(layer["changed"] for layer in data["layers"])


def rewrite_index(folder: Path, edit) -> Path:
    index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    edit(index["weight_map"])
    (folder / INDEX).write_text(json.dumps(index), encoding="utf-8")
    return folder / INDEX


def renamed_first_shard(folder: Path, target: str) -> None:
    first = sorted(weight_map(folder)[key][0] for key in weight_map(folder))[0]
    rewrite_index(folder, lambda wm: wm.update(
        {key: [target if name == first else name for name in names]
         for key, names in wm.items()}))


@pytest.mark.parametrize("given", ["index", "shard"])
def test_a_shard_outside_the_index_s_folder_is_refused(saved, tmp_path, capsys, given):
    folder = copied(saved, tmp_path)
    outside = tmp_path / "elsewhere.weights.h5"
    shutil.copyfile(folder / "m_00000.weights.h5", outside)  # a real shard: only where it is
    renamed_first_shard(folder, "../elsewhere.weights.h5")
    path = folder / INDEX if given == "index" else folder / "m_00001.weights.h5"
    refused(tmp_path, capsys, "outside it", path)


def test_an_absolute_shard_path_is_refused(saved, tmp_path, capsys):
    folder = copied(saved, tmp_path)
    outside = tmp_path / "elsewhere.weights.h5"
    shutil.copyfile(folder / "m_00000.weights.h5", outside)
    renamed_first_shard(folder, str(outside))
    refused(tmp_path, capsys, "outside it", folder / INDEX)


def test_a_shard_symlinked_out_of_the_folder_is_refused(saved, tmp_path, capsys):
    folder = copied(saved, tmp_path)
    outside = tmp_path / "elsewhere.weights.h5"
    shutil.move(folder / "m_00000.weights.h5", outside)
    os.symlink(outside, folder / "m_00000.weights.h5")
    refused(tmp_path, capsys, "outside it", folder / INDEX)


def test_a_missing_shard_is_refused(saved, tmp_path, capsys):
    folder = copied(saved, tmp_path)
    (folder / "m_00001.weights.h5").unlink()
    err = refused(tmp_path, capsys, "no such weights shard", folder / INDEX)
    assert "m_00001.weights.h5" in err
    # Given another shard of the set, the same refusal (not a partial report).
    refused(tmp_path, capsys, "no such weights shard", folder / "m_00000.weights.h5")


def test_a_shard_that_is_not_hdf5_is_refused(saved, tmp_path, capsys):
    folder = copied(saved, tmp_path)
    (folder / "m_00001.weights.h5").write_bytes(b"not an HDF5 file at all" * 10)
    refused(tmp_path, capsys, "is not an HDF5 file", folder / INDEX)


def test_a_shard_from_another_save_is_refused(saved, tmp_path, capsys):
    folder = copied(saved, tmp_path)
    shutil.copyfile(folder / "m_00000.weights.h5", folder / "m_00002.weights.h5")
    refused(tmp_path, capsys, "which does not hold it", folder / INDEX)


def test_a_tensor_stored_in_two_shards_is_refused(saved, tmp_path, capsys):
    folder = copied(saved, tmp_path)
    with h5py.File(folder / "m_00000.weights.h5", "r") as first, \
            h5py.File(folder / "m_00001.weights.h5", "r+") as second:
        first.copy(first["layers/conv2d"], second["layers"], "conv2d")
    rewrite_index(folder, lambda wm: wm["/layers/conv2d/vars"].append("m_00001.weights.h5"))
    refused(tmp_path, capsys, "more than one shard", folder / INDEX)


def test_a_shard_with_an_external_link_is_refused(saved, tmp_path, capsys):
    folder = copied(saved, tmp_path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as outside:
        outside.create_dataset("stolen", data=np.zeros(4, np.float32))
    with h5py.File(folder / "m_00000.weights.h5", "r+") as shard:
        del shard["layers/batch_normalization/vars/0"]
        shard["layers/batch_normalization/vars/0"] = h5py.ExternalLink(str(other), "/stolen")
    refused(tmp_path, capsys, "external link", folder / INDEX)


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "not a sharded weights index"),
    ("[" * 200_000 + "]" * 200_000, "not a sharded weights index"),
    ('{"weight_map": ' + "[" * 200_000 + "]" * 200_000 + "}", "not a sharded weights index"),
    ('{"metadata": {}}', "without a weight_map"),
    ('{"weight_map": {"/layers/dense/vars": 7}}', "no shard file names"),
    ('{"weight_map": {"/layers/dense/vars": []}}', "no shard file names"),
    ('{"weight_map": {}}', "names no shard"),
    ('{"weight_map": {"/vars": "\\u0000x"}}', "outside it"),
    ('{"weight_map": {"/vars": "."}}', "outside it"),
    ('{"weight_map": {"/vars": "m\\u001b[31m\\nx.weights.h5"}}', "outside it"),
    (json.dumps({"weight_map": {f"/l{k}/vars": f"m_{k:05}.weights.h5" for k in range(1001)}}),
     "more than the 1,000"),
])
def test_an_index_that_is_not_keras_s_is_refused(tmp_path, capsys, text, fragment):
    index = tmp_path / INDEX
    index.write_text(text, encoding="utf-8")
    refused(tmp_path, capsys, fragment, index)


def test_a_huge_index_is_refused_unread(tmp_path, capsys):
    index = tmp_path / INDEX
    with index.open("wb") as handle:
        handle.write(b"{")
        handle.truncate(64 << 20)  # sparse: no disk is spent on it
    refused(tmp_path, capsys, "not a sharded weights index", index)


def test_a_model_to_json_given_as_the_model_points_to_architecture(saved, tmp_path, capsys):
    _, folder = saved
    refused(tmp_path, capsys, "--architecture", folder / "arch.json")


def test_a_batch_over_a_folder_reports_a_sharded_save_once_through_its_index(saved):
    from reportgen.load.batch_files import find_models

    _model, folder = saved
    shards = sorted(p.name for p in folder.glob("*_*.weights.h5"))
    assert len(shards) >= 2
    found = [p.name for p in find_models([str(folder)])]
    assert found == sorted([INDEX, "single.weights.h5"])
