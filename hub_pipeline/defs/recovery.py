"""Recover from a command-line run that died without ending: mark it failed and free its pool slot.

A run killed with SIGKILL (or by the kernel's OOM killer, or a power cut) records no end. Its
step keeps the one slot of the "duckdb_writer" pool, and every later run would wait for that
slot forever. Runs started by hub_pipeline.cli carry their process id as a tag. Before a new
run starts, the runs whose process is gone are marked failed and their slots freed.
"""


from collections.abc import Callable
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

LAUNCHED_BY_TAG = "hub/launched_by"
PID_TAG = "hub/pid"
_UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def cli_run_tags(pid: int) -> dict[str, str]:
    return {LAUNCHED_BY_TAG: "cli", PID_TAG: str(pid)}


def _cli_process_alive(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text(errors="replace").rsplit(")", 1)[-1].split()
    return b"hub_pipeline" in command and status[0] != "Z"  # a zombie has ended


def _days_label(tags: dict[str, str]) -> str:
    """Name a run's day, or the first and last day of a ranged backfill run."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    first, last = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return f"{first}..{last}" if first and last else "an unknown day"


def recover_orphaned_runs(instance: DagsterInstance, say: Callable[[str], None] = print) -> list[str]:
    """Mark unfinished CLI runs whose process is gone as failed, free their slots, return their ids."""
    recovered = []
    runs = instance.get_runs(filters=RunsFilter(statuses=_UNFINISHED, tags={LAUNCHED_BY_TAG: "cli"}))
    for run in runs:
        pid_text = run.tags.get(PID_TAG, "")
        if pid_text.isdigit() and _cli_process_alive(int(pid_text)):
            continue
        day = _days_label(run.tags)
        message = (
            f"run {run.run_id} for {day} (process {pid_text or 'unknown'}) ended without finishing, "
            "probably killed; marked failed and its duckdb_writer slot freed. Its committed work is kept"
        )
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        say(f"note: {message}")
        recovered.append(run.run_id)
    return recovered
