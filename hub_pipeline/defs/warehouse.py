"""Short-lived warehouse connections for assets."""


from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from hub_pipeline.lib.locking import connect_writer
from hub_pipeline.lib.warehouse import ensure_tables


@contextmanager
def warehouse(resource: DuckDBResource, log=None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for one step, creating its folder and tables on first use.

    The connection is opened with tenacity's backoff rather than the resource's own retry, so
    a lock held by another process is waited out for HUB_WAREHOUSE_LOCK_WAIT_S seconds and
    then reported with that process's PID.
    """
    Path(resource.database).parent.mkdir(parents=True, exist_ok=True)
    config = {"custom_user_agent": "dagster", **resource.connection_config}
    kwargs = {"log": log} if log is not None else {}
    with closing(connect_writer(resource.database, config=config, **kwargs)) as conn:
        ensure_tables(conn)
        yield conn
