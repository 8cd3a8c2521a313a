"""arXiv's query API (Atom), old (before 2025) and new formats, raw or in a recorded JSON wrapper.

The API states the v1 submission time in <published>, so each entry's announcement day is
derived from it. An entry titled "Error" is how the API reports a bad query: it raises.
"""

from __future__ import annotations

import io
from datetime import date, datetime

from lxml import etree

from hub_pipeline.lib.models import Entry
from hub_pipeline.lib.normalize import normalize_doi, split_arxiv_id
from hub_pipeline.lib.sources.common import HistoryPage, HistoryPageError, clean, fast_title_key, unwrap_recorded
from hub_pipeline.lib.sources.schedule import announcement_day

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def parse_arxiv_api_page(body: bytes, source_id: str, feed_category: str | None = None, *, first_index: int = 0) -> HistoryPage:
    """Parse one page of query results; ``total`` is opensearch:totalResults."""
    body, status = unwrap_recorded(body)
    entries: list[Entry] = []
    days: list[date | None] = []
    page = HistoryPage(entries=entries, days=days)
    try:
        for _, element in etree.iterparse(
            io.BytesIO(body), events=("end",), resolve_entities=False, no_network=True, huge_tree=True
        ):
            tag = element.tag
            if tag == ATOM + "entry":
                entry = _entry(element, source_id, feed_category, first_index + len(entries))
                entries.append(entry)
                days.append(announcement_day(entry.published) if entry.published else None)
                element.clear(keep_tail=False)
            elif tag == OPENSEARCH + "totalResults":
                page.total = int((element.text or "0").strip())
            elif tag == OPENSEARCH + "startIndex":
                page.cursor = int((element.text or "0").strip())
    except etree.XMLSyntaxError as error:
        raise HistoryPageError(f"{source_id}: the arXiv API response is not well-formed XML: {error}") from error
    if status is not None and status >= 400 and not entries:
        raise HistoryPageError(f"{source_id}: the arXiv API returned HTTP {status}")
    return page


def _entry(element: etree._Element, source_id: str, feed_category: str | None, index: int) -> Entry:
    raw_title = element.findtext(ATOM + "title") or ""
    title = clean(raw_title)
    if title == "Error":
        # The API's way to reject a query: one entry whose summary says what was wrong.
        reason = clean(element.findtext(ATOM + "summary"))
        raise HistoryPageError(f"{source_id}: the arXiv API rejected the query: {reason}; check the source's category and window")
    raw_summary = element.findtext(ATOM + "summary") or ""
    identifier = (element.findtext(ATOM + "id") or "").strip()
    split = split_arxiv_id(identifier)
    authors = [clean(author.findtext(ATOM + "name")) for author in element.iterfind(ATOM + "author")]
    authors = [author for author in authors if author]
    categories = [category.get("term", "") for category in element.iterfind(ATOM + "category")]
    primary = element.find(ARXIV + "primary_category")
    link = None
    for candidate in element.iterfind(ATOM + "link"):
        if candidate.get("rel") == "alternate":
            link = candidate.get("href")
            break
    return Entry(
        source_id=source_id,
        source_kind="arxiv_api",
        item_index=index,
        title=title,
        abstract=clean(raw_summary),
        raw_title=raw_title,
        raw_summary=raw_summary,
        feed_category=feed_category or (primary.get("term") if primary is not None else None),
        guid=identifier or None,
        link=link or identifier or None,
        authors=authors,
        categories=[category for category in categories if category],
        announce_type="new",
        arxiv_id=split[0] if split else None,
        arxiv_version=split[1] if split else None,
        doi=normalize_doi(element.findtext(ARXIV + "doi")),
        published=_timestamp(element.findtext(ATOM + "published")),
        journal="arXiv",
        title_key=fast_title_key(title, authors[0] if authors else None),
    )


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
