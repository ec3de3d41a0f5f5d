"""Progress of long report runs, shown on standard error."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "StderrProgress", "no_progress"]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called as work advances (``total`` 0 when unknown)."""


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that says nothing."""


class StderrProgress:
    """Prints ``stage: done/total`` lines, at most one per ``interval_s`` per stage, and always
    the last one; on a terminal it rewrites one line instead."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._tty = self.stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        if not finished and now - self._last.get(stage, -1e9) < self.interval_s:
            return
        self._last[stage] = now
        text = f"{stage}: {done}/{total}" if total else f"{stage}..."
        if self._tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if finished else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
