"""Progress lines on stderr for the slow steps; silent with -q."""

from __future__ import annotations

import sys
import time

from reportgen.i18n import localised
from reportgen.process import raise_if_interrupted


# A long step says how far it is at least this often, so that a run is never silent for
# long (a sample of 100,000 images once printed nothing for 109 s).
EVERY_SECONDS = 10.0


class Progress:
    """Announces each step with the time the previous one took."""

    def __init__(self, quiet: bool = False, stream=None, every: float = EVERY_SECONDS):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.every = every
        self.said = self.started

    def count(self, message: str, done: int, total: int) -> None:
        """How far a long step is ("{done} of {total}" in `message`), said at most every
        `every` seconds."""
        raise_if_interrupted()
        now = time.perf_counter()
        if now - self.said >= self.every and done < total:
            self.step(message.format(done=done, total=total))

    def step(self, message: str) -> None:
        """Say what is being done now (in the run's language); a step is where a lost Ctrl-C
        is taken up again (process.interrupt_on_ctrl_c)."""
        raise_if_interrupted()
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            print(f"reportgen [{elapsed:5.1f}s] {localised(message)}", file=self.stream,
                  flush=True)
        self.said = time.perf_counter()
