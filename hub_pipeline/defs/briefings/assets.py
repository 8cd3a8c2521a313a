"""Briefings: one per radar and day, written by the language model or the offline writer."""


import json
from datetime import date

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.radars.assets import radar_matches
from hub_pipeline.defs.resources import WRITER_POOL, HubSettings, LLMResource
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib.briefing.cache import WarehouseCache
from hub_pipeline.lib.briefing.llm import LLMWriter
from hub_pipeline.lib.briefing.offline import write_offline
from hub_pipeline.lib.briefing.render import to_json, to_markdown
from hub_pipeline.lib.daily_papers import briefing_papers
from hub_pipeline.lib.models import Briefing, RadarInfo
from hub_pipeline.lib.outputs import write_text_atomic
from hub_pipeline.lib.warehouse import replace_rows

BRIEFING_SCHEMA = {
    "radar_id": pl.Utf8,
    "day": pl.Date,
    "language": pl.Utf8,
    "generator": pl.Utf8,
    "model": pl.Utf8,
    "prompt_version": pl.Utf8,
    "markdown": pl.Utf8,
    "content": pl.Utf8,
    "input_ids": pl.List(pl.Utf8),
    "cited_ids": pl.List(pl.Utf8),
    "removed_ids": pl.List(pl.Utf8),
    "tokens_in": pl.Int32,
    "tokens_out": pl.Int32,
    "error": pl.Utf8,
    "failure": pl.Utf8,
    "cache_key": pl.Utf8,
    "cached": pl.Boolean,
    "requests": pl.Int32,
    "batches": pl.Int32,
    "cost_usd": pl.Float64,
}


@asset(
    deps=[radar_matches],
    partitions_def=daily_partitions,
    pool=WRITER_POOL,
    group_name="briefings",
    kinds={"python", "duckdb", "openai"},
    check_specs=[
        AssetCheckSpec(
            name="citations_in_day_set",
            asset="briefings",
            description="Every stored briefing cites only papers of its day's input set; a failure stops the assets downstream.",
            blocking=True,
        )
    ],
)
def briefings(
    context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings, llm: LLMResource
) -> MaterializeResult:
    """Write each radar's briefing for the day, check its citations, and store it.

    Grain: one row per radar and day in main.briefings, plus data/briefings/<radar>/<day>.md
    and .json. Without OPENAI_API_KEY the offline writer is used, and the briefing says so.
    """
    day = date.fromisoformat(context.partition_key)
    radars = hub.radars().radars
    client = llm.client()
    if client is None:
        context.log.info("OPENAI_API_KEY is not set: briefings are written by the offline writer")

    rows = []
    out_dir = hub.data_path() / "briefings"
    with warehouse(duckdb) as conn:
        writer = LLMWriter(client, llm.settings()) if client is not None else None
        cache = WarehouseCache(conn)
        for radar in radars:
            # The glossary's English terms are the ones a briefing keeps as written.
            kept_terms = sorted({term for terms in radar.glossary.values() for term in terms})
            info = RadarInfo(radar.id, radar.name, radar.language, radar.query, radar.description, kept_terms)
            papers = briefing_papers(conn, radar.id, day)
            if writer is not None and papers:
                briefing = writer.write(info, day, papers, cache=cache.for_briefing(radar.id, day))
            else:
                briefing = write_offline(info, day, papers)
            if briefing.error:
                context.log.warning(f"{day} radar {radar.id}: LLM briefing failed ({briefing.failure}), offline writer used: {briefing.error}")
            if briefing.removed_ids:
                context.log.warning(f"{day} radar {radar.id}: removed {len(briefing.removed_ids)} citations not in the day's set")

            markdown = to_markdown(briefing, papers)
            content = to_json(briefing, papers)
            write_text_atomic(out_dir / radar.id / f"{day}.md", markdown)
            write_text_atomic(out_dir / radar.id / f"{day}.json", json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True))
            rows.append(briefing_row(briefing, markdown, content))
            context.log.info(
                f"{day} radar {radar.id}: {briefing.generator} briefing, {len(papers)} papers, "
                f"{len(briefing.cited_ids)} cited, {briefing.requests} requests, "
                f"{briefing.tokens_in + briefing.tokens_out} tokens{' (cached reply)' if briefing.cached else ''}"
            )

        frame = pl.DataFrame(rows, schema=BRIEFING_SCHEMA)
        # As for radar_matches: only the configured radars' briefings are replaced.
        replace_rows(conn, "main.briefings", frame.to_arrow(), "day = ? AND list_contains(?, radar_id)", [day, [r.id for r in radars]])
        # Every day stored, not only this one, so a row written by an older version is caught too.
        ungrounded = conn.execute(
            "SELECT radar_id || ' ' || day FROM main.briefings WHERE NOT list_has_all(input_ids, cited_ids) ORDER BY ALL"
        ).fetchall()

    check = AssetCheckResult(
        check_name="citations_in_day_set",
        passed=not ungrounded,
        severity=AssetCheckSeverity.ERROR,
        metadata={"briefings_failing": len(ungrounded), "sample": MetadataValue.text(", ".join(r[0] for r in ungrounded[:10]))},
    )
    return MaterializeResult(metadata=briefing_metadata(rows), check_results=[check])


def briefing_row(briefing: Briefing, markdown: str, content: dict) -> dict:
    """Return the main.briefings row of one briefing."""
    return {
        "radar_id": briefing.radar_id,
        "day": briefing.day,
        "language": briefing.language,
        "generator": briefing.generator,
        "model": briefing.model,
        "prompt_version": briefing.prompt_version,
        "markdown": markdown,
        "content": json.dumps(content, ensure_ascii=False, sort_keys=True),
        "input_ids": briefing.input_ids,
        "cited_ids": briefing.cited_ids,
        "removed_ids": briefing.removed_ids,
        "tokens_in": briefing.tokens_in,
        "tokens_out": briefing.tokens_out,
        "error": briefing.error,
        "failure": briefing.failure,
        "cache_key": briefing.cache_key,
        "cached": briefing.cached,
        "requests": briefing.requests,
        "batches": briefing.batches,
        "cost_usd": briefing.cost_usd,
    }


def briefing_metadata(rows: list[dict]) -> dict:
    """Counts for the run, each failure labelled by radar, and every briefing as Markdown."""
    failures = {row["radar_id"]: f"{row['failure']}: {row['error']}" for row in rows if row["failure"]}
    metadata: dict = {
        "briefings": len(rows),
        "llm_briefings": sum(row["generator"] != "offline" for row in rows),
        "offline_briefings": sum(row["generator"] == "offline" for row in rows),
        "llm_failures": len(failures),
        "cached_replies": sum(bool(row["cached"]) for row in rows),
        "llm_requests": sum(row["requests"] for row in rows),
        "removed_citations": sum(len(row["removed_ids"]) for row in rows),
        "tokens": sum(row["tokens_in"] + row["tokens_out"] for row in rows),
        "tokens_in": sum(row["tokens_in"] for row in rows),
        "tokens_out": sum(row["tokens_out"] for row in rows),
        "cost_usd": MetadataValue.float(round(sum(row["cost_usd"] for row in rows), 6)),
        "failures": MetadataValue.json(failures),
    }
    for row in rows:
        metadata[f"briefing_{row['radar_id']}"] = MetadataValue.md(row["markdown"])
    return metadata
