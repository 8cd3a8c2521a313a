"""Crossref works lists (a journal's works over a date window), cursor-paged JSON.

A work's day is its online publication date, else its print date, else the issued date,
when that date has a day; works dated only by month or year get no day and are counted.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from hub_pipeline.lib.models import Entry
from hub_pipeline.lib.normalize import normalize_doi
from hub_pipeline.lib.sources.common import HistoryPage, HistoryPageError, clean, fast_title_key


def parse_crossref_page(body: bytes, source_id: str, feed_category: str | None = None, *, first_index: int = 0) -> HistoryPage:
    """Parse one works-list page; ``next_token`` is message.next-cursor."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise HistoryPageError(f"{source_id}: the Crossref response is not JSON: {error}") from error
    if not isinstance(data, dict) or data.get("status") != "ok" or data.get("message-type") != "work-list":
        kind = data.get("message-type") if isinstance(data, dict) else type(data).__name__
        raise HistoryPageError(f"{source_id}: expected a Crossref work-list with status ok, got {kind!r}")
    message = data["message"]
    entries: list[Entry] = []
    days: list[date | None] = []
    page = HistoryPage(entries=entries, days=days, next_token=message.get("next-cursor"), total=message.get("total-results"))
    for work in message.get("items") or []:
        day = _work_day(work)
        entries.append(_entry(work, source_id, feed_category, first_index + len(entries), day))
        days.append(day)
    undated = days.count(None)
    if undated:
        page.warnings.append(f"{undated} works carry no full publication date and were not assigned a day")
    return page


def _entry(work: dict, source_id: str, feed_category: str | None, index: int, day: date | None) -> Entry:
    raw_title = " ".join(work.get("title") or [])
    title = clean(raw_title)
    authors = []
    for author in work.get("author") or []:
        name = " ".join(part for part in (author.get("given"), author.get("family")) if part) or author.get("name") or ""
        if name.strip():
            authors.append(clean(name))
    journal = (work.get("container-title") or [None])[0]
    doi = normalize_doi(work.get("DOI"))
    return Entry(
        source_id=source_id,
        source_kind="crossref",
        item_index=index,
        title=title,
        abstract=clean(work.get("abstract")),
        raw_title=raw_title,
        raw_summary=work.get("abstract") or "",
        feed_category=feed_category,
        guid=doi,
        link=work.get("URL") or (f"https://doi.org/{doi}" if doi else None),
        authors=authors,
        categories=[clean(subject) for subject in work.get("subject") or []],
        doi=doi,
        published=datetime(day.year, day.month, day.day, tzinfo=timezone.utc) if day else None,
        journal=clean(journal) or None,
        title_key=fast_title_key(title, authors[0] if authors else None),
    )


def _work_day(work: dict) -> date | None:
    for field in ("published-online", "published-print", "issued"):
        parts = ((work.get(field) or {}).get("date-parts") or [[None]])[0]
        if len(parts) == 3 and all(isinstance(part, int) for part in parts):
            try:
                return date(*parts)
            except ValueError:
                continue
    return None
