"""arXiv's query API (Atom), old (before 2025) and new formats, raw or in a recorded JSON wrapper.

The API states the v1 submission time in <published>, so each entry's announcement day is
derived from it. An entry titled "Error" is how the API reports a bad query: it raises.
Like the OAI-PMH parser, a page is parsed into a tree in one call, one walk collects each
entry's values, and sources.columns normalizes them a column at a time.
"""

from __future__ import annotations

import polars as pl
from lxml import etree

from hub_pipeline.lib.sources.columns import arxiv_records, clean_xml_text, collect_lists, empty_raw
from hub_pipeline.lib.sources.common import HistoryPage, HistoryPageError, unwrap_recorded, xml_error_detail

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV = "{http://arxiv.org/schemas/atom}"

# Codes of the elements walked; the first six are the slots of an entry's values.
ID, TITLE, SUMMARY, PUBLISHED, DOI, JOURNAL_REF = range(6)
PRIMARY, LINK, AUTHORS, CATEGORIES = 6, 7, 8, 9  # slots filled from attributes or children
NAME, CATEGORY, ALTERNATE, PRIMARY_CATEGORY, ENTRY, TOTAL, START = range(10, 17)
_CODES = {
    ATOM + "id": ID, ATOM + "title": TITLE, ATOM + "summary": SUMMARY, ATOM + "published": PUBLISHED,
    ARXIV + "doi": DOI, ARXIV + "journal_ref": JOURNAL_REF, ATOM + "name": NAME, ATOM + "category": CATEGORY,
    ATOM + "link": ALTERNATE, ARXIV + "primary_category": PRIMARY_CATEGORY, ATOM + "entry": ENTRY,
    OPENSEARCH + "totalResults": TOTAL, OPENSEARCH + "startIndex": START,
}
_WALKED = tuple(_CODES)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, collect_ids=False)


def parse_arxiv_api_page(body: bytes, source_id: str, feed_category: str | None = None, *, first_index: int = 0) -> HistoryPage:
    """Parse one page of query results; ``total`` is opensearch:totalResults."""
    page, raw = read_arxiv_api_page(body, source_id)
    page.frame = arxiv_records(raw, source_id=source_id, source_kind="arxiv_api", feed_category=feed_category, first_index=first_index)
    return page


def parse_arxiv_api_pages(bodies: list[bytes], source_id: str, feed_category: str | None = None, *, first_index: int = 0, page_sizes: list[int] | None = None) -> pl.DataFrame:
    """Parse several pages of one harvest into one frame, numbering their entries in order."""
    raw = collect_lists(bodies, read_arxiv_api_page, source_id, page_sizes)
    return arxiv_records(raw, source_id=source_id, source_kind="arxiv_api", feed_category=feed_category, first_index=first_index)


def read_arxiv_api_page(body: bytes, source_id: str) -> tuple[HistoryPage, dict[str, list]]:
    """Read one page: its total and start index, and its entries as lists of RAW_SCHEMA."""
    body, status = unwrap_recorded(body)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise HistoryPageError(f"{source_id}: the arXiv API response is not well-formed XML: {xml_error_detail(error)}") from error
    page = HistoryPage()
    entries: list[list] = []
    entry: list = [None] * 10  # collects the feed's own elements before the first entry
    entry[AUTHORS], entry[CATEGORIES] = [], []
    codes = _CODES
    for element in root.iter(_WALKED):
        code = codes[element.tag]
        if code < 6:
            entry[code] = element.text
        elif code == NAME:
            entry[AUTHORS].append(element.text)
        elif code == CATEGORY:
            entry[CATEGORIES].append(element.get("term", ""))
        elif code == ENTRY:
            entry = [None] * 10
            entry[AUTHORS], entry[CATEGORIES] = [], []
            entries.append(entry)
        elif code == ALTERNATE:
            if entry[LINK] is None and element.get("rel") == "alternate":
                entry[LINK] = element.get("href")
        elif code == PRIMARY_CATEGORY:
            entry[PRIMARY] = element.get("term")
        elif code == TOTAL:
            page.total = int((element.text or "0").strip())
        else:
            page.cursor = int((element.text or "0").strip())
    for entry in entries:
        if clean_xml_text(entry[TITLE]) == "Error":
            # The API rejects a query with one entry titled "Error" whose summary gives the reason.
            reason = clean_xml_text(entry[SUMMARY])
            raise HistoryPageError(f"{source_id}: the arXiv API rejected the query: {reason}; check the source's category and window")
    if status is not None and status >= 400 and not entries:
        raise HistoryPageError(f"{source_id}: the arXiv API returned HTTP {status}")
    raw = empty_raw()
    if entries:
        identifier, title, summary, published, doi, journal_ref, primary, link, authors, categories = zip(*entries)
        raw["guid"] += [(text or "").strip() or None for text in identifier]
        raw["identifier"] += identifier
        raw["raw_title"] += title
        raw["raw_summary"] += summary
        raw["v1_iso"] += published
        raw["doi"] += doi
        raw["journal_ref"] += journal_ref
        raw["primary"] += primary
        # The abs link; an entry without one is linked by its id, as the API's ids are abs URLs.
        raw["link"] += [href or (text or "").strip() or None for href, text in zip(link, identifier)]
        raw["authors"] += [[name for name in map(clean_xml_text, names) if name] for names in authors]
        raw["categories"] += [[term for term in terms if term] for terms in categories]
    return page, raw
