"""`reportgen batch`: a report per readable model, refused rows for the rest, exit code 3,
trends of a checkpoint series against numpy, links that resolve (also in Chromium), --resume,
the worker pool, and the same batch on a Dask LocalCluster."""

from __future__ import annotations

import hashlib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from browser import chromium
from conftest import tiny_cnn
from keras2_files import keras20_cnn, save_keras2_h5, save_keras20_h5
from reportgen.analyse.series import epoch_of, find_series
from reportgen.batch import main
from reportgen.load.batch_files import find_models, report_names
from reportgen.workers import WorkerDied, WorkerPool

# Found as tests/test_browser.py finds it; CI sets REPORTGEN_REQUIRE_BROWSER=1, and there a
# missing browser is a failure, not a skip.
EPOCHS = (1, 2, 3)


def train_series(folder: Path) -> dict[int, dict[str, np.ndarray]]:
    """A tiny CNN trained a few steps per epoch, saved after each epoch as Keras's
    ModelCheckpoint names files; returns every layer's kernel after each epoch."""
    import keras

    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((8, 8, 1)),
                              keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                              keras.layers.Flatten(name="flat"),
                              keras.layers.Dense(3, activation="softmax", name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 32)
    kernels = {}
    for epoch in EPOCHS:
        loss = model.fit(x, y, batch_size=8, epochs=1, verbose=0).history["loss"][-1]
        model.save(folder / f"model_{epoch:02d}-{loss:.4f}.keras")
        kernels[epoch] = {name: np.asarray(model.get_layer(name).get_weights()[0], np.float64)
                          for name in ("conv", "out")}
    return kernels


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """A folder with a good model, a series of 3 epochs, an empty file and a text file, and
    the batch run over it with two workers."""
    folder = tmp_path_factory.mktemp("models")
    good = tiny_cnn()
    good.save(folder / "good.keras")
    kernels = train_series(folder)
    (folder / "empty.h5").write_bytes(b"")
    (folder / "notes.keras").write_text("not a model, just notes\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("out")
    code = main([str(folder), "-o", str(out), "--jobs", "2", "-q"])
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    return {"code": code, "out": out, "index": index, "kernels": kernels,
            "good_params": good.count_params(), "folder": folder}


def rows_by_file(index: dict) -> dict[str, dict]:
    return {Path(row["file"]).name: row for row in index["models"]}


@pytest.mark.slow
def test_every_readable_model_gets_a_report_and_the_others_a_refused_row(batch):
    assert batch["code"] == 3
    rows = rows_by_file(batch["index"])
    statuses = {name: row["status"] for name, row in rows.items()}
    assert statuses.pop("empty.h5") == statuses.pop("notes.keras") == "refused"
    assert statuses.pop("good.keras") == "report"
    assert sorted(name[:8] for name in statuses) == ["model_01", "model_02", "model_03"]
    assert set(statuses.values()) == {"report"}
    for name in ("empty.h5", "notes.keras"):
        assert rows[name]["reason"] and rows[name]["report"] is None
    for row in rows.values():
        if row["status"] == "report":
            assert (batch["out"] / row["report"]).is_file()
            assert (batch["out"] / row["sidecar"]).is_file()
            assert row["worker"] and row["seconds"] > 0
    assert rows["good.keras"]["params"] == batch["good_params"]
    assert batch["index"]["counts"] == {"report": 4, "reused": 0, "refused": 2, "failed": 0}


@pytest.mark.slow
def test_the_series_trends_are_each_layers_std_by_epoch_as_numpy_computes_it(batch):
    (series,) = batch["index"]["series"]
    assert series["epochs"] == list(EPOCHS)
    assert series["name"].endswith("model_<epoch>.keras")
    trends = {layer["path"]: layer for layer in series["layers"]}
    assert set(trends) == {"conv", "out"}
    rows = {row["epoch"]: row for row in batch["index"]["models"] if row["series"]}
    for name, trend in trends.items():
        assert trend["weight"] == "kernel"
        expected = [float(np.std(batch["kernels"][epoch][name])) for epoch in EPOCHS]
        assert trend["std"] == pytest.approx(expected, rel=1e-9)
        # The change from initialisation is each epoch's own report's, in epoch order.
        for epoch, change in zip(EPOCHS, trend["relative_change"]):
            sidecar = json.loads((batch["out"] / rows[epoch]["sidecar"]).read_text("utf-8"))
            (layer,) = [layer for layer in sidecar["layers"] if layer["name"] == name]
            assert change == layer["weights"][0]["relative_change"] and change > 0
        # The change from the first epoch, by hand from the saved kernels.
        first = batch["kernels"][EPOCHS[0]][name]
        assert trend["start_change"] == pytest.approx(
            [np.linalg.norm(batch["kernels"][e][name] - first) / np.linalg.norm(first)
             for e in EPOCHS], rel=1e-6, abs=1e-12)
        assert trend["start_change"][0] == 0 and trend["start_change"][-1] > 0
        assert len(trend["alpha"]) == len(EPOCHS)


class Links(HTMLParser):
    """Every link target and element id of a page."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if "id" in attrs:
            self.ids.add(attrs["id"])


@pytest.mark.slow
def test_every_link_of_the_index_resolves(batch):
    page = Links()
    page.feed((batch["out"] / "index.html").read_text(encoding="utf-8"))
    files = [href for href in page.hrefs if not href.startswith("#")]
    # Four reports in the table, the three epochs again in the series.
    assert len(files) == 7
    for href in files:
        assert (batch["out"] / unquote(href)).is_file(), href
    for href in page.hrefs:
        if href.startswith("#"):
            assert href[1:] in page.ids, href


@pytest.mark.browser
def test_every_link_of_the_index_resolves_in_chromium(batch):
    with chromium() as browser:
        page = browser.new_page()
        page.goto((batch["out"] / "index.html").as_uri())
        targets = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        ids = set(page.eval_on_selector_all("[id]", "nodes => nodes.map(n => n.id)"))
    assert len(targets) >= 7
    for target in targets:
        url = urlparse(target)
        assert url.scheme == "file"
        assert Path(unquote(url.path)).is_file(), target
        if url.fragment and Path(unquote(url.path)).name == "index.html":
            assert url.fragment in ids, target


@pytest.mark.slow
def test_resume_keeps_the_reports_of_unchanged_models_and_redoes_a_changed_one(tmp_path,
                                                                               capfd):
    folder, out = tmp_path / "models", tmp_path / "out"
    folder.mkdir()
    first, second = tiny_cnn(), tiny_cnn()
    first.save(folder / "first.keras")
    second.save(folder / "second.keras")
    capfd.readouterr()
    assert main([str(folder), "-o", str(out), "--jobs", "1", "-q"]) == 0
    # -q: nothing on stderr, from this process or its workers.
    assert capfd.readouterr().err == ""
    reports = {name: out / "reports" / f"{name}.html" for name in ("first", "second")}
    stamps = {name: (path.stat().st_ino, path.stat().st_mtime_ns)
              for name, path in reports.items()}

    assert main([str(folder), "-o", str(out), "--resume", "-q"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [row["status"] for row in index["models"]] == ["reused", "reused"]
    assert {name: (p.stat().st_ino, p.stat().st_mtime_ns) for name, p in reports.items()} == stamps

    layer = second.get_layer("conv_b")
    layer.set_weights([w + 1.0 for w in layer.get_weights()])
    second.save(folder / "second.keras")
    assert main([str(folder), "-o", str(out), "--resume", "--jobs", "1"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [row["status"] for row in index["models"]] == ["reused", "report"]
    assert (reports["first"].stat().st_ino, reports["first"].stat().st_mtime_ns) == \
        stamps["first"]
    assert (reports["second"].stat().st_ino, reports["second"].stat().st_mtime_ns) != \
        stamps["second"]
    # Another language, or a labelled sample, is another report: nothing is reused.
    assert main([str(folder), "-o", str(out), "--resume", "--jobs", "1", "-q",
                 "--lang", "ko"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [row["status"] for row in index["models"]] == ["report", "report"]
    assert main([str(folder), "-o", str(out), "--resume", "-q", "--lang", "ko"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [row["status"] for row in index["models"]] == ["reused", "reused"]
    # --card asks for a file the reports lack: they are made again, with their cards.
    assert main([str(folder), "-o", str(out), "--resume", "-q", "--lang", "ko",
                 "--card"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [row["status"] for row in index["models"]] == ["report", "report"]
    assert all(path.with_suffix(".card.md").is_file() for path in reports.values())
    assert main([str(folder), "-o", str(out), "--resume", "-q", "--lang", "ko",
                 "--card"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [row["status"] for row in index["models"]] == ["reused", "reused"]
    # Without -q: one line per model, with the count, and an estimate for the rest.
    lines = [line for line in capfd.readouterr().err.splitlines()
             if re.search(r"\[\d+/\d+\]", line)]
    assert len(lines) == 2
    assert "[1/2]" in lines[0] and "first.keras" in lines[0] and "reused" in lines[0]
    assert "[2/2]" in lines[1] and "second.keras" in lines[1] and "left" in lines[1]


@pytest.mark.slow
def test_a_labelled_sample_gives_every_report_an_evaluation_and_the_index_its_accuracy(
        tmp_path):
    folder, out = tmp_path / "models", tmp_path / "out"
    folder.mkdir()
    model = tiny_cnn()
    model.save(folder / "tiny.keras")
    rng = np.random.default_rng(4)
    np.save(tmp_path / "x.npy", (rng.random((24, 12, 12)) * 255).astype(np.uint8))
    np.save(tmp_path / "y.npy", np.arange(24) % 4)
    assert main([str(folder), "-o", str(out), "--jobs", "1", "-q", "--data",
                 str(tmp_path / "x.npy"), "--data-labels", str(tmp_path / "y.npy"),
                 "--card"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    (row,) = index["models"]
    # --card: each model's card beside its report, with the accuracy the index shows.
    card = (out / row["sidecar"]).with_suffix("").with_suffix(".card.md").read_text("utf-8")
    assert f"value: {row['accuracy']:.6g}" in card
    sidecar = json.loads((out / row["sidecar"]).read_text(encoding="utf-8"))
    assert row["accuracy"] == sidecar["evaluation"]["accuracy"]["value"] is not None
    assert sidecar["evaluation"]["n_samples"] == 24
    assert row["signature"]["data"][0] == str((tmp_path / "x.npy").resolve())
    assert ">sample accuracy</th>" in (out / "index.html").read_text(encoding="utf-8")
    # A sample that is not a file is refused once, before any model is made.
    assert main([str(folder), "-o", str(out), "-q", "--data", str(tmp_path / "absent.npy")]) == 2


@pytest.mark.dask
def test_the_same_batch_runs_on_a_dask_cluster_writing_to_a_shared_folder(batch, tmp_path):
    distributed = pytest.importorskip("distributed",
                                      reason="Dask's distributed package is not installed "
                                             "(pip install \"reportgen[dask]\")")
    out, shared = tmp_path / "out", tmp_path / "shared"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        code = main([str(batch["folder"]), "-o", str(out), "--scheduler",
                     cluster.scheduler_address, "--shared-output", str(shared), "-q"])
    assert code == 3
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    local = batch["index"]
    assert [(r["file"], r["status"]) for r in index["models"]] == \
        [(r["file"], r["status"]) for r in local["models"]]
    assert index["executor"].startswith("the Dask cluster at ")
    for row in index["models"]:
        if row["status"] == "report":
            report = out / row["report"]
            assert report.is_file() and report.resolve().parent == shared.resolve()
            assert int(row["worker"].rsplit(":", 1)[1]) != os.getpid()
    assert index["series"][0]["layers"] == local["series"][0]["layers"]


@pytest.mark.parametrize("name, label, epoch", [
    ("model_01-0.3871.hdf5", "model_<epoch>.hdf5", 1),
    ("model_192-0.0489.hdf5", "model_<epoch>.hdf5", 192),
    ("epoch-003.keras", "epoch-<epoch>.keras", 3),
    ("weights.05-1.23.h5", "weights.<epoch>.h5", 5),
    ("resnet50_epoch10.keras", "resnet50_epoch<epoch>.keras", 10),
])
def test_epoch_numbers_are_read_from_checkpoint_names(name, label, epoch):
    assert epoch_of(Path("runs") / name) == (str(Path("runs") / label), epoch)


def test_a_series_needs_two_epochs_of_one_name_in_one_folder():
    paths = [Path("a/model_01-0.5.h5"), Path("a/model_02-0.4.h5"), Path("b/model_03-0.3.h5"),
             Path("a/other_07.h5"), Path("a/ckpt.keras")]
    found = find_series(paths)
    assert {str(p): m.epoch for p, m in found.items()} == {"a/model_01-0.5.h5": 1,
                                                          "a/model_02-0.4.h5": 2}


def worker_pid() -> int:
    """A task for the pool tests: the worker's process id."""
    return os.getpid()


def die() -> None:
    """A task for the pool tests: end the worker process at once."""
    os._exit(3)


def test_a_worker_that_dies_fails_its_task_only_and_workers_are_recycled(monkeypatch):
    monkeypatch.setattr("reportgen.workers.MAX_TASKS", 2)
    pool = WorkerPool(1, "os:getpid", {})
    try:
        pids = [pool.submit(worker_pid).result(timeout=120) for _ in range(3)]
        dead = pool.submit(die)
        after = pool.submit(worker_pid).result(timeout=120)
        with pytest.raises(WorkerDied):
            dead.result(timeout=120)
    finally:
        pool.shutdown()
    assert pids[0] == pids[1] != pids[2]  # a fresh worker after MAX_TASKS tasks
    assert after not in pids and os.getpid() not in pids + [after]


def test_the_index_opens_a_series_first_checkpoint_once_and_survives_an_unreadable_one(
        tmp_path, monkeypatch):
    import reportgen.batch as batch_module
    from reportgen.analyse.batch_index import Outcome

    good, bad = tmp_path / "good", tmp_path / "bad"
    for folder in (good, bad):
        folder.mkdir()
        for epoch in (1, 2, 3):
            model = tiny_cnn()
            for layer in model.layers:  # a later epoch: every weight moved
                layer.set_weights([w * (1 + epoch / 10) for w in layer.get_weights()])
            model.save(folder / f"model_{epoch:02d}.keras")
    (bad / "model_01.keras").write_text("not a model\n", encoding="utf-8")
    opened = []
    check = batch_module.check_model_file
    monkeypatch.setattr(batch_module, "check_model_file",
                        lambda path: opened.append(path) or check(path))
    for folder in (good, bad):
        models = sorted(folder.glob("*.keras"))
        with batch_module.IndexGatherer(models, tmp_path / "none", {}) as index:
            for model in models:
                index.add(model, Outcome(str(model), model.stem, "failed", "no report", 0.1,
                                         None))
            facts = index.facts("test")
        assert len(facts.rows) == 3
        if folder is good:
            # Each member against the first, read with h5py: 0 for the first itself.
            assert index.changes["model_01"] and \
                all(v == 0 for v in index.changes["model_01"].values())
            assert all(v > 0 for v in index.changes["model_02"].values())
        else:
            assert index.changes == {"model_01": {}, "model_02": {}, "model_03": {}}
    # The first checkpoint is opened once as every member's start (and once more as a
    # member itself where it can be read), not once per member; where it cannot be read,
    # the members are not opened either.
    assert [p.parent.name for p in opened if p.name == "model_01.keras"] == \
        ["good", "good", "bad"]
    assert len(opened) == 1 + 3 + 1


def moved_series(folder: Path, save, names_of=lambda epoch: None
                 ) -> dict[int, dict[str, np.ndarray]]:
    """Keras 2.0's small CNN saved by `save(model, path)` after each of EPOCHS, as
    ModelCheckpoint("weights.{epoch:02d}-{val_loss:.2f}.hdf5") names files, every weight
    moved by seeded noise from one epoch to the next; `names_of(epoch)` renames the layers
    (None: Keras 2.0's names). Returns each epoch's kernels by the first epoch's names."""
    import keras

    model = keras20_cnn()
    rng = np.random.default_rng(21)
    kernels = {}
    for epoch in EPOCHS:
        for layer in model.layers:
            layer.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype)
                               for w in layer.get_weights()])
        names = names_of(epoch)
        saved = model if names is None else keras.Sequential(
            [keras.Input((12, 12, 1))] + [type(layer).from_config({**layer.get_config(),
                                                                  "name": names[layer.name]})
                                          for layer in model.layers], name="sequential")
        if saved is not model:
            for layer, source in zip(saved.layers, model.layers):
                layer.set_weights(source.get_weights())
        save(saved, folder / f"weights.{epoch:02d}-{1 / epoch:.2f}.hdf5")
        kernels[epoch] = {layer.name: np.asarray(layer.get_weights()[0], np.float64)
                          for layer in model.layers if layer.get_weights()}
    return kernels


def numpy_start_changes(kernels: dict[int, dict[str, np.ndarray]], name: str) -> list[float]:
    """‖W_k − W_1‖ / ‖W_1‖ of one layer's kernel, epoch by epoch."""
    first = kernels[EPOCHS[0]][name]
    return [float(np.linalg.norm(kernels[e][name] - first) / np.linalg.norm(first))
            for e in EPOCHS]


@pytest.mark.slow
def test_a_series_saved_by_keras_2_0_gets_every_layers_change_from_its_first_epoch(tmp_path):
    # Keras 2.0.x saved conv2d_1's kernel as conv2d_1/conv2d_1_1/kernel:0; the reports
    # (Keras) call the layer conv2d_1, and so must the change read with h5py.
    folder, out = tmp_path / "models", tmp_path / "out"
    folder.mkdir()
    kernels = moved_series(folder, save_keras20_h5)
    assert main([str(folder), "-o", str(out), "--jobs", "1", "-q"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    (series,) = index["series"]
    assert series["epochs"] == list(EPOCHS)
    trends = {layer["path"]: layer for layer in series["layers"]}
    assert list(trends) == ["conv2d_1", "conv2d_2", "dense_1"]
    for name, trend in trends.items():
        assert None not in trend["start_change"]
        assert trend["start_change"] == pytest.approx(numpy_start_changes(kernels, name),
                                                      rel=1e-6, abs=1e-12)
        assert trend["start_change"][0] == 0 and trend["start_change"][-1] > 0


# Epochs 2 and 3 saved by another Keras version, which numbers the layers from 0.
KERAS3_NAMES = {"conv2d_1": "conv2d", "max_pooling2d_1": "max_pooling2d",
                "conv2d_2": "conv2d_1", "flatten_1": "flatten", "dense_1": "dense"}


@pytest.mark.parametrize("layout", ["keras 2.0", "renamed"])
def test_each_members_change_from_the_first_is_read_under_either_matching(tmp_path, layout):
    import reportgen.batch as batch_module
    from reportgen.analyse.batch_index import Outcome

    if layout == "keras 2.0":
        kernels = moved_series(tmp_path, save_keras20_h5)
    else:
        kernels = moved_series(tmp_path, save_keras2_h5,
                               lambda epoch: KERAS3_NAMES if epoch > 1 else None)
    models = sorted(tmp_path.glob("*.hdf5"))
    with batch_module.IndexGatherer(models, tmp_path / "none", {}) as index:
        for model in models:
            index.add(model, Outcome(str(model), model.stem, "failed", "no report", 0.1, None))
    for epoch, model in zip(EPOCHS, models):
        # By the first checkpoint's layer names, whatever this checkpoint calls them.
        changes = index.changes[model.stem]
        assert list(changes) == ["conv2d_1", "conv2d_2", "dense_1"]
        for name, change in changes.items():
            assert change == pytest.approx(numpy_start_changes(kernels, name)[epoch - 1],
                                           rel=1e-6, abs=1e-12)


def test_a_renamed_layers_trend_stays_in_its_first_epochs_row():
    from reportgen.analyse.batch_index import IndexParts, ModelRow, Outcome

    def sidecar(stds: dict[str, float]) -> dict:
        return {"layers": [{"path": path, "weights": [{"name": "kernel", "shape": [3, 3],
                                                       "std": std}]}
                           for path, std in stds.items()]}

    parts = IndexParts()
    # Epoch 2 calls the first epoch's conv2d_1 "conv2d" and its conv2d_2 "conv2d_1", and
    # has a layer of its own called conv2d_2, matched to nothing.
    epochs = [({"conv2d_1": 1.0, "conv2d_2": 2.0}, {}, {"conv2d_1": 0.0, "conv2d_2": 0.0}),
              ({"conv2d": 1.1, "conv2d_1": 2.2, "conv2d_2": 9.0},
               {"conv2d": "conv2d_1", "conv2d_1": "conv2d_2"},
               {"conv2d_1": 0.1, "conv2d_2": 0.2})]
    for epoch, (stds, renamed, changes) in enumerate(epochs, 1):
        outcome = Outcome(f"m{epoch}.h5", f"m{epoch}", "report", "", 0.1, f"m{epoch}.html")
        row = ModelRow(outcome, None, "full", None, (), None, "s", epoch)
        parts.add(epoch, row, sidecar(stds), changes, renamed)
    (series,) = parts.facts("test", "now", "0").series
    rows = {trend.path: (trend.std, trend.start_change) for trend in series.layers}
    assert rows == {"conv2d_1": ((1.0, 1.1), (0.0, 0.1)), "conv2d_2": ((2.0, 2.2), (0.0, 0.2))}


def answering_server(reply: bytes | None):
    """A TCP server on a free local port that accepts every connection and sends `reply`
    (None: says nothing), then holds the connection open. Returns (address, close)."""
    import socket
    import threading
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if reply is not None:
                conn.recv(65536)
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()

    def close():
        server.close()
        for conn in held:
            conn.close()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}", close


@pytest.mark.parametrize("reply", [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                                   b"\xff" * 64], ids=["http", "huge-length-prefix"])
def test_a_scheduler_address_that_is_not_dask_is_a_one_line_refusal(tmp_path, capsys, reply):
    pytest.importorskip("distributed", reason="Dask's distributed package is not installed")
    tiny_cnn().save(tmp_path / "good.keras")
    address, close = answering_server(reply)
    try:
        code = main([str(tmp_path / "good.keras"), "-o", str(tmp_path / "out"), "--scheduler", address,
                     "-q"])
    finally:
        close()
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error
    assert error.startswith(f"reportgen: cannot reach the Dask scheduler at {address}: ")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_scheduler_that_never_answers_the_handshake_is_refused_after_the_deadline():
    distributed = pytest.importorskip("distributed",
                                      reason="Dask's distributed package is not installed")
    from reportgen.errors import ReportInputError
    from reportgen.workers import _connected
    address, close = answering_server(None)
    try:
        with pytest.raises(ReportInputError, match="no answer to the handshake within 2 s"):
            _connected(distributed.Client, address, deadline=2)
    finally:
        close()


def test_models_with_alike_names_get_reports_of_their_own_names():
    # The red team's case: z's own name is what x's report was once given (stem + hash).
    names = report_names([Path("x/model.h5"), Path("y/model.h5"), Path("z/model-cfa5dbde.h5")])
    assert names == ["x-model", "y-model", "model-cfa5dbde"]
    # Paths that join to one name, a case-blind disk, and the index's own name.
    names = report_names([Path("a-b/c.h5"), Path("a/b-c.h5"), Path("w/c.h5"), Path("v/b-c.h5"),
                          Path("q/M.h5"), Path("r/m.h5"), Path("index.keras")])
    assert names == ["a-b-c", "a-b-c-2", "w-c", "v-b-c", "q-M", "r-m", "index-2"]
    # A number never takes a name another model is given as it is ("x-a-2" here).
    assert report_names([Path("x/a.h5"), Path("y/a.h5"), Path("x-a-2.h5"), Path("z/x-a.h5")]) \
        == ["x-a", "y-a", "x-a-2", "x-a-3"]


def test_a_glob_does_not_follow_links_to_folders(tmp_path):
    (tmp_path / "d" / "e").mkdir(parents=True)
    for name in ("d/m.h5", "d/e/n.h5"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "d" / "e" / "up").symlink_to("..")  # a loop: d/e/up/e/up/...
    (tmp_path / "d" / "e" / "again").symlink_to(tmp_path / "d")
    found = find_models([str(tmp_path / "d" / "**" / "*.h5")])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in found) == ["d/e/n.h5", "d/m.h5"]
    assert sorted(p.name for p in find_models([str(tmp_path / "d")])) == ["m.h5", "n.h5"]


@pytest.mark.slow
def test_every_row_links_to_its_own_models_report(tmp_path):
    models = tmp_path / "models"
    # z's name is what reportgen once named x's report (its stem and a hash of its path).
    once = hashlib.sha256(str((models / "x" / "model.h5").resolve()).encode()).hexdigest()[:8]
    for k, name in enumerate(("x/model.h5", "y/model.h5", f"z/model-{once}.h5")):
        (models / name).parent.mkdir(parents=True)
        keras_model = tiny_cnn()
        keras_model.get_layer("conv_b").set_weights(
            [w + k for w in keras_model.get_layer("conv_b").get_weights()])
        keras_model.save(models / name)
    out = tmp_path / "out"
    assert main([str(models), "-o", str(out), "-q", "--jobs", "1"]) == 0
    rows = json.loads((out / "index.json").read_text(encoding="utf-8"))["models"]
    assert len({row["report"] for row in rows}) == 3
    assert len(list((out / "reports").glob("*.html"))) == 3
    for row in rows:
        sidecar = json.loads((out / row["report"]).with_suffix(".json").read_text("utf-8"))
        own = hashlib.sha256(Path(row["file"]).read_bytes()).hexdigest()
        assert sidecar["model"]["sha256"] == row["sha256"] == own


def test_jobs_past_the_cores_are_capped_and_said(monkeypatch):
    import io

    from reportgen import batch as batch_module
    from reportgen.progress import Progress
    monkeypatch.setattr(batch_module, "default_jobs", lambda: 2)
    said = io.StringIO()
    # 200 files with --jobs 1000 once started 200 TensorFlow workers.
    assert batch_module.worker_count(1000, 200, Progress(stream=said)) == 2
    assert said.getvalue().strip().endswith("] --jobs 1000: more workers than the 2 cores "
                                            "this process may use; 2 workers at most")
    quiet = io.StringIO()
    assert batch_module.worker_count(2, 200, Progress(stream=quiet)) == 2
    assert batch_module.worker_count(None, 1, Progress(stream=quiet)) == 1
    assert quiet.getvalue() == ""
