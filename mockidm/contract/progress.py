"""The run's progress lines: one per rule, and inside a long rule how far it has got.

A rule's line is `[24/29] fuzz-conformance ... ok (15.82 s)`. While a rule reports progress
(the `fuzz-*` rules' schemathesis runs take seconds), a terminal shows a bar redrawn in place on
that line; elsewhere (a pipe, a CI log) a plain line is written at each fifth of the work, and
the rule's line is written again when it ends. Without a stream (`--quiet`, the pytest plugin)
nothing is written.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import TextIO

BAR = 24  # characters of the bar
STEPS = 5  # plain lines per piece of work: one at each fifth
REDRAW = 0.1  # seconds between two redraws of the bar


class Progress:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.terminal = stream is not None and _is_terminal(stream)
        self._line = ""  # the rule's line so far: "[24/29] fuzz-conformance ... "
        self._shown = False  # the work was shown: the rule's line needs writing again
        self._drawn = 0.0  # when the bar was last drawn
        self._what = ""  # the piece of work last reported
        self._step = -1  # the last fifth of it a plain line was written for

    def rule(self, line: str) -> None:
        """A rule starts: its line, up to its result."""
        self._line, self._shown, self._what = line, False, ""
        self._write(line)

    def update(self, what: str, done: int, total: int, unit: str, note: str = "") -> None:
        """`done` of `total` `unit` of `what` (a piece of work inside the rule), and a note."""
        if self.stream is None or total <= 0:
            return
        done = min(done, total)
        text = f"{what}: {done}/{total} {unit}" + (f", {note}" if note else "")
        if self.terminal:
            now = time.monotonic()
            if now - self._drawn < REDRAW and done < total:
                return
            self._drawn = now
            filled = BAR * done // total
            self._redraw(f"{self._line}[{'#' * filled}{'.' * (BAR - filled)}] {text}")
            self._shown = True
            return
        step = STEPS * done // total
        if not self._shown:
            self._write("\n")
            self._shown = True
        if what != self._what:
            self._what, self._step = what, -1
        if step > self._step:
            self._step = step
            self._write(f"  {text}\n")

    def result(self, text: str) -> None:
        """The rule's result, which ends its line (written again after plain lines)."""
        if self._shown:
            if self.terminal:
                self._redraw(self._line)
            else:
                self._write(self._line)
        self._shown = False
        self._write(text + "\n")

    def say(self, text: str) -> None:
        """Text of the run's own (the cleanup), on a line of its own after a rule's work."""
        if self._shown:  # a rule was interrupted mid-way (Ctrl-C)
            self._write("\n")
            self._shown = False
        self._write(text)

    def _redraw(self, line: str) -> None:
        width = shutil.get_terminal_size().columns - 1  # a full line would wrap
        self._write("\r" + line[:width].ljust(width) + "\r" + line[:width])

    def _write(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(text)
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # a closed stream, or not a real file
        return False
