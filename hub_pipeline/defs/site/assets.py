"""The static site: an index of days and radars, and a page per radar and day."""


from datetime import date, datetime, timezone

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.briefings.assets import briefings
from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import HubSettings
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib.daily_papers import briefing_papers
from hub_pipeline.lib.day_state import load_source_states
from hub_pipeline.lib.models import RadarInfo
from hub_pipeline.lib.site import RadarDayPage, render_site


@asset(
    deps=[briefings],
    partitions_def=daily_partitions,
    group_name="publish",
    kinds={"html"},
)
def site(context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings) -> MaterializeResult:
    """Render the day's page for every radar under data/site/ and refresh the indexes."""
    day = date.fromisoformat(context.partition_key)
    radars = hub.radars().radars

    with warehouse(duckdb) as conn:
        labels = {source.id: source.label for source in hub.sources().sources}
        notes = [state for state in load_source_states(conn, day, labels) if state.needs_note]
        pages = []
        for radar in radars:
            stored = conn.execute(
                "SELECT markdown, generator, model FROM main.briefings WHERE radar_id = ? AND day = ?",
                [radar.id, day],
            ).fetchone()
            markdown, generator, model = stored if stored else (None, "none", None)
            pages.append(
                RadarDayPage(
                    radar=RadarInfo(radar.id, radar.name, radar.language, radar.query, radar.description),
                    day=day,
                    papers=briefing_papers(conn, radar.id, day),
                    briefing_markdown=markdown,
                    briefing_generator=f"llm:{model}" if generator == "llm" and model else generator,
                    source_notes=notes,
                )
            )

    site_dir = hub.data_path() / "site"
    written = render_site(site_dir, pages, generated_at=datetime.now(timezone.utc))
    context.log.info(f"{day}: wrote {len(written)} site files under {site_dir}")
    return MaterializeResult(
        metadata={
            "pages": len(pages),
            "files_written": len(written),
            "papers_shown": sum(len(page.papers) for page in pages),
            "source_notes": len(notes),
            "index": MetadataValue.path(str(site_dir / "index.html")),
        }
    )

