"""Crash safety: a run killed with SIGKILL at several steps loses nothing, and the next run completes.

Each case starts from a warehouse that already holds 2025-03-21, runs the CLI for 2025-03-20
in a subprocess that pauses at a named step (HUB_TEST_PAUSE_AT), kills it there, runs the CLI
again, and compares every table with a run that was never interrupted.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, arxiv_day_sources, run_day, write_sources

DAY = "2025-03-20"
PRIOR_DAY = "2025-03-21"
KILL_POINTS = ["fetch", "sql:main.papers", "publish"]


def dump(database: Path) -> dict[str, list[tuple]]:
    """Every table of the database, every column, sorted; fetch_log.fetched_at is checked apart."""
    with duckdb.connect(str(database), read_only=True) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name <> 'raw' ORDER BY 1"
            ).fetchall()
        ]
        dumped = {}
        for table in tables:
            columns = [row[0] for row in conn.execute(f"DESCRIBE {table}").fetchall() if row[0] != "fetched_at"]
            dumped[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
        dumped["raw.entries"] = conn.execute("SELECT * FROM raw.entries ORDER BY ALL").fetchall()
    return dumped


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, fixtures):
    """A data folder holding PRIOR_DAY, and the tables of an uninterrupted run of DAY on top of it."""
    root = tmp_path_factory.mktemp("crash")
    sources = {day: write_sources(root / f"{day}.yaml", arxiv_day_sources(fixtures, day)[:2]) for day in (DAY, PRIOR_DAY)}
    prior = root / "prior"
    assert run_day(prior, PRIOR_DAY, sources[PRIOR_DAY]).success

    baseline = root / "baseline"
    shutil.copytree(prior, baseline)
    assert run_day(baseline, DAY, sources[DAY]).success
    return root, prior, sources, dump(baseline / "warehouse.duckdb")


def _cli(data_dir: Path, sources: Path, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "HUB_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO), **env}
    environment.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        [sys.executable, "-m", "hub_pipeline.cli", "run", "--date", DAY, "--sources", str(sources)],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(marker: Path, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"the run ended (code {process.returncode}) before its pause point: {process.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the run never reached its pause point")
        time.sleep(0.05)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_run_then_rerun_equals_uninterrupted_run(prepared, point):
    root, prior, sources, expected = prepared
    data_dir = root / f"killed-{point.replace(':', '-')}"
    shutil.copytree(prior, data_dir)
    prior_tables = dump(prior / "warehouse.duckdb")
    marker = root / f"{data_dir.name}.paused"

    killed = _cli(data_dir, sources[DAY], HUB_TEST_PAUSE_AT=point, HUB_TEST_PAUSE_MARKER=str(marker))
    _wait_for(marker, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL

    # Nothing committed before the kill is lost: the earlier day is whole, and the attempt the
    # killed run committed before its pause is still in raw.fetch_attempts.
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        for table, day_column in (("fetch_log", "day"), ("paper_listings", "announced_day"), ("radar_matches", "day"), ("briefings", "day")):
            columns = [row[0] for row in conn.execute(f"DESCRIBE main.{table}").fetchall() if row[0] != "fetched_at"]
            kept = conn.execute(
                f"SELECT {', '.join(columns)} FROM main.{table} WHERE {day_column} = ? ORDER BY ALL", [PRIOR_DAY]
            ).fetchall()
            assert kept == prior_tables[f"main.{table}"], f"{table} lost rows of {PRIOR_DAY}"
        attempts_of_day = conn.execute("SELECT count(*) FROM raw.fetch_attempts WHERE day = ?", [DAY]).fetchone()[0]
    assert attempts_of_day >= 1
    # The analysts' copy from before the kill still opens and still shows the earlier day.
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as conn:
        published_days = [str(day) for (day,) in conn.execute("SELECT DISTINCT day FROM fetch_log").fetchall()]
    assert published_days == [PRIOR_DAY]

    rerun = _cli(data_dir, sources[DAY])
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr[-3000:]

    assert dump(data_dir / "warehouse.duckdb") == expected
    assert dump(data_dir / "published" / "warehouse.duckdb") == expected
    assert not list((data_dir / "published").glob(".*incoming*"))
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        # fetch_log.fetched_at is wall-clock time, so it is compared with the attempts instead:
        # each row carries the first fetch of its payload for the day, the killed run's included.
        mismatched = conn.execute(
            """
            SELECT log.source_id FROM main.fetch_log AS log
            WHERE log.fetched_at <> (
                SELECT min(attempt.fetched_at) FROM raw.fetch_attempts AS attempt
                WHERE attempt.day = log.day AND attempt.source_id = log.source_id
                  AND attempt.payload_sha256 = log.payload_sha256)
            """
        ).fetchall()
    assert mismatched == []
