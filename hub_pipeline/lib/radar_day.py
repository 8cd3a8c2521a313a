"""Rank every radar over one day's candidate papers, with the semantic side when it can run."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from hub_pipeline.lib.config import RadarConfig, paper_id_for
from hub_pipeline.lib.embeddings import Embedder, EmbeddingError, cached_embeddings, description_text
from hub_pipeline.lib.radar_rank import PaperIndex, RadarRanker, RankedMatch, SemanticProfile


@dataclass
class DayRanking:
    matches: dict[str, list[RankedMatch]]
    modes: dict[str, str]  # radar id -> "lexical+semantic" or "lexical"
    notes: list[str] = field(default_factory=list)  # warnings: unresolved seeds, failed embeddings
    embedded: int = 0  # paper embeddings computed (not taken from the cache)
    unused_reason: str | None = None  # why no embedding was looked up, when an embedder was set
    papers: int = 0  # papers of the day whose embeddings were looked up


def rank_day(
    conn: duckdb.DuckDBPyConnection,
    radars: list[RadarConfig],
    candidates: pl.DataFrame,
    embedder: Embedder | None,
    embedder_note: str,
) -> DayRanking:
    """Rank each radar over ``candidates`` (rows of daily_papers.candidates_for_day)."""
    notes = [embedder_note]
    index = PaperIndex(candidates)
    ranker = RadarRanker(radars)
    semantic_radars = [radar for radar in radars if radar.seeds or radar.description.strip()]
    embeddings = None
    profiles: dict[str, SemanticProfile] = {}
    embedded = 0
    unused_reason = None
    if not semantic_radars:
        unused_reason = "no radar has seed papers or a description"
    elif not candidates.height:
        unused_reason = "no papers are listed on the day"
    if embedder is not None and unused_reason is None:
        try:
            embeddings, embedded = cached_embeddings(conn, embedder, candidates)
            profiles = _profiles(conn, embedder, semantic_radars, notes)
        except EmbeddingError as error:
            notes.append(f"semantic side skipped, ranking on the query alone: {error}")
            embeddings, profiles = None, {}
    matches, modes = ranker.rank(index, embeddings, profiles)
    looked_up = candidates.height if embeddings is not None else 0
    return DayRanking(matches, modes, notes, embedded, unused_reason, looked_up)


def embeddings_summary(embedder_note: str, embedder: Embedder | None, ranking: DayRanking) -> str:
    """Summarize the day's embeddings for the run log: which source, and how many were computed.

    Without an embedder, the note alone gives the reason embeddings are off and how to turn them on.
    """
    if embedder is None:
        return embedder_note
    if ranking.unused_reason:
        return f"{embedder_note}; none used, because {ranking.unused_reason}"
    cached = max(ranking.papers - ranking.embedded, 0)
    return f"{embedder_note}; {ranking.embedded} paper embeddings computed, {cached} taken from the cache"


def _profiles(
    conn: duckdb.DuckDBPyConnection, embedder: Embedder, radars: list[RadarConfig], notes: list[str]
) -> dict[str, SemanticProfile]:
    wanted = sorted({pid for radar in radars for ident in radar.seeds + radar.negatives if (pid := paper_id_for(ident))})
    papers = _seed_papers(conn, wanted)
    vectors: dict[str, np.ndarray] = {}
    if papers.height:
        matrix, _ = cached_embeddings(conn, embedder, papers)
        vectors = {paper_id: matrix[row] for row, paper_id in enumerate(papers["paper_id"].to_list())}
    titles = dict(zip(papers["paper_id"].to_list(), papers["title"].to_list(), strict=True))
    texts = {radar.id: description_text(radar.description, radar.glossary, embedder.english_only) for radar in radars}
    for radar in radars:
        if radar.description.strip() and not texts[radar.id]:
            notes.append(
                f"radar {radar.id}: the description is left out, because {embedder.model} reads English only"
                " and the description has no English words or glossary terms"
            )
        elif texts[radar.id] != radar.description.strip():
            notes.append(f'radar {radar.id}: the description is embedded through the glossary as "{texts[radar.id]}"')
    descriptions = sorted({text for text in texts.values() if text})
    described = dict(zip(descriptions, embedder.embed(descriptions), strict=True)) if descriptions else {}

    profiles = {}
    for radar in radars:
        positive_labels, positives = [], []
        for ident in radar.seeds:
            paper_id = paper_id_for(ident)
            if paper_id in vectors:
                positive_labels.append(paper_id)
                positives.append(vectors[paper_id])
            else:
                notes.append(f"radar {radar.id}: seed {ident} is not in the warehouse's papers, so it is left out")
        if texts[radar.id]:
            positive_labels.append("description")
            positives.append(described[texts[radar.id]])
        negative_labels = [pid for ident in radar.negatives if (pid := paper_id_for(ident)) in vectors]
        for ident in radar.negatives:
            if paper_id_for(ident) not in vectors:
                notes.append(f"radar {radar.id}: negative {ident} is not in the warehouse's papers, so it is left out")
        if not positives:
            continue
        dimension = positives[0].shape[0]
        profiles[radar.id] = SemanticProfile(
            positives=np.stack(positives).astype(np.float32),
            positive_labels=positive_labels,
            negatives=np.stack([vectors[pid] for pid in negative_labels]).astype(np.float32)
            if negative_labels
            else np.zeros((0, dimension), dtype=np.float32),
            negative_labels=negative_labels,
            titles=titles,
        )
    return profiles


def _seed_papers(conn: duckdb.DuckDBPyConnection, paper_ids: list[str]) -> pl.DataFrame:
    if not paper_ids:
        return pl.DataFrame(schema={"paper_id": pl.Utf8, "version": pl.Int32, "title": pl.Utf8, "abstract": pl.Utf8})
    return conn.execute(
        """
        SELECT paper_id, coalesce(latest_version, 0)::INTEGER AS version, title, abstract
        FROM main.papers
        WHERE list_contains(?, paper_id)
        ORDER BY paper_id
        """,
        [paper_ids],
    ).pl()
