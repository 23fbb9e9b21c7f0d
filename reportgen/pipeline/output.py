"""Where a report goes: its page and JSON sidecar, checked before any work (not over an
input, a folder, or somewhere that cannot be written) and written as one unit (page/write.py).
The single report, the API and compare all write through here."""

from __future__ import annotations

from pathlib import Path

from reportgen.i18n import _
from reportgen.page.write import check_writable, recover, write_all
from reportgen.progress import Progress
from reportgen.pipeline.request import card_path, output_paths


class Output:
    """The page and sidecar paths of an output, checked on creation."""

    def __init__(self, html: Path, protected: list[Path]):
        self.html, self.json = output_paths(html, protected)
        check_writable([self.html, self.json, card_path(self.html)])
        recover([self.html, self.json, card_path(self.html)])

    def write(self, html: str, sidecar: str, progress: Progress | None = None,
              card: str | None = None) -> tuple[Path, Path]:
        """Both files (and the model card OUT.card.md when given), complete: the old ones
        stay until every new one is written."""
        if progress is not None:
            progress.step(_("writing {path}").format(path=self.html))
        files = {self.html: html, self.json: sidecar}
        if card is not None:
            files[card_path(self.html)] = card
        write_all(files)
        return self.html, self.json
