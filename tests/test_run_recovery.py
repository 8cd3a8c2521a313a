"""Recovery of command-line runs that died: their pool slot is freed, live runs are left alone."""

import os
import subprocess
import sys
import uuid

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from hub_pipeline.defs.recovery import cli_run_tags, recover_orphaned_runs

POOL = "duckdb_writer"


def _started_run(instance: DagsterInstance, pid: int) -> DagsterRun:
    run = DagsterRun(
        job_name="daily_job",
        run_id=str(uuid.uuid4()),
        status=DagsterRunStatus.STARTED,
        tags={**cli_run_tags(pid), "dagster/partition": "2025-03-20"},
    )
    instance.add_run(run)
    return run


def _free_pid() -> int:
    pid = 4_000_000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    return pid


def test_dead_run_failed_and_slot_freed(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(POOL, 1)
        dead = _started_run(instance, _free_pid())
        storage.claim_concurrency_slot(POOL, dead.run_id, "entries")
        assert storage.get_concurrency_info(POOL).active_slot_count == 1

        notes: list[str] = []
        recovered = recover_orphaned_runs(instance, say=notes.append)

        assert recovered == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
        assert storage.get_concurrency_info(POOL).active_slot_count == 0
        assert "2025-03-20" in notes[0]
        assert "slot freed" in notes[0]


def test_live_cli_run_left_alone(tmp_path):
    # A process whose command line names hub_pipeline plays a CLI run that is still working.
    live_process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "hub_pipeline.cli"])
    try:
        with DagsterInstance.local_temp(str(tmp_path)) as instance:
            live = _started_run(instance, live_process.pid)
            recovered = recover_orphaned_runs(instance, say=lambda message: None)
            status = instance.get_run_by_id(live.run_id).status
    finally:
        live_process.kill()
        live_process.wait(timeout=30)
    assert recovered == []
    assert status == DagsterRunStatus.STARTED


def test_dead_backfill_named_by_its_days(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        run = DagsterRun(
            job_name="backfill_job",
            run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.STARTED,
            tags={
                **cli_run_tags(_free_pid()),
                "dagster/asset_partition_range_start": "2008-02-01",
                "dagster/asset_partition_range_end": "2008-03-31",
            },
        )
        instance.add_run(run)
        notes: list[str] = []
        recover_orphaned_runs(instance, say=notes.append)
    assert f"run {run.run_id} for 2008-02-01..2008-03-31 (process" in notes[0]
