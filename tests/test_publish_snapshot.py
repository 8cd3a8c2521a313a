"""The analysts' copy: a file copy of the checkpointed warehouse, or COPY FROM DATABASE in memory."""

from datetime import date

import duckdb

from hub_pipeline.lib.publish import publish_snapshot


def _fill(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE SCHEMA raw")
    conn.execute("CREATE TABLE raw.entries AS SELECT range AS id FROM range(1000)")
    conn.execute("CREATE TABLE papers AS SELECT range AS id, 'title ' || range AS title FROM range(250)")
    conn.execute("CREATE TABLE fetch_log (day DATE, items INTEGER)")
    # This row stays in the write-ahead log until the publish checkpoints it.
    conn.execute("INSERT INTO fetch_log VALUES (DATE '2025-03-20', 250)")


def _contents(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as conn:
        return {
            "papers": conn.execute("SELECT count(*), max(title) FROM papers").fetchone(),
            "fetch_log": conn.execute("SELECT * FROM fetch_log").fetchall(),
            "raw": conn.execute("SELECT count(*) FROM raw.entries").fetchone()[0],
        }


def test_file_copy_contains_whole_warehouse(tmp_path):
    target = tmp_path / "published" / "warehouse.duckdb"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        _fill(conn)
        copy = publish_snapshot(conn, target)
        conn.execute("INSERT INTO papers VALUES (999, 'after the copy')")
    assert copy.tables == {"fetch_log": 1, "papers": 250}
    contents = _contents(target)
    assert contents["papers"] == (250, "title 99")
    assert contents["fetch_log"] == [(date(2025, 3, 20), 250)]
    assert contents["raw"] == 1000
    assert not (tmp_path / "warehouse.duckdb.wal").exists()
    assert [path.name for path in target.parent.iterdir()] == ["warehouse.duckdb"]


def test_in_memory_warehouse_uses_copy(tmp_path):
    target = tmp_path / "published" / "warehouse.duckdb"
    with duckdb.connect(":memory:") as conn:
        _fill(conn)
        copy = publish_snapshot(conn, target)
    assert copy.tables == {"fetch_log": 1, "papers": 250}
    assert _contents(target)["raw"] == 1000
    assert [path.name for path in target.parent.iterdir()] == ["warehouse.duckdb"]


def test_second_publish_replaces_first(tmp_path):
    target = tmp_path / "published" / "warehouse.duckdb"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        _fill(conn)
        publish_snapshot(conn, target)
        conn.execute("DELETE FROM papers WHERE id >= 100")
        copy = publish_snapshot(conn, target)
    assert copy.tables["papers"] == 100
    assert _contents(target)["papers"] == (100, "title 99")


def test_copy_from_database_matches_file_copy(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        _fill(conn)
        by_file = publish_snapshot(conn, tmp_path / "by_file" / "warehouse.duckdb")
        by_copy = publish_snapshot(conn, tmp_path / "by_copy" / "warehouse.duckdb", file_copy=False)
    assert by_file.tables == by_copy.tables
    assert _contents(by_file.path) == _contents(by_copy.path)
