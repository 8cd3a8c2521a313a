"""Ingest: fetch every source for the day, store the payloads raw, then parse them."""


from datetime import date

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.ingest.checks import DAY_CHECK_SPECS, day_check_results
from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import WRITER_POOL, HubSettings
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib import ingest
from hub_pipeline.lib.fetching import FetchSettings


@asset(
    partitions_def=daily_partitions,
    pool=WRITER_POOL,
    group_name="ingest",
    kinds={"python", "duckdb"},
)
def raw_payloads(context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings) -> MaterializeResult:
    """Fetch each enabled source for the day and store its payload verbatim before parsing.

    One row per source per run goes to raw.fetch_attempts; the payload bytes go to data/raw/.
    """
    day = date.fromisoformat(context.partition_key)
    config = hub.sources()
    settings = FetchSettings(
        user_agent=config.fetch.user_agent,
        timeout_s=config.fetch.timeout_s,
        max_attempts=config.fetch.max_attempts,
        max_bytes=config.fetch.max_bytes,
    )
    sources = [source for source in config.sources if source.enabled]

    with warehouse(duckdb) as conn:
        attempts = ingest.fetch_sources(conn, sources, day, settings, hub.raw_dir(), log=context.log)

    counts = ingest.count_by(attempts, "outcome")
    fetched_bytes = sum(attempt["bytes"] or 0 for attempt in attempts)
    context.log.info(f"{day}: {len(attempts)} sources, outcomes {counts}, {fetched_bytes} bytes")
    return MaterializeResult(
        metadata={
            "sources": len(attempts),
            "fetched": counts.get("fetched", 0),
            "not_modified": counts.get("not_modified", 0),
            "source_errors": counts.get("source_error", 0),
            "skipped": counts.get("skipped", 0) + counts.get("no_announcement", 0),
            "bytes": fetched_bytes,
            "preview": MetadataValue.md(ingest.attempts_markdown(attempts)),
        }
    )


@asset(
    deps=[raw_payloads],
    partitions_def=daily_partitions,
    pool=WRITER_POOL,
    group_name="ingest",
    kinds={"python", "duckdb"},
    check_specs=DAY_CHECK_SPECS,
)
def entries(context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings) -> MaterializeResult:
    """Parse the day's stored payloads into raw.entries and settle each source's fetch_log row.

    Grain: one row per item per source payload and day. A payload that fails to parse, or a
    failed fetch, never replaces rows of a day that loaded well.
    """
    day = date.fromisoformat(context.partition_key)
    sources = [source for source in hub.sources().sources if source.enabled]

    with warehouse(duckdb) as conn:
        rows = ingest.parse_day(conn, sources, day, hub.raw_dir(), log=context.log)
        states, check_results = day_check_results(conn, day, sources, hub.raw_dir())

    counts = ingest.count_by(rows, "outcome")
    items = sum(row["items"] or 0 for row in rows)
    context.log.info(f"{day}: {items} entries from {len(rows)} sources, outcomes {counts}")
    return MaterializeResult(
        metadata={
            "entries": items,
            "sources_loaded": counts.get("loaded", 0),
            "sources_failed": counts.get("source_error", 0) + counts.get("parse_error", 0),
            "sources_without_items": sum(
                counts.get(outcome, 0) for outcome in ("no_announcement", "unchanged", "stale", "skipped")
            ),
            "preview": MetadataValue.md(ingest.fetch_log_markdown(rows)),
            "day_state": MetadataValue.json(states),
            "sources_unaccounted": sum(1 for source in sources if source.id not in states),
        },
        check_results=check_results,
    )
