"""Read raw.entries for the identity step and write what it decided, in one transaction."""

from __future__ import annotations

import duckdb
import polars as pl

from hub_pipeline.lib.identity import Resolution
from hub_pipeline.lib.warehouse import create_table

# The columns of raw.entries that identity resolution reads. Of the abstract it needs only
# whether there is one: reading the text itself would hold every abstract in memory.
_ENTRY_COLUMNS = (
    "day, source_id, item_index, title, coalesce(abstract, '') <> '' AS has_abstract, authors, guid, link, "
    "arxiv_id, arxiv_version, doi, title_key, version_label, published_doi"
)

IDENTITY_TABLES: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "intermediate.paper_identity": (
        "One row per raw.entries row: the work it describes and the rule that decided it.",
        {
            "day": ("DATE NOT NULL", "Announcement day of the entry."),
            "source_id": ("VARCHAR NOT NULL", "Source of the entry."),
            "item_index": ("INTEGER NOT NULL", "Position of the entry in its payload."),
            "paper_id": ("VARCHAR NOT NULL", "The work (papers.paper_id)."),
            "identity_rule": ("VARCHAR NOT NULL", "arxiv, doi, link, guid, title, or fuzzy for a title-and-author match."),
            "identity_confidence": ("DOUBLE NOT NULL", "1.0 for a shared identifier, the matcher's confidence for fuzzy."),
            "arxiv_id": ("VARCHAR", "arXiv id of the entry, also when read from an arXiv DOI or link."),
            "work_doi": ("VARCHAR", "DOI of the entry's own work, preprint version removed; 10.48550/arxiv.<id> for arXiv."),
            "version": ("INTEGER", "Version the entry describes, from the arXiv id, the version label, the DOI or the link."),
            "published_doi": ("VARCHAR", "DOI of the journal article the entry's preprint became."),
            "link_key": ("VARCHAR", "The entry's link reduced to a stable form."),
        },
    ),
    "intermediate.paper_aliases": (
        "One row per paper id that an entry would have had on its own and that now names another work.",
        {
            "alias_id": ("VARCHAR NOT NULL", "An earlier or weaker id of the work."),
            "paper_id": ("VARCHAR NOT NULL", "The work's current id (papers.paper_id)."),
        },
    ),
    "main.paper_match_candidates": (
        "One row per pair of works whose titles and authors look alike but that were not merged; for review.",
        {
            "paper_id_a": ("VARCHAR NOT NULL", "One work (papers.paper_id), the smaller id."),
            "paper_id_b": ("VARCHAR NOT NULL", "The other work (papers.paper_id)."),
            "title_a": ("VARCHAR", "Title of paper_id_a."),
            "title_b": ("VARCHAR", "Title of paper_id_b."),
            "title_score": ("DOUBLE NOT NULL", "rapidfuzz ratio of the normalized titles, 0 to 100."),
            "author_score": ("DOUBLE NOT NULL", "Share of one side's author surnames found in the other's names, 0 to 1."),
            "confidence": ("DOUBLE NOT NULL", "0.75 x title_score / 100 + 0.25 x author_score."),
            "reason": ("VARCHAR NOT NULL", "Why the pair was not merged."),
        },
    ),
}


def ensure_identity_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for table, (description, columns) in IDENTITY_TABLES.items():
        create_table(conn, table, description, columns)


def read_entries(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Return every raw.entries row with the columns identity resolution reads."""
    return conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM raw.entries ORDER BY day, source_id, item_index").pl()


def write_resolution(conn: duckdb.DuckDBPyConnection, resolution: Resolution) -> None:
    """Replace the identity, alias and candidate tables together, or leave them all as they were."""
    frames = {
        "intermediate.paper_identity": resolution.identity,
        "intermediate.paper_aliases": resolution.aliases,
        "main.paper_match_candidates": resolution.candidates,
    }
    conn.execute("BEGIN TRANSACTION")
    try:
        for table, frame in frames.items():
            conn.execute(f"DELETE FROM {table}")
            if frame.height:
                conn.register("identity_rows", frame.to_arrow())
                columns = ", ".join(frame.columns)
                conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM identity_rows")
                conn.unregister("identity_rows")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
