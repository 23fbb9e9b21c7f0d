"""Hostile files and hard faults: each case builds its file or situation in a temporary folder
and checks the outcome end to end: exit 2 with one line, or a complete report; nothing from
outside the model file in the output; no temporary file left; no hang."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import hostile_files as hostile
from conftest import REPO
from reportgen.cli import main
from reportgen.page.write import TEMP_MARK


@pytest.fixture(scope="module")
def bn_h5(tmp_path_factory) -> Path:
    return hostile.bn_model(tmp_path_factory.mktemp("bn") / "bn.h5")


@pytest.fixture(scope="module")
def bn_keras(tmp_path_factory, bn_h5) -> Path:
    import keras

    path = tmp_path_factory.mktemp("bnk") / "bn.keras"
    keras.models.load_model(bn_h5, compile=False).save(path)
    return path


def refused(args: list, capsys, fragment: str, folder: Path) -> str:
    """Run the command in process; it must exit 2 with one line and write nothing."""
    out = folder / "out" / "r.html"
    code = main([*map(str, args), "-q", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("reportgen: "), err
    assert fragment in err, err
    assert not (folder / "out").exists()
    return err


def no_secret_anywhere(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json"):
            assert b"reportgen-secret-marker" not in path.read_bytes()


@pytest.mark.parametrize("weights_only", [False, True])
@pytest.mark.parametrize("build", ["external", "link", "virtual"])
def test_data_outside_the_model_file_is_never_read(tmp_path, bn_h5, capsys, build,
                                                   weights_only):
    other = tmp_path / ("secret.txt" if build == "external" else "other.h5")
    maker = {"external": hostile.with_external_gamma, "link": hostile.with_external_link,
             "virtual": hostile.with_virtual_gamma}[build]
    model = maker(bn_h5, tmp_path / "hostile.h5", other)
    fragment = {"external": "outside file", "link": "external link", "virtual": "virtual"}[build]
    err = refused([model] + (["--weights-only"] if weights_only else []), capsys, fragment,
                  tmp_path)
    assert "gamma" in err
    no_secret_anywhere(tmp_path)


def test_outside_data_inside_a_keras_archive_is_refused(tmp_path, bn_h5, bn_keras, capsys):
    inner = hostile.with_external_gamma(bn_h5, tmp_path / "inner.h5", tmp_path / "secret.txt")
    # Keras 3's own weights file, with the external dataset planted in it.
    weights = tmp_path / "model.weights.h5"
    with zipfile.ZipFile(bn_keras) as archive:
        weights.write_bytes(archive.read("model.weights.h5"))
    import h5py

    with h5py.File(weights, "r+") as handle:
        name = [n for n in _names(handle) if n.endswith("vars/0") and "batch" in n][0]
        del handle[name]
        handle.create_dataset(name, shape=(16,), dtype="<f4",
                              external=[(str(tmp_path / "secret.txt"), 0, 64)])
    model = hostile.keras_zip_with_member(bn_keras, tmp_path / "hostile.keras",
                                          weights.read_bytes(), zipfile.ZIP_STORED)
    refused([model], capsys, "outside file", tmp_path)
    refused([model, "--weights-only"], capsys, "outside file", tmp_path)
    assert inner.exists()
    no_secret_anywhere(tmp_path)


def _names(handle) -> list[str]:
    found = []
    handle.visit(found.append)
    return found


@pytest.mark.parametrize("weights_only", [False, True])
def test_nan_and_inf_in_batch_norm_give_a_complete_report(tmp_path, bn_h5, weights_only):
    model = hostile.with_nan_gamma(bn_h5, tmp_path / "nan.h5")
    out = tmp_path / "r.html"
    assert main([str(model), "-q", "-o", str(out)] +
                (["--weights-only"] if weights_only else [])) == 0
    data = json.loads(out.with_suffix(".json").read_text())  # strict JSON: no NaN token
    bn = next(layer for layer in data["layers"] if layer["name"] == "bn")
    gamma = next(s for s in bn["series"] if s["name"].startswith("gamma"))
    assert gamma["values"][3] is None and gamma["values"][5] is None
    assert gamma["values"][0] is not None
    kinds = {(a["kind"], a["layer"]) for a in data["alerts"]}
    assert ("non_finite", "bn") in kinds
    html = out.read_text()
    assert html.rstrip().endswith("</html>") and "NaN" in html


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("role", ["model", "input", "labels"])
def test_a_fifo_as_any_path_is_refused_at_once(tmp_path, tiny_files, role):
    fifo = _fifo(tmp_path, {"model": "m.keras", "input": "i.png", "labels": "l.txt"}[role])
    args = {"model": [fifo], "input": [tiny_files["keras"], "--input", fifo],
            "labels": [tiny_files["keras"], "--labels", fifo]}[role]
    # A blocking open() would hang until the timeout; how long the refusal takes (once
    # asserted < 60 s here) is measured by benchmarks/time_limits.py.
    result = subprocess.run([sys.executable, "-m", "reportgen", *map(str, args), "-q",
                             "-o", str(tmp_path / "r.html")],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr and str(fifo) in result.stderr


def test_dev_zero_as_labels_is_refused(tmp_path, tiny_files, capsys):
    refused([tiny_files["keras"], "--labels", "/dev/zero"], capsys, "not a regular file",
            tmp_path)


def test_an_oversized_labels_file_is_refused(tmp_path, tiny_files, capsys):
    labels = tmp_path / "labels.txt"
    with labels.open("wb") as handle:
        handle.truncate(64 << 20)
    refused([tiny_files["keras"], "--labels", labels], capsys, "labels file larger", tmp_path)


class DiskWatch:
    """Samples the bytes under a folder while a run goes on, keeping the peak."""

    def __init__(self, folder: Path):
        self.folder, self.peak, self.running = folder, 0, True
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self):
        while self.running:
            total = 0
            for root, _, files in os.walk(self.folder):
                for name in files:
                    try:
                        total += os.lstat(os.path.join(root, name)).st_blocks * 512
                    except OSError:
                        pass
            self.peak = max(self.peak, total)
            time.sleep(0.005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.running = False
        self.thread.join()


@pytest.mark.parametrize("valid_head", [False, True])
def test_a_deflate_bomb_is_refused_without_extracting_it(tmp_path, bn_keras, capsys,
                                                         monkeypatch, valid_head):
    import tempfile

    bomb = hostile.deflate_bomb(bn_keras, tmp_path / "bomb.keras", valid_head=valid_head)
    assert bomb.stat().st_size < 2 << 20
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with DiskWatch(scratch) as disk:
        refused([bomb], capsys, "decompression bomb", tmp_path)
    assert disk.peak < 2 * bomb.stat().st_size


@pytest.mark.parametrize("member", ["config.json", "metadata.json"])
def test_a_deflated_json_bomb_is_refused_before_anything_reads_it(tmp_path, bn_keras, capsys,
                                                                   member):
    # A gigabyte of spaces after valid JSON: Keras would read it whole (5.6 GB of memory).
    bomb = hostile.deflate_bomb(bn_keras, tmp_path / "bomb.keras", size=1 << 30, member=member)
    assert bomb.stat().st_size < 2 << 20
    refused([bomb], capsys, f"{member} declares", tmp_path)


def test_a_deflated_keras_file_uses_bounded_disk(tmp_path, bn_keras, monkeypatch):
    import tempfile

    with zipfile.ZipFile(bn_keras) as archive:
        member = archive.read("model.weights.h5")
    model = hostile.keras_zip_with_member(bn_keras, tmp_path / "deflated.keras", member)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with DiskWatch(scratch) as disk:
        assert main([str(model), "-q", "--weights-only", "-o", str(tmp_path / "r.html")]) == 0
    assert disk.peak <= 2 * model.stat().st_size + len(member)
    assert list(scratch.iterdir()) == []


def test_a_corrupt_compressed_chunk_is_an_input_error(tmp_path, bn_h5, capsys):
    model = hostile.with_corrupt_chunk(bn_h5, tmp_path / "corrupt.h5")
    err = refused([model], capsys, "cannot read", tmp_path)
    assert "kernel" in err


@pytest.mark.parametrize("size", [(20000, 20000), (100_000_000, 1)])
def test_images_too_large_to_decode_are_refused_from_their_header(tmp_path, tiny_files,
                                                                   capsys, size):
    image = hostile.png_header_only(tmp_path / "huge.png", *size)
    refused([tiny_files["keras"], "--input", image], capsys, "pixels", tmp_path)


def test_an_npy_declaring_37_gib_is_refused_from_its_header(tmp_path, tiny_files, capsys):
    array = hostile.npy_header_only(tmp_path / "huge.npy", (100000, 100000))
    err = refused([tiny_files["keras"], "--input", array], capsys, "declares", tmp_path)
    assert str(array) in err


@pytest.mark.parametrize("shape", [(7,), (1, 2, 3, 4, 5)])
def test_npy_of_the_wrong_rank_is_refused_naming_the_file(tmp_path, tiny_files, capsys, shape):
    path = tmp_path / "wrong.npy"
    np.save(path, np.zeros(shape, np.float32))
    err = refused([tiny_files["keras"], "--input", path], capsys, "shape", tmp_path)
    assert str(path) in err


@pytest.mark.parametrize("target", ["/sys/x.html", "/proc/x.html", "MODEL/r.html"])
def test_unwritable_outputs_fail_before_the_model_is_loaded(tmp_path, tiny_files, capsys,
                                                            target, monkeypatch):
    import keras

    # Keras is never asked for the model (the time this takes, once asserted < 1 s here, is
    # measured by benchmarks/time_limits.py).
    loads = []
    monkeypatch.setattr(keras.models, "load_model", lambda *args, **kwargs: loads.append(args))
    out = target.replace("MODEL", str(tiny_files["keras"]))
    code = main([str(tiny_files["keras"]), "-q", "-o", out])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot write there" in err, err
    assert loads == []
    assert tiny_files["keras"].is_file()


@pytest.mark.slow
def test_a_file_size_limit_is_an_input_error_and_leaves_nothing(tmp_path, tiny_files):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    out = tmp_path / "r.html"
    result = subprocess.run([sys.executable, "-m", "reportgen", str(tiny_files["keras"]), "-q",
                             "-o", str(out)], capture_output=True, text=True, timeout=300,
                            preexec_fn=limit, cwd=REPO)
    assert result.returncode == 2, result.stderr
    assert "File too large" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_hidden_characters_in_names_are_shown_escaped(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="evil\u202egnp.exe"),
                              keras.layers.Dense(2, activation="softmax", name="out")])
    path = tmp_path / "rlo.keras"
    model.save(path)
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\x00dog\nbird\n", encoding="utf-8")
    out = tmp_path / "r.html"
    assert main([str(path), "-q", "--labels", str(labels), "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "\u202e" not in html and "\x00" not in html
    assert "evil\\u202egnp.exe" in html
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["layers"][0]["name"] == "evil\u202egnp.exe"  # the JSON keeps the data as it is


def test_a_labels_file_that_does_not_fit_the_output_gets_a_note(tmp_path, tiny_files):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n", encoding="utf-8")
    out = tmp_path / "r.html"
    assert main([str(tiny_files["keras"]), "-q", "--labels", str(labels), "-o", str(out)]) == 0
    notes = json.loads(out.with_suffix(".json").read_text())["notes"]
    assert any("2 class names" in n and "4 values" in n for n in notes)


@pytest.mark.slow
def test_quiet_runs_print_no_library_warnings(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, name="conv"),
                              keras.layers.Flatten(), keras.layers.Dense(2, name="out")])
    kernel, bias = model.get_layer("conv").get_weights()
    model.get_layer("conv").set_weights([kernel * 3e37, bias])  # squares overflow float32
    path = tmp_path / "huge.keras"
    model.save(path)
    result = subprocess.run([sys.executable, "-m", "reportgen", str(path), "-q",
                             "-o", str(tmp_path / "r.html")],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_MARK)]



PLANTED_PID = 2 ** 22 + 13  # above pid_max: a process that is gone


@pytest.mark.slow
@pytest.mark.parametrize("command", ["report", "compare", "batch"])
def test_a_journal_shipped_beside_the_output_moves_no_user_file(tmp_path, tiny_files, command,
                                                                 capsys, monkeypatch):
    """A repository ships output/.<report>.<pid>.journal.reportgen-tmp naming a user's files
    (the attack of issue 26, point 1); the run in that repository changes none of them."""
    from reportgen import batch, compare

    home, work = tmp_path / "home", tmp_path / "repo"
    (work / "output").mkdir(parents=True)
    home.mkdir()
    (home / "important.txt").write_text("important")
    (home / "private.txt").write_text("private")
    (work / "output" / "payload.txt").write_text("payload")
    report = {"report": "tiny.html", "compare": "compare.html", "batch": "index.html"}[command]
    journal = work / "output" / f".{report}.{PLANTED_PID}.journal{TEMP_MARK}"
    journal.write_text(json.dumps([["payload.txt", str(home / "important.txt")],
                                   [str(home / "private.txt"), "output/stolen.txt"]]))
    monkeypatch.chdir(work)
    model = tiny_files["keras"]
    run = {"report": lambda: main([str(model), "-q"]),
           "compare": lambda: compare.main([str(model), str(tiny_files["h5"]), "-q",
                                            "-o", "output/compare.html"]),
           "batch": lambda: batch.main([str(model), "-q", "-o", "output", "--jobs", "1"])}
    assert run[command]() == 0
    assert (home / "important.txt").read_text() == "important"
    assert (home / "private.txt").read_text() == "private"
    assert not (work / "output" / "stolen.txt").exists()
    assert (work / "output" / report).stat().st_size > 1000
    assert "ignored a recovery journal" in capsys.readouterr().err
    assert not journal.exists()
