"""Real checkpoints that do not simply load: each ends in a full report, a weights-only
report, or a one-line refusal."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from conftest import (add_time_major, keras2_style_h5, legacy_weights_h5, recurrent_model,
                      run_cli)
from reportgen.cli import main


def report(tmp_path, model, *extra):
    out = tmp_path / "r.html"
    code = main([str(model), "-q", "-o", str(out), *map(str, extra)])
    assert code == 0
    return json.loads(out.with_suffix(".json").read_text("utf-8")), out.read_text("utf-8")


@pytest.fixture(scope="module")
def keras2_rnn(tmp_path_factory):
    model = recurrent_model()
    path = keras2_style_h5(model, tmp_path_factory.mktemp("k2") / "rnn.h5", add_time_major)
    return model, path


@pytest.mark.slow  # several seconds; CI's full run (tests/run.sh) has it
def test_keras2_recurrent_file_is_repaired_and_fully_reported(tmp_path, keras2_rnn):
    model, path = keras2_rnn
    data, html = report(tmp_path, path)
    assert data["mode"] == "full"
    [repair] = data["repair_details"]
    assert repair["rule"] == "recurrent-time-major"
    assert set(repair["layers"]) == {"forward_lstm", "backward_lstm", "gru"}
    assert "Unrecognized keyword arguments passed to LSTM" in repair["error"]
    assert len(data["repairs"]) == 1 and "time_major" in data["repairs"][0]
    assert "dropped time_major from LSTM" in html and "forward_lstm, backward_lstm, gru" in html
    kernel = model.get_layer("emb").get_weights()[0]
    assert data["layers"][0]["weights"][0]["std"] == pytest.approx(kernel.std(), abs=1e-7)
    assert data["layers"][0]["init"] is not None
    shapes = {a["name"]: a["shape"] for a in data["activations"][0]["layers"]}
    assert shapes["bi"] == [10, 8] and shapes["gru"] == [3]
    assert "token ids below 50" in data["notes"][0]


def test_token_ids_from_npy(tmp_path, keras2_rnn):
    model, path = keras2_rnn
    ids = np.arange(10, dtype=np.int64) * 4
    np.save(tmp_path / "ids.npy", ids)
    data, _ = report(tmp_path, path, "--input", tmp_path / "ids.npy")
    expected = np.asarray(model(ids[None].astype("int32"), training=False))[0]
    # Class by class, in Keras's order: sorted values would pass a permuted class mapping.
    by_class = {p["class_index"]: p["probability"] for p in data["predictions"][0]["top"]}
    assert sorted(by_class) == list(range(len(expected)))
    assert [by_class[k] for k in range(len(expected))] == pytest.approx(expected.tolist(),
                                                                        abs=1e-5)


@pytest.mark.slow  # several seconds; CI's full run (tests/run.sh) has it
def test_token_ids_out_of_range_leave_the_weights_report_and_say_why(tmp_path, keras2_rnn):
    """The model loaded, so its weights report stands; the input is named as the reason."""
    np.save(tmp_path / "ids.npy", np.full(10, 99, np.int64))
    data, html = report(tmp_path, keras2_rnn[1], "--input", tmp_path / "ids.npy")
    assert data["mode"] == "full" and data["activations"] == []
    assert "token ids must lie in 0..49" in data["forward_error"]
    assert "token ids must lie in 0..49" in html
    assert data["layers"][0]["weights"][0]["std"] > 0


def test_save_weights_file_gets_a_weights_only_report(tmp_path, tiny_model):
    path = legacy_weights_h5(tiny_model, tmp_path / "weights.h5")
    data, html = report(tmp_path, path)
    assert data["mode"] == "weights-only"
    assert "Keras could not rebuild the model" in data["weights_only_reason"]
    assert "Weights-only report." in html
    assert data["activations"] == [] and data["predictions"] == []
    kernel = tiny_model.layers[2].get_weights()[0]
    conv_b = next(l for l in data["layers"] if l["name"] == "conv_b")
    assert conv_b["weights"][0]["mean"] == pytest.approx(kernel.mean(), abs=1e-7)


def renamed_dense_weights(data: bytes, tmp_path) -> bytes:
    """The weights file as Keras 3 stores a class MysteryDense: under `mystery_dense`."""
    import h5py

    scratch = tmp_path / "w.h5"
    scratch.write_bytes(data)
    with h5py.File(scratch, "r+") as handle:
        handle.move("layers/dense", "layers/mystery_dense")
    return scratch.read_bytes()


def test_unimportable_custom_layer_falls_back_to_weights(tmp_path, tiny_files):
    path = tmp_path / "custom.keras"
    with zipfile.ZipFile(tiny_files["keras"]) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "model.weights.h5":
                data = renamed_dense_weights(data, tmp_path)
            if info.filename == "config.json":
                config = json.loads(data)
                dense = config["config"]["layers"][-1]
                dense.update(class_name="MysteryDense", module="my_private_lib.layers",
                             registered_name="Custom>MysteryDense")
                data = json.dumps(config).encode()
            new.writestr(info, data)
    data, _ = report(tmp_path, path)
    assert data["mode"] == "weights-only"
    assert "MysteryDense" in data["weights_only_reason"]
    probs = next(l for l in data["layers"] if l["name"] == "probs")
    assert probs["class_name"] == "MysteryDense" and len(probs["weights"]) == 2


@pytest.fixture(scope="module")
def lambda_file(tmp_path_factory):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d"),
                              keras.layers.Lambda(lambda x: x * 2.0, name="double")])
    path = tmp_path_factory.mktemp("lambda") / "lambda.keras"
    model.save(path)
    return path


def test_lambda_model_is_not_run_without_trust(tmp_path, lambda_file):
    data, html = report(tmp_path, lambda_file)
    assert data["mode"] == "weights-only" and data["trusted"] is False
    assert "--trust-model" in data["weights_only_reason"]
    assert [w["name"] for w in data["layers"][0]["weights"]] == ["kernel", "bias"]


def test_lambda_model_runs_when_trusted_and_the_report_says_so(tmp_path, lambda_file):
    data, html = report(tmp_path, lambda_file, "--trust-model")
    assert data["mode"] == "full" and data["trusted"] is True
    assert any("--trust-model" in note for note in data["notes"])
    assert "safe mode was off" in html


def test_nested_model_is_walked_with_its_own_sections(tmp_path):
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="c1")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    base = keras.Model(inputs, x, name="base")
    model = keras.Sequential([keras.Input((8, 8, 3)), base,
                              keras.layers.GlobalAveragePooling2D(name="gap"),
                              keras.layers.Dense(3, name="head")])
    model.save(tmp_path / "nested.keras")
    for flag in ((), ("--weights-only",)):
        data, html = report(tmp_path, tmp_path / "nested.keras", *flag)
        base_facts = data["layers"][0]
        assert base_facts["name"] == "base" and base_facts["weights"] == []
        children = {c["name"]: c for c in base_facts["layers"]}
        assert [w["name"] for w in children["c1"]["weights"]] == ["kernel", "bias"]
        assert [s["name"] for s in children["bn"]["series"]][0] == "gamma per channel"
        assert 'id="layer-base-c1"' in html
    assert children["c1"]["init"] is None  # weights-only: no initialisation
    data, _ = report(tmp_path, tmp_path / "nested.keras")
    assert data["layers"][0]["layers"][1]["init"][0]["shape"] == [3, 3, 3, 4]


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_weights_only_gives_the_same_statistics_as_the_full_report(tmp_path, tiny_files, kind):
    full, _ = report(tmp_path, tiny_files[kind])
    fast, _ = report(tmp_path, tiny_files[kind], "--weights-only")
    assert fast["mode"] == "weights-only" and fast["weights_only_reason"] == "--weights-only was given"
    for a, b in zip(full["layers"], fast["layers"]):
        assert a["name"] == b["name"]
        for wa, wb in zip(a["weights"], b["weights"]):
            assert {k: wa[k] for k in ("name", "shape", "mean", "std", "p50", "l2_norm")} == \
                   {k: wb[k] for k in ("name", "shape", "mean", "std", "p50", "l2_norm")}


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64), "cannot read the weights"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("hello.txt", "hi"), "cannot read the weights"),
])
def test_files_with_nothing_to_report_are_refused(tmp_path, make, message, capsys):
    path = tmp_path / "model.keras"
    make(path)
    assert main([str(path), "-q", "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()


def test_weights_only_through_the_real_command(tmp_path, tiny_files):
    result = run_cli(tiny_files["h5"], "--weights-only", "-o", tmp_path / "w.html")
    assert result.returncode == 0, result.stderr
    assert "reading the weights" in result.stderr
    assert json.loads((tmp_path / "w.json").read_text("utf-8"))["mode"] == "weights-only"
