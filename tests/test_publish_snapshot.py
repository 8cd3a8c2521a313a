"""The analysts' copy: a file copy of a checkpointed warehouse, or COPY FROM DATABASE without a file."""

from datetime import date

import duckdb

from hub_pipeline.lib.publish import publish_snapshot


def _fill(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE SCHEMA raw")
    conn.execute("CREATE TABLE raw.entries AS SELECT range AS id FROM range(1000)")
    conn.execute("CREATE TABLE papers AS SELECT range AS id, 'title ' || range AS title FROM range(250)")
    conn.execute("CREATE TABLE fetch_log (day DATE, items INTEGER)")
    # Left in the write-ahead log until the publish checkpoints it.
    conn.execute("INSERT INTO fetch_log VALUES (DATE '2025-03-20', 250)")


def _contents(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as conn:
        return {
            "papers": conn.execute("SELECT count(*), max(title) FROM papers").fetchone(),
            "fetch_log": conn.execute("SELECT * FROM fetch_log").fetchall(),
            "raw": conn.execute("SELECT count(*) FROM raw.entries").fetchone()[0],
        }


def test_file_copy_holds_the_whole_warehouse(tmp_path):
    target = tmp_path / "published" / "warehouse.duckdb"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        _fill(conn)
        copy = publish_snapshot(conn, target)
        conn.execute("INSERT INTO papers VALUES (999, 'after the copy')")
    assert copy.tables == {"fetch_log": 1, "papers": 250}
    assert _contents(target) == {"papers": (250, "title 99"), "fetch_log": [(date(2025, 3, 20), 250)], "raw": 1000}
    assert not (tmp_path / "warehouse.duckdb.wal").exists()
    assert [path.name for path in target.parent.iterdir()] == ["warehouse.duckdb"]


def test_in_memory_database_is_copied_table_by_table(tmp_path):
    target = tmp_path / "published" / "warehouse.duckdb"
    with duckdb.connect(":memory:") as conn:
        _fill(conn)
        copy = publish_snapshot(conn, target)
    assert copy.tables == {"fetch_log": 1, "papers": 250}
    assert _contents(target)["raw"] == 1000
    assert [path.name for path in target.parent.iterdir()] == ["warehouse.duckdb"]


def test_second_publish_replaces_the_first(tmp_path):
    target = tmp_path / "published" / "warehouse.duckdb"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        _fill(conn)
        publish_snapshot(conn, target)
        conn.execute("DELETE FROM papers WHERE id >= 100")
        copy = publish_snapshot(conn, target)
    assert copy.tables["papers"] == 100
    assert _contents(target)["papers"] == (100, "title 99")
