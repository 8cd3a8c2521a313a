"""The column-wise normalization of arXiv history records gives what the per-value functions
of normalize and schedule give, on hand-made values chosen for their edge cases."""

from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest

from hub_pipeline.lib.normalize import clean_text, split_arxiv_id, title_key
from hub_pipeline.lib.sources.columns import (
    announcement_days,
    arxiv_records,
    clean_xml_text,
    empty_raw,
    split_arxiv_column,
    title_key_column,
)
from hub_pipeline.lib.sources.common import HistoryPageError
from hub_pipeline.lib.sources.oai import parse_oai_page, parse_oai_pages
from hub_pipeline.lib.sources.schedule import announcement_day, announcement_day_from_date

TEXTS = [
    "  We describe a new algorithm, the $(k,\\ell)$-pebble game\nwith colors,  and use\n",
    "tab\tseparated\r\nlines",
    "Effects of A &amp; B on &lt;i&gt;E. coli&lt;/i&gt;",
    "<b>bold</b> and <i>italic</i>",
    "caf\u00e9\u00a0au\u2009lait \n next",
    "soft\u00adhyphen and zero\u200bwidth",
    "DEL\x7fchar",
    "",
    "   ",
    "single",
]


@pytest.mark.parametrize("text", TEXTS)
def test_clean_xml_text_equals_clean_text(text):
    assert clean_xml_text(text) == clean_text(text)


def test_clean_xml_text_values():
    assert clean_xml_text("  We describe\na  game\n") == "We describe a game"
    assert clean_xml_text(None) == ""


# Values the column-wise cleaning of arxiv_records treats apart: a "<" or "&" that is no
# markup, other whitespace than spaces and line feeds, invisible characters, nothing at all.
COLUMN_TEXTS = [
    *TEXTS,
    "$n<k$ and 1 < 2",
    "R&D costs",
    "AT&T; and &notation",
    "x &amp y",
    "x\u3000y\u2009z",
    "Greek \u03b1 and\n  \u03b2 folded",
    "a\tb\rc",
    "<!-- note -->x",
    "< b>bold</b>",
    "\u00a0lead and trail\u00a0",
    "line\n\n  two",
    "<think> tokens",
    None,
]


def _records(**columns: list) -> pl.DataFrame:
    raw = empty_raw()
    count = len(next(iter(columns.values())))
    raw["identifier"] = ["2503.00001"] * count
    raw.update(columns)
    return arxiv_records(raw, source_id="s", source_kind="arxiv_oai")


def test_column_cleaning_equals_clean_text():
    frame = _records(raw_title=COLUMN_TEXTS, raw_summary=COLUMN_TEXTS, journal_ref=COLUMN_TEXTS)
    expected = [clean_text(text) for text in COLUMN_TEXTS]
    assert frame["title"].to_list() == expected
    assert frame["abstract"].to_list() == expected
    assert frame["journal_ref"].to_list() == [text or None for text in expected]


def test_first_valid_doi_kept():
    values = {
        "10.1103/PhysRevLett.98.010401": "10.1103/physrevlett.98.010401",
        " 10.1000/ABC ": "10.1000/abc",
        "doi:10.1000/x": "10.1000/x",
        "https://doi.org/10.1000/X": "10.1000/x",
        "10.1000/a1 10.1000/b2": "10.1000/a1",
        "10.1000/x.": "10.1000/x",
        "10.1000/a%2Fb": "10.1000/a/b",
        "not a doi 10.1000/z": "10.1000/z",
        "10.1000/(sici)1(2)": "10.1000/(sici)1(2)",
        "10.1000/\u00fcmlaut": "10.1000/\u00fcmlaut",
        "": None,
        "   ": None,
        None: None,
    }
    assert _records(doi=list(values))["doi"].to_list() == list(values.values())


IDS = [
    "0704.0002", "0704.0002v3", "1501.00001", "2503.14603v1", "hep-th/9901001", "math.GT/0309136v2",
    "solv-int/9901001v1", "http://arxiv.org/abs/2106.01234v2", "https://arxiv.org/abs/hep-th/9901001v1",
    "1413.0001",  # month 13
    "0612.1234",  # before new-style ids began
    "1501.1234",  # four digits after 2014
    "1412.12345",  # five digits before 2015
    "arXiv:2503.14603", "oai:arXiv.org:0704.0002", "10.48550/arXiv.2406.12345", "not an id", "", None,
]


def test_split_arxiv_column_equals_split_arxiv_id():
    ids, versions = split_arxiv_column(pl.Series(IDS, dtype=pl.Utf8))
    expected = [split_arxiv_id(value) for value in IDS]
    assert ids.to_list() == [item[0] if item else None for item in expected]
    assert versions.to_list() == [item[1] if item else None for item in expected]
    # Read off the list by hand: the canonical forms.
    assert ids[0] == "0704.0002"
    assert ids[5] == "math/0309136"
    assert versions[5] == 2
    assert ids[9] is None


PAIRS = [
    ("Sparsity-certifying Graph Decompositions", "Ileana Streinu"),
    ("A limit relation for entropy: and channel capacity", "Csiszar, I."),
    ("Quantum   dots -- a review", "John Smith Jr."),
    ("Two suffixes", "John Smith Jr III"),
    ("Caf\u00e9 physics", "Jos\u00e9 Garc\u00eda"),
    ("ASCII title", "Zo\u00eb Brown"),
    ("Effects of A & B", "Ann Lee"),
    ("No author", None),
    ("Surname only", "Plato"),
    ("", ""),
]


def test_title_key_column_equals_title_key():
    titles = pl.Series([title for title, _ in PAIRS], dtype=pl.Utf8)
    authors = pl.Series([author for _, author in PAIRS], dtype=pl.Utf8)
    assert title_key_column(titles, authors).to_list() == [title_key(title, author) for title, author in PAIRS]
    assert title_key_column(titles, authors)[0] == "sparsitycertifying graph decompositions|streinu"


def test_announcement_days_equal_the_schedule_rule():
    # Every 7 hours over the 2025-26 year end (holidays) and the 2026 spring DST change.
    start = datetime(2025, 12, 20, 0, 30, tzinfo=timezone.utc)
    times = [start + timedelta(hours=7 * step) for step in range(130)]
    times += [datetime(2026, 3, 6, 0, 0, tzinfo=timezone.utc) + timedelta(hours=5 * step) for step in range(60)]
    dates = [date(2025, 12, 20) + timedelta(days=step) for step in range(20)]
    frame = pl.DataFrame({"time": times + [None] * len(dates), "date": [None] * len(times) + dates},
                         schema={"time": pl.Datetime("us", "UTC"), "date": pl.Date})
    days = announcement_days(frame["time"], frame["date"]).to_list()
    assert days == [announcement_day(value) for value in times] + [announcement_day_from_date(value) for value in dates]
    # By hand: Wed 2025-12-24 10:00 ET is announced after the 12-25/26 holidays.
    single = pl.Series([datetime(2025, 12, 24, 15, 0, tzinfo=timezone.utc)], dtype=pl.Datetime("us", "UTC"))
    assert announcement_days(single, pl.Series([None], dtype=pl.Date)).to_list() == [date(2025, 12, 29)]


def _oai_page(records: str, token: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>{records}
<resumptionToken cursor="0" completeListSize="3">{token}</resumptionToken></ListRecords></OAI-PMH>""".encode()


def _record(identifier: str, body: str) -> str:
    return f"""<record><header><identifier>oai:arXiv.org:{identifier}</identifier></header><metadata>
<arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>{identifier}</id><created>2025-03-19</created>{body}</arXiv></metadata></record>"""


def test_oai_records_with_missing_fields_and_several_dois():
    body = _oai_page(
        _record("2503.00001", "<title>T &amp; U</title><doi>10.1000/a1 10.1000/b2</doi><journal-ref>J. Phys.\n 1 (2025)</journal-ref>")
        + _record("2503.00002", "<authors><author><keyname>Lee</keyname></author></authors><abstract>x</abstract>")
        + '<record><header status="deleted"><identifier>oai:arXiv.org:2503.00003</identifier></header></record>'
    )
    page = parse_oai_page(body, "oai")
    first, second = page.entries
    assert (first.title, first.doi, first.journal_ref, first.authors) == ("T & U", "10.1000/a1", "J. Phys. 1 (2025)", [])
    assert (second.title, second.abstract, second.authors, second.doi) == ("", "x", ["Lee"], None)
    assert page.days == [date(2025, 3, 20), date(2025, 3, 20)]
    assert len(page) == 2
    assert page.next_token == ""


def test_oai_batch_numbers_across_pages():
    one = _oai_page(_record("2503.00001", "<title>A</title>"), token="t1")
    two = _oai_page(_record("2503.00002", "<title>B</title>") + _record("2503.00003", "<title>C</title>"))
    sizes: list[int] = []
    frame = parse_oai_pages([one, two], "oai", page_sizes=sizes)
    assert sizes == [1, 2]
    assert frame["item_index"].to_list() == [0, 1, 2]
    assert frame["arxiv_id"].to_list() == ["2503.00001", "2503.00002", "2503.00003"]


def test_oai_unknown_metadata_format_is_an_error():
    body = _oai_page('<record><header><identifier>x</identifier></header><metadata><dc xmlns="http://purl.org/dc/"/></metadata></record>')
    with pytest.raises(HistoryPageError, match="unsupported OAI metadata format"):
        parse_oai_page(body, "oai")


def test_arxiv_records_of_nothing_is_an_empty_frame():
    frame = arxiv_records(empty_raw(), source_id="s", source_kind="arxiv_oai")
    assert frame.height == 0
    assert "title_key" in frame.columns
