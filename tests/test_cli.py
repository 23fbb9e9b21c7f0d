"""End-to-end: the real command on real files, checked through the HTML and JSON it writes."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conftest import HOSTILE_NAME, gray_png, run_cli
from reportgen.cli import main
from test_render import PageParser



@pytest.fixture(scope="module")
def hostile_labels(tmp_path_factory):
    path = tmp_path_factory.mktemp("labels") / "labels.txt"
    path.write_text("<script>alert(1)</script>\nsecond\nthird\nfourth\n", encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_command_writes_a_self_contained_report(tmp_path, tiny_files, tiny_model, kind,
                                                hostile_labels):
    out = tmp_path / "report.html"
    sample = gray_png(tmp_path / "sample.png", side=24)
    result = run_cli(tiny_files[kind], "-o", out, "--input", sample, "--labels", hostile_labels)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    html = out.read_text(encoding="utf-8")
    page = PageParser()
    page.feed(html)

    assert page.images and all(i["src"].startswith("data:image/png;base64,") for i in page.images)
    assert all(ref.startswith(("data:", "#")) for ref in page.references)
    assert "http:" not in html and "https:" not in html
    assert re.findall(r"url\((?!#)", html) == []  # only the page's own SVG markers
    assert "script" not in page.tags
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert all(link[1:] in page.ids for link in page.links)

    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["mode"] == "full" and data["schema_version"] == 1
    assert [l["name"] for l in data["layers"]] == [l.name for l in tiny_model.layers]
    kernel = tiny_model.layers[0].get_weights()[0].astype(np.float64)
    stats = data["layers"][0]["weights"][0]
    assert stats["shape"] == list(kernel.shape)
    assert stats["mean"] == pytest.approx(kernel.mean(), abs=1e-9)
    assert stats["std"] == pytest.approx(kernel.std(), abs=1e-9)
    assert data["layers"][0]["init"][0]["shape"] == list(kernel.shape)
    shapes = {a["name"]: a["shape"] for a in data["activations"][0]["layers"]}
    assert shapes[HOSTILE_NAME] == [12, 12, 6] and shapes["conv_b"] == [4, 4, 5]
    assert len(data["predictions"][0]["top"]) == 4
    # Trained and initial mosaics of 2 conv kernels, each with its colour bar; the Dense
    # layer's unit templates (it reads a flattened 4x4x5 map) with a colour bar; feature maps
    # of the 3 image-shaped outputs, with one colour bar; the input; Grad-CAM's plain
    # input, its two overlays (Grad-CAM, Grad-CAM++) and its colour bar; the preferred input
    # of every filter of the first (6) and last (5) convolution, and of its fresh twin; the
    # attributed input with its IG and SmoothGrad maps.
    assert len(page.images) == (2 * (2 + 1) + (1 + 1) + (3 + 1) + 1 + (1 + 2 + 1)
                                + 2 * (6 + 5) + (1 + 2))


@pytest.mark.slow
def test_default_output_goes_to_output_folder(tmp_path, tiny_files):
    result = run_cli(tiny_files["keras"], "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "output" / "tiny.html").is_file()
    assert (tmp_path / "output" / "tiny.json").is_file()
    assert "synthetic test pattern" in (tmp_path / "output" / "tiny.html").read_text("utf-8")


@pytest.mark.slow
def test_progress_lines_go_to_stderr(tmp_path, tiny_files, capsys):
    assert main([str(tiny_files["h5"]), "-o", str(tmp_path / "r.html")]) == 0
    err = capsys.readouterr().err
    assert "loading tiny.h5" in err and "wrote" in err


@pytest.mark.slow
def test_same_input_gives_byte_identical_reports(tmp_path, tiny_files, monkeypatch):
    from reportgen.analyse import weight_memo

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for name in ("a", "b"):
        # Each run works its facts out anew, as two processes would (not from the memo).
        monkeypatch.setattr(weight_memo, "SHARED", weight_memo.WeightMemo())
        assert main([str(tiny_files["keras"]), "-q", "-o", str(tmp_path / f"{name}.html")]) == 0
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert "2023-11-14 22:13:20 UTC" in (tmp_path / "a.html").read_text("utf-8")


def bad_files(tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    (tmp_path / "text.keras").write_text("just some words\n")
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    (tmp_path / "folder.h5").mkdir()
    return {"missing": tmp_path / "absent.h5", "empty": tmp_path / "empty.h5",
            "text": tmp_path / "text.keras", "broken zip": tmp_path / "broken.keras",
            "directory": tmp_path / "folder.h5"}


@pytest.mark.parametrize("case", ["missing", "empty", "text", "broken zip", "directory"])
def test_bad_model_files_get_one_line_and_exit_2(tmp_path, case, capsys):
    path = bad_files(tmp_path)[case]
    out = tmp_path / "out" / "r.html"
    assert main([str(path), "-q", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("reportgen: ") and str(path) in err
    assert not (tmp_path / "out").exists()


def test_bad_input_through_the_real_command(tmp_path, tiny_files):
    broken = bad_files(tmp_path)["broken zip"]
    result = run_cli(broken, "-o", tmp_path / "r.html", "-q")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_an_input_the_loaded_model_cannot_take_leaves_the_weights_report_standing(tmp_path):
    # A readable PNG for a model that reads 20 values (not an image): the model loaded, so
    # its report is written, and says why there are no activations.
    import keras

    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(3, name="hidden"),
                              keras.layers.Dense(1, activation="sigmoid", name="out")])
    model.save(tmp_path / "tabular.keras")
    picture = gray_png(tmp_path / "photo.png")
    out = tmp_path / "r.html"
    assert main([str(tmp_path / "tabular.keras"), "--input", str(picture), "-q",
                 "-o", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert data["mode"] == "full" and data["predictions"] == [] and data["inputs"] == []
    assert "photo.png" in data["forward_error"] and "(20,)" in data["forward_error"]
    assert any(data["forward_error"] in note for note in data["notes"])
    kernel = model.get_layer("hidden").get_weights()[0].astype(np.float64)
    assert data["layers"][0]["weights"][0]["std"] == pytest.approx(kernel.std(), abs=1e-7)
    # An input that cannot be read at all is still a refusal.
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main([str(tmp_path / "tabular.keras"), "--input", str(tmp_path / "broken.png"), "-q",
                 "-o", str(tmp_path / "r2.html")]) == 2


@pytest.mark.parametrize("extra, message", [
    (["--input", "absent.png"], "no such input file"),
    (["--input", "notes.txt"], "unsupported input type"),
    (["-o", "report.json"], "must be an .html file"),
])
def test_bad_options_are_refused_before_any_output(tmp_path, tiny_files, extra, message,
                                                   capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hi")
    args = [str(tiny_files["keras"]), "-q"] + (extra if "-o" in extra else extra + ["-o", "r.html"])
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob("*.json"))


def test_a_report_never_overwrites_its_own_input(tmp_path, tiny_files, capsys):
    labels = tmp_path / "labels.html"
    labels.write_text("a\nb\n")
    assert main([str(tiny_files["keras"]), "--labels", str(labels), "-o", str(labels)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert labels.read_text() == "a\nb\n"


def test_failed_run_keeps_the_previous_report(tmp_path, tiny_files, capsys):
    out = tmp_path / "r.html"
    out.write_text("previous report")
    assert main([str(tiny_files["keras"]), "-q", "-o", str(out), "--input",
                 str(tmp_path / "absent.png")]) == 2
    assert out.read_text() == "previous report"


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2
    with pytest.raises(SystemExit) as stop:
        main(["m.keras", "--style", "comic"])
    assert stop.value.code == 2
    assert "unknown style 'comic': choose default, book" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["m.keras", "--max-filters", "0"])
    assert stop.value.code == 2


def test_help_runs():
    result = run_cli("--help")
    assert result.returncode == 0 and "--max-filters" in result.stdout


def test_a_long_step_says_how_far_it_is_at_most_every_so_often():
    import io

    from reportgen.progress import Progress

    stream = io.StringIO()
    progress = Progress(stream=stream, every=0.0)
    progress.count("ran {done} of {total}", 3, 10)
    progress.count("ran {done} of {total}", 10, 10)  # finished: the next step says so
    assert stream.getvalue().count("ran 3 of 10") == 1 and "10 of 10" not in stream.getvalue()
    quiet = io.StringIO()
    rare = Progress(stream=quiet, every=3600.0)
    rare.count("ran {done} of {total}", 5, 10)
    assert quiet.getvalue() == ""


def test_the_sample_files_are_never_overwritten_by_the_sidecar(tmp_path, tiny_files, capsys):
    # -o ylab.html wrote its sidecar over the --data-labels ylab.json it was reading.
    images, labels = tmp_path / "x.npy", tmp_path / "ylab.json"
    np.save(images, np.zeros((4, 12, 12), np.uint8))
    with labels.open("wb") as handle:  # an .npy array under another name
        np.save(handle, np.array([0, 1, 2, 0]))
    before = labels.read_bytes()
    assert main([str(tiny_files["keras"]), "--data", str(images), "--data-labels", str(labels),
                 "-o", str(tmp_path / "ylab.html")]) == 2
    assert "ylab.json: refusing to overwrite an input file" in capsys.readouterr().err
    assert labels.read_bytes() == before and np.load(images).shape == (4, 12, 12)


def test_the_demo_refuses_what_it_makes_itself(tmp_path, capsys):
    # --demo once ignored --data and wrote its sidecar over the --data-labels file.
    labels = tmp_path / "ylab.json"
    labels.write_text("[0]")
    with pytest.raises(SystemExit) as stop:
        main(["--demo", "--data", "x.npy", "--data-labels", str(labels), "-o",
              str(tmp_path / "ylab.html")])
    assert stop.value.code == 2 and labels.read_text() == "[0]"
    assert "--demo makes its own model, inputs and labelled sample: it does not take " \
           "--data, --data-labels" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("after, wait", [("importing TensorFlow", 1.0), ("trained: accuracy", 0.5),
                                         ("trained: accuracy", 0.7)])
def test_ctrl_c_exits_130_with_nothing_half_written(tmp_path, after, wait):
    # Ctrl-C once ended as "internal error" (exit 1); during TensorFlow's import as signal
    # 11; and, landing in one of TensorFlow's weakref callbacks, it was lost: the run wrote
    # its report and exited 0. The demo trains (importing TensorFlow), then reports.
    import signal
    import subprocess
    import sys
    import time
    out = tmp_path / "out" / "r.html"
    run = subprocess.Popen([sys.executable, "-m", "reportgen", "--demo", "-o", str(out)],
                           stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    said = []
    for line in run.stderr:
        said.append(line)
        if after in line:
            break
    time.sleep(wait)
    run.send_signal(signal.SIGINT)
    rest = run.stderr.read()
    assert run.wait(timeout=300) == 130, (said, rest)
    assert rest.strip().splitlines()[-1] == "reportgen: interrupted"
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert not out.parent.exists() or not [p.name for p in out.parent.iterdir()
                                            if "reportgen-tmp" in p.name]


def test_an_error_after_ctrl_c_is_the_interrupt(monkeypatch, capsys):
    # Ctrl-C that landed in h5py's lock came out as a SystemError, read as an unreadable
    # file (exit 2): once Ctrl-C was pressed, whatever fails next is the interrupt.
    import argparse

    from reportgen import commands, process
    from reportgen.errors import ReportInputError

    def unreadable():
        raise ReportInputError("model.h5: unreadable HDF5 structure: <FastRLock> returned a "
                               "result with an exception set")

    args = argparse.Namespace(quiet=True, debug=False, lang=None)
    assert commands.run_guarded(args, unreadable) == commands.EXIT_INPUT
    monkeypatch.setattr(process, "_interrupted", True)
    assert commands.run_guarded(args, unreadable) == commands.EXIT_INTERRUPTED
    assert capsys.readouterr().err.splitlines()[-1] == "reportgen: interrupted"


def test_see_also_links_another_report_relative_to_this_one(tmp_path, tiny_files):
    from reportgen.pipeline.request import see_also_links

    out = tmp_path / "audits" / "v2" / "r.html"
    other = tmp_path / "audits" / "v1 & old" / "<r>.html"
    assert see_also_links([other], out) == (
        {"text": "<r>.html", "href": "../v1%20%26%20old/%3Cr%3E.html"},)
    assert main([str(tiny_files["keras"]), "-q", "-o", str(out), "--see-also", str(other)]) == 0
    page = out.read_text("utf-8")
    assert '<p class="see-also">See also: <a href="../v1%20%26%20old/%3Cr%3E.html">' \
           '&lt;r&gt;.html</a></p>' in page
    assert "see_also" not in json.loads(out.with_suffix(".json").read_text("utf-8"))["settings"]
