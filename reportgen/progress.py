"""Progress lines on stderr for the slow steps; silent with -q."""

from __future__ import annotations

import sys
import time

from reportgen.i18n import localised


class Progress:
    """Announces each step with the time the previous one took."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()

    def step(self, message: str) -> None:
        """Say what is being done now (in the run's language)."""
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            print(f"reportgen [{elapsed:5.1f}s] {localised(message)}", file=self.stream,
                  flush=True)
