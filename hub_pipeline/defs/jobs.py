"""The daily job and its schedule."""


import os
from datetime import datetime, timezone

from dagster import (
    AssetSelection,
    ExecutorDefinition,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
    schedule,
)

from hub_pipeline.lib.calendar import latest_announcement_day


def choose_executor() -> ExecutorDefinition:
    """Return the executor named by HUB_EXECUTOR: in_process (default) or multiprocess.

    Writers are serialized by the DuckDB pool anyway, so a subprocess per step buys nothing on
    one machine and costs seconds per step. The default runs the whole day in one process.
    """
    name = os.environ.get("HUB_EXECUTOR", "in_process")
    if name == "in_process":
        return in_process_executor
    if name == "multiprocess":
        return multiprocess_executor
    raise ValueError(f"invalid HUB_EXECUTOR {name!r}: use in_process or multiprocess")


daily_job = define_asset_job(
    name="daily_job",
    selection=AssetSelection.all(),
    executor_def=choose_executor(),
    description="Fetch, parse, deduplicate, match radars, write briefings and publish the site for one announcement day.",
)


backfill_job = define_asset_job(
    name="backfill_job",
    # The published copy closes the run, so analysts see the backfilled days.
    selection=AssetSelection.groups("ingest", "warehouse") | AssetSelection.assets("published_warehouse"),
    executor_def=choose_executor(),
    description="Fetch and parse a range of days and rebuild the warehouse models over it, in one run.",
)


# arXiv's feeds for a mailing dated D are rebuilt around 00:30 US Eastern time on D
# (04:30 or 05:30 UTC); 07:00 UTC leaves margin in summer and winter time.
@schedule(job=daily_job, cron_schedule="0 7 * * *", execution_timezone="UTC")
def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """Run the day whose mailing is the latest one published when the schedule fires."""
    now = context.scheduled_execution_time or datetime.now(timezone.utc)
    day = now.astimezone(timezone.utc).date()
    if latest_announcement_day(now) != day:
        # Journals still publish on weekends; their items are collected with the next mailing.
        return SkipReason(f"{day} carries no arXiv mailing; its journal items are collected on the next announcement day")
    return RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())
