import json
import signal
import subprocess
import sys

import pytest

from reportgen.errors import ReportInputError
from reportgen.page import write


def test_files_are_written_complete_and_nothing_else_is_left(tmp_path):
    target = tmp_path / "deep" / "r.html"
    write.write_all({target: "<p>é</p>", target.with_suffix(".json"): "{}"})
    assert target.read_text(encoding="utf-8") == "<p>é</p>"
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.html", "r.json"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)


def test_a_failed_write_keeps_the_old_report_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    target.write_text("old report", encoding="utf-8")

    def refuse(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write.os, "replace", refuse)
    with pytest.raises(ReportInputError, match="No space left"):
        write.write_all({target: "new report"})
    assert target.read_text(encoding="utf-8") == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


@pytest.mark.parametrize("target", ["/sys/x.html", "/proc/x.html"])
def test_unwritable_system_folders_are_found_before_any_work(target):
    with pytest.raises(ReportInputError, match="cannot write there"):
        write.check_writable([write.Path(target)])


def test_an_output_below_a_file_is_refused(tmp_path):
    model = tmp_path / "model.h5"
    model.write_bytes(b"x")
    with pytest.raises(ReportInputError, match="not a directory"):
        write.check_writable([model / "r.html"])
    assert model.read_bytes() == b"x"


def test_a_missing_folder_is_writable_and_not_created_by_the_check(tmp_path):
    write.check_writable([tmp_path / "a" / "b" / "r.html"])
    assert list(tmp_path.iterdir()) == []


KILLER = """
import os, signal, sys
from pathlib import Path
from reportgen.page import write
step = int(sys.argv[2])
calls = {"n": 0}
real_replace, real_open = write.os.replace, open

def counted(name, function):
    def run(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step:
            os.kill(os.getpid(), signal.SIGKILL)
        return function(*args, **kwargs)
    return run

write.os.replace = counted("replace", real_replace)
write.open = counted("open", real_open)
html = Path(sys.argv[1])
write.write_all({html.with_suffix(".json"): '{"run": "new"}', html: "<p>new</p>"})
"""


@pytest.mark.parametrize("step", range(1, 7))
def test_a_run_killed_at_any_step_leaves_a_matching_pair_after_the_next_run(tmp_path, step):
    html, sidecar = tmp_path / "r.html", tmp_path / "r.json"
    html.write_text("<p>old</p>")
    sidecar.write_text('{"run": "old"}')
    done = subprocess.run([sys.executable, "-c", KILLER, str(html), str(step)],
                          capture_output=True, text=True, timeout=60)
    killed = done.returncode == -signal.SIGKILL
    # Whatever happened, each file is complete: the old one or the new one.
    assert html.read_text() in ("<p>old</p>", "<p>new</p>")
    assert json.loads(sidecar.read_text())["run"] in ("old", "new")
    # The next run on the same output (here: its first step) finishes or clears what was left.
    write.recover([sidecar, html])
    pair = (json.loads(sidecar.read_text())["run"], html.read_text())
    assert pair in (("old", "<p>old</p>"), ("new", "<p>new</p>")), (step, killed, pair)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]
    if not killed:
        assert pair == ("new", "<p>new</p>")


def test_temporary_files_of_a_running_writer_are_left_alone(tmp_path):
    target = tmp_path / "r.html"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        theirs = tmp_path / f".r.html.{sleeper.pid}.part{write.TEMP_MARK}"
        stale = tmp_path / f".r.html.{2 ** 22 + 7}.part{write.TEMP_MARK}"
        theirs.write_text("half")
        stale.write_text("half")
        write.recover([target])
        assert theirs.exists() and not stale.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
