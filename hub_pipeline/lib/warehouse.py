"""The warehouse's hand-written tables and the helpers that write one day at a time.

Tables built by SQL models (papers, paper_listings and the staging views) are created by the
model loader from dbt_like_sql/; the tables below are written from Python. Every public table
carries column comments, so `DESCRIBE` and `duckdb_columns()` document it for analysts.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

SCHEMAS = ("raw", "staging", "intermediate")

_TABLES: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "main.fetch_log": (
        "One row per source per announcement day: the fetch behind that day's data and its outcome.",
        {
            "day": ("DATE NOT NULL", "Announcement day (partition key, UTC)."),
            "source_id": ("VARCHAR NOT NULL", "Source id from sources.yaml."),
            "source_kind": ("VARCHAR NOT NULL", "Source kind: arxiv_rss, biorxiv_rss, rss, or a kind with history (arxiv_oai, arxiv_api, biorxiv_api, crossref)."),
            "url": ("VARCHAR NOT NULL", "URL fetched (http(s) or file://)."),
            "fetched_at": ("TIMESTAMPTZ NOT NULL", "When the payload behind this row was first fetched; a re-fetch of the same bytes keeps it."),
            "http_status": ("INTEGER", "HTTP status of the last attempt; NULL for file:// and network errors."),
            "bytes": ("BIGINT", "Payload size in bytes; NULL when nothing was received."),
            "payload_sha256": ("VARCHAR", "SHA-256 of the stored raw payload (data/raw/<2 chars>/<digest>.bin)."),
            "etag": ("VARCHAR", "ETag the server sent, reused for conditional GET."),
            "last_modified": ("VARCHAR", "Last-Modified the server sent, reused for conditional GET."),
            "attempts": ("INTEGER", "HTTP attempts made, retries included."),
            "feed_day": ("DATE", "The announcement day the feed states for itself, when it states one."),
            "items": ("INTEGER", "Items parsed from the payload and stored for this day."),
            "outcome": ("VARCHAR NOT NULL", "loaded, no_announcement, unchanged, stale, skipped, source_error or parse_error."),
            "reason": ("VARCHAR", "Why the outcome is not loaded, or a warning about a loaded payload."),
        },
    ),
    "raw.fetch_attempts": (
        "One row per fetch attempt of a source for a day, kept for inspection; fetch_log is derived from it.",
        {
            "attempt_id": ("VARCHAR NOT NULL", "Unique id of the attempt."),
            "day": ("DATE NOT NULL", "Announcement day the fetch was made for; for a page of a backfill harvest, the first day of its window."),
            "source_id": ("VARCHAR NOT NULL", "Source id."),
            "source_kind": ("VARCHAR NOT NULL", "Source kind."),
            "url": ("VARCHAR NOT NULL", "URL fetched."),
            "fetched_at": ("TIMESTAMPTZ NOT NULL", "When the attempt ended."),
            "outcome": ("VARCHAR NOT NULL", "fetched, not_modified, source_error, no_announcement or skipped."),
            "reason": ("VARCHAR", "Why the attempt did not fetch a payload."),
            "http_status": ("INTEGER", "HTTP status of the last request."),
            "bytes": ("BIGINT", "Body size."),
            "payload_sha256": ("VARCHAR", "Stored payload: the body fetched, or for a 304 the payload it confirmed."),
            "etag": ("VARCHAR", "ETag sent by the server."),
            "last_modified": ("VARCHAR", "Last-Modified sent by the server."),
            "attempts": ("INTEGER", "HTTP requests made, retries included."),
        },
    ),
    "raw.entries": (
        "One row per item per source payload and day, as the source stated it plus normalized fields.",
        {
            "day": ("DATE NOT NULL", "Announcement day."),
            "source_id": ("VARCHAR NOT NULL", "Source id."),
            "source_kind": ("VARCHAR NOT NULL", "Source kind."),
            "source_label": ("VARCHAR NOT NULL", "Badge text for the source, e.g. arXiv (cs.CL)."),
            "payload_sha256": ("VARCHAR NOT NULL", "Payload the item was parsed from."),
            "item_index": ("INTEGER NOT NULL", "Position of the item in the payload, from 0."),
            "feed_category": ("VARCHAR", "Category or subject of the feed."),
            "guid": ("VARCHAR", "Item guid or id as the source gave it."),
            "link": ("VARCHAR", "Item link."),
            "title": ("VARCHAR NOT NULL", "Title, cleaned: entities decoded, tags removed, whitespace folded, LaTeX kept."),
            "abstract": ("VARCHAR NOT NULL", "Abstract, cleaned the same way, arXiv's description prefix removed."),
            "raw_title": ("VARCHAR", "Title exactly as in the feed."),
            "raw_summary": ("VARCHAR", "Description or summary exactly as in the feed."),
            "authors": ("VARCHAR[] NOT NULL", "Author names in feed order."),
            "categories": ("VARCHAR[] NOT NULL", "Categories the item carries."),
            "announce_type": ("VARCHAR", "arXiv announce type: new, cross, replace or replace-cross."),
            "arxiv_id": ("VARCHAR", "arXiv id without version."),
            "arxiv_version": ("INTEGER", "arXiv version number."),
            "doi": ("VARCHAR", "DOI, lower-case, without prefix."),
            "published": ("TIMESTAMPTZ", "The item's own date."),
            "journal": ("VARCHAR", "Journal or server name."),
            "title_key": ("VARCHAR NOT NULL", "Normalized title and first-author surname, the weakest identity."),
            "version_label": ("VARCHAR", "Version the item describes as the source wrote it, e.g. v2 (bioRxiv link, API version)."),
            "published_doi": ("VARCHAR", "DOI of the journal article a preprint became (bioRxiv published, arXiv DOI)."),
            "journal_ref": ("VARCHAR", "Citation of the published version as the authors gave it (arXiv journal_ref)."),
            "relation_dois": ("VARCHAR[]", "Crossref relations to other works, each as <relation type>:<doi>."),
        },
    ),
    "main.radar_matches": (
        "One row per radar, paper and day: the papers of that day that fit the radar.",
        {
            "radar_id": ("VARCHAR NOT NULL", "Radar id from radars.yaml."),
            "day": ("DATE NOT NULL", "Announcement day."),
            "paper_id": ("VARCHAR NOT NULL", "Paper (papers.paper_id)."),
            "score": ("DOUBLE NOT NULL", "Combined score in [0, 1]: BM25 of the query terms (squashed), mixed with the similarity to the radar's seeds when embeddings are on."),
            "rank": ("INTEGER NOT NULL", "Rank within the radar and day, 1 = best. After a model check, papers judged off topic rank last whatever their score."),
            "reasons": ("VARCHAR[] NOT NULL", 'Why it matched, e.g. title: "diffusion", and the model check\'s verdict when the radar has one.'),
            "is_update": ("BOOLEAN NOT NULL", "True when the paper was first announced on an earlier day (a new version)."),
            "version": ("INTEGER", "Paper version listed that day, when known."),
        },
    ),
    "main.briefings": (
        "One row per radar and day: the briefing text and what is needed to audit it.",
        {
            "radar_id": ("VARCHAR NOT NULL", "Radar id."),
            "day": ("DATE NOT NULL", "Announcement day."),
            "language": ("VARCHAR NOT NULL", "zh-CN or en."),
            "generator": ("VARCHAR NOT NULL", "llm, or offline for the extractive writer used without a key or after a failure."),
            "model": ("VARCHAR", "Model name for LLM briefings."),
            "prompt_version": ("VARCHAR NOT NULL", "Version of the prompt or of the offline writer."),
            "markdown": ("VARCHAR NOT NULL", "The briefing as Markdown."),
            "content": ("JSON NOT NULL", "The briefing as structured JSON: headline, themes, reading list."),
            "input_ids": ("VARCHAR[] NOT NULL", "Paper ids given to the writer."),
            "cited_ids": ("VARCHAR[] NOT NULL", "Paper ids the briefing cites, all checked against input_ids."),
            "removed_ids": ("VARCHAR[] NOT NULL", "Citations removed because they were not in the day's set."),
            "tokens_in": ("INTEGER NOT NULL", "Prompt tokens spent."),
            "tokens_out": ("INTEGER NOT NULL", "Completion tokens spent."),
            "error": ("VARCHAR", "Why the LLM briefing failed and the offline writer took over."),
            "failure": ("VARCHAR", "Kind of LLM failure behind error: rate_limited, quota_exhausted, refused, timeout, wrong_language, invalid_reply, no_valid_citations, budget_exhausted, http_error or connection_error; NULL when none."),
            "cache_key": ("VARCHAR", "SHA-256 key of the response cache (model, prompt version, language, radar, paper ids with versions); NULL without a model."),
            "cached": ("BOOLEAN", "True when the model's reply came from raw.llm_cache, so no tokens were spent."),
            "requests": ("INTEGER", "Chat completion requests made for this briefing, retries and batches included."),
            "batches": ("INTEGER", "Paper batches summarized before the combining request; 0 when one request held all papers."),
            "cost_usd": ("DOUBLE", "Estimated cost in USD: tokens times the configured prices per 1K tokens."),
        },
    ),
    "raw.llm_cache": (
        "One row per response cache key: a validated model reply, reused when the inputs of a briefing or a radar's model check are unchanged.",
        {
            "cache_key": ("VARCHAR NOT NULL", "SHA-256 over model, prompt version, language, radar and paper ids with versions."),
            "radar_id": ("VARCHAR", "Radar the reply was written for."),
            "day": ("DATE", "Announcement day the reply was written for."),
            "model": ("VARCHAR", "Model name."),
            "prompt_version": ("VARCHAR", "Prompt version: llm-N for briefings, check-N for model checks."),
            "language": ("VARCHAR", "zh-CN or en."),
            "entry": ("JSON NOT NULL", "The validated reply and the tokens it cost."),
            "tokens_in": ("INTEGER", "Prompt tokens the reply cost when it was requested."),
            "tokens_out": ("INTEGER", "Completion tokens the reply cost when it was requested."),
            "created_at": ("TIMESTAMPTZ NOT NULL", "When the reply was stored."),
        },
    ),
    "main.deliveries": (
        "One row per radar, day and delivery target: what was sent by e-mail or chat webhook, and the outcome.",
        {
            "radar_id": ("VARCHAR NOT NULL", "Radar id."),
            "day": ("DATE NOT NULL", "Announcement day of the briefing delivered."),
            "channel": ("VARCHAR NOT NULL", "email, feishu, dingtalk, wecom or slack."),
            "target": ("VARCHAR NOT NULL", "E-mail address, or the name of the environment variable that holds the webhook URL (never the URL)."),
            "status": ("VARCHAR NOT NULL", "sent, failed, or skipped (already sent, or settings missing)."),
            "detail": ("VARCHAR", "Why a delivery failed or was skipped, or the receiver's reply."),
            "briefing_sha256": ("VARCHAR", "SHA-256 of the Markdown delivered."),
            "attempted_at": ("TIMESTAMPTZ NOT NULL", "When the delivery was attempted."),
        },
    ),
}


def warehouse_path(data_dir: Path) -> Path:
    return data_dir / "warehouse.duckdb"


def default_data_dir() -> Path:
    """Return data/ in the working directory, or HUB_DATA_DIR when it is set."""
    return Path(os.environ.get("HUB_DATA_DIR") or "data").resolve()


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and the Python-written tables when missing, with their comments."""
    for schema in SCHEMAS:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table, (description, columns) in _TABLES.items():
        create_table(conn, table, description, columns)


def create_table(
    conn: duckdb.DuckDBPyConnection, table: str, description: str, columns: dict[str, tuple[str, str]]
) -> None:
    """Create a table when missing, add nullable columns it lacks, and comment every column.

    Adding columns lets a warehouse written by an earlier release take the new columns
    without a rebuild. DuckDB cannot add a NOT NULL column to a table with rows, so an added
    column is nullable even where a new table would declare it NOT NULL.
    """
    column_sql = ", ".join(f"{name} {sql_type}" for name, (sql_type, _) in columns.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({column_sql})")
    schema, _, name = table.partition(".")
    present = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?", [schema, name]
        ).fetchall()
    }
    for column, (sql_type, _) in columns.items():
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type.replace(' NOT NULL', '')}")
    conn.execute(f"COMMENT ON TABLE {table} IS {quote_literal(description)}")
    for column, (_, comment) in columns.items():
        conn.execute(f"COMMENT ON COLUMN {table}.{column} IS {quote_literal(comment)}")


def quote_literal(text: str) -> str:
    """Return ``text`` as a SQL string literal, for statements that take no parameters (COMMENT ON)."""
    return "'" + text.replace("'", "''") + "'"


def replace_rows(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    rows: pa.Table,
    where: str,
    parameters: list[object],
) -> int:
    """Delete the rows matching ``where`` and insert ``rows``, in one transaction.

    ``rows`` must carry the table's columns by name. Returns the number of rows deleted.
    """
    columns = ", ".join(rows.column_names)
    conn.execute("BEGIN TRANSACTION")
    try:
        deleted = conn.execute(f"DELETE FROM {table} WHERE {where}", parameters).fetchone()
        if rows.num_rows:
            conn.register("incoming_rows", rows)
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_rows")
            conn.unregister("incoming_rows")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(deleted[0]) if deleted else 0


