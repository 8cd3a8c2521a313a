"""The two readers of OAI-PMH pages: xml2arrow for pages of arXiv's usual shape, lxml for the rest.

Both must give the same records and token for every page the fast one accepts, and every page
it cannot read exactly must reach lxml. The hand-made pages hold the edge cases; the expected
values in them were written from the XML by hand.
"""

import re
from datetime import date

import pytest
from polars.testing import assert_frame_equal

from hub_pipeline.lib.sources.common import HistoryPageError
from hub_pipeline.lib.sources.oai import _read_columns, _read_tree, parse_oai_page

REAL_PAGES = [
    "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page001_cursor0.xml",
    "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page103_final_empty-token.xml",
    "arxiv_oai/arxiv_oai_ListRecords_arXivRaw_2014-01-16_cursor46000_token496549-47001.xml",
    *(f"corpus/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09/page{number:03d}.xml" for number in range(2, 12)),
]
ARXIV_NS = 'xmlns="http://arxiv.org/OAI/arXiv/"'
RAW_NS = 'xmlns="http://arxiv.org/OAI/arXivRaw/"'


def page(records: str, tail: str = '<resumptionToken cursor="0" completeListSize="2"></resumptionToken>') -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        f"<responseDate>2025-03-20T00:00:00Z</responseDate><ListRecords>{records}{tail}</ListRecords></OAI-PMH>\n"
    ).encode()


def record(identifier: str, metadata: str, status: str = "") -> str:
    header = f'<header{status}><identifier>oai:arXiv.org:{identifier}</identifier><datestamp>2025-03-19</datestamp></header>'
    return f"<record>{header}<metadata>{metadata}</metadata></record>" if metadata else f"<record>{header}</record>"


ARXIV_RECORD = record(
    "2503.00001",
    f"""<arXiv {ARXIV_NS}><id>2503.00001</id><created>2025-03-19</created>
    <authors><author><keyname>Smith</keyname><forenames>Ann B.</forenames><suffix>Jr</suffix></author>
    <author><keyname> Li </keyname><forenames>  </forenames></author><author><keyname>Curie</keyname></author></authors>
    <title>Heat &amp; light in\n  CO&lt;sub&gt;2&lt;/sub&gt;</title><categories>cs.LG\n stat.ML</categories>
    <doi>10.1103/PhysRevLett.98.010401</doi><journal-ref>  </journal-ref>
    <abstract>  Tabs&#9;and&#13;returns,\u00a0a\u3000wide gap and $n&lt;k$.\n</abstract></arXiv>""",
)
RAW_RECORD = record(
    "0801.3674",
    f"""<arXivRaw {RAW_NS}><id>0801.3674</id><submitter>R. B.</submitter>
    <version version="v2"><date>Mon, 4 Feb 2008 15:05:55 GMT</date><size>33kb</size></version>
    <version version="v1"><date>Wed, 23 Jan 2008 21:13:53 GMT</date><size>33kb</size></version>
    <title>A Study of\n  Brane Inflation</title><authors>Robert H. Brandenberger (McGill), Keshav Dasgupta (McGill) and
  Anne-Christine Davis (DAMTP, Cambridge)</authors><categories>hep-th astro-ph</categories>
    <doi>doi:10.1000/ABC. 10.1000/second</doi><abstract>Text.</abstract></arXivRaw>""",
)
EDGE_PAGES = {
    "arXiv format": page(ARXIV_RECORD),
    "arXivRaw format": page(RAW_RECORD),
    "a deleted record between two": page(
        ARXIV_RECORD + record("2503.00002", "", ' status="deleted"') + ARXIV_RECORD.replace("2503.00001", "2503.00003")
    ),
    "a record with empty fields": page(record("2503.00004", f"<arXiv {ARXIV_NS}><id>2503.00004</id><title></title><authors/></arXiv>")),
    "an arXivRaw record without versions": page(record("0704.0002", f"<arXivRaw {RAW_NS}><id>0704.0002</id><title>T</title></arXivRaw>")),
    "a token with text": page(ARXIV_RECORD, '<resumptionToken cursor="1000" completeListSize="5000">6961|1001&amp;x</resumptionToken>'),
    "an empty token element": page(ARXIV_RECORD, "<resumptionToken/>"),
    "no token": page(ARXIV_RECORD, ""),
    "no records": page("", "").replace(b"<ListRecords></ListRecords>", b'<error code="noRecordsMatch">none</error>'),
}


def _same(body: bytes) -> tuple:
    fast, slow = _read_columns(body, "s"), _read_tree(body, "s")
    assert fast is not None, "the page should have been read by xml2arrow"
    assert (fast[0].next_token, fast[0].total, fast[0].cursor) == (slow[0].next_token, slow[0].total, slow[0].cursor)
    assert_frame_equal(fast[1], slow[1])
    return fast


@pytest.mark.parametrize("name", REAL_PAGES)
def test_readers_agree_on_the_real_pages(fixtures, name):
    _same((fixtures / name).read_bytes())


@pytest.mark.parametrize("name", list(EDGE_PAGES))
def test_readers_agree_on_edge_cases(name):
    _same(EDGE_PAGES[name])


def test_arxiv_format_values():
    entry = parse_oai_page(EDGE_PAGES["arXiv format"], "s").entries[0]
    assert entry.authors == ["Ann B. Smith Jr", "Li", "Curie"]
    assert entry.categories == ["cs.LG", "stat.ML"]
    assert entry.title == "Heat & light in CO2"
    assert entry.abstract == "Tabs and returns, a wide gap and $n<k$."
    assert entry.doi == "10.1103/physrevlett.98.010401"
    assert entry.journal_ref is None


def test_arxiv_raw_format_values():
    page_read = parse_oai_page(EDGE_PAGES["arXivRaw format"], "s")
    entry = page_read.entries[0]
    assert entry.authors == ["Robert H. Brandenberger", "Keshav Dasgupta", "Anne-Christine Davis"]
    assert entry.arxiv_version == 2
    assert entry.doi == "10.1000/abc"
    # v1 came in on Wednesday 2008-01-23 at 16:13 US Eastern time, after the cut-off.
    assert page_read.days == [date(2008, 1, 25)]


def test_deleted_records_and_tokens():
    assert [entry.arxiv_id for entry in parse_oai_page(EDGE_PAGES["a deleted record between two"], "s").entries] == ["2503.00001", "2503.00003"]
    with_text = parse_oai_page(EDGE_PAGES["a token with text"], "s")
    assert (with_text.next_token, with_text.total, with_text.cursor) == ("6961|1001&x", 5000, 1000)
    assert parse_oai_page(EDGE_PAGES["an empty token element"], "s").next_token == ""
    assert parse_oai_page(EDGE_PAGES["no token"], "s").next_token is None


# Pages xml2arrow must not read alone: lxml reads them or reports what is wrong.
PREFIXED = b"""<?xml version="1.0" encoding="UTF-8"?>
<o:OAI-PMH xmlns:o="http://www.openarchives.org/OAI/2.0/" xmlns:a="http://arxiv.org/OAI/arXiv/"><o:ListRecords>
<o:record><o:header><o:identifier>oai:arXiv.org:2503.00001</o:identifier></o:header><o:metadata>
<a:arXiv><a:id>2503.00001</a:id><a:created>2025-03-19</a:created><a:title>Prefixed</a:title></a:arXiv></o:metadata></o:record>
</o:ListRecords></o:OAI-PMH>"""
LATIN1 = (
    page(record("2503.00001", f"<arXiv {ARXIV_NS}><id>2503.00001</id><title>Caf\u00e9 au lait</title></arXiv>"))
    .decode("utf-8")
    .replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    .encode("latin-1")
)
OTHER_NAMESPACE = page(ARXIV_RECORD.replace(ARXIV_NS, 'xmlns="http://example.org/other/"'))
TWO_IDS = page(ARXIV_RECORD.replace("<id>2503.00001</id>", "<id>2503.00001</id><id>2503.00009</id>"))


@pytest.mark.parametrize("body", [PREFIXED, LATIN1, OTHER_NAMESPACE, TWO_IDS], ids=["prefixes", "latin-1", "other namespace", "two ids"])
def test_unusual_pages_go_to_lxml(body):
    assert _read_columns(body, "s") is None


def test_lxml_reads_prefixed_and_latin1_pages():
    assert [entry.title for entry in parse_oai_page(PREFIXED, "s").entries] == ["Prefixed"]
    assert parse_oai_page(LATIN1, "s").entries[0].title == "Caf\u00e9 au lait"


def test_foreign_metadata_namespace_rejected():
    with pytest.raises(HistoryPageError, match="unsupported OAI metadata format"):
        parse_oai_page(OTHER_NAMESPACE, "s")


def test_truncated_page_not_well_formed():
    with pytest.raises(HistoryPageError, match="not well-formed") as raised:
        parse_oai_page(EDGE_PAGES["arXiv format"][:-40], "s")
    message = str(raised.value)
    assert re.search(r"\(line \d+, column \d+\)$", message), message
    assert message.count("line") == 2, message  # libxml2's "in tag ... line N", then the position once
