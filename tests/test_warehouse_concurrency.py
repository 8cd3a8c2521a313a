"""The warehouse under concurrency: lock conflicts wait and name the holder; analysts read a copy."""

import json
import subprocess
import sys
import textwrap
from datetime import date

import duckdb
import pytest

from hub_pipeline.lib.locking import WarehouseLockedError, connect_writer
from tests.conftest import arxiv_day_sources, run_day, write_sources

HOLD_WRITER = textwrap.dedent(
    """
    import sys, time, duckdb
    conn = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.close()
    """
)


def _hold_writer(database, seconds: float) -> subprocess.Popen:
    """Start another process that holds a write connection to ``database`` for ``seconds``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(database), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


class _Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def test_lock_conflict_retried_until_the_holder_closes(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    holder = _hold_writer(database, 1.5)
    log = _Log()
    try:
        conn = connect_writer(database, max_wait_s=30, log=log)
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
        conn.close()
    finally:
        holder.wait(timeout=30)
    assert log.warnings, "the first attempt should have met the lock"
    assert f"PID {holder.pid}" in log.warnings[0]


def test_lock_error_names_the_other_process(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    holder = _hold_writer(database, 60)
    try:
        with pytest.raises(WarehouseLockedError) as raised:
            connect_writer(database, max_wait_s=1.0, log=_Log())
    finally:
        holder.kill()
        holder.wait(timeout=30)
    message = str(raised.value)
    assert raised.value.pid == holder.pid
    assert f"PID {holder.pid}" in message
    assert "-c" in message  # the holder's command line, read from /proc
    assert "data/published/warehouse.duckdb" in message


def test_run_waits_out_a_short_lock(tmp_path, fixtures):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    sources = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, "2025-03-20")[:1])
    holder = _hold_writer(data_dir / "warehouse.duckdb", 2.0)
    try:
        result = run_day(data_dir, "2025-03-20", sources)
    finally:
        holder.wait(timeout=30)
    assert result.success


# A reader that opens the published copy and prints the days it contains. On "count" it queries
# the connection it keeps open; on "reopen" it closes that connection and queries a new one.
READER = textwrap.dedent(
    """
    import json, sys, duckdb
    path = sys.argv[1]
    conn = duckdb.connect(path, read_only=True)
    def days(c):
        return [str(d) for (d,) in c.execute("SELECT DISTINCT day FROM fetch_log ORDER BY day").fetchall()]
    print(json.dumps(days(conn)), flush=True)
    for line in sys.stdin:
        if line.strip() == "reopen":
            conn.close()
            conn = duckdb.connect(path, read_only=True)
        print(json.dumps(days(conn)), flush=True)
    """
)


def _ask(reader: subprocess.Popen, command: str) -> list[str]:
    reader.stdin.write(command + "\n")
    reader.stdin.flush()
    return json.loads(reader.stdout.readline())


def test_reader_holds_published_copy_through_two_runs(tmp_path, fixtures):
    data_dir = tmp_path / "data"
    day_sources = {day: write_sources(tmp_path / f"{day}.yaml", arxiv_day_sources(fixtures, day)[:2]) for day in ("2025-03-20", "2025-03-21", "2025-03-24")}
    assert run_day(data_dir, "2025-03-21", day_sources["2025-03-21"]).success
    published = data_dir / "published" / "warehouse.duckdb"
    assert published.is_file()

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert json.loads(reader.stdout.readline()) == ["2025-03-21"]
        # A daily run, then a backfill of the day before, while the reader keeps its connection.
        daily = run_day(data_dir, "2025-03-24", day_sources["2025-03-24"])
        assert _ask(reader, "count") == ["2025-03-21"]
        backfill = run_day(data_dir, "2025-03-20", day_sources["2025-03-20"])
        assert _ask(reader, "count") == ["2025-03-21"]
        reopened = _ask(reader, "reopen")
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)

    assert daily.success and backfill.success
    assert reopened == ["2025-03-20", "2025-03-21", "2025-03-24"]
    assert not list(published.parent.glob(".*incoming*")), "no temporary copy is left behind"


def test_published_copy_matches_the_warehouse(tmp_path, fixtures):
    data_dir = tmp_path / "data"
    sources = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, "2025-03-20")[:2])
    assert run_day(data_dir, date(2025, 3, 20), sources).success

    def dump(path) -> dict[str, list]:
        with duckdb.connect(str(path), read_only=True) as conn:
            tables = conn.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1"
            ).fetchall()
            return {name: conn.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for (name,) in tables}

    original = dump(data_dir / "warehouse.duckdb")
    copy = dump(data_dir / "published" / "warehouse.duckdb")
    assert copy == original
    assert copy["main.papers"]
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as conn:
        comment = conn.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'fetch_log'").fetchone()[0]
    assert comment, "table comments travel with the copy"
