"""Publish a read-only copy of the warehouse that analysts can hold open during runs.

The copy is written to a temporary file beside the target and renamed over it. A reader that
has the previous copy open keeps reading that file (on POSIX the old inode lives while it is
open), and never blocks the pipeline, which writes only the main warehouse.
"""

from __future__ import annotations

import os
import uuid
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


def publish_snapshot(conn: duckdb.DuckDBPyConnection, target: Path) -> PublishedCopy:
    """Copy the whole database of ``conn`` to ``target`` atomically and return what it holds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex}.incoming"
    alias = "published_incoming"
    source = conn.execute("SELECT current_database()").fetchone()[0]
    try:
        conn.execute(f"ATTACH '{_escape(temp)}' AS {alias}")
        try:
            conn.execute(f"COPY FROM DATABASE {source} TO {alias}")
            tables = {
                name: conn.execute(f"SELECT count(*) FROM {alias}.{PUBLIC_SCHEMA}.{name}").fetchone()[0]
                for (name,) in conn.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY 1",
                    [alias, PUBLIC_SCHEMA],
                ).fetchall()
            }
            conn.execute(f"CHECKPOINT {alias}")
        finally:
            conn.execute(f"DETACH {alias}")
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        pause_point("publish")
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        Path(f"{temp}.wal").unlink(missing_ok=True)
        raise
    return PublishedCopy(path=target, bytes=target.stat().st_size, tables=tables)


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
