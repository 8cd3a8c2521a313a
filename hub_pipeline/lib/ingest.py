"""Fetch and parse one day of sources: the Dagster-free half of the ingest assets.

Fetching appends one row per source to raw.fetch_attempts and stores every body it receives.
Parsing reads the latest attempt per source, decides the day's outcome for that source and
writes its entries and its fetch_log row in one transaction. A failed fetch or parse never
replaces a day that loaded well, and re-running a day with the same payloads changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import polars as pl

from hub_pipeline.lib.calendar import latest_announcement_day, no_announcement_reason
from hub_pipeline.lib.config import SourceConfig
from hub_pipeline.lib.fetching import FetchSettings, fetch
from hub_pipeline.lib.models import Entry
from hub_pipeline.lib.parsing import FeedParseError, parse_payload
from hub_pipeline.lib.pause import pause_point
from hub_pipeline.lib.rawstore import read_payload, store_payload

Row = dict[str, Any]

ATTEMPT_SCHEMA = {
    "attempt_id": pl.Utf8,
    "day": pl.Date,
    "source_id": pl.Utf8,
    "source_kind": pl.Utf8,
    "url": pl.Utf8,
    "fetched_at": pl.Datetime("us", "UTC"),
    "outcome": pl.Utf8,
    "reason": pl.Utf8,
    "http_status": pl.Int32,
    "bytes": pl.Int64,
    "payload_sha256": pl.Utf8,
    "etag": pl.Utf8,
    "last_modified": pl.Utf8,
    "attempts": pl.Int32,
}

FETCH_LOG_SCHEMA = {
    "day": pl.Date,
    "source_id": pl.Utf8,
    "source_kind": pl.Utf8,
    "url": pl.Utf8,
    "fetched_at": pl.Datetime("us", "UTC"),
    "http_status": pl.Int32,
    "bytes": pl.Int64,
    "payload_sha256": pl.Utf8,
    "etag": pl.Utf8,
    "last_modified": pl.Utf8,
    "attempts": pl.Int32,
    "feed_day": pl.Date,
    "items": pl.Int32,
    "outcome": pl.Utf8,
    "reason": pl.Utf8,
}

ENTRY_SCHEMA = {
    "day": pl.Date,
    "source_id": pl.Utf8,
    "source_kind": pl.Utf8,
    "source_label": pl.Utf8,
    "payload_sha256": pl.Utf8,
    "item_index": pl.Int32,
    "feed_category": pl.Utf8,
    "guid": pl.Utf8,
    "link": pl.Utf8,
    "title": pl.Utf8,
    "abstract": pl.Utf8,
    "raw_title": pl.Utf8,
    "raw_summary": pl.Utf8,
    "authors": pl.List(pl.Utf8),
    "categories": pl.List(pl.Utf8),
    "announce_type": pl.Utf8,
    "arxiv_id": pl.Utf8,
    "arxiv_version": pl.Int32,
    "doi": pl.Utf8,
    "published": pl.Datetime("us", "UTC"),
    "journal": pl.Utf8,
    "title_key": pl.Utf8,
    "version_label": pl.Utf8,
    "published_doi": pl.Utf8,
    "journal_ref": pl.Utf8,
    "relation_dois": pl.List(pl.Utf8),
}

_RSS_KINDS = {"arxiv_rss", "biorxiv_rss", "rss"}
# Hosts fetched at once. The sources of one host are fetched one after another, so a host
# gets at most one request at a time from a run.
FETCH_THREADS = 4
_GOOD = "loaded"

logger = logging.getLogger(__name__)


def count_by(rows: list[Row], key: str) -> dict[str, int]:
    return dict(Counter(str(row[key]) for row in rows))


def rss_can_answer(day: date, now: datetime | None = None) -> bool:
    """Return whether a live RSS feed fetched now can stand for ``day``.

    RSS feeds show only their current items, so a fetch made today shows nothing of a
    day before the latest arXiv mailing (or before yesterday, for the journal feeds).
    """
    current = now or datetime.now(timezone.utc)
    earliest = min(latest_announcement_day(current), current.date() - timedelta(days=1))
    return day >= earliest


def _latest_payload_attempt(conn: duckdb.DuckDBPyConnection, source_id: str) -> Row | None:
    result = conn.execute(
        """
        SELECT day, etag, last_modified, payload_sha256
        FROM raw.fetch_attempts
        WHERE source_id = ? AND payload_sha256 IS NOT NULL AND outcome IN ('fetched', 'not_modified')
        ORDER BY fetched_at DESC
        LIMIT 1
        """,
        [source_id],
    ).fetchone()
    if result is None:
        return None
    return dict(zip(("day", "etag", "last_modified", "payload_sha256"), result))


def _fetch_one(
    previous: Row | None,
    source: SourceConfig,
    day: date,
    settings: FetchSettings,
    raw_dir: Path,
    now: datetime | None,
) -> Row:
    attempt: Row = {name: None for name in ATTEMPT_SCHEMA}
    attempt.update(attempt_id=uuid.uuid4().hex, day=day, source_id=source.id, source_kind=source.kind, url=source.url)

    live = source.url.startswith(("http://", "https://"))
    # Weekends are certain and not fetched. A listed holiday is still fetched, because the list
    # is approximate: the feed decides, and a stale or empty feed is then no_announcement.
    reason = no_announcement_reason(day) if source.kind == "arxiv_rss" and day.weekday() >= 5 else None
    if reason:
        attempt.update(outcome="no_announcement", reason=reason)
    elif live and source.kind in _RSS_KINDS and not rss_can_answer(day, now):
        attempt.update(
            outcome="skipped",
            reason=f"{source.id}: an RSS feed shows only current items and cannot answer for the past day {day}; "
            "use a backfill source for past days",
        )
    else:
        if source.max_bytes:
            settings = replace(settings, max_bytes=source.max_bytes)
        result = fetch(
            source.url,
            settings,
            etag=previous["etag"] if previous else None,
            last_modified=previous["last_modified"] if previous else None,
        )
        attempt.update(
            http_status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            attempts=result.attempts,
            reason=result.reason,
        )
        if result.body is not None:
            # Raw first: every body is stored, error pages included, so it can be inspected.
            digest, _ = store_payload(raw_dir, result.body)
            attempt.update(payload_sha256=digest, bytes=len(result.body))
        if result.outcome == "not_modified" and previous is not None:
            attempt.update(
                outcome="not_modified",
                payload_sha256=previous["payload_sha256"],
                etag=result.etag or previous["etag"],
                last_modified=result.last_modified or previous["last_modified"],
                reason=f"HTTP 304: {source.url} has not changed since the payload fetched for {previous['day']}",
            )
        elif result.outcome == "fetched":
            attempt.update(outcome="fetched")
        else:
            attempt.update(outcome="source_error", reason=result.reason or f"fetching {source.url} failed")

    attempt["fetched_at"] = datetime.now(timezone.utc)
    return attempt


def fetch_sources(
    conn: duckdb.DuckDBPyConnection,
    sources: list[SourceConfig],
    day: date,
    settings: FetchSettings,
    raw_dir: Path,
    *,
    log: logging.Logger | Any = logger,
    now: datetime | None = None,
) -> list[Row]:
    """Fetch every source for ``day``; one failing source never stops the others.

    Different hosts are fetched in parallel threads, since a fetch spends its time waiting
    on the network, and the sources of one host one after another. The attempts are written
    to the warehouse from this thread, in config order.
    """
    previous = {
        source.id: _latest_payload_attempt(conn, source.id)
        for source in sources
        if source.url.startswith(("http://", "https://"))
    }
    by_host: dict[str, list[SourceConfig]] = {}
    for source in sources:
        by_host.setdefault(urlsplit(source.url).netloc, []).append(source)

    def fetch_host(host_sources: list[SourceConfig]) -> list[Row]:
        return [_fetch_one(previous.get(s.id), s, day, settings, raw_dir, now) for s in host_sources]

    results: dict[str, Row] = {}
    with ThreadPoolExecutor(max_workers=FETCH_THREADS, thread_name_prefix="fetch") as pool:
        for host_attempts in pool.map(fetch_host, by_host.values()):
            results.update((attempt["source_id"], attempt) for attempt in host_attempts)

    attempts = []
    for source in sources:
        attempt = results[source.id]
        frame = pl.DataFrame([attempt], schema=ATTEMPT_SCHEMA)
        conn.register("attempt_rows", frame.to_arrow())
        conn.execute(f"INSERT INTO raw.fetch_attempts ({', '.join(ATTEMPT_SCHEMA)}) SELECT * FROM attempt_rows")
        conn.unregister("attempt_rows")
        pause_point("fetch")  # crash-safety tests kill the run here, after the first source
        if attempt["outcome"] == "source_error":
            log.warning(f"{day} {source.id}: source error: {attempt['reason']}")
        else:
            log.info(f"{day} {source.id}: {attempt['outcome']}, {attempt['bytes'] or 0} bytes")
        attempts.append(attempt)
    return attempts


def _query_row(conn: duckdb.DuckDBPyConnection, sql: str, parameters: list[object]) -> Row | None:
    cursor = conn.execute(sql, parameters)
    result = cursor.fetchone()
    if result is None:
        return None
    return dict(zip([column[0] for column in cursor.description], result))


def _first_fetched_at(conn: duckdb.DuckDBPyConnection, day: date, source_id: str, digest: str) -> datetime:
    result = conn.execute(
        "SELECT min(fetched_at) FROM raw.fetch_attempts WHERE day = ? AND source_id = ? AND payload_sha256 = ?",
        [day, source_id, digest],
    ).fetchone()
    assert result is not None and result[0] is not None
    return result[0]


def source_label(source: SourceConfig, feed_category: str | None) -> str:
    if source.name:
        return source.name
    if source.kind in ("arxiv_rss", "arxiv_oai", "arxiv_api"):
        category = source.category or feed_category
        return f"arXiv ({category})" if category else "arXiv"
    return source.id


def _entry_rows(entries: list[Entry], source: SourceConfig, day: date, digest: str) -> pl.DataFrame:
    rows = []
    for entry in entries:
        row = asdict(entry)
        row.update(
            day=day,
            source_id=source.id,
            source_kind=source.kind,
            source_label=source_label(source, entry.feed_category),
            payload_sha256=digest,
        )
        rows.append({name: row.get(name) for name in ENTRY_SCHEMA})
    return pl.DataFrame(rows, schema=ENTRY_SCHEMA)


def _write_source_day(
    conn: duckdb.DuckDBPyConnection, day: date, source_id: str, log_row: Row, entries: pl.DataFrame | None
) -> None:
    """Replace one source's fetch_log row for the day, and its entries when given, atomically."""
    log_frame = pl.DataFrame([log_row], schema=FETCH_LOG_SCHEMA)
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute("DELETE FROM main.fetch_log WHERE day = ? AND source_id = ?", [day, source_id])
        conn.register("log_rows", log_frame.to_arrow())
        conn.execute(f"INSERT INTO main.fetch_log ({', '.join(FETCH_LOG_SCHEMA)}) SELECT * FROM log_rows")
        conn.unregister("log_rows")
        if entries is not None:
            conn.execute("DELETE FROM raw.entries WHERE day = ? AND source_id = ?", [day, source_id])
            if entries.height:
                conn.register("entry_rows", entries.to_arrow())
                conn.execute(f"INSERT INTO raw.entries ({', '.join(ENTRY_SCHEMA)}) SELECT * FROM entry_rows")
                conn.unregister("entry_rows")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _settle_source(
    conn: duckdb.DuckDBPyConnection, source: SourceConfig, day: date, raw_dir: Path, log: Any
) -> Row | None:
    attempt = _query_row(
        conn,
        "SELECT * FROM raw.fetch_attempts WHERE day = ? AND source_id = ? ORDER BY fetched_at DESC LIMIT 1",
        [day, source.id],
    )
    if attempt is None:
        log.warning(f"{day} {source.id}: no fetch attempt recorded; materialize raw_payloads for this day first")
        return None
    current = _query_row(conn, "SELECT * FROM main.fetch_log WHERE day = ? AND source_id = ?", [day, source.id])

    row: Row = {name: attempt.get(name) for name in FETCH_LOG_SCHEMA}
    row.update(items=0, feed_day=None)
    entries: pl.DataFrame | None = None

    if attempt["outcome"] == "not_modified" and current and current["payload_sha256"] == attempt["payload_sha256"]:
        return current  # the same payload as the one already settled for this day
    if attempt["outcome"] == "not_modified":
        row.update(outcome="unchanged")
    elif attempt["outcome"] != "fetched":
        row.update(outcome=attempt["outcome"])
    else:
        digest = attempt["payload_sha256"]
        row["fetched_at"] = _first_fetched_at(conn, day, source.id, digest)
        try:
            parsed = parse_payload(source.kind, source.id, read_payload(raw_dir, digest), feed_category=source.category)
        except FeedParseError as error:
            row.update(outcome="parse_error", reason=f"{day} {error}")
        else:
            row["feed_day"] = parsed.feed_day
            row.update(_classify(source, day, parsed.feed_day, len(parsed.entries), parsed.warnings))
            if row["outcome"] == _GOOD:
                entries = _entry_rows(parsed.entries, source, day, digest)
                row["items"] = entries.height

    if current and current["outcome"] == _GOOD and row["outcome"] != _GOOD:
        # A failed or empty re-fetch never replaces a day that loaded well: keep its rows and
        # record what happened to the later attempt.
        kept = dict(current)
        note = f"kept the payload fetched at {current['fetched_at']:%Y-%m-%d %H:%M} UTC; a later attempt ended in {row['outcome']}: {row['reason']}"
        kept["reason"] = note
        log.warning(f"{day} {source.id}: {note}")
        _write_source_day(conn, day, source.id, kept, None)
        return kept

    if current and all(current[name] == row[name] for name in FETCH_LOG_SCHEMA if name != "fetched_at"):
        # The same state as already stored (a source that keeps failing the same way, say):
        # keep the row, so re-running a day leaves fetch_log identical.
        row["fetched_at"] = current["fetched_at"]
    _write_source_day(conn, day, source.id, row, entries)
    level = log.info if row["outcome"] in (_GOOD, "no_announcement", "unchanged", "skipped") else log.warning
    level(f"{day} {source.id}: {row['outcome']}, {row['items']} items" + (f" ({row['reason']})" if row["reason"] else ""))
    return row


def _classify(source: SourceConfig, day: date, feed_day: date | None, items: int, warnings: list[str]) -> Row:
    """Decide the outcome of a payload that parsed, from the day it states and its item count."""
    warning = "; ".join(warnings[:3]) or None
    if source.kind == "arxiv_rss" and feed_day is not None and feed_day != day:
        holiday = no_announcement_reason(day)
        if feed_day < day and holiday:
            return {"outcome": "no_announcement", "reason": f"{holiday}; the feed still shows the mailing of {feed_day}"}
        if feed_day < day:
            return {"outcome": "stale", "reason": f"the feed still shows the mailing of {feed_day}, not {day}"}
        return {
            "outcome": "skipped",
            "reason": f"the feed shows the mailing of {feed_day}; an RSS feed has no history, so {day} cannot be loaded from it",
        }
    if items == 0 and source.kind == "arxiv_rss":
        return {"outcome": "no_announcement", "reason": "the feed has no items: arXiv made no announcement"}
    if items == 0:
        return {"outcome": _GOOD, "reason": "the feed parsed but had no items"}
    return {"outcome": _GOOD, "reason": warning}


def parse_day(
    conn: duckdb.DuckDBPyConnection,
    sources: list[SourceConfig],
    day: date,
    raw_dir: Path,
    *,
    log: Any = logger,
) -> list[Row]:
    """Parse the latest payload of every source for ``day`` and return the fetch_log rows."""
    rows = []
    for source in sources:
        row = _settle_source(conn, source, day, raw_dir, log)
        if row is not None:
            rows.append(row)
    return rows


def attempts_markdown(attempts: list[Row]) -> str:
    lines = ["| source | outcome | status | bytes | reason |", "| --- | --- | --- | --- | --- |"]
    for attempt in attempts:
        reason = (attempt["reason"] or "").replace("|", "/")[:120]
        lines.append(
            f"| {attempt['source_id']} | {attempt['outcome']} | {attempt['http_status'] or ''} | {attempt['bytes'] or 0} | {reason} |"
        )
    return "\n".join(lines)


def fetch_log_markdown(rows: list[Row]) -> str:
    lines = ["| source | outcome | items | reason |", "| --- | --- | --- | --- |"]
    for row in rows:
        reason = (row["reason"] or "").replace("|", "/")[:120]
        lines.append(f"| {row['source_id']} | {row['outcome']} | {row['items'] or 0} | {reason} |")
    return "\n".join(lines)
