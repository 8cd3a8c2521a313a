"""The bioRxiv/medRxiv details endpoint: one JSON page of up to 100 records per cursor step.

Every version of a preprint is its own record; each is kept as an entry dated by its own
posting date. The paper they describe is one, by DOI.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from hub_pipeline.lib.models import Entry
from hub_pipeline.lib.normalize import normalize_doi, split_authors
from hub_pipeline.lib.sources.common import HistoryPage, HistoryPageError, clean, fast_title_key

PAGE_SIZE = 100  # the endpoint's fixed page size


def parse_biorxiv_page(body: bytes, source_id: str, feed_category: str | None = None, *, first_index: int = 0) -> HistoryPage:
    """Parse one details page; ``total`` and ``cursor`` come from its messages block."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise HistoryPageError(f"{source_id}: the bioRxiv API response is not JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) or not data["messages"]:
        raise HistoryPageError(f"{source_id}: the bioRxiv API response has no messages block")
    message = data["messages"][0]
    status = str(message.get("status", ""))
    collection = data.get("collection") or []
    if status != "ok" and not (status.startswith("no posts") or collection == []):
        raise HistoryPageError(f"{source_id}: the bioRxiv API returned status {status!r}")

    entries: list[Entry] = []
    days: list[date | None] = []
    for record in collection:
        posted = _date(record.get("date"))
        entry = _entry(record, source_id, feed_category, first_index + len(entries), posted)
        entries.append(entry)
        days.append(posted)
    total = _int(message.get("total"))
    return HistoryPage(entries=entries, days=days, total=total, cursor=_int(message.get("cursor")))


def _entry(record: dict, source_id: str, feed_category: str | None, index: int, posted: date | None) -> Entry:
    raw_title = record.get("title") or ""
    title = clean(raw_title)
    authors = split_authors(record.get("authors"))
    doi = normalize_doi(record.get("doi"))
    version = str(record.get("version") or "").strip()
    server = record.get("server") or "bioRxiv"
    host = "www.medrxiv.org" if server.lower() == "medrxiv" else "www.biorxiv.org"
    category = clean(record.get("category")) or None
    return Entry(
        source_id=source_id,
        source_kind="biorxiv_api",
        item_index=index,
        title=title,
        abstract=clean(record.get("abstract")),
        raw_title=raw_title,
        raw_summary=record.get("abstract") or "",
        feed_category=feed_category or category,
        guid=f"{doi}v{version}" if doi and version else doi,
        link=f"https://{host}/content/{doi}v{version}" if doi and version else None,
        authors=authors,
        categories=[category] if category else [],
        announce_type="new" if version == "1" else "replace",
        doi=doi,
        published=datetime(posted.year, posted.month, posted.day, tzinfo=timezone.utc) if posted else None,
        journal=server,
        title_key=fast_title_key(title, authors[0] if authors else None),
    )


def _date(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text).strip()) if text else None
    except ValueError:
        return None


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
