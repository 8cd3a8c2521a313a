"""Radar matching: which of the day's papers fit each radar."""


from datetime import date

import polars as pl
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import WRITER_POOL, HubSettings, LLMResource
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib.briefing.cache import WarehouseCache
from hub_pipeline.lib.briefing.llm import LLMWriter
from hub_pipeline.lib.config import RadarConfig
from hub_pipeline.lib.daily_papers import MATCH_SCHEMA, already_reported, candidates_for_day, match_rows
from hub_pipeline.lib.embeddings import embedder_from_env
from hub_pipeline.lib.radar_check import NO_KEY, CheckedPaper, ModelChecker
from hub_pipeline.lib.radar_day import DayRanking, embeddings_summary, rank_day
from hub_pipeline.lib.warehouse import replace_rows


@asset(
    deps=[AssetKey("papers"), AssetKey("paper_listings")],
    partitions_def=daily_partitions,
    pool=WRITER_POOL,
    group_name="radars",
    kinds={"python", "duckdb"},
)
def radar_matches(
    context: AssetExecutionContext, duckdb: DuckDBResource, hub: HubSettings, llm: LLMResource
) -> MaterializeResult:
    """Match every radar against the papers listed that day: BM25 on the query plus the semantic score.

    Grain: one row per radar, paper and day, with score, rank and the reasons it matched. A radar
    with ``model_check`` has its top papers judged by the chat model when OPENAI_API_KEY is set.
    """
    day = date.fromisoformat(context.partition_key)
    radars = hub.radars().radars
    embedder, embedder_note = embedder_from_env()

    with warehouse(duckdb) as conn:
        candidates = candidates_for_day(conn, day)
        if candidates.height == 0:
            context.log.warning(f"{day}: no papers listed, so no radar can match; see fetch_log for each source's reason")

        ranking = rank_day(conn, radars, candidates, embedder, embedder_note)
        context.log.info(f"{day}: {embeddings_summary(embedder_note, embedder, ranking)}")
        for note in ranking.notes[1:]:
            context.log.warning(f"{day}: {note}")
        checks = _model_checks(context, conn, llm, radars, candidates, ranking, day)

        rows: list[dict] = []
        per_radar: dict[str, int] = {}
        for radar in radars:
            matches = ranking.matches[radar.id]
            radar_rows = match_rows(matches, candidates, day, already_reported(conn, radar.id, day))
            per_radar[radar.id] = len(radar_rows)
            rows.extend(radar_rows)
            context.log.info(
                f"{day} radar {radar.id}: {len(radar_rows)} matches of {candidates.height} papers ({ranking.modes[radar.id]})"
            )

        frame = pl.DataFrame(rows, schema=MATCH_SCHEMA)
        # Only the configured radars' rows are replaced, so a run with another radars file
        # leaves the rows of radars it does not know alone.
        replace_rows(conn, "main.radar_matches", frame.to_arrow(), "day = ? AND list_contains(?, radar_id)", [day, [r.id for r in radars]])

    metadata: dict[str, object] = {
        "candidates": candidates.height,
        "matches": len(rows),
        "embeddings_computed": ranking.embedded,
        "semantic": MetadataValue.md("\n".join(f"- {note}" for note in ranking.notes)),
    }
    metadata.update({f"matches_{radar_id}": count for radar_id, count in per_radar.items()})
    metadata.update({f"mode_{radar_id}": mode for radar_id, mode in ranking.modes.items()})
    metadata.update({f"model_check_{radar_id}": summary for radar_id, summary in checks.items()})
    top = frame.sort(["radar_id", "rank"]).group_by("radar_id", maintain_order=True).head(3)
    metadata["preview"] = MetadataValue.md(_preview(top))
    return MaterializeResult(metadata=metadata)


def _model_checks(
    context, conn, llm: LLMResource, radars: list[RadarConfig], candidates: pl.DataFrame, ranking: DayRanking, day: date
) -> dict[str, str]:
    """Run the model check of every radar that sets one; return a summary per such radar.

    The checked order replaces the ranker's in ``ranking.matches``. Without OPENAI_API_KEY, a
    verdict already cached for the day is still applied, so a re-run keeps the checked order.
    A radar whose check is not made or fails keeps the ranker's order, and its summary gives
    the reason.
    """
    checked = [radar for radar in radars if radar.model_check]
    if not checked:
        return {}
    client = llm.client()
    writer = LLMWriter(client, llm.settings()) if client is not None else None
    papers = {
        row["paper_id"]: CheckedPaper(row["paper_id"], row["version"], row["title"] or "", row["abstract"] or "")
        for row in candidates.select("paper_id", "version", "title", "abstract").iter_rows(named=True)
    }
    summaries = {}
    for radar in checked:
        if not ranking.matches[radar.id]:
            summaries[radar.id] = "no matches to check"
            continue
        checker = ModelChecker(writer, WarehouseCache(conn, radar.id, day), model=llm.model_name())
        outcome = checker.check(radar, ranking.matches[radar.id], papers)
        ranking.matches[radar.id] = outcome.matches
        if outcome.failure == NO_KEY:
            summaries[radar.id] = "skipped: OPENAI_API_KEY is not set"
            context.log.info(
                f"{day} radar {radar.id}: OPENAI_API_KEY is not set, so the model check is skipped"
                " and the list keeps the ranker's order"
            )
        elif outcome.failure:
            summaries[radar.id] = f"failed ({outcome.failure}): {outcome.error}"
            context.log.warning(
                f"{day} radar {radar.id}: model check failed ({outcome.failure}), ranker's order kept: {outcome.error}"
            )
        else:
            tokens = outcome.usage.tokens_in + outcome.usage.tokens_out
            source = "from the cache" if outcome.cached else f"{tokens} tokens"
            summaries[radar.id] = f"{outcome.judged} judged, {outcome.off_topic} off topic ({source})"
            context.log.info(f"{day} radar {radar.id}: model check: {summaries[radar.id]}")
    return summaries


def _preview(frame: pl.DataFrame) -> str:
    lines = ["| radar | rank | paper | score | reasons |", "| --- | --- | --- | --- | --- |"]
    for row in frame.iter_rows(named=True):
        reasons = "; ".join(row["reasons"]).replace("|", "/")
        lines.append(f"| {row['radar_id']} | {row['rank']} | {row['paper_id']} | {row['score']:.2f} | {reasons} |")
    return "\n".join(lines)
