"""Open the DuckDB warehouse for writing, waiting with backoff while another process has it locked.

DuckDB lets one process write a database file. When a second process tries to open it, DuckDB
raises an IO error whose text names the lock holder ("Conflicting lock is held in <program>
(PID n)"). A run that meets such a lock waits with growing pauses, then fails naming the holder.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import duckdb
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_delay
from tenacity.wait import wait_exponential_jitter

logger = logging.getLogger(__name__)

# Seconds a writer waits for a lock before it fails; HUB_WAREHOUSE_LOCK_WAIT_S overrides it.
DEFAULT_LOCK_WAIT_S = 60.0
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


class WarehouseLockedError(RuntimeError):
    """The warehouse stayed locked by another process for the whole wait."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


def is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "Could not set lock" in str(error)


def lock_holder(error: BaseException) -> tuple[int | None, str]:
    """Return the PID and a description of the process named in DuckDB's lock error."""
    match = _LOCK_HOLDER.search(str(error))
    if match is None:
        return None, "an unknown process"
    pid = int(match["pid"])
    command = _command_line(pid) or match["program"]
    return pid, f"PID {pid} ({command})"


def _command_line(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)[:200] or None


def lock_wait_s() -> float:
    value = os.environ.get("HUB_WAREHOUSE_LOCK_WAIT_S")
    return float(value) if value else DEFAULT_LOCK_WAIT_S


def connect_writer(
    database: str | Path,
    *,
    config: dict[str, Any] | None = None,
    max_wait_s: float | None = None,
    log: Any = logger,
) -> duckdb.DuckDBPyConnection:
    """Open ``database`` read-write; on a lock conflict retry with backoff, then name the holder."""
    wait_s = lock_wait_s() if max_wait_s is None else max_wait_s

    def note_retry(state) -> None:
        error = state.outcome.exception()
        _, holder = lock_holder(error)
        log.warning(
            f"warehouse {database} is locked by {holder}; attempt {state.attempt_number}, "
            f"retrying in {state.next_action.sleep:.1f} s"
        )

    retrying = Retrying(
        retry=retry_if_exception(is_lock_conflict),
        stop=stop_after_delay(wait_s),
        wait=wait_exponential_jitter(multiplier=0.2, max=5.0, jitter=0.2),
        before_sleep=note_retry,
    )
    try:
        return retrying(duckdb.connect, str(database), read_only=False, config=config or {})
    except RetryError as error:
        last = error.last_attempt.exception()
        pid, holder = lock_holder(last)
        attempts = error.last_attempt.attempt_number
        raise WarehouseLockedError(
            f"the warehouse {database} is locked by {holder}; waited {wait_s:.0f} s over {attempts} attempts. "
            "DuckDB allows one writing process: close that process's connection (analysts should query "
            "data/published/warehouse.duckdb instead) or let its run finish, then re-run the day",
            pid,
        ) from last
