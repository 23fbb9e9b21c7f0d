"""The report in Korean (`--lang ko`): complete catalogs, the same numbers, a language-neutral
JSON sidecar, Korean errors and progress lines, and the default language from the locale.

The catalog checks extract every marked string from the Python sources and the templates
with Babel's extraction API (tools/i18n.py, the tool that maintains the catalogs) and hold
the Korean catalog against them: a string without a translation, a fuzzy one or a dropped
placeholder fails here.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import (BOOK, FASHION, HOSTILE_NAME, REPO, gray_png, require_shared, run_cli,
                      tiny_cnn)
from reportgen.sections.registry import ALL_KINDS
from reportgen.i18n import Message, default_language, language, localised, msg

HANGUL = re.compile("[\uac00-\ud7a3]")
# Strings of the report's page, alert texts and errors that must come out in Korean.
KOREAN = {"Summary": "요약", "Weights": "가중치", "Feature maps": "특성 맵",
          "Dead channels": "죽은 채널", "What was checked, with thresholds": "검사한 항목과 임곗값",
          "{path}: no such {role}": "{path}: 없는 {role}입니다"}


def i18n_tool():
    """tools/i18n.py, the catalog tool (Babel is a test dependency, not a run-time one)."""
    pytest.importorskip("babel", reason="Babel is in the test extra: pip install -e '.[test]'")
    spec = importlib.util.spec_from_file_location("i18n_tool", REPO / "tools" / "i18n.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_every_string_of_the_sources_has_a_korean_translation():
    tool = i18n_tool()
    extracted = tool.extract()
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extracted if m.id}
    where = {f for m in extracted for f, _ in m.locations}
    # The extraction reaches every kind of source: templates, alerts, views, errors, notes.
    for source in ("templates/report.html.j2", "templates/sections/evaluation.html.j2",
                   "reportgen/analyse/weight_alerts.py", "reportgen/analyse/evaluation.py",
                   "reportgen/analyse/cam.py", "reportgen/sections/summary.py",
                   "reportgen/load/guards.py", "reportgen/page/write.py",
                   "reportgen/options.py", "reportgen/pipeline/model_run.py"):
        assert source in where, source
    assert set(KOREAN) <= ids
    assert tool.problems("ko") == []


def test_the_catalog_says_what_the_glossary_says():
    catalog = {m.id: m.string for m in i18n_tool().read_catalog("ko") if isinstance(m.id, str)}
    glossary = (REPO / "reportgen" / "locale" / "GLOSSARY.md").read_text(encoding="utf-8")
    for english, korean in KOREAN.items():
        assert catalog[english] == korean
    terms = {term.strip() for row in glossary.splitlines() if row.startswith("| ")
             for term in re.split(r"[/,]", row.split("|")[2])}
    for term in ("합성곱 층", "필터", "커널", "가중치", "절편", "특성 맵", "층", "밀집층",
                 "활성화 함수", "배치 정규화", "임베딩", "정확도", "혼동 행렬"):
        assert term in terms, term
    # The chapter's terms, not their synonyms: 훈련 for training, 특성 맵 for feature map.
    text = " ".join(str(s) for s in catalog.values())
    for avoided in ("피처 맵", "특징 맵", "바이어스", "편향", "레이어", "학습 데이터"):
        assert avoided not in text, avoided


def test_alert_texts_and_error_messages_are_translatable():
    for kind in ALL_KINDS:
        for text in (kind.title, kind.threshold, kind.explanation):
            assert isinstance(text, Message), (kind.name, text)
            with language("ko"):
                assert HANGUL.search(localised(text)), (kind.name, text)
    # Every one-line error reportgen raises carries a Message (a plain f-string would stay
    # English in a Korean run).
    untranslated = []
    for path in sorted((REPO / "reportgen").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                    getattr(node.exc.func, "id", "") in ("ReportInputError", "WeightsUnreadable",
                                                         "ModelNotRebuilt") and \
                    node.exc.args and isinstance(node.exc.args[0], (ast.JoinedStr, ast.Constant)):
                untranslated.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert untranslated == []


def test_a_message_is_english_as_a_string_and_korean_where_shown():
    note = msg("{path}: no such {role}", path="a.keras", role=msg("model file"))
    assert note == "a.keras: no such model file"  # what the JSON and logs see
    assert json.dumps(note) == '"a.keras: no such model file"'
    with language("ko"):
        assert localised(note) == "a.keras: 없는 모델 파일입니다"
        assert f"{note}" == "a.keras: 없는 모델 파일입니다"  # the page's own f-strings
        assert str(note) == "a.keras: no such model file"
    assert localised(note) == "a.keras: no such model file"


@pytest.mark.parametrize("environ, expected", [
    ({"LANG": "ko_KR.UTF-8"}, "ko"), ({"LC_ALL": "ko_KR.eucKR", "LANG": "en_US.UTF-8"}, "ko"),
    ({"LC_ALL": "C.UTF-8", "LANG": "ko_KR.UTF-8"}, "en"), ({"LANG": "en_GB.UTF-8"}, "en"),
    ({"LANG": "ko"}, "ko"), ({"LANG": "kok_IN"}, "en"), ({}, "en")])
def test_the_default_language_is_korean_only_in_a_korean_locale(environ, expected):
    assert default_language(environ) == expected


def labelled_sample(folder: Path) -> tuple[Path, Path]:
    """Twenty 12x12 images in four classes, as .npy files, for the evaluation sections."""
    rng = np.random.default_rng(3)
    images, labels = folder / "images.npy", folder / "labels.npy"
    np.save(images, (rng.random((20, 12, 12)) * 255).astype(np.uint8))
    np.save(labels, np.arange(20) % 4)
    return images, labels


@pytest.fixture(scope="module")
def both_languages(tiny_files, tmp_path_factory) -> dict[str, dict]:
    """The tiny CNN's report in English and in Korean, with an input and a labelled sample,
    so that notes (one label too many), alerts, predictions and the evaluation are all there."""
    import reportgen

    folder = tmp_path_factory.mktemp("i18n")
    picture = folder / "square.png"
    gray_png(picture, side=12)
    images, labels = labelled_sample(folder)
    made = {}
    for lang in ("en", "ko"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
            report = reportgen.report(tiny_files["keras"], inputs=[str(picture)],
                                      labels=["a", "b", "c", "d", "e"], data=images,
                                      data_labels=labels, lang=lang)
        made[lang] = {"html": report.html, "facts": report.facts, "sidecar": report.sidecar}
    return made


@pytest.mark.slow
def test_the_json_sidecar_is_the_same_in_both_languages_but_for_lang(both_languages):
    english, korean = both_languages["en"]["facts"], both_languages["ko"]["facts"]
    assert (english.pop("lang"), korean.pop("lang")) == ("en", "ko")
    assert english == korean
    assert english["alerts"] and english["notes"] and english["evaluation"]
    assert not HANGUL.search(both_languages["ko"]["sidecar"])


def test_the_korean_page_is_korean_with_the_same_pictures(both_languages):
    english, korean = both_languages["en"]["html"], both_languages["ko"]["html"]
    assert '<html lang="en">' in english and '<html lang="ko">' in korean
    for word in ("요약", "가중치", "특성 맵", "레이블된 샘플로 평가", "혼동", "경고"):
        assert word in korean, word
    visible = re.sub(r"<(style|svg)\b.*?</\1>|<[^>]+>|data:[^\"']+", " ", korean, flags=re.S)
    for english_text in ("What was checked", "Feature maps and prediction", "Summary",
                         "Per-channel statistics", "Most confident mistakes", "Back to the top"):
        assert english_text not in visible, english_text
    # No text is drawn into a picture: the PNGs are byte for byte the same in both languages.
    pictures = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    assert pictures.findall(korean) == pictures.findall(english) != []
    # Model text stays escaped in Korean too.
    assert HOSTILE_NAME not in korean and "&lt;img src=x onerror=alert(1)&gt;" in korean


@pytest.mark.slow
def test_the_command_line_speaks_korean(tiny_files, tmp_path):
    run = run_cli(tiny_files["keras"], "--lang", "ko", "-o", tmp_path / "ko.html")
    assert run.returncode == 0, run.stderr
    assert "통계 계산 중" in run.stderr and "페이지 만드는 중" in run.stderr
    assert "요약" in (tmp_path / "ko.html").read_text(encoding="utf-8")
    missing = run_cli(tmp_path / "absent.keras", "--lang", "ko")
    assert (missing.returncode, missing.stderr.strip()) == \
        (2, f"reportgen: {tmp_path / 'absent.keras'}: 없는 모델 파일입니다")
    # The locale decides without --lang, and --lang overrides it.
    by_locale = run_cli(tmp_path / "absent.keras", env={"LANG": "ko_KR.UTF-8", "LC_ALL": ""})
    assert by_locale.stderr.strip().endswith("없는 모델 파일입니다")
    overridden = run_cli(tmp_path / "absent.keras", "--lang", "en",
                         env={"LANG": "ko_KR.UTF-8", "LC_ALL": ""})
    assert overridden.stderr.strip().endswith("absent.keras: no such model file")
    unknown = run_cli(tiny_files["keras"], "--lang", "fr")
    assert unknown.returncode == 2 and "--lang" in unknown.stderr
    usage = run_cli("--help", "--lang", "ko")
    assert "보고서 언어" in usage.stdout


def test_an_error_inside_the_data_is_korean_and_its_json_reason_english(tiny_files, tmp_path):
    # A weights-only report of a file Keras cannot rebuild: the reason is a Message, shown in
    # Korean in the banner and kept English in the sidecar.
    run = run_cli(tiny_files["h5"], "--weights-only", "--lang", "ko", "-q",
                  "-o", tmp_path / "wo.html")
    assert run.returncode == 0, run.stderr
    page = (tmp_path / "wo.html").read_text(encoding="utf-8")
    assert "가중치만 담은 보고서입니다." in page and "--weights-only를 지정함" in page
    sidecar = json.loads((tmp_path / "wo.json").read_text(encoding="utf-8"))
    assert sidecar["weights_only_reason"] == "--weights-only was given"


@pytest.mark.slow  # several seconds; CI's full run (tests/run.sh) has it
def test_the_book_report_in_korean_has_the_chapter_figures(tmp_path):
    model = require_shared(BOOK / "best-cnn-model.keras")
    run = run_cli(model, "--input", FASHION / "ankle_boot.png", "--labels",
                  FASHION / "classes.txt", "--lang", "ko", "-q", "-o", tmp_path / "book.html")
    assert run.returncode == 0, run.stderr
    page = (tmp_path / "book.html").read_text(encoding="utf-8")
    assert "입력 ankle_boot.png: 예측 Ankle boot(1.000)." in page
    assert "층 8개(가중치가 있는 층 4개), 파라미터 333,526개." in page
    facts = json.loads((tmp_path / "book.json").read_text(encoding="utf-8"))
    kernel = facts["layers"][0]["weights"][0]
    assert kernel["shape"] == [3, 3, 1, 32]
    assert kernel["mean"] == pytest.approx(-0.014383553, abs=1e-7)
    assert facts["lang"] == "ko"


@pytest.mark.slow
def test_compare_and_batch_pages_speak_korean_with_language_neutral_json(tmp_path):
    # Two checkpoints of the tiny CNN, one with a layer changed, compared in both languages;
    # and a batch over them plus an empty file, in Korean.
    folder = tmp_path / "models"
    folder.mkdir()
    model = tiny_cnn()
    model.save(folder / "before.keras")
    layer = model.get_layer("conv_b")
    layer.set_weights([w + 0.5 for w in layer.get_weights()])
    model.save(folder / "after.keras")
    (folder / "empty.h5").write_bytes(b"")
    sidecars = {}
    for lang in ("en", "ko"):
        run = run_cli("compare", folder / "before.keras", folder / "after.keras", "--lang", lang,
                      "-o", tmp_path / f"compare-{lang}.html")
        assert run.returncode == 0, run.stderr
        sidecars[lang] = json.loads((tmp_path / f"compare-{lang}.json").read_text("utf-8"))
    assert "비교 중" in run.stderr
    page = (tmp_path / "compare-ko.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "깊이별 변화" in page and "짝지음(이름으로" in page
    assert not HANGUL.search(json.dumps(sidecars["ko"], ensure_ascii=False))
    assert (sidecars["en"].pop("lang"), sidecars["ko"].pop("lang")) == ("en", "ko")
    for sidecar in sidecars.values():
        sidecar.pop("generated_at")
    assert sidecars["en"] == sidecars["ko"]

    out = tmp_path / "batch"
    run = run_cli("batch", folder, "-o", out, "--jobs", "1", "--lang", "ko")
    assert run.returncode == 3, run.stderr
    index_page = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in index_page and "거부됨: " in index_page
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index["lang"] == "ko" and not HANGUL.search(json.dumps(index, ensure_ascii=False))
    report = (out / index["models"][0]["report"]).read_text(encoding="utf-8")
    assert '<html lang="ko">' in report and "요약" in report


def test_help_and_usage_errors_are_korean_under_a_korean_locale(capsys, monkeypatch):
    # argparse's own words ("usage:", "options", its errors) were English under ko_KR.UTF-8.
    import argparse

    from reportgen.cli import main
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert shown.startswith("사용법: reportgen") and "\n옵션:\n" in shown and "위치 인자" in shown
    assert "show this help" not in shown and "usage:" not in shown
    with pytest.raises(SystemExit) as stop:
        main(["m.keras", "--nope"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().endswith("reportgen: 오류: 알 수 없는 인자: --nope")
    # argparse speaks English again outside reportgen's parsing.
    assert argparse._("usage: ") == "usage: "


@pytest.mark.slow
def test_the_glossary_explains_the_reports_words_in_the_pages_language(tiny_model):
    import reportgen

    english = reportgen.report(tiny_model).html
    korean = reportgen.report(tiny_model, lang="ko").html
    assert '<section id="glossary">' in english and "<dt>stable rank</dt>" in english
    start = korean.index('<section id="glossary">')
    glossary = korean[start:korean.index("</section>", start)]
    assert "<dt>안정 랭크</dt>" in glossary and "용어 풀이" in glossary
    # Nothing English but the names of methods (Grad-CAM, ECE) and WᵀW.
    words = set(re.findall(r"[A-Za-z]{3,}", re.sub(r"<[^>]+>", " ", glossary)))
    assert words <= {"Grad", "CAM", "ECE"}, words
