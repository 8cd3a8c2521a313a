"""Progress bars for the stages of a command, drawn one at a time with tqdm."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

# tqdm's delay, in seconds, for a stream that is not a terminal: the bar is never drawn while
# it runs, and StageBars writes its final state as one line instead.
_NEVER = float("inf")


class StageBars:
    """Progress bars of consecutive stages, one bar open at a time.

    A stage's bar opens when the stage first reports progress and closes the bar before it.
    Two open bars would make tqdm move the cursor between lines (ESC [A), which a log file
    keeps as junk. When the stream is not a terminal, a bar is not redrawn while it runs
    (each redraw would join the log lines on one line), and its final state is written as
    one line when it closes.
    """

    def __init__(self, stages: dict[str, dict[str, Any]], stream: TextIO | None = None) -> None:
        """Take tqdm's options (desc, total, unit) for each stage name."""
        self._stages = stages
        self._stream = stream or sys.stderr
        self._terminal = self._stream.isatty()
        self._counts = dict.fromkeys(stages, 0)
        self._stage: str | None = None
        self._bar: tqdm | None = None

    def update(self, stage: str, amount: int = 1) -> None:
        """Add ``amount`` to the stage's count. A new stage closes the open bar and opens its own."""
        if stage != self._stage:
            self.close()
            self._bar = self._open(stage)
            self._stage = stage
        assert self._bar is not None
        self._bar.update(amount)
        self._counts[stage] += amount

    def close(self) -> None:
        """Close the open bar, if any, leaving its final state on the stream."""
        if self._bar is None:
            return
        if not self._terminal:
            self._stream.write(f"{self._bar}\n")
            self._stream.flush()
        self._bar.close()
        self._bar = None
        self._stage = None

    def _open(self, stage: str) -> tqdm:
        # A stage that reports again after another one continues from its earlier count.
        options: dict[str, Any] = {**self._stages[stage], "initial": self._counts[stage], "leave": True, "file": self._stream}
        if not self._terminal:
            options.update(delay=_NEVER, ascii=True)
        return tqdm(**options)
