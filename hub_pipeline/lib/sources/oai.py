"""arXiv's OAI-PMH ListRecords pages (metadataPrefix arXiv or arXivRaw), parsed as a stream.

A page holds about 1,000 records and a couple of megabytes, and a year of arXiv is some
300 pages, so records are read with lxml's iterparse and each one is cleared once read.
Entities are never resolved and nothing is fetched while parsing.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime

from lxml import etree

from hub_pipeline.lib.models import Entry
from hub_pipeline.lib.normalize import normalize_doi, split_arxiv_id, split_authors
from hub_pipeline.lib.sources.common import HistoryPage, HistoryPageError, clean, fast_title_key
from hub_pipeline.lib.sources.schedule import announcement_day, announcement_day_from_date

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"

_RECORD = OAI + "record"
_HEADER = OAI + "header"
_METADATA = OAI + "metadata"
_IDENTIFIER = OAI + "identifier"
_TOKEN = OAI + "resumptionToken"
_ERROR = OAI + "error"
_KEYNAME, _FORENAMES, _SUFFIX = ARXIV + "keyname", ARXIV + "forenames", ARXIV + "suffix"
_AFFILIATION = re.compile(r"\([^()]*\)")


def parse_oai_page(body: bytes, source_id: str, feed_category: str | None = None, *, first_index: int = 0) -> HistoryPage:
    """Parse one ListRecords page; ``first_index`` numbers the records across a harvest."""
    entries: list[Entry] = []
    days: list[date | None] = []
    page = HistoryPage(entries=entries, days=days)
    parser = etree.iterparse(
        io.BytesIO(body),
        events=("end",),
        tag=(_RECORD, _TOKEN, _ERROR),
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
    )
    try:
        for _, element in parser:
            tag = element.tag
            if tag == _RECORD:
                parsed = _record(element, source_id, feed_category, first_index + len(entries))
                if parsed is not None:
                    entries.append(parsed[0])
                    days.append(parsed[1])
                element.clear(keep_tail=False)
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
            elif tag == _TOKEN:
                page.next_token = (element.text or "").strip()
                size = element.get("completeListSize")
                cursor = element.get("cursor")
                page.total = int(size) if size and size.isdigit() else None
                page.cursor = int(cursor) if cursor and cursor.isdigit() else None
            else:
                code = element.get("code", "")
                if code != "noRecordsMatch":
                    raise HistoryPageError(f"{source_id}: the OAI-PMH server returned error {code!r}: {(element.text or '').strip()}")
    except etree.XMLSyntaxError as error:
        raise HistoryPageError(f"{source_id}: the OAI-PMH page is not well-formed XML: {error}") from error
    return page


def _record(element: etree._Element, source_id: str, feed_category: str | None, index: int) -> tuple[Entry, date | None] | None:
    header = metadata = None
    for child in element:  # a record is <header> then <metadata>, sometimes <about>
        if child.tag == _HEADER:
            header = child
        elif child.tag == _METADATA:
            metadata = child
    if header is not None and header.get("status") == "deleted":
        return None
    if metadata is None or len(metadata) == 0:
        return None
    body = metadata[0]
    if body.tag == ARXIV + "arXiv":
        return _arxiv_format(body, source_id, feed_category, index, header)
    if body.tag == ARXIV_RAW + "arXivRaw":
        return _arxiv_raw_format(body, source_id, feed_category, index, header)
    raise HistoryPageError(f"{source_id}: unsupported OAI metadata format {body.tag!r}; use metadataPrefix arXiv or arXivRaw")


def _fields(body: etree._Element, ns: str) -> dict[str, etree._Element]:
    cut = len(ns)
    return {child.tag[cut:]: child for child in body if isinstance(child.tag, str)}


def _text(fields: dict[str, etree._Element], name: str) -> str | None:
    element = fields.get(name)
    return element.text if element is not None else None


def _entry(
    fields: dict[str, etree._Element],
    source_id: str,
    feed_category: str | None,
    index: int,
    header: etree._Element | None,
    authors: list[str],
    version: int | None,
    published: datetime | None,
) -> Entry:
    get = fields.get
    identifier_element = get("id")
    identifier = (identifier_element.text or "").strip() if identifier_element is not None else ""
    split = split_arxiv_id(identifier)
    raw_title = _text(fields, "title") or ""
    raw_abstract = _text(fields, "abstract") or ""
    title = clean(raw_title)
    categories = (_text(fields, "categories") or "").split()
    guid = header.findtext(_IDENTIFIER) if header is not None else None
    return Entry(
        source_id=source_id,
        source_kind="arxiv_oai",
        item_index=index,
        title=title,
        abstract=clean(raw_abstract),
        raw_title=raw_title,
        raw_summary=raw_abstract,
        feed_category=feed_category or (categories[0] if categories else None),
        guid=(guid or "").strip() or identifier or None,
        link=f"https://arxiv.org/abs/{identifier}" if identifier else None,
        authors=authors,
        categories=categories,
        announce_type="new",
        arxiv_id=split[0] if split else None,
        arxiv_version=version,
        doi=normalize_doi(_text(fields, "doi")),
        published=published,
        journal="arXiv",
        title_key=fast_title_key(title, authors[0] if authors else None),
    )


def _arxiv_format(body, source_id, feed_category, index, header):
    fields = _fields(body, ARXIV)
    authors = []
    container = fields.get("authors")
    if container is not None:
        for author in container:
            # Children in the order forenames, keyname, suffix make "Given Surname Jr".
            parts = {child.tag: child.text for child in author}
            name = " ".join(
                text.strip()
                for text in (parts.get(_FORENAMES), parts.get(_KEYNAME), parts.get(_SUFFIX))
                if text and text.strip()
            )
            if name:
                authors.append(name)
    created = _date(_text(fields, "created"))
    # The arXiv format states only the date of v1, so the time is taken as midnight UTC and
    # the day from announcement_day_from_date.
    published = datetime(created.year, created.month, created.day, tzinfo=timezone.utc) if created else None
    entry = _entry(fields, source_id, feed_category, index, header, authors, None, published)
    return entry, announcement_day_from_date(created) if created else None


def _arxiv_raw_format(body, source_id, feed_category, index, header):
    fields = _fields(body, ARXIV_RAW)
    authors = split_authors(_AFFILIATION.sub("", _text(fields, "authors") or ""))
    first: datetime | None = None
    latest = 0
    for version in body.iterfind(ARXIV_RAW + "version"):
        label = version.get("version", "")
        number = int(label[1:]) if label[1:].isdigit() else 0
        latest = max(latest, number)
        if number == 1:
            first = _rfc822(version.findtext(ARXIV_RAW + "date"))
    entry = _entry(fields, source_id, feed_category, index, header, authors, latest or None, first)
    return entry, announcement_day(first) if first else None


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None


def _rfc822(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
