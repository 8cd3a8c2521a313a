"""The analysts' copy of the warehouse, refreshed at the end of every successful run."""


from dagster import AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import WRITER_POOL, HubSettings
from hub_pipeline.defs.publish.assets import briefing_feeds, deliveries
from hub_pipeline.defs.site.assets import site
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib.publish import published_path, publish_snapshot, remove_leftovers


@asset(
    # Last in the graph, so the copy contains everything the run wrote. The public models are
    # named too, so a backfill run, which has no site step, still publishes after them.
    deps=[site, briefing_feeds, deliveries, AssetKey("papers"), AssetKey("paper_listings"), AssetKey("paper_links")],
    partitions_def=daily_partitions,
    pool=WRITER_POOL,
    group_name="publish",
    kinds={"duckdb"},
    # One copy per run, whatever the number of days the run covers.
    backfill_policy=BackfillPolicy.single_run(),
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
        f"{_window_label(context)}: published {target} ({copy.bytes} bytes, {sum(copy.tables.values())} public rows)"
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


def _window_label(context: AssetExecutionContext) -> str:
    """Name the run's day, or its first and last day when a backfill covers a range."""
    keys = context.partition_keys
    return keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
