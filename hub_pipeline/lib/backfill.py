"""Backfill from the sources with history: harvest a date window once, then file each record
under its announcement day.

A harvest walks a source's pages for a window (OAI-PMH resumption tokens, API offsets or
cursors) and stores every page raw, with one raw.fetch_attempts row per page, before anything
parses it. raw.harvests and raw.harvest_pages remember which pages make up which harvest, and
a manifest (the ordered page digests) is stored as a payload too, so its digest names the
harvest's exact content in fetch_log.

Settling parses a harvest's stored pages, derives each record's day, and replaces the entries
and fetch_log rows of the days it covers in one transaction. Days already settled from the same
manifest are skipped, so a re-run changes nothing and an interrupted backfill resumes from the
days not done. A failed or incomplete harvest settles nothing; a day that loaded items is never
replaced by an empty one. A harvest with a page that cannot be parsed is marked incomplete, so
the next run fetches its pages again.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
import httpx
import polars as pl
import pyarrow.parquet as pq

from hub_pipeline.lib.calendar import is_announcement_day, no_announcement_reason
from hub_pipeline.lib.config import HISTORY_KINDS, SourceConfig
from hub_pipeline.lib.fetching import FetchSettings, fetch, file_url_path
from hub_pipeline.lib.ingest import ATTEMPT_SCHEMA, ENTRY_SCHEMA, FETCH_LOG_SCHEMA, source_label
from hub_pipeline.lib.rawstore import read_payload, store_payload
from hub_pipeline.lib.sources.arxiv_api import parse_arxiv_api_page, parse_arxiv_api_pages
from hub_pipeline.lib.sources.biorxiv_api import parse_biorxiv_page
from hub_pipeline.lib.sources.columns import PAGE_SCHEMA
from hub_pipeline.lib.sources.common import HistoryPage, HistoryPageError
from hub_pipeline.lib.sources.crossref import parse_crossref_page
from hub_pipeline.lib.sources.oai import parse_oai_page, parse_oai_pages

Row = dict[str, Any]
Progress = Callable[[str, int], None]  # (stage, amount): "page" per page stored, "day" per day settled

logger = logging.getLogger(__name__)

PARSERS: dict[str, Callable[..., HistoryPage]] = {
    "arxiv_oai": parse_oai_page,
    "arxiv_api": parse_arxiv_api_page,
    "biorxiv_api": parse_biorxiv_page,
    "crossref": parse_crossref_page,
}
# Parsers that read several pages into one frame, normalizing them together.
BATCH_PARSERS: dict[str, Callable[..., pl.DataFrame]] = {"arxiv_oai": parse_oai_pages, "arxiv_api": parse_arxiv_api_pages}
# Pages parsed together by one worker task: about 4,000 OAI-PMH records or 800 API entries,
# enough to spread polars' fixed costs while each worker stays near 250 MB.
BATCH_PAGES = 4
# Seconds between requests unless the source sets delay_s. arXiv requests 3 s on its API and
# a pause on OAI-PMH, and bioRxiv and Crossref request moderate rates.
DEFAULT_DELAY_S = {"arxiv_oai": 3.0, "arxiv_api": 3.0, "biorxiv_api": 1.0, "crossref": 1.0}
DEFAULT_PAGE_SIZE = {"arxiv_api": 200, "crossref": 500}
_ARXIV_KINDS = {"arxiv_oai", "arxiv_api"}
_DONE = ("loaded", "no_announcement")
# A page must never lead to more pages than this; it stops a server that loops on one token.
MAX_PAGES = 100_000

_HARVEST_TABLES = {
    "raw.harvests": """
        harvest_id VARCHAR NOT NULL, source_id VARCHAR NOT NULL, source_kind VARCHAR NOT NULL,
        window_start DATE NOT NULL, window_end DATE NOT NULL, started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ, pages INTEGER NOT NULL, bytes BIGINT NOT NULL, complete BOOLEAN NOT NULL,
        manifest_sha256 VARCHAR, reason VARCHAR""",
    "raw.harvest_pages": """
        harvest_id VARCHAR NOT NULL, page_index INTEGER NOT NULL, url VARCHAR NOT NULL,
        payload_sha256 VARCHAR NOT NULL, bytes BIGINT NOT NULL""",
}
_HARVEST_COMMENTS = {
    "raw.harvests": "One row per harvest of a history source over a window of days, written when it starts; complete when the last page was reached and no page failed to parse; finished_at stays NULL when the process was stopped first.",
    "raw.harvest_pages": "One row per page of a harvest, in the order the source served them.",
}


# Progress callback of the current process (the CLI draws bars with it), or None.
_progress: Progress | None = None


def set_progress(callback: Progress | None) -> None:
    """Install a callback that hears of every page stored and every day settled."""
    global _progress
    _progress = callback


def _report(stage: str, amount: int = 1) -> None:
    if _progress is not None:
        _progress(stage, amount)


# The reason of a harvest row until the harvest ends. It stays when the process is stopped.
UNFINISHED_REASON = "the harvest did not finish: the process was interrupted or stopped before the last page"


def ensure_harvest_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for table, columns in _HARVEST_TABLES.items():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        conn.execute(f"COMMENT ON TABLE {table} IS '{_HARVEST_COMMENTS[table]}'")


def days_of(start: date, end: date) -> list[date]:
    """Return the days of the half-open window [start, end)."""
    return [start + timedelta(days=offset) for offset in range((end - start).days)]


def is_history_source(source: SourceConfig) -> bool:
    return source.kind in HISTORY_KINDS


# --- harvesting --------------------------------------------------------------------------------


@dataclass(slots=True)
class Harvest:
    harvest_id: str
    source_id: str
    window_start: date
    window_end: date
    pages: int
    complete: bool
    manifest_sha256: str | None
    reason: str | None
    bytes: int = 0


def days_to_fetch(conn: duckdb.DuckDBPyConnection, source: SourceConfig, days: list[date]) -> list[date]:
    """Days of ``days`` neither settled in fetch_log nor covered by a complete stored harvest."""
    if not days:
        return []
    settled = {
        row[0]
        for row in conn.execute(
            f"SELECT day FROM main.fetch_log WHERE source_id = ? AND day >= ? AND day <= ? AND outcome IN {_DONE}",
            [source.id, days[0], days[-1]],
        ).fetchall()
    }
    covered = conn.execute(
        "SELECT window_start, window_end FROM raw.harvests WHERE source_id = ? AND complete AND window_end > ? AND window_start <= ?",
        [source.id, days[0], days[-1]],
    ).fetchall()
    return [day for day in days if day not in settled and not any(start <= day < end for start, end in covered)]


def harvest(
    conn: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    window_start: date,
    window_end: date,
    settings: FetchSettings,
    raw_dir: Path,
    *,
    contact_email: str = "",
    sleep: Callable[[float], None] = time.sleep,
    log: Any = logger,
) -> Harvest:
    """Fetch every page of ``source`` for [window_start, window_end) and store them raw."""
    ensure_harvest_tables(conn)
    harvest_id = uuid.uuid4().hex
    started_at = datetime.now(timezone.utc)
    digests: list[str] = []
    total_bytes = 0
    reason: str | None = None
    delay = source.delay_s if source.delay_s is not None else DEFAULT_DELAY_S[source.kind]
    # The row exists from the start, so a harvest cut off by Ctrl-C or a killed process stays
    # visible as incomplete, with the pages it stored. The next backfill fetches it again.
    conn.execute(
        "INSERT INTO raw.harvests VALUES (?, ?, ?, ?, ?, ?, NULL, 0, 0, false, NULL, ?)",
        [harvest_id, source.id, source.kind, window_start, window_end, started_at, UNFINISHED_REASON],
    )

    with httpx.Client(timeout=settings.timeout_s, follow_redirects=True) as client:
        pages = _page_urls(source, window_start, window_end, contact_email)
        url = next(pages)
        while url is not None:
            if digests and delay and not url.startswith("file:"):
                sleep(delay)  # politeness: never more than one request per delay_s
            result = fetch(url, settings, client=client)
            attempt = _attempt_row(source, window_start, url, result)
            if result.body is not None:
                digest, _ = store_payload(raw_dir, result.body)
                attempt.update(payload_sha256=digest, bytes=len(result.body))
            _insert(conn, "raw.fetch_attempts", pl.DataFrame([attempt], schema=ATTEMPT_SCHEMA))
            if result.outcome != "fetched":
                reason = f"{source.id}: page {len(digests) + 1} failed: {result.reason}"
                break
            conn.execute(
                "INSERT INTO raw.harvest_pages VALUES (?, ?, ?, ?, ?)",
                [harvest_id, len(digests), url, attempt["payload_sha256"], attempt["bytes"]],
            )
            digests.append(attempt["payload_sha256"])
            total_bytes += attempt["bytes"]
            conn.execute(
                "UPDATE raw.harvests SET pages = ?, bytes = ? WHERE harvest_id = ?", [len(digests), total_bytes, harvest_id]
            )
            _report("page")
            try:
                url = pages.send(result.body)
            except HistoryPageError as error:
                reason = f"{source.id}: page {len(digests)}: {error}"
                break
            except StopIteration:
                url = None
            if len(digests) >= MAX_PAGES:
                reason = f"{source.id}: stopped after {MAX_PAGES} pages; the source keeps sending more"
                break

    complete = reason is None
    manifest = None
    if complete:
        body = json.dumps({"source_id": source.id, "window": [str(window_start), str(window_end)], "pages": digests}).encode()
        manifest, _ = store_payload(raw_dir, body)
    conn.execute(
        """
        UPDATE raw.harvests SET finished_at = ?, pages = ?, bytes = ?, complete = ?, manifest_sha256 = ?, reason = ?
        WHERE harvest_id = ?
        """,
        [datetime.now(timezone.utc), len(digests), total_bytes, complete, manifest, reason, harvest_id],
    )
    (log.info if complete else log.warning)(
        f"{source.id}: harvest {window_start}..{window_end - timedelta(days=1)}: {len(digests)} pages, {total_bytes} bytes"
        + ("" if complete else f", incomplete: {reason}")
    )
    return Harvest(harvest_id, source.id, window_start, window_end, len(digests), complete, manifest, reason, total_bytes)


def _attempt_row(source: SourceConfig, day: date, url: str, result: Any) -> Row:
    attempt: Row = {name: None for name in ATTEMPT_SCHEMA}
    attempt.update(
        attempt_id=uuid.uuid4().hex, day=day, source_id=source.id, source_kind=source.kind, url=url,
        fetched_at=datetime.now(timezone.utc), http_status=result.status, attempts=result.attempts,
        outcome="fetched" if result.outcome == "fetched" else "source_error",
        reason=result.reason,
    )
    return attempt


def _page_urls(source: SourceConfig, start: date, end: date, contact_email: str) -> Iterator[str | None]:
    """Yield the URL of each page; after each, receive the page's body to find the next one.

    A file:// URL of a folder stands for a stored harvest: its files are the pages, in name order.
    """
    if source.url.startswith("file:"):
        path = file_url_path(source.url)
        files = sorted(item for item in path.iterdir() if item.is_file()) if path.is_dir() else [path]
        for item in files:
            yield item.resolve().as_uri()
        return
    last = end - timedelta(days=1)
    kind = source.kind
    if kind == "arxiv_oai":
        # OAI-PMH selects by datestamp, which for a new record is its announcement day.
        params = {"verb": "ListRecords", "metadataPrefix": source.metadata_prefix, "from": str(start), "until": str(last)}
        if source.set:
            params["set"] = source.set
        body = yield f"{source.url}?{urlencode(params)}"
        while True:
            token = oai_resumption_token(body)
            if not token:
                return
            body = yield f"{source.url}?{urlencode({'verb': 'ListRecords', 'resumptionToken': token})}"
    elif kind == "arxiv_api":
        # v1 submissions for mailings in the window start up to four days earlier (a Friday
        # afternoon submission is announced on Tuesday); records outside the window are dropped.
        size = source.page_size or DEFAULT_PAGE_SIZE[kind]
        begin = (start - timedelta(days=4)).strftime("%Y%m%d0000")
        finish = last.strftime("%Y%m%d2359")
        query = f"cat:{source.category} AND submittedDate:[{begin} TO {finish}]" if source.category else f"submittedDate:[{begin} TO {finish}]"
        offset = 0
        while True:
            params = {"search_query": query, "start": offset, "max_results": size, "sortBy": "submittedDate", "sortOrder": "ascending"}
            body = yield f"{source.url}?{urlencode(params)}"
            page = parse_arxiv_api_page(body, source.id)
            offset += len(page)
            if not len(page) or page.total is None or offset >= page.total:
                return
    elif kind == "biorxiv_api":
        cursor = 0
        while True:
            body = yield f"{source.url.rstrip('/')}/{start}/{last}/{cursor}"
            page = parse_biorxiv_page(body, source.id)
            cursor += len(page)
            if not len(page) or page.total is None or cursor >= page.total:
                return
    elif kind == "crossref":
        size = source.page_size or DEFAULT_PAGE_SIZE[kind]
        filters = f"from-pub-date:{start},until-pub-date:{last}" + (f",issn:{source.issn}" if source.issn else "")
        cursor = "*"
        while True:
            params = {"filter": filters, "rows": size, "cursor": cursor}
            if contact_email:
                params["mailto"] = contact_email  # Crossref's polite pool
            body = yield f"{source.url}?{urlencode(params)}"
            page = parse_crossref_page(body, source.id)
            if not len(page) or not page.next_token:
                return
            cursor = page.next_token
    else:
        raise ValueError(f"{source.id}: kind {kind!r} has no history to harvest")


_TOKEN = re.compile(rb"<resumptionToken\b[^>]*?(?:/>|>([^<]*)</resumptionToken>)")
_OAI_ERROR = re.compile(rb"<error\s+code=[\"']([^\"']+)[\"'][^>]*>([^<]*)")


def oai_resumption_token(body: bytes) -> str | None:
    """Return the resumptionToken of an OAI-PMH page, or "" for the empty token that ends the list.

    Only the tail is searched: the token follows the last record.
    """
    match = _TOKEN.search(body, max(0, len(body) - 4096))
    if match:
        return (match.group(1) or b"").decode("utf-8").strip().replace("&amp;", "&")
    error = _OAI_ERROR.search(body[:4096])
    if error and error.group(1) != b"noRecordsMatch":
        raise HistoryPageError(f"the OAI-PMH server returned error {error.group(1).decode()!r}: {error.group(2).decode().strip()}")
    return None


# --- settling ----------------------------------------------------------------------------------


def settle(
    conn: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    days: list[date],
    raw_dir: Path,
    *,
    log: Any = logger,
) -> list[Row]:
    """File the records of the stored harvests under their days; return the fetch_log rows."""
    ensure_harvest_tables(conn)
    if not days:
        return []
    harvests = conn.execute(
        """
        SELECT harvest_id, window_start, window_end, manifest_sha256, finished_at, pages, bytes
        FROM raw.harvests
        WHERE source_id = ? AND complete AND window_end > ? AND window_start <= ?
        ORDER BY finished_at DESC
        """,
        [source.id, days[0], days[-1]],
    ).fetchall()
    assigned: dict[str, list[date]] = {}
    info: dict[str, tuple] = {}
    for day in days:
        for harvest_row in harvests:
            if harvest_row[1] <= day < harvest_row[2]:
                assigned.setdefault(harvest_row[0], []).append(day)
                info[harvest_row[0]] = harvest_row
                break
    missing = [day for day in days if not any(day in assigned_days for assigned_days in assigned.values())]
    rows: list[Row] = []
    if missing:
        rows += _record_failed_harvest(conn, source, missing, log)
    for harvest_id, harvest_days in assigned.items():
        rows += _settle_harvest(conn, source, harvest_days, info[harvest_id], raw_dir, log)
    return rows


def _settle_harvest(conn, source: SourceConfig, days: list[date], harvest_row: tuple, raw_dir: Path, log: Any) -> list[Row]:
    harvest_id, window_start, window_end, manifest, finished_at, page_count, total_bytes = harvest_row
    current = {
        row["day"]: row
        for row in _rows(conn, "SELECT * FROM main.fetch_log WHERE source_id = ? AND day >= ? AND day <= ?", [source.id, days[0], days[-1]])
    }
    todo = [day for day in days if not (day in current and current[day]["payload_sha256"] == manifest and current[day]["outcome"] in _DONE)]
    if not todo:
        log.info(f"{source.id}: {len(days)} days already settled from harvest {manifest[:12]}; nothing to do")
        _report("day", len(days))
        return [current[day] for day in days]

    pages = [row[0] for row in conn.execute(
        "SELECT payload_sha256 FROM raw.harvest_pages WHERE harvest_id = ? ORDER BY page_index", [harvest_id]
    ).fetchall()]
    first_url = conn.execute("SELECT url FROM raw.harvest_pages WHERE harvest_id = ? AND page_index = 0", [harvest_id]).fetchone()
    wanted = frozenset(todo)
    counts: Counter[date] = Counter()
    outside = undated = 0
    covered: list[date] = []  # the first and last day any record of the harvest falls on

    with tempfile.TemporaryDirectory(dir=raw_dir.parent, prefix=".backfill-") as spool_dir:
        batches = [pages[start : start + BATCH_PAGES] for start in range(0, len(pages), BATCH_PAGES)]
        jobs = [(source, raw_dir, digests, index, wanted, Path(spool_dir) / f"batch-{index:06d}.parquet") for index, digests in enumerate(batches)]
        offsets = []
        spooled = 0
        position = 0
        for result in _map_batches(jobs):
            if result.error:
                return _fail_harvest(conn, source, harvest_row, result, todo, current, log)
            # item_index numbers the records across the harvest, so it is unique per source and day.
            offsets.append(position)
            position += result.entries
            counts.update(result.counts)
            outside += result.outside
            undated += result.undated
            spooled += bool(result.counts)
            covered += [day for day in (result.first_day, result.last_day) if day is not None]

        log_rows = []
        replace_days = []
        note = f"backfill harvest {window_start}..{window_end - timedelta(days=1)}, {page_count} pages"
        if outside or undated:
            note += f"; {outside} records belong to days outside the window, {undated} have no day"
        for day in todo:
            row: Row = {name: None for name in FETCH_LOG_SCHEMA}
            row.update(
                day=day, source_id=source.id, source_kind=source.kind, url=first_url[0] if first_url else source.url,
                fetched_at=finished_at, http_status=None, bytes=total_bytes, payload_sha256=manifest,
                attempts=page_count, items=counts[day], outcome="loaded", reason=note,
            )
            previous = current.get(day)
            if counts[day] == 0 and source.kind in _ARXIV_KINDS and not is_announcement_day(day):
                row.update(outcome="no_announcement", reason=no_announcement_reason(day))
            elif counts[day] == 0 and previous and previous["outcome"] == "loaded" and (previous["items"] or 0) > 0:
                kept = dict(previous)
                kept["reason"] = f"kept {previous['items']} items; the harvest {window_start}..{window_end - timedelta(days=1)} had none for this day"
                log.warning(f"{day} {source.id}: {kept['reason']}")
                log_rows.append(kept)
                continue
            elif counts[day] == 0 and (not covered or not min(covered) <= day <= max(covered)):
                # A stored harvest (a folder of pages) may cover other days than the ones asked
                # for: an empty day outside its records' days is not known to be empty.
                span = f"{min(covered)}..{max(covered)}" if covered else "no day"
                row.update(
                    outcome="skipped", items=0,
                    reason=f"the harvest's records fall on {span}, not on this day; nothing was loaded. "
                    "Check the backfill's dates or the source's url",
                )
            if previous and all(previous[name] == row[name] for name in FETCH_LOG_SCHEMA if name != "fetched_at"):
                row["fetched_at"] = previous["fetched_at"]
            log_rows.append(row)
            replace_days.append(day)

        spool = (Path(spool_dir), offsets) if spooled else None
        _write_days(conn, source.id, replace_days, log_rows, spool)

    # One log line per month with every day's count: a year is twelve events, not 365.
    for month, month_days in _by_month(todo).items():
        listed = ", ".join(f"{day:%d} {counts[day]}" for day in month_days)
        log.info(f"{source.id} {month}: {sum(counts[day] for day in month_days)} entries; per day: {listed}")
    _report("day", len(days))
    done = {row["day"]: row for row in log_rows}
    return [done.get(day) or current[day] for day in days]


def _fail_harvest(conn, source: SourceConfig, harvest_row: tuple, result: _PageResult, days: list[date], current: dict, log: Any) -> list[Row]:
    """Record a page that could not be parsed on every day of its harvest not done yet.

    A day's records may be on any page of the harvest, so none of its days is settled. The
    harvest is marked incomplete: the next run fetches its pages again, which reads a fixed
    file of a folder source or downloads a page anew.
    """
    harvest_id, window_start, window_end, manifest = harvest_row[:4]
    found = conn.execute(
        "SELECT url FROM raw.harvest_pages WHERE harvest_id = ? AND payload_sha256 = ? ORDER BY page_index LIMIT 1",
        [harvest_id, result.digest],
    ).fetchone()
    page = found[0] if found else f"stored page {result.digest[:12]}"
    window = f"{window_start}..{window_end - timedelta(days=1)}"
    conn.execute(
        "UPDATE raw.harvests SET complete = false, reason = ? WHERE harvest_id = ?",
        [f"{page} could not be parsed: {result.error}", harvest_id],
    )
    reason = (
        f"{result.error} (page {page} of the harvest {window}). Nothing was replaced. Fix or replace the page, "
        "then run the backfill again: it fetches the harvest's pages again"
    )
    log.warning(reason)  # the parser's message starts with the source id
    return [_error_row(conn, source, day, manifest, reason, current.get(day)) for day in days]


def _by_month(days: list[date]) -> dict[str, list[date]]:
    months: dict[str, list[date]] = {}
    for day in days:
        months.setdefault(f"{day:%Y-%m}", []).append(day)
    return months


def _write_days(conn, source_id: str, days: list[date], log_rows: list[Row], spool: tuple[Path, list[int]] | None) -> None:
    """Replace the entries of ``days`` and the fetch_log rows given, in one transaction."""
    log_frame = pl.DataFrame(log_rows, schema=FETCH_LOG_SCHEMA)
    day_frame = pl.DataFrame({"day": days}, schema={"day": pl.Date})
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.register("settled_days", day_frame.to_arrow())
        conn.execute("DELETE FROM raw.entries WHERE source_id = ? AND day IN (SELECT day FROM settled_days)", [source_id])
        if spool is not None:
            folder, offsets = spool
            conn.register("batch_offsets", pl.DataFrame({"batch_index": range(len(offsets)), "offset": offsets}, schema={"batch_index": pl.Int32, "offset": pl.Int32}).to_arrow())
            columns = ", ".join(ENTRY_SCHEMA)
            selected = ", ".join("(spool.item_index + batch_offsets.offset)::INTEGER" if name == "item_index" else f"spool.{name}" for name in ENTRY_SCHEMA)
            conn.execute(
                f"INSERT INTO raw.entries ({columns}) SELECT {selected} FROM read_parquet(?) AS spool "
                "JOIN batch_offsets USING (batch_index) WHERE spool.day IN (SELECT day FROM settled_days)",
                [str(folder / "batch-*.parquet")],
            )
        conn.register("log_rows", log_frame.to_arrow())
        conn.execute("DELETE FROM main.fetch_log WHERE source_id = ? AND day IN (SELECT day FROM log_rows)", [source_id])
        conn.execute(f"INSERT INTO main.fetch_log ({', '.join(FETCH_LOG_SCHEMA)}) SELECT * FROM log_rows")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        for name in ("settled_days", "log_rows", "batch_offsets"):
            try:
                conn.unregister(name)
            except Exception:  # noqa: BLE001 (already gone after a failed register)
                pass


@dataclass(slots=True)
class _PageResult:
    digest: str
    entries: int = 0
    counts: dict[date, int] | None = None
    outside: int = 0
    undated: int = 0
    first_day: date | None = None
    last_day: date | None = None
    error: str | None = None


# Harvests with at least this many batches are parsed in worker processes, one batch per task.
PARALLEL_MIN_BATCHES = 2


def _map_batches(jobs: list[tuple]) -> Iterator[_PageResult]:
    """Parse batches in order: in this process for a few, else in a pool of workers."""
    workers = min(os.cpu_count() or 1, 4, len(jobs))
    if len(jobs) < PARALLEL_MIN_BATCHES or workers < 2:
        for job in jobs:
            yield _parse_batch(*job)
        return
    # spawn, not fork: the parent holds a DuckDB connection and Dagster's threads.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_parse_batch, *zip(*jobs), chunksize=1)


def parse_batch(source: SourceConfig, bodies: list[bytes], digests: list[str]) -> pl.DataFrame:
    """Parse consecutive pages of one harvest into raw.entries columns (PAGE_SCHEMA, then the
    source's label and each row's page digest), numbering the records from 0."""
    sizes: list[int] = []
    batch_parser = BATCH_PARSERS.get(source.kind)
    if batch_parser is not None:
        frame = batch_parser(bodies, source.id, source.category, page_sizes=sizes)
    else:
        frames = []
        for body in bodies:
            page = PARSERS[source.kind](body, source.id, source.category)
            frames.append(page.frame)
            sizes.append(len(page))
        frame = pl.concat(frames) if frames else pl.DataFrame(schema=PAGE_SCHEMA)
        frame = frame.with_columns(item_index=pl.int_range(frame.height, dtype=pl.Int32))
    labels = {category: source_label(source, category) for category in frame["feed_category"].unique().to_list()}
    return frame.with_columns(
        source_label=pl.col("feed_category").replace_strict(labels, default=source_label(source, None), return_dtype=pl.Utf8),
        payload_sha256=pl.Series([digest for digest, size in zip(digests, sizes) for _ in range(size)], dtype=pl.Utf8),
    )


def _parse_batch(source: SourceConfig, raw_dir: Path, digests: list[str], batch_index: int, wanted: frozenset, spool: Path) -> _PageResult:
    """Parse a batch of stored pages and spool the entries of the wanted days to a Parquet file."""
    result = _PageResult(digest=digests[0])
    bodies = []
    for digest in digests:
        bodies.append(read_payload(raw_dir, digest))
    try:
        frame = parse_batch(source, bodies, digests)
    except HistoryPageError as error:
        result.error = str(error)
        for digest, body in zip(digests, bodies):  # name the page that failed
            try:
                PARSERS[source.kind](body, source.id, source.category)
            except HistoryPageError as page_error:
                result.digest, result.error = digest, str(page_error)
                break
        return result
    del bodies
    result.entries = frame.height
    result.undated = frame["day"].null_count()
    result.first_day, result.last_day = frame["day"].min(), frame["day"].max()
    in_window = frame.filter(pl.col("day").is_in(list(wanted)))
    result.outside = frame.height - in_window.height - result.undated
    result.counts = dict(in_window.group_by("day").len().iter_rows())
    if in_window.height:
        in_window = in_window.select(*ENTRY_SCHEMA, pl.lit(batch_index, dtype=pl.Int32).alias("batch_index"))
        pq.write_table(in_window.to_arrow(), spool, compression="zstd")
    return result


def _record_failed_harvest(conn, source: SourceConfig, days: list[date], log: Any) -> list[Row]:
    """Give days that no complete harvest covers a source_error row with the latest failure."""
    failure = conn.execute(
        """
        SELECT reason FROM raw.harvests
        WHERE source_id = ? AND NOT complete AND window_end > ? AND window_start <= ?
        ORDER BY started_at DESC LIMIT 1
        """,
        [source.id, days[0], days[-1]],
    ).fetchone()
    if failure is None:
        log.warning(f"{source.id}: no harvest covers {len(days)} days from {days[0]}; materialize raw_payloads for them")
        return []
    reason = f"the harvest failed: {failure[0]}; run the backfill again to retry"
    log.warning(f"{source.id}: {len(days)} days from {days[0]} not loaded: {reason}")
    current = {
        row["day"]: row
        for row in _rows(conn, "SELECT * FROM main.fetch_log WHERE source_id = ? AND day >= ? AND day <= ?", [source.id, days[0], days[-1]])
    }
    return [_error_row(conn, source, day, None, reason, current.get(day), outcome="source_error") for day in days]


def _error_row(
    conn, source: SourceConfig, day: date, manifest: str | None, reason: str, previous: Row | None, outcome: str = "parse_error"
) -> Row:
    """Record a failed day, unless the day loaded well before (then keep it, with a note)."""
    if previous and previous["outcome"] in _DONE:
        kept = dict(previous)
        kept["reason"] = f"kept; a later harvest failed: {reason}"
        row = kept
    else:
        row = {name: None for name in FETCH_LOG_SCHEMA}
        row.update(day=day, source_id=source.id, source_kind=source.kind, url=source.url,
                   fetched_at=datetime.now(timezone.utc), payload_sha256=manifest, items=0, outcome=outcome, reason=reason)
    _write_days(conn, source.id, [], [row], None)
    return row


def _insert(conn, table: str, frame: pl.DataFrame) -> None:
    conn.register("incoming_rows", frame.to_arrow())
    try:
        conn.execute(f"INSERT INTO {table} ({', '.join(frame.columns)}) SELECT * FROM incoming_rows")
    finally:
        conn.unregister("incoming_rows")


def _rows(conn, sql: str, parameters: list[object]) -> list[Row]:
    cursor = conn.execute(sql, parameters)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]



def items_per_day(rows: list[Row]) -> dict[date, int]:
    """Entries per day over fetch_log rows, days in order, for logs and metadata."""
    totals: Counter[date] = Counter()
    for row in rows:
        totals[row["day"]] += row["items"] or 0
    return dict(sorted(totals.items()))


def compact_counts(per_day: dict[date, int], max_days: int = 31) -> dict[str, int]:
    """Counts per day for a short window, else per month ("2007-04"), to keep metadata small."""
    if len(per_day) <= max_days:
        return {str(day): count for day, count in per_day.items()}
    months: Counter[str] = Counter()
    for day, count in per_day.items():
        months[f"{day:%Y-%m}"] += count
    return dict(sorted(months.items()))


def harvests_markdown(harvests: list[Harvest]) -> str:
    if not harvests:
        return ""
    lines = ["", "", "| history source | window | pages | complete | reason |", "| --- | --- | --- | --- | --- |"]
    for item in harvests:
        reason = (item.reason or "").replace("|", "/")[:120]
        lines.append(f"| {item.source_id} | {item.window_start}..{item.window_end} | {item.pages} | {item.complete} | {reason} |")
    return "\n".join(lines)
