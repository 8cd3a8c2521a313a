"""arXiv's OAI-PMH ListRecords pages (metadataPrefix arXiv or arXivRaw).

A page contains about 1,000 records in a couple of megabytes, and a year of arXiv is some 300
pages. lxml parses a page into a tree in one call. One walk over the elements that carry
fields collects each record's values into lists, which sources.columns normalizes a column
at a time. Entities are never resolved and nothing is fetched while parsing.
"""

from __future__ import annotations

import re

import polars as pl
from lxml import etree

from hub_pipeline.lib.normalize import split_authors
from hub_pipeline.lib.sources.columns import arxiv_records, collect_pages, empty_raw
from hub_pipeline.lib.sources.common import HistoryPage, HistoryPageError

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"

_RECORD, _METADATA, _IDENTIFIER = OAI + "record", OAI + "metadata", OAI + "identifier"
_TOKEN, _ERROR = OAI + "resumptionToken", OAI + "error"
_AFFILIATION = re.compile(r"\([^()]*\)")

# Codes of the elements walked; the first eight are the slots of a record's values.
GUID, ID, TITLE, ABSTRACT, CATEGORIES, DOI, JOURNAL_REF, CREATED = range(8)
AUTHORS, VERSIONS = 8, 9  # slots without an element of their own
KEYNAME, FORENAMES, SUFFIX, RAW_AUTHORS, RAW_VERSION, RAW_DATE, RECORD = range(10, 17)
_CODES = {_RECORD: RECORD, _IDENTIFIER: GUID, ARXIV + "created": CREATED}
for _namespace in (ARXIV, ARXIV_RAW):
    _CODES.update({
        _namespace + "id": ID, _namespace + "title": TITLE, _namespace + "abstract": ABSTRACT,
        _namespace + "categories": CATEGORIES, _namespace + "doi": DOI, _namespace + "journal-ref": JOURNAL_REF,
    })
# The arXiv format gives each author as keyname, then forenames and suffix when there are any,
# in the order its schema fixes. arXivRaw gives the authors as one line and every version with
# its date.
_CODES.update({
    ARXIV + "keyname": KEYNAME, ARXIV + "forenames": FORENAMES, ARXIV + "suffix": SUFFIX,
    ARXIV_RAW + "authors": RAW_AUTHORS, ARXIV_RAW + "version": RAW_VERSION, ARXIV_RAW + "date": RAW_DATE,
})
_WALKED = tuple(_CODES)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, collect_ids=False)
_METADATA_COUNT = etree.XPath("count(/o:OAI-PMH/o:ListRecords/o:record/o:metadata/*)", namespaces={"o": OAI[1:-1]})


def parse_oai_page(body: bytes, source_id: str, feed_category: str | None = None, *, first_index: int = 0) -> HistoryPage:
    """Parse one ListRecords page; ``first_index`` numbers the records across a harvest."""
    raw = empty_raw()
    page = read_oai_page(body, source_id, raw)
    page.frame = arxiv_records(raw, source_id=source_id, source_kind="arxiv_oai", feed_category=feed_category, first_index=first_index)
    return page


def parse_oai_pages(bodies: list[bytes], source_id: str, feed_category: str | None = None, *, first_index: int = 0, page_sizes: list[int] | None = None) -> pl.DataFrame:
    """Parse several pages of one harvest into one frame, numbering their records in order.

    Normalizing a batch at once spreads polars' fixed cost per operation over more records.
    """
    raw = collect_pages(bodies, read_oai_page, source_id, page_sizes)
    return arxiv_records(raw, source_id=source_id, source_kind="arxiv_oai", feed_category=feed_category, first_index=first_index)


def read_oai_page(body: bytes, source_id: str, raw: dict[str, list]) -> HistoryPage:
    """Append the records of one page to ``raw``; return the page's token and counts."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise HistoryPageError(f"{source_id}: the OAI-PMH page is not well-formed XML: {error}") from error
    error = root.find(_ERROR)
    if error is not None and error.get("code", "") != "noRecordsMatch":
        raise HistoryPageError(f"{source_id}: the OAI-PMH server returned error {error.get('code', '')!r}: {(error.text or '').strip()}")
    records = _walk(root)
    if len(records) != _METADATA_COUNT(root):
        # A deleted record has no metadata; a record in another format has no arXiv id.
        for element in root.iterfind(f"{OAI}ListRecords/{_RECORD}/{_METADATA}/*"):
            if element.tag not in (ARXIV + "arXiv", ARXIV_RAW + "arXivRaw"):
                raise HistoryPageError(f"{source_id}: unsupported OAI metadata format {element.tag!r}; use metadataPrefix arXiv or arXivRaw")
    _append(records, raw)
    page = HistoryPage()
    token = root.find(f"{OAI}ListRecords/{_TOKEN}")
    if token is not None:
        page.next_token = (token.text or "").strip()
        size, cursor = token.get("completeListSize"), token.get("cursor")
        page.total = int(size) if size and size.isdigit() else None
        page.cursor = int(cursor) if cursor and cursor.isdigit() else None
    return page


def _walk(root: etree._Element) -> list[list]:
    """Collect the values of every record that has arXiv metadata, one list of slots each."""
    records: list[list] = []
    record: list = [None] * 10
    name: list = []
    codes = _CODES
    for element in root.iter(_WALKED):
        code = codes[element.tag]
        if code < 8:
            record[code] = element.text
        elif code == KEYNAME:
            name = [None, element.text, None]
            record[AUTHORS].append(name)
        elif code == FORENAMES:
            name[0] = element.text
        elif code == RECORD:
            record = [None] * 10
            record[AUTHORS] = []
            records.append(record)
        elif code == SUFFIX:
            name[2] = element.text
        elif code == RAW_AUTHORS:
            record[AUTHORS] = element.text
        elif code == RAW_VERSION:
            if record[VERSIONS] is None:
                record[VERSIONS] = []
            record[VERSIONS].append([element.get("version", ""), None])
        elif record[VERSIONS]:  # the <date> of the last <version>
            record[VERSIONS][-1][1] = element.text
    return [record for record in records if record[ID] is not None]


def _append(records: list[list], raw: dict[str, list]) -> None:
    if not records:
        return
    guid, identifier, title, abstract, categories, doi, journal_ref, created, authors, versions = zip(*records)
    raw["guid"] += guid
    raw["identifier"] += identifier
    raw["raw_title"] += title
    raw["raw_summary"] += abstract
    raw["categories"] += [(text or "").split() for text in categories]
    raw["doi"] += doi
    raw["journal_ref"] += journal_ref
    raw["authors"] += [_authors(value) for value in authors]
    # The arXiv format states only the date of v1 (<created>): its announcement day is then
    # derived as if v1 came in before that day's cut-off (see sources.schedule).
    raw["v1_date"] += created
    latest_first = [_versions(value) if value else (None, None) for value in versions]
    raw["version"] += [latest for latest, _ in latest_first]
    raw["v1_rfc822"] += [first for _, first in latest_first]
    count = len(records)
    for name in ("primary", "link", "v1_iso"):
        raw[name] += [None] * count


def _authors(value: list | str | None) -> list[str]:
    if isinstance(value, list):
        names = []
        for parts in value:
            name = " ".join(text.strip() for text in parts if text and text.strip())
            if name:
                names.append(name)
        return names
    return split_authors(_AFFILIATION.sub("", value or ""))


def _versions(versions: list[list]) -> tuple[int | None, str | None]:
    """The highest version number and the date text of v1."""
    latest, first = 0, None
    for label, when in versions:
        number = int(label[1:]) if label[1:].isdigit() else 0
        latest = max(latest, number)
        if number == 1:
            first = when
    return latest or None, first
