"""The analysts' copy of the warehouse, refreshed at the end of every successful run."""


from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import WRITER_POOL, HubSettings
from hub_pipeline.defs.publish.assets import briefing_feeds, deliveries
from hub_pipeline.defs.site.assets import site
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib.publish import published_path, publish_snapshot, remove_leftovers


@asset(
    # Last in the graph, so the copy holds everything the run wrote.
    deps=[site, briefing_feeds, deliveries],
    partitions_def=daily_partitions,
    pool=WRITER_POOL,
    group_name="publish",
    kinds={"duckdb"},
)
def published_warehouse(context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings) -> MaterializeResult:
    """Copy the whole warehouse to data/published/warehouse.duckdb and swap it in atomically.

    Analysts open this copy, read-only, at any time. A run never waits for them, and a reader
    with the previous copy open keeps reading it until it reconnects.
    """
    target = published_path(hub.data_path())
    removed = remove_leftovers(target.parent) if target.parent.exists() else 0

    with warehouse(duckdb, log=context.log) as conn:
        copy = publish_snapshot(conn, target)

    context.log.info(
        f"{context.partition_key}: published {target} ({copy.bytes} bytes, {sum(copy.tables.values())} public rows)"
        + (f"; removed {removed} leftover temporary copies" if removed else "")
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(target)),
            "bytes": copy.bytes,
            "public_tables": len(copy.tables),
            "leftovers_removed": removed,
            **{f"rows_{name}": rows for name, rows in copy.tables.items()},
        }
    )
