"""The one Definitions object of AcademicHub."""

import warnings

from dagster import BetaWarning, Definitions

# backfill_policy, which the assets use so a backfill of a year is one run, is marked beta in
# Dagster 1.13 and warns once per asset at every start; the warning says nothing to act on.
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")
# daily_job mixes the ingest and SQL assets' single-run policy with the per-day assets, which
# have none, so Dagster 1.13 warns that it uses the smallest policy, one partition per run.
# That is what a daily job does; the backfill of many days goes through backfill_job.
warnings.filterwarnings("ignore", category=UserWarning, message=".*materializes assets with varying BackfillPolicies")

from hub_pipeline.defs.briefings.assets import briefings  # noqa: E402
from hub_pipeline.defs.identity.assets import paper_identity  # noqa: E402
from hub_pipeline.defs.ingest.assets import entries, raw_payloads  # noqa: E402
from hub_pipeline.defs.jobs import backfill_job, choose_executor, daily_job, daily_schedule  # noqa: E402
from hub_pipeline.defs.radars.assets import radar_matches  # noqa: E402
from hub_pipeline.defs.resources import default_resources  # noqa: E402
from hub_pipeline.defs.publish.assets import briefing_feeds, deliveries  # noqa: E402
from hub_pipeline.defs.publish.snapshot import published_warehouse  # noqa: E402
from hub_pipeline.defs.site.assets import site  # noqa: E402
from hub_pipeline.defs.sql.assets import build_sql_assets  # noqa: E402

ALL_ASSETS = [
    raw_payloads,
    entries,
    paper_identity,
    *build_sql_assets(),
    radar_matches,
    briefings,
    site,
    briefing_feeds,
    deliveries,
    published_warehouse,
]

defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[daily_job, backfill_job],
    schedules=[daily_schedule],
    resources=default_resources(),
    executor=choose_executor(),
)
