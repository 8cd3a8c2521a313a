"""Publish a read-only copy of the warehouse that analysts can hold open during runs.

The copy is written to a temporary file beside the target and renamed over it. A reader that
has the previous copy open keeps reading that file (on POSIX the old inode lives while it is
open), and never blocks the pipeline, which writes only the main warehouse.

The copy is made by checkpointing the warehouse and copying its file. For a year of arXiv
(744 MB) COPY FROM DATABASE took 15 s; bench/RESULTS.md has the file copy's time. The
publishing step has the only writer connection, so nothing changes the file between the
checkpoint and the end of the copy. The copy is then opened and its public tables are
counted against the warehouse's. COPY FROM DATABASE is the fallback when the checkpoint
leaves a write-ahead log behind, when the counts differ, or when the warehouse is in memory.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from hub_pipeline.lib.pause import pause_point

PUBLIC_SCHEMA = "main"


@dataclass(slots=True)
class PublishedCopy:
    path: Path
    bytes: int
    tables: dict[str, int]  # public table -> rows


def published_path(data_dir: Path) -> Path:
    return data_dir / "published" / "warehouse.duckdb"


def publish_snapshot(conn: duckdb.DuckDBPyConnection, target: Path, *, file_copy: bool = True) -> PublishedCopy:
    """Copy the whole database of ``conn`` to ``target`` atomically and return what it contains.

    ``file_copy=False`` uses COPY FROM DATABASE even when a file copy is possible.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex}.incoming"
    source, path = conn.execute("SELECT database_name, path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    try:
        tables = _copy_file(conn, source, path, temp) if path and file_copy else None
        if tables is None:
            _remove(temp)
            tables = _copy_database(conn, source, temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        pause_point("publish")
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except BaseException:
        _remove(temp)
        raise
    return PublishedCopy(path=target, bytes=target.stat().st_size, tables=tables)


def _copy_file(conn: duckdb.DuckDBPyConnection, source: str, path: str, temp: Path) -> dict[str, int] | None:
    """Copy the checkpointed warehouse file to ``temp``. Return its public row counts, or None
    when the copy cannot be trusted."""
    conn.execute(f"CHECKPOINT {source}")
    wal = Path(f"{path}.wal")
    if wal.exists() and wal.stat().st_size:
        # An open transaction kept the checkpoint from writing the log into the file.
        return None
    expected = _public_rows(conn, source)
    shutil.copyfile(path, temp)
    try:
        with _attached(conn, temp, read_only=True) as alias:
            copied = _public_rows(conn, alias)
    except duckdb.Error:
        return None
    return copied if copied == expected else None


def _copy_database(conn: duckdb.DuckDBPyConnection, source: str, temp: Path) -> dict[str, int]:
    with _attached(conn, temp, read_only=False) as alias:
        conn.execute(f"COPY FROM DATABASE {source} TO {alias}")
        tables = _public_rows(conn, alias)
        conn.execute(f"CHECKPOINT {alias}")
    return tables


@contextmanager
def _attached(conn: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> Iterator[str]:
    alias = "published_incoming"
    conn.execute(f"ATTACH '{_escape(path)}' AS {alias}" + (" (READ_ONLY)" if read_only else ""))
    try:
        yield alias
    finally:
        conn.execute(f"DETACH {alias}")


def _public_rows(conn: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    names = conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY 1",
        [database, PUBLIC_SCHEMA],
    ).fetchall()
    return {name: conn.execute(f"SELECT count(*) FROM {database}.{PUBLIC_SCHEMA}.{name}").fetchone()[0] for (name,) in names}


def _remove(temp: Path) -> None:
    temp.unlink(missing_ok=True)
    Path(f"{temp}.wal").unlink(missing_ok=True)


def remove_leftovers(folder: Path) -> int:
    """Delete temporary copies a killed publish left behind; return how many."""
    removed = 0
    for leftover in folder.glob(".*.incoming*"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def _escape(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync_dir(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
