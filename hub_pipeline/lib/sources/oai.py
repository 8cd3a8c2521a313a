"""arXiv's OAI-PMH ListRecords pages (metadataPrefix arXiv or arXivRaw).

A page contains about 1,000 records in a couple of megabytes, and a year of arXiv is some 300
pages. xml2arrow, a compiled XML reader, turns a page into Arrow columns in one call, as
oai_tables.yaml maps them: about four times as fast as lxml builds a tree of the same page.
It matches local names, ignoring namespaces, and expands no entities, so a page is given to
it only when it has the shape arXiv sends (UTF-8, no prefixes, a closed root);
a page it rejects or reads only in part (another metadata format, a record without an id)
is read again with lxml, which gives the exact reason. Either way sources.columns normalizes
the records a column at a time. Entities are never resolved and nothing is fetched.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polars as pl
from lxml import etree
from xml2arrow import XmlToArrowParser

from hub_pipeline.lib.normalize import split_authors
from hub_pipeline.lib.sources.columns import RAW_SCHEMA, arxiv_records, collect_frames, empty_raw, raw_frame
from hub_pipeline.lib.sources.common import HistoryPage, HistoryPageError, xml_error_detail

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


_TABLES = Path(__file__).with_name("oai_tables.yaml")
# An XML declaration naming another encoding than UTF-8.
_OTHER_ENCODING = re.compile(rb"<\?xml[^>]*?encoding=[\"'](?!utf-8[\"'])", re.IGNORECASE)


def parse_oai_page(body: bytes, source_id: str, feed_category: str | None = None, *, first_index: int = 0) -> HistoryPage:
    """Parse one ListRecords page; ``first_index`` numbers the records across a harvest."""
    page, raw = read_oai_page(body, source_id)
    page.frame = arxiv_records(raw, source_id=source_id, source_kind="arxiv_oai", feed_category=feed_category, first_index=first_index)
    return page


def parse_oai_pages(bodies: list[bytes], source_id: str, feed_category: str | None = None, *, first_index: int = 0, page_sizes: list[int] | None = None) -> pl.DataFrame:
    """Parse several pages of one harvest into one frame, numbering their records in order.

    Normalizing a batch at once spreads polars' fixed cost per operation over more records.
    """
    raw = collect_frames(bodies, read_oai_page, source_id, page_sizes)
    return arxiv_records(raw, source_id=source_id, source_kind="arxiv_oai", feed_category=feed_category, first_index=first_index)


def read_oai_page(body: bytes, source_id: str) -> tuple[HistoryPage, pl.DataFrame]:
    """Read one page: its token and counts, and its records as a RAW_SCHEMA frame."""
    read = _read_columns(body, source_id)
    return read if read is not None else _read_tree(body, source_id)


@cache
def _columns_parser() -> XmlToArrowParser:
    return XmlToArrowParser(_TABLES)


def _columns_readable(body: bytes) -> bool:
    """Return whether xml2arrow may read a page: UTF-8, and ending with the closing </OAI-PMH>.

    xml2arrow reads UTF-8 only, and it stops without an error where a cut-off page ends. So a
    page that does not end with its root element goes to lxml, which reports what is wrong.
    """
    return body.rstrip().endswith(b"</OAI-PMH>") and not _OTHER_ENCODING.match(body.lstrip())


def _read_columns(body: bytes, source_id: str) -> tuple[HistoryPage, pl.DataFrame] | None:
    """Read a page of arXiv's usual shape with xml2arrow, or return None when lxml must read it."""
    if not _columns_readable(body):
        return None
    try:
        tables = _columns_parser().parse(body)
    except Exception:  # noqa: BLE001 - xml2arrow's errors, and a TypeError it raises for some encoding errors
        return None
    head = tables["page"].to_pylist()[0]
    _raise_for_error(source_id, head["error_code"], head["error"])
    rows = pl.from_arrow(tables["records"])
    page = HistoryPage()
    if rows.height and rows["guid"][-1] is None and rows["identifier"][-1] is None:
        if b"<resumptionToken" not in body[-4096:]:
            return None
        token = rows.row(-1, named=True)
        rows = rows.head(-1)
        page.next_token = (token["token"] or "").strip()
        page.total = _count(token["total"])
        page.cursor = _count(token["cursor"])
    records = pl.concat([_arxiv_format(rows, pl.from_arrow(tables["authors"])), _raw_format(pl.from_arrow(tables["raw"]))], how="diagonal")
    known = rows.filter(pl.col("status").is_null() | (pl.col("status") != "deleted")).select("<record>")
    unread = known.join(records, on="<record>", how="anti")
    if unread.height or rows.filter(pl.col("identifier").is_not_null() & (pl.col("format").fill_null("") != ARXIV[1:-1])).height:
        # A record in another metadata format or namespace, or without an id: lxml decides.
        return None
    frame = records.join(rows.select("<record>", "guid"), on="<record>", how="left").sort("<record>")
    return page, _in_raw_schema(frame)


def _in_raw_schema(frame: pl.DataFrame) -> pl.DataFrame:
    """Select RAW_SCHEMA's columns in its order and types, with nulls for the ones not read."""
    columns = []
    for name, dtype in RAW_SCHEMA.items():
        if name in frame.columns:
            columns.append(pl.col(name).cast(dtype))
        else:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(columns)


def _arxiv_format(rows: pl.DataFrame, authors: pl.DataFrame) -> pl.DataFrame:
    """Join the arXiv-format records with their authors, each named "forenames keyname suffix"."""
    def part(name: str) -> pl.Expr:
        text = pl.col(name).str.strip_chars()
        return pl.when(text != "").then(text)

    names = (
        authors.select("<record>", pl.concat_str(part("forenames"), part("keyname"), part("suffix"), separator=" ", ignore_nulls=True).alias("name"))
        .filter(pl.col("name") != "")
        .group_by("<record>", maintain_order=True)
        .agg(pl.col("name").alias("authors"))
    )
    return (
        rows.filter(pl.col("identifier").is_not_null())
        .select("<record>", "identifier", "raw_title", "raw_summary", "doi", "journal_ref", "v1_date", categories=pl.col("categories").str.extract_all(r"\S+"))
        .join(names, on="<record>", how="left")
        .with_columns(pl.col("authors").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))), pl.col("categories").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))))
    )


def _raw_format(elements: pl.DataFrame) -> pl.DataFrame:
    """Fold the arXivRaw rows, one per element, into one row per record."""
    if elements.height == 0:
        return pl.DataFrame(schema={"<record>": pl.UInt32})
    number = pl.col("version").str.slice(1).cast(pl.Int32, strict=False)
    fields = ("identifier", "raw_title", "raw_summary", "categories", "doi", "journal_ref", "authors")
    records = elements.group_by("<record>", maintain_order=True).agg(
        *(pl.col(name).drop_nulls().last() for name in fields),
        pl.when(number > 0).then(number).max().alias("version"),
        pl.col("version_date").filter(number == 1).drop_nulls().last().alias("v1_rfc822"),
    )
    records = records.filter(pl.col("identifier").is_not_null())
    # arXivRaw gives the authors as one line, with affiliations in parentheses.
    authors = [split_authors(_AFFILIATION.sub("", text or "")) for text in records["authors"]]
    return records.with_columns(
        pl.Series("authors", authors, dtype=pl.List(pl.Utf8)),
        pl.col("categories").str.extract_all(r"\S+").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
    )


def _count(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _raise_for_error(source_id: str, code: str | None, message: str | None) -> None:
    if code is not None and code != "noRecordsMatch":
        raise HistoryPageError(f"{source_id}: the OAI-PMH server returned error {code!r}: {(message or '').strip()}")


def _read_tree(body: bytes, source_id: str) -> tuple[HistoryPage, pl.DataFrame]:
    """Read a page with lxml: any encoding and namespace prefixes, and exact errors."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise HistoryPageError(f"{source_id}: the OAI-PMH page is not well-formed XML: {xml_error_detail(error)}") from error
    error = root.find(_ERROR)
    if error is not None:
        _raise_for_error(source_id, error.get("code", ""), error.text)
    records = _walk(root)
    if len(records) != _METADATA_COUNT(root):
        # A deleted record has no metadata; a record in another format has no arXiv id.
        for element in root.iterfind(f"{OAI}ListRecords/{_RECORD}/{_METADATA}/*"):
            if element.tag not in (ARXIV + "arXiv", ARXIV_RAW + "arXivRaw"):
                record = element.getparent().getparent()
                identifier = record.findtext(f"{OAI}header/{_IDENTIFIER}", default="").strip() or "without an identifier"
                raise HistoryPageError(
                    f"{source_id}: unsupported OAI metadata format {element.tag!r} in record {identifier}. "
                    "Set the source's metadata_prefix to arXiv or arXivRaw"
                )
    raw = empty_raw()
    _append(records, raw)
    page = HistoryPage()
    token = root.find(f"{OAI}ListRecords/{_TOKEN}")
    if token is not None:
        page.next_token = (token.text or "").strip()
        page.total = _count(token.get("completeListSize"))
        page.cursor = _count(token.get("cursor"))
    return page, raw_frame(raw)


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
