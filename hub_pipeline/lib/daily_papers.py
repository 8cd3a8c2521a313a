"""Read a day's papers out of the warehouse for matching, briefing and the site."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from hub_pipeline.lib.matching import Candidate, Match
from hub_pipeline.lib.models import BriefingPaper

MATCH_SCHEMA = {
    "radar_id": pl.Utf8,
    "day": pl.Date,
    "paper_id": pl.Utf8,
    "score": pl.Float64,
    "rank": pl.Int32,
    "reasons": pl.List(pl.Utf8),
    "is_update": pl.Boolean,
    "version": pl.Int32,
}


def candidates_for_day(conn: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """Return one row per paper listed on ``day``: its text, sources, version and update flag."""
    return conn.execute(
        """
        WITH preprints AS (
            -- An article's preprints in the warehouse, so a radar can treat it as their update.
            SELECT paper_id, list_sort(list(DISTINCT related_paper_id)) AS preprint_ids
            FROM main.paper_links
            WHERE relation = 'preprint' AND related_paper_id IS NOT NULL
            GROUP BY paper_id
        )
        SELECT
            papers.paper_id,
            papers.title,
            papers.abstract,
            papers.authors,
            papers.categories,
            list_sort(list_distinct(list(listings.source_id))) AS source_ids,
            max(listings.version) AS version,
            papers.first_announced_day < $day AS is_update,
            coalesce(any_value(preprints.preprint_ids), []) AS preprint_ids
        FROM main.paper_listings AS listings
        INNER JOIN main.papers AS papers USING (paper_id)
        LEFT JOIN preprints USING (paper_id)
        WHERE listings.announced_day = $day
        GROUP BY ALL
        ORDER BY papers.paper_id
        """,
        {"day": day},
    ).pl()


def to_candidates(frame: pl.DataFrame) -> list[Candidate]:
    return [
        Candidate(
            paper_id=row["paper_id"],
            title=row["title"],
            abstract=row["abstract"],
            authors=row["authors"] or [],
            categories=row["categories"] or [],
            source_ids=row["source_ids"] or [],
        )
        for row in frame.iter_rows(named=True)
    ]


def already_reported(conn: duckdb.DuckDBPyConnection, radar_id: str, day: date) -> dict[str, int | None]:
    """Return the papers a radar reported before ``day``, with the highest version reported."""
    # A work reported under an id it has since lost (a weak id later joined to an arXiv id or
    # a DOI) counts under its current id, so it does not reach the radar a second time.
    rows = conn.execute(
        """
        SELECT coalesce(aliases.paper_id, matches.paper_id) AS paper_id, max(matches.version)
        FROM main.radar_matches AS matches
        LEFT JOIN intermediate.paper_aliases AS aliases ON aliases.alias_id = matches.paper_id
        WHERE matches.radar_id = ? AND matches.day < ?
        GROUP BY ALL
        """,
        [radar_id, day],
    ).fetchall()
    return {paper_id: version for paper_id, version in rows}


def match_rows(matches: list[Match], candidates: pl.DataFrame, day: date, reported: dict[str, int | None]) -> list[dict]:
    """Turn matches into radar_matches rows, dropping works the radar already reported.

    A work reaches a radar once; a later version comes back only as an update. A journal
    article whose preprint the radar reported before is an update too, and one whose preprint
    matched the same day is left out, because the preprint's entry names it as published.
    """
    info = {row["paper_id"]: row for row in candidates.iter_rows(named=True)}
    matched_today = {match.paper_id for match in matches}
    rows = []
    for match in matches:
        paper = info[match.paper_id]
        preprints = paper.get("preprint_ids") or []
        if any(preprint in matched_today for preprint in preprints):
            continue
        if match.paper_id in reported:
            earlier = reported[match.paper_id]
            if paper["version"] is None or earlier is None or paper["version"] <= earlier:
                continue
        rows.append(
            {
                "radar_id": match.radar_id,
                "day": day,
                "paper_id": match.paper_id,
                "score": match.score,
                "rank": 0,
                "reasons": match.reasons,
                "is_update": bool(paper["is_update"])
                or match.paper_id in reported
                or any(preprint in reported for preprint in preprints),
                "version": paper["version"],
            }
        )
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def briefing_papers(conn: duckdb.DuckDBPyConnection, radar_id: str, day: date) -> list[BriefingPaper]:
    """Return a radar's matched papers for ``day``, ranked, with the listing that shows them."""
    rows = conn.execute(
        """
        WITH day_listing AS (
            SELECT
                paper_id,
                source_id,
                source_label,
                feed_category,
                link,
                row_number() OVER (
                    PARTITION BY paper_id
                    ORDER BY announce_type = 'new' DESC, source_id, item_index
                ) AS preference
            FROM main.paper_listings
            WHERE announced_day = $day
        )
        SELECT
            matches.paper_id,
            papers.title,
            papers.abstract,
            papers.authors,
            papers.categories,
            listing.source_id,
            listing.source_label,
            coalesce(papers.link, listing.link) AS link,
            matches.score,
            matches.rank,
            matches.reasons,
            matches.is_update,
            matches.version,
            papers.published_journal,
            papers.published_link,
            listing.feed_category
        FROM main.radar_matches AS matches
        INNER JOIN main.papers AS papers USING (paper_id)
        LEFT JOIN day_listing AS listing ON listing.paper_id = matches.paper_id AND listing.preference = 1
        WHERE matches.radar_id = $radar_id AND matches.day = $day
        ORDER BY matches.rank
        """,
        {"radar_id": radar_id, "day": day},
    ).fetchall()
    return [
        BriefingPaper(
            paper_id=row[0],
            title=row[1],
            abstract=row[2],
            authors=list(row[3] or []),
            categories=list(row[4] or []),
            source_id=row[5] or "",
            source_label=row[6] or "",
            link=row[7],
            announced_day=day,
            score=row[8],
            rank=row[9],
            reasons=list(row[10] or []),
            is_update=row[11],
            version=row[12],
            published_journal=row[13],
            published_link=row[14],
            feed_category=row[15],
        )
        for row in rows
    ]
