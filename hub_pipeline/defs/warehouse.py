"""Short-lived warehouse connections for assets."""


from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from hub_pipeline.lib.warehouse import ensure_tables


@contextmanager
def warehouse(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for one step, creating its folder and tables on first use."""
    Path(resource.database).parent.mkdir(parents=True, exist_ok=True)
    with resource.get_connection() as conn:
        ensure_tables(conn)
        yield conn
