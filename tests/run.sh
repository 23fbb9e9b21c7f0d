#!/usr/bin/env bash
# Install what the tests need, then run them: Chromium (Debian package) for the browser
# tests, reportgen with its test extras, then pytest. Extra arguments go to pytest.
# Works inside a virtual environment (python3 is then the environment's) and outside one.
set -euo pipefail
cd "$(dirname "$0")/.."
# fonts-noto-cjk: a Hangul font, so that the Korean report's browser test sees Hangul glyphs
# (not missing-glyph boxes); the report itself names the fonts and embeds none.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; } \
      || echo "run.sh: could not install Chromium and fonts-noto-cjk: the browser tests will" \
              "be skipped" >&2
  else
    echo "run.sh: Chromium or fonts-noto-cjk is missing (apt-get install chromium" \
         "fonts-noto-cjk): browser tests will skip" >&2
  fi
fi
python3 -m pip install -q -e ".[test]"
# The tests write only into temporary folders: no bytecode or pytest cache in the checkout.
export PYTHONDONTWRITEBYTECODE=1
# Every test: -m "" replaces the marker filter of pyproject.toml's addopts, which keeps a plain
# `pytest` to the fast tier (a -m among the arguments given here replaces it in turn).
python3 -m pytest -p no:cacheprovider -m "" "$@"
