"""Ingest: fetch every source for the day, store the payloads raw, then parse them.

Both assets take a window of days, so a backfill of a year is one run (BackfillPolicy.single_run):
the daily feeds are handled day by day, the sources with history harvest the window once.
"""


from datetime import date, timedelta

from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.ingest.checks import DAY_CHECK_SPECS, window_check_results
from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import WRITER_POOL, HubSettings
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib import backfill, ingest
from hub_pipeline.lib.fetching import FetchSettings


def _window_days(context: AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    return backfill.days_of(window.start.date(), window.end.date())


@asset(
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    pool=WRITER_POOL,
    group_name="ingest",
    kinds={"python", "duckdb"},
)
def raw_payloads(context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings) -> MaterializeResult:
    """Fetch each enabled source for the day (or window of days) and store its payloads verbatim.

    One row per source, day and request goes to raw.fetch_attempts; the payload bytes go to
    data/raw/. History sources harvest only the days not yet loaded nor already harvested.
    """
    days = _window_days(context)
    config = hub.sources()
    settings = FetchSettings(
        user_agent=config.fetch.user_agent,
        timeout_s=config.fetch.timeout_s,
        max_attempts=config.fetch.max_attempts,
        max_bytes=config.fetch.max_bytes,
    )
    sources = [source for source in config.sources if source.enabled]
    daily = [source for source in sources if not backfill.is_history_source(source)]
    history = [source for source in sources if backfill.is_history_source(source)]

    attempts = []
    harvests = []
    with warehouse(duckdb) as conn:
        for day in days:
            attempts += ingest.fetch_sources(conn, daily, day, settings, hub.raw_dir(), log=context.log)
        backfill.ensure_harvest_tables(conn)
        for source in history:
            todo = backfill.days_to_fetch(conn, source, days)
            if not todo:
                context.log.info(f"{source.id}: all {len(days)} days already loaded or harvested; nothing to fetch")
                continue
            harvests.append(
                backfill.harvest(conn, source, todo[0], todo[-1] + timedelta(days=1), settings, hub.raw_dir(),
                                 contact_email=config.fetch.contact_email, log=context.log)
            )

    counts = ingest.count_by(attempts, "outcome")
    daily_bytes = sum(attempt["bytes"] or 0 for attempt in attempts)
    harvest_pages = sum(item.pages for item in harvests)
    context.log.info(
        f"{days[0]}..{days[-1]}: {len(attempts)} daily fetches, outcomes {counts}, {daily_bytes} bytes; "
        f"{len(harvests)} harvests, {harvest_pages} pages"
    )
    # "fetched" and "bytes" count every stored payload: daily feeds and harvest pages alike.
    return MaterializeResult(
        metadata={
            "days": len(days),
            "sources": len(sources),
            "fetched": counts.get("fetched", 0) + harvest_pages,
            "not_modified": counts.get("not_modified", 0),
            "source_errors": counts.get("source_error", 0) + sum(not item.complete for item in harvests),
            "skipped": counts.get("skipped", 0) + counts.get("no_announcement", 0),
            "bytes": daily_bytes + sum(item.bytes for item in harvests),
            "harvest_pages": harvest_pages,
            "preview": MetadataValue.md(ingest.attempts_markdown(attempts[-50:]) + backfill.harvests_markdown(harvests)),
        }
    )


@asset(
    deps=[raw_payloads],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    pool=WRITER_POOL,
    group_name="ingest",
    kinds={"python", "duckdb"},
    check_specs=DAY_CHECK_SPECS,
)
def entries(context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings) -> MaterializeResult:
    """Parse the stored payloads into raw.entries and settle each source's fetch_log row per day.

    Grain: one row per item per source payload and day. A payload that fails to parse, or a
    failed fetch, never replaces rows of a day that loaded well.
    """
    days = _window_days(context)
    sources = [source for source in hub.sources().sources if source.enabled]
    daily = [source for source in sources if not backfill.is_history_source(source)]
    history = [source for source in sources if backfill.is_history_source(source)]

    rows = []
    with warehouse(duckdb) as conn:
        for day in days:
            rows += ingest.parse_day(conn, daily, day, hub.raw_dir(), log=context.log)
        for source in history:
            rows += backfill.settle(conn, source, days, hub.raw_dir(), log=context.log)
        states, check_results = window_check_results(conn, days, sources, hub.raw_dir())

    counts = ingest.count_by(rows, "outcome")
    items = sum(row["items"] or 0 for row in rows)
    per_day = backfill.items_per_day(rows)
    context.log.info(f"{days[0]}..{days[-1]}: {items} entries from {len(rows)} source-days, outcomes {counts}")
    return MaterializeResult(
        metadata={
            "days": len(days),
            "entries": items,
            "sources_loaded": counts.get("loaded", 0),
            "sources_failed": counts.get("source_error", 0) + counts.get("parse_error", 0),
            "sources_without_items": sum(
                counts.get(outcome, 0) for outcome in ("no_announcement", "unchanged", "stale", "skipped")
            ),
            "preview": MetadataValue.md(ingest.fetch_log_markdown(rows[-50:])),
            "day_state": MetadataValue.json(states),
            "sources_unaccounted": sum(1 for source in sources if source.id not in states),
            # Dagster copies a ranged run's metadata to every partition of the range, so a long
            # window gets monthly totals here; the log has every day.
            "entries_per_day": MetadataValue.json(backfill.compact_counts(per_day)),
        },
        check_results=check_results,
    )
