"""Named pause points, so the crash-safety tests can kill a run at a known step.

With HUB_TEST_PAUSE_AT=<name>, the step that reaches pause_point(<name>) writes the file named
by HUB_TEST_PAUSE_MARKER (when set) and sleeps, and the test kills the process there. Unset,
a pause point does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_PAUSE_S = 600.0


def pause_point(name: str) -> None:
    if os.environ.get("HUB_TEST_PAUSE_AT") != name:
        return
    marker = os.environ.get("HUB_TEST_PAUSE_MARKER")
    if marker:
        Path(marker).write_text(f"{os.getpid()} {name}\n", encoding="utf-8")
    time.sleep(_PAUSE_S)
