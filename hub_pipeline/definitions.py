"""The one Definitions object of AcademicHub."""

from dagster import Definitions

from hub_pipeline.defs.briefings.assets import briefings
from hub_pipeline.defs.identity.assets import paper_identity
from hub_pipeline.defs.ingest.assets import entries, raw_payloads
from hub_pipeline.defs.jobs import backfill_job, choose_executor, daily_job, daily_schedule
from hub_pipeline.defs.radars.assets import radar_matches
from hub_pipeline.defs.resources import default_resources
from hub_pipeline.defs.publish.assets import briefing_feeds, deliveries
from hub_pipeline.defs.publish.snapshot import published_warehouse
from hub_pipeline.defs.site.assets import site
from hub_pipeline.defs.sql.assets import build_sql_assets

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
