import pytest

from reportgen.report import write


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
        raise OSError("disk full")

    monkeypatch.setattr(write.os, "replace", refuse)
    with pytest.raises(OSError):
        write.write_all({target: "new report"})
    assert target.read_text(encoding="utf-8") == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
