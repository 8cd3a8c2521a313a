"""Publishing beyond the site: an Atom feed per radar, and opt-in e-mail and chat delivery."""


import hashlib
import json
import os
from datetime import date, datetime, timezone

import httpx
import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.briefings.assets import briefings
from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import WRITER_POOL, HubSettings
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib.briefing.feed import FeedEntry, build_feed
from hub_pipeline.lib.briefing.i18n import text
from hub_pipeline.lib.delivery import deliver_briefing
from hub_pipeline.lib.models import RadarInfo
from hub_pipeline.lib.outputs import write_text_atomic
from hub_pipeline.lib.site.briefing_html import render_briefing_markdown
from hub_pipeline.lib.warehouse import replace_rows

DELIVERY_SCHEMA = {
    "radar_id": pl.Utf8,
    "day": pl.Date,
    "channel": pl.Utf8,
    "target": pl.Utf8,
    "status": pl.Utf8,
    "detail": pl.Utf8,
    "briefing_sha256": pl.Utf8,
    "attempted_at": pl.Datetime(time_zone="UTC"),
}


def site_url() -> str:
    """Public address of data/site/ from HUB_SITE_URL; empty means links relative to the site."""
    return os.environ.get("HUB_SITE_URL", "").strip().rstrip("/")


@asset(
    deps=[briefings],
    partitions_def=daily_partitions,
    group_name="publish",
    kinds={"atom"},
)
def briefing_feeds(context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings) -> MaterializeResult:
    """Rewrite each radar's Atom feed, data/site/<radar>/feed.atom, with one entry per stored day."""
    radars = hub.radars().radars
    site_dir = hub.data_path() / "site"

    entries_per_radar = {}
    with warehouse(duckdb) as conn:
        for radar in radars:
            rows = conn.execute(
                "SELECT day, markdown, content ->> '$.headline' FROM main.briefings WHERE radar_id = ? ORDER BY day DESC LIMIT 60",
                [radar.id],
            ).fetchall()
            entries_per_radar[radar.id] = [FeedEntry(day, markdown, headline or "") for day, markdown, headline in rows]

    for radar in radars:
        info = RadarInfo(radar.id, radar.name, radar.language, radar.query, radar.description)
        xml = build_feed(info, entries_per_radar[radar.id], site_url())
        write_text_atomic(site_dir / radar.id / "feed.atom", xml.decode("utf-8"))
    context.log.info(f"{context.partition_key}: wrote {len(radars)} Atom feeds under {site_dir}")

    return MaterializeResult(
        metadata={
            "feeds": len(radars),
            "entries": sum(len(entries) for entries in entries_per_radar.values()),
            "feed_paths": MetadataValue.json({radar.id: str(site_dir / radar.id / "feed.atom") for radar in radars}),
        }
    )


@asset(
    deps=[briefings],
    partitions_def=daily_partitions,
    pool=WRITER_POOL,
    group_name="publish",
    kinds={"email", "python"},
)
def deliveries(context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings) -> MaterializeResult:
    """Send each opted-in radar's briefing by e-mail and chat webhook, and record every target.

    Grain: one row per radar, day and target in main.deliveries, with the latest outcome. A
    target that already got the same briefing is skipped, so re-running a day sends nothing twice.
    """
    day = date.fromisoformat(context.partition_key)
    radars = [radar for radar in hub.radars().radars if radar.delivery is not None]

    rows = []
    with warehouse(duckdb) as conn, httpx.Client() as http_client:
        for radar in radars:
            stored = conn.execute(
                "SELECT markdown FROM main.briefings WHERE radar_id = ? AND day = ?", [radar.id, day]
            ).fetchone()
            if stored is None:
                context.log.warning(f"{day} radar {radar.id}: no briefing stored, nothing to deliver")
                continue
            markdown = stored[0]
            digest = hashlib.sha256(markdown.encode("utf-8")).hexdigest()
            sent_before = conn.execute(
                "SELECT channel, target FROM main.deliveries WHERE radar_id = ? AND day = ? AND status = 'sent' AND briefing_sha256 = ?",
                [radar.id, day, digest],
            ).fetchall()

            results = deliver_briefing(
                radar.delivery.email,
                [(hook.kind, hook.url_env, hook.secret_env) for hook in radar.delivery.webhooks],
                subject=text(radar.language, "md_title", radar_id=radar.name, day=day.isoformat()),
                markdown=markdown,
                html=str(render_briefing_markdown(markdown)),
                link=f"{site_url()}/{radar.id}/{day.isoformat()}.html" if site_url() else "",
                environ=os.environ,
                http_client=http_client,
                already_sent=set(sent_before),
            )
            now = datetime.now(timezone.utc)
            for result in results:
                # A skip of a target sent before keeps the row that records the sending.
                status = "sent" if result.detail == "already sent" else result.status
                log = context.log.warning if result.status == "failed" else context.log.info
                log(f"{day} radar {radar.id}: {result.channel} {result.target}: {result.status} {result.detail}".rstrip())
                rows.append(
                    {
                        "radar_id": radar.id,
                        "day": day,
                        "channel": result.channel,
                        "target": result.target,
                        "status": status,
                        "detail": result.detail or None,
                        "briefing_sha256": digest,
                        "attempted_at": now,
                    }
                )

        frame = pl.DataFrame(rows, schema=DELIVERY_SCHEMA)
        # Only these radars' rows are replaced: the rows of other radars record what was sent
        # to them, and losing those would send the same briefing again.
        replace_rows(conn, "main.deliveries", frame.to_arrow(), "day = ? AND list_contains(?, radar_id)", [day, [r.id for r in radars]])

    failed = {f"{row['radar_id']} {row['channel']} {row['target']}": row["detail"] for row in rows if row["status"] == "failed"}
    return MaterializeResult(
        metadata={
            "targets": len(rows),
            "sent": sum(row["status"] == "sent" for row in rows),
            "failed": len(failed),
            "skipped": sum(row["status"] == "skipped" for row in rows),
            "failures": MetadataValue.json(failed),
        }
    )
