"""Parse stored feed payloads (arXiv RSS, bioRxiv/medRxiv RDF, journal RSS/RDF/Atom) into entries.

One call parses one payload of one source into a ParsedFeed with one Entry per item. The
parsers never touch the network or the file system: feedparser gets the bytes as a stream.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
import feedparser
from defusedxml import DefusedXmlException

from hub_pipeline.lib.identifiers import version_label_from_link
from hub_pipeline.lib.models import Entry, ParsedFeed
from hub_pipeline.lib.normalize import (
    clean_text,
    find_doi,
    normalize_doi,
    split_arxiv_id,
    split_authors,
    strip_arxiv_prefix,
    title_key,
)
from hub_pipeline.lib.xml_safety import xml_hazard

logger = logging.getLogger(__name__)

_DC_NAMESPACE = "{http://purl.org/dc/elements/1.1/}"

# "cs.CL updates on arXiv.org" -> "cs.CL"
_ARXIV_CHANNEL_TITLE = re.compile(r"^\s*(\S+)\s+updates\s+on\s+arXiv\.org", re.IGNORECASE)
# "bioRxiv Subject Collection: Plant Biology" -> "Plant Biology"
_SUBJECT_COLLECTION = re.compile(r"Subject\s+Collection:\s*(.+)$", re.IGNORECASE)
# Nature's item content starts with "<p>Nature, Published online: 15 December 2023;
# <a ...>doi:...</a></p>" before the standfirst. That paragraph is not abstract text.
_PUBLISHED_ONLINE_PARAGRAPH = re.compile(
    r"^\s*<p>[^<]*Published online:[^<]*(?:<a\b[^>]*>[^<]*</a>)?[^<]*</p>", re.IGNORECASE
)
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b",
    re.IGNORECASE | re.DOTALL,
)


# The first element of a document, after the XML declaration, comments and DOCTYPE.
_ROOT_START = re.compile(rb"<([A-Za-z_][\w:.-]*)")


class FeedParseError(ValueError):
    """A payload that cannot be read as a feed: HTML, malformed XML without entries, not a feed."""


def parse_payload(
    kind: str, source_id: str, body: bytes, *, feed_category: str | None = None
) -> ParsedFeed:
    """Parse one stored payload of one source into a ParsedFeed with one Entry per item.

    `kind` is "arxiv_rss", "biorxiv_rss" or "rss". Raises FeedParseError for payloads that are
    not a feed, and ValueError for an unknown kind (a configuration error, not a payload error).
    """
    parser = _PARSERS.get(kind)
    if parser is None:
        known = ", ".join(sorted(_PARSERS))
        raise ValueError(f"source {source_id!r}: unknown parser kind {kind!r}; use one of {known}")

    feed = _read_feed(source_id, body)
    warnings: list[str] = []
    if feed.bozo:
        warnings.append(f"feed is not well-formed, entries read anyway: {_bozo_reason(feed)}")

    context = _Context(source_id=source_id, kind=kind, body=body, feed=feed, warnings=warnings)
    entries = parser(context, feed_category)
    logger.debug(
        "source %s: parsed %d entries, %d warnings", source_id, len(entries), len(warnings)
    )
    return ParsedFeed(
        feed_title=clean_text(feed.feed.get("title")),
        entries=entries,
        feed_day=_feed_day(feed.feed),
        warnings=warnings,
    )


# --- reading the payload ---------------------------------------------------------------------


def _read_feed(source_id: str, body: bytes) -> Any:
    """Run feedparser over the bytes and reject payloads that are not a feed."""
    if not body or not body.strip():
        raise FeedParseError(
            f"source {source_id!r}: payload is empty ({len(body or b'')} bytes); "
            "the stored payload is kept, check the source URL and the fetch log"
        )
    if _HTML_START.match(body[:4096]):
        start = body.lstrip()[:15].decode("utf-8", errors="replace")
        raise FeedParseError(
            f"source {source_id!r}: payload is not a feed (an HTML page starting {start!r}); "
            "the stored payload is kept, check the source URL"
        )

    hazard = xml_hazard(body)
    if hazard:
        raise FeedParseError(f"source {source_id!r}: {hazard}; the stored payload is kept for inspection")

    # A stream, never a str or bytes: feedparser fetches a str that looks like a URL and
    # opens a str or bytes that names an existing file. Its sanitizer is off because it
    # treats "<b$" in "$a<b$" as a tag and drops text, so clean_text strips the markup instead.
    # feedparser 6.0.14 turns off external entities in its SAX parser and removes entity
    # declarations that reference other entities or external resources.
    feed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)

    if feed.bozo and _looks_truncated(body):
        raise FeedParseError(
            f"source {source_id!r}: payload is truncated: the XML is not well-formed and ends before its root element closes "
            f"({_bozo_reason(feed)}); a partial payload is not loaded, so fetch the source again"
        )
    if feed.bozo and not feed.entries:
        raise FeedParseError(
            f"source {source_id!r}: payload is not well-formed XML and no entries could be read "
            f"({_bozo_reason(feed)}); the stored payload is kept, "
            "inspect it or fetch the source again"
        )
    if not feed.version and not feed.entries:
        raise FeedParseError(
            f"source {source_id!r}: payload is XML but not an RSS, RDF or Atom feed; "
            "the stored payload is kept, check the source URL"
        )
    return feed


def _looks_truncated(body: bytes) -> bool:
    """Return whether the payload stops before its root element's closing tag: a cut-off body."""
    root = _ROOT_START.search(body)
    if root is None:
        return False
    closing = re.compile(rb"</\s*" + re.escape(root.group(1)) + rb"\s*>\s*(?:<!--.*?-->\s*)*$", re.DOTALL)
    return closing.search(body[-4096:].rstrip()) is None


def _bozo_reason(feed: Any) -> str:
    exception = feed.get("bozo_exception")
    return f"{type(exception).__name__}: {exception}" if exception else "unknown reason"


def _feed_day(channel: Any) -> date | None:
    """Return the channel's date (RSS pubDate, else updated) in the channel's own time zone."""
    for key in ("published", "updated"):
        # A missing "updated" would read "published" again, with feedparser's DeprecationWarning.
        value = channel.get(key) if key in channel else None
        if value:
            parsed = _parse_date_string(value)
            if parsed is not None:
                return parsed.date()
    return None


def _parse_date_string(value: str) -> datetime | None:
    """Parse an RFC 822 or ISO 8601 date, keeping the offset it was written with."""
    value = value.strip()
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- shared item fields ----------------------------------------------------------------------


class _Context:
    """Payload, feedparser result and warnings shared by the item parsers of one payload."""

    def __init__(
        self, *, source_id: str, kind: str, body: bytes, feed: Any, warnings: list[str]
    ) -> None:
        self.source_id = source_id
        self.kind = kind
        self.body = body
        self.feed = feed
        self.warnings = warnings
        self._identifiers: list[list[str]] | None = None

    def item_identifiers(self, index: int) -> list[str]:
        """Return every dc:identifier of item `index`, because feedparser keeps only the last."""
        if self._identifiers is None:
            self._identifiers = _scan_identifiers(self.body, len(self.feed.entries))
        if index < len(self._identifiers):
            return self._identifiers[index]
        return []


def _scan_identifiers(body: bytes, expected_items: int) -> list[list[str]]:
    """Collect every dc:identifier per item, in document order, with a hardened XML parser.

    Returns an empty list when the payload cannot be read that way or its item count differs
    from feedparser's, because then items cannot be paired by position.
    """
    try:
        root = defusedxml.ElementTree.fromstring(body)
    except (ParseError, DefusedXmlException, ValueError):
        return []
    items: list[list[str]] = []
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag.rsplit("}", 1)[-1] not in ("item", "entry"):
            continue
        values = [
            (child.text or "").strip()
            for child in element
            if child.tag == f"{_DC_NAMESPACE}identifier"
        ]
        items.append([value for value in values if value])
    return items if len(items) == expected_items else []


def _authors(item: Any) -> list[str]:
    """List author names: one per dc:creator or author element, or split from one string."""
    names = [clean_text(author.get("name")) for author in item.get("authors", [])]
    names = [name for name in names if name]
    if not names and item.get("author"):
        names = [clean_text(item.get("author"))]
    if len(names) == 1:
        return split_authors(names[0])
    return names


def _categories(item: Any) -> list[str]:
    terms = [clean_text(tag.get("term")) for tag in item.get("tags", [])]
    return [term for term in terms if term]


def _published(item: Any) -> datetime | None:
    """Return the item's own date in UTC (feedparser's parsed dates are already UTC)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # A missing "updated_parsed" would read "published_parsed" again, with a DeprecationWarning.
        value = item.get(key) if key in item else None
        if value:
            return datetime(*value[:6], tzinfo=UTC)
    return None


def _summary_html(item: Any) -> str:
    """Return the item's description, or its full content when the description is empty."""
    summary = item.get("summary") or ""
    if summary.strip():
        return summary
    for content in item.get("content", []):
        if (content.get("value") or "").strip():
            return content["value"]
    return ""


def _link(item: Any) -> str | None:
    link = (item.get("link") or "").strip()
    return link or None


def _new_entry(
    context: _Context, index: int, item: Any, *, title: str, abstract: str, **fields: Any
) -> Entry:
    authors = fields.pop("authors", [])
    return Entry(
        source_id=context.source_id,
        source_kind=context.kind,
        item_index=index,
        title=title,
        abstract=abstract,
        raw_title=item.get("title") or "",
        raw_summary=_summary_html(item),
        guid=(item.get("id") or "").strip() or None,
        link=_link(item),
        authors=authors,
        categories=_categories(item),
        published=_published(item),
        title_key=title_key(title, authors[0] if authors else None),
        **fields,
    )


def _keep_item(context: _Context, index: int, item: Any, title: str) -> bool:
    """Return False, and add a warning, for an item with neither a title nor a link."""
    if title or _link(item):
        return True
    context.warnings.append(f"item {index}: has neither a title nor a link; dropped")
    return False


# --- arXiv -----------------------------------------------------------------------------------


def _parse_arxiv_rss(context: _Context, feed_category: str | None) -> list[Entry]:
    """Parse arXiv's RSS 2.0 listing (rss.arxiv.org) or its Atom variant."""
    if feed_category is None:
        match = _ARXIV_CHANNEL_TITLE.match(context.feed.feed.get("title") or "")
        feed_category = match.group(1) if match else None

    entries = []
    for index, item in enumerate(context.feed.entries):
        title = clean_text(item.get("title"))
        if not _keep_item(context, index, item, title):
            continue
        abstract, prefix = strip_arxiv_prefix(item.get("summary") or "")

        if prefix.get("arxiv_id"):
            identifier = (prefix["arxiv_id"], prefix["version"])
        else:
            identifier = split_arxiv_id(item.get("id")) or split_arxiv_id(item.get("link"))
        announce_type = clean_text(item.get("arxiv_announce_type")) or prefix.get("announce_type")

        entries.append(
            _new_entry(
                context,
                index,
                item,
                title=title,
                abstract=clean_text(abstract),
                authors=_authors(item),
                feed_category=feed_category,
                announce_type=announce_type or None,
                arxiv_id=identifier[0] if identifier else None,
                arxiv_version=identifier[1] if identifier else None,
                journal="arXiv",
            )
        )
    return entries


# --- bioRxiv and medRxiv ---------------------------------------------------------------------


def _preprint_server(link: str | None) -> str | None:
    host = urlsplit(link or "").netloc.lower()
    if host.endswith("medrxiv.org"):
        return "medRxiv"
    if host.endswith("biorxiv.org"):
        return "bioRxiv"
    return None


def _item_doi(context: _Context, index: int, item: Any) -> str | None:
    """Find the item's DOI in prism:doi, then dc:identifier, then the link and the guid."""
    doi = normalize_doi(item.get("prism_doi"))
    if doi:
        return doi
    candidates = [item.get("dc_identifier"), *context.item_identifiers(index)]
    candidates += [item.get("link"), item.get("id")]
    for candidate in candidates:
        doi = find_doi(candidate)
        if doi:
            return doi
    return None


def _parse_biorxiv_rss(context: _Context, feed_category: str | None) -> list[Entry]:
    """Parse a bioRxiv or medRxiv subject-collection feed (RSS 1.0/RDF with dc and prism)."""
    channel = context.feed.feed
    if feed_category is None:
        channel_title = clean_text(channel.get("title"))
        match = _SUBJECT_COLLECTION.search(channel_title)
        feed_category = match.group(1).strip() if match else (channel_title or None)

    entries = []
    for index, item in enumerate(context.feed.entries):
        title = clean_text(item.get("title"))
        if not _keep_item(context, index, item, title):
            continue
        # The server name comes from the link host first, because dc:publisher names the
        # publisher ("Cold Spring Harbor Laboratory"), not the server readers look for.
        journal = (
            _preprint_server(item.get("link"))
            or clean_text(item.get("prism_publicationname"))
            or clean_text(channel.get("prism_publicationname"))
            or clean_text(item.get("publisher"))
            or "bioRxiv"
        )
        entries.append(
            _new_entry(
                context,
                index,
                item,
                title=title,
                abstract=clean_text(_summary_html(item)),
                authors=_authors(item),
                feed_category=feed_category,
                doi=_item_doi(context, index, item),
                journal=journal,
                version_label=version_label_from_link(_link(item)),
            )
        )
    return entries


# --- journal feeds ---------------------------------------------------------------------------


def _journal_abstract(item: Any, title: str) -> str:
    """Clean the item's abstract and drop Nature's "Published online" line.

    Returns "" when what is left only repeats the title.
    """
    summary = _PUBLISHED_ONLINE_PARAGRAPH.sub("", _summary_html(item), count=1)
    abstract = clean_text(summary)
    return "" if abstract == title else abstract


def _parse_journal_rss(context: _Context, feed_category: str | None) -> list[Entry]:
    """Parse a journal feed in RSS 1.0/RDF, RSS 2.0 or Atom (Nature, Science, Wiley, ...)."""
    channel = context.feed.feed
    channel_journal = clean_text(channel.get("prism_publicationname")) or clean_text(
        channel.get("title")
    )

    entries = []
    for index, item in enumerate(context.feed.entries):
        title = clean_text(item.get("title"))
        if not _keep_item(context, index, item, title):
            continue
        entries.append(
            _new_entry(
                context,
                index,
                item,
                title=title,
                abstract=_journal_abstract(item, title),
                authors=_authors(item),
                feed_category=feed_category,
                doi=_item_doi(context, index, item),
                journal=clean_text(item.get("prism_publicationname")) or channel_journal or None,
            )
        )
    return entries


_PARSERS: dict[str, Callable[[_Context, str | None], list[Entry]]] = {
    "arxiv_rss": _parse_arxiv_rss,
    "biorxiv_rss": _parse_biorxiv_rss,
    "rss": _parse_journal_rss,
}
