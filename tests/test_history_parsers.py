"""History parsers over real stored pages: OAI-PMH (arXiv and arXivRaw), the arXiv query API,
the bioRxiv details API and Crossref. Expected values were read from the payloads by hand."""

from datetime import date, datetime, timezone

import pytest
import yaml

from hub_pipeline.lib.backfill import oai_resumption_token
from hub_pipeline.lib.normalize import title_key
from hub_pipeline.lib.sources.arxiv_api import parse_arxiv_api_page
from hub_pipeline.lib.sources.biorxiv_api import parse_biorxiv_page
from hub_pipeline.lib.sources.common import HistoryPageError, fast_title_key
from hub_pipeline.lib.sources.crossref import parse_crossref_page
from hub_pipeline.lib.sources.oai import parse_oai_page
from hub_pipeline.lib.sources.schedule import announcement_day, announcement_day_from_date

OAI_PAGE1 = "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page001_cursor0.xml"
OAI_FINAL = "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page103_final_empty-token.xml"
OAI_RAW = "arxiv_oai/arxiv_oai_ListRecords_arXivRaw_2014-01-16_cursor46000_token496549-47001.xml"
CORPUS = "corpus/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09"


def _by_id(page, arxiv_id):
    return next(entry for entry in page.entries if entry.arxiv_id == arxiv_id)


# --- the announcement schedule -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        # Wed 2008-01-23 16:06 ET: after Wednesday's 14:00 cut-off, announced Thursday, dated Friday.
        ("2008-01-23T21:06:41+00:00", date(2008, 1, 25)),
        # Tue 2016-11-29 03:18 ET: before the cut-off, announced Tuesday evening, dated Wednesday.
        ("2016-11-29T08:18:38+00:00", date(2016, 11, 30)),
        # Fri 2026-07-17 15:00 ET: after Friday's cut-off, so in Monday's window, dated Tuesday.
        ("2026-07-17T19:00:00+00:00", date(2026, 7, 21)),
        # Fri 2026-07-17 13:59 ET: Friday's window, announced Sunday, dated Monday.
        ("2026-07-17T17:59:00+00:00", date(2026, 7, 20)),
        # Sun 2027-01-03: Monday's window, dated Tuesday.
        ("2027-01-03T12:00:00+00:00", date(2027, 1, 5)),
        # Wed 2025-12-24 10:00 ET: Thursday 12-25 and Friday 12-26 are arXiv holidays.
        ("2025-12-24T15:00:00+00:00", date(2025, 12, 29)),
    ],
)
def test_announcement_day_follows_cutoff_weekends_and_holidays(submitted, expected):
    assert announcement_day(datetime.fromisoformat(submitted)) == expected


def test_announcement_day_from_a_date_assumes_before_the_cutoff():
    assert announcement_day_from_date(date(2007, 3, 30)) == date(2007, 4, 2)  # a Friday
    assert announcement_day_from_date(date(2007, 3, 31)) == date(2007, 4, 3)  # a Saturday
    assert announcement_day_from_date(date(2007, 4, 2)) == date(2007, 4, 3)


# --- OAI-PMH -----------------------------------------------------------------------------------


def test_oai_arxiv_format_first_page(fixtures):
    page = parse_oai_page((fixtures / OAI_PAGE1).read_bytes(), "arxiv-oai-cs", "cs")
    assert len(page.entries) == 1000
    assert (page.next_token, page.cursor, page.total) == ("1122234|1001", 0, 102538)
    first = page.entries[0]
    assert first.arxiv_id == "0704.0002"
    assert first.title == "Sparsity-certifying Graph Decompositions"
    assert first.authors == ["Ileana Streinu", "Louis Theran"]
    assert first.categories == ["math.CO", "cs.CG"]
    assert first.abstract.startswith("We describe a new algorithm, the $(k,\\ell)$-pebble game with colors, and use it obtain")
    assert "\n" not in first.abstract
    assert first.link == "https://arxiv.org/abs/0704.0002"
    assert first.guid == "oai:arXiv.org:0704.0002"
    assert first.published == datetime(2007, 3, 30, tzinfo=timezone.utc)
    assert page.days[0] == date(2007, 4, 2)  # created Friday 2007-03-30
    assert first.title_key == title_key(first.title, first.authors[0])
    second = page.entries[1]
    assert second.doi == "10.1063/1.2779138"


def test_oai_withdrawn_records_are_kept_with_their_notice(fixtures):
    page = parse_oai_page((fixtures / OAI_PAGE1).read_bytes(), "arxiv-oai-cs", "cs")
    withdrawn = _by_id(page, "0704.0213")
    assert withdrawn.abstract.startswith("This article has been withdrawn because it has been merged with the earlier")
    assert withdrawn.categories == ["cs.CC"]
    assert _by_id(page, "0704.1409").title == "Preconditioned Temporal Difference Learning"


def test_oai_final_page_has_an_empty_token(fixtures):
    body = (fixtures / OAI_FINAL).read_bytes()
    page = parse_oai_page(body, "arxiv-oai-cs", "cs")
    assert len(page.entries) == 538
    assert page.next_token == ""
    assert (page.cursor, page.total) == (102000, 102538)
    assert oai_resumption_token(body) == ""
    assert any(entry.arxiv_id == "quant-ph/0312174" for entry in page.entries)


def test_oai_arxiv_raw_format_versions_and_authors(fixtures):
    body = (fixtures / OAI_RAW).read_bytes()
    page = parse_oai_page(body, "arxiv-oai-raw")
    assert len(page.entries) == 1000
    assert page.next_token == "496549|47001" == oai_resumption_token(body)
    first = page.entries[0]
    assert first.arxiv_id == "0801.3673" and first.arxiv_version == 1
    assert first.title == "Variational Functionals for Excited States"
    assert first.authors == ["Naoum C. Bacalis"]
    assert first.published == datetime(2008, 1, 23, 21, 6, 41, tzinfo=timezone.utc)
    assert page.days[0] == date(2008, 1, 25)

    braneworld = _by_id(page, "0801.3674")
    assert braneworld.arxiv_version == 4
    assert braneworld.title == "A Study of Structure Formation and Reheating in the D3/D7 Brane Inflation Model"
    assert braneworld.authors == ["Robert H. Brandenberger", "Keshav Dasgupta", "Anne-Christine Davis"]
    assert braneworld.doi == "10.1103/physrevd.78.083502"
    assert braneworld.categories == ["hep-th", "astro-ph", "gr-qc", "hep-ph"]

    withdrawn = _by_id(page, "0801.4122")
    assert withdrawn.arxiv_version == 3
    assert withdrawn.published == datetime(2008, 1, 27, 9, 30, 54, tzinfo=timezone.utc)
    assert _by_id(page, "0801.4138").abstract.startswith("This paper has been withdrawn by the author due to a crucial error")


def test_oai_corpus_pages_chain_their_tokens(fixtures):
    seen = set()
    for number in range(2, 12):
        page = parse_oai_page((fixtures / CORPUS / f"page{number:03d}.xml").read_bytes(), "arxiv-oai-cs", "cs")
        assert len(page.entries) == 1000
        assert page.next_token == f"1122234|{number * 1000 + 1}"
        assert page.cursor == (number - 1) * 1000
        seen.update(entry.arxiv_id for entry in page.entries)
        assert all(entry.title and entry.arxiv_id for entry in page.entries)
    assert len(seen) == 10_000


def test_oai_error_and_no_records(fixtures):
    no_records = b"""<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
    <request verb="ListRecords">http://export.arxiv.org/oai2</request><error code="noRecordsMatch"/></OAI-PMH>"""
    assert parse_oai_page(no_records, "s").entries == []
    bad = no_records.replace(b"noRecordsMatch", b"badResumptionToken")
    with pytest.raises(HistoryPageError, match="badResumptionToken"):
        parse_oai_page(bad, "s")
    with pytest.raises(HistoryPageError, match="not well-formed"):
        parse_oai_page(b"<OAI-PMH><ListRecords><record>", "s")


def test_oai_does_not_expand_entities():
    body = b"""<?xml version="1.0"?><!DOCTYPE OAI-PMH [<!ENTITY boom SYSTEM "file:///etc/passwd">]>
    <OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record><header><identifier>oai:arXiv.org:0704.0002</identifier></header>
    <metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>0704.0002</id><created>2007-03-30</created>
    <title>A &boom; title</title><abstract>x</abstract></arXiv></metadata></record></ListRecords></OAI-PMH>"""
    page = parse_oai_page(body, "s")
    assert "root:" not in page.entries[0].title


# --- arXiv query API ---------------------------------------------------------------------------


def test_arxiv_api_old_format(fixtures):
    page = parse_arxiv_api_page(
        (fixtures / "arxiv_api/arxiv_api_2017-05-14_query-deep-dream_start0_max10_totalResults24617.atom.xml").read_bytes(), "api"
    )
    assert len(page.entries) == 10 and page.total == 24617 and page.cursor == 0
    first = page.entries[0]
    assert (first.arxiv_id, first.arxiv_version) == ("1611.09520", 2)
    assert first.title.startswith("Hierarchical Neural Representation of Dreamed Objects Revealed by Brain Decoding")
    assert first.published == datetime(2016, 11, 29, 8, 18, 38, tzinfo=timezone.utc)
    assert page.days[0] == date(2016, 11, 30)


def test_arxiv_api_new_format_in_a_recorded_wrapper(fixtures):
    page = parse_arxiv_api_page(
        (fixtures / "arxiv_api/arxiv_api_2026-04-12_query-testing_start0_max100_recorded-response.json").read_bytes(), "api"
    )
    assert len(page.entries) == 100 and page.total == 214881
    first = page.entries[0]
    assert (first.arxiv_id, first.arxiv_version) == ("2202.12139", 1)
    assert first.title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert first.categories == ["cs.SE", "cs.LG"]
    assert first.link == "https://arxiv.org/abs/2202.12139v1"
    assert page.days[0] == date(2022, 2, 25)  # Thursday 10:05 ET


def test_arxiv_api_old_style_id_in_a_wrapper(fixtures):
    page = parse_arxiv_api_page(
        (fixtures / "arxiv_api/arxiv_api_2026-05-11_idlist-astro-ph_0601001_affiliations_recorded-response.json").read_bytes(), "api"
    )
    assert [entry.arxiv_id for entry in page.entries] == ["astro-ph/0601001"]


def test_arxiv_api_error_entry_raises(fixtures):
    body = (fixtures / "tricky/arxiv_api_2026-04-12_http400_error-entry_bad-id_recorded-response.json").read_bytes()
    with pytest.raises(HistoryPageError, match="incorrect id format for abc"):
        parse_arxiv_api_page(body, "api")


@pytest.mark.parametrize(
    "name",
    ["arxiv_api_2026-04-12_empty-result_totalResults0_recorded-response.json", "arxiv_api_2025-11-23_title-phrase-query_totalResults0.xml"],
)
def test_arxiv_api_zero_results_is_an_empty_page(fixtures, name):
    page = parse_arxiv_api_page((fixtures / "tricky" / name).read_bytes(), "api")
    assert page.entries == [] and page.total == 0


# --- bioRxiv and Crossref ----------------------------------------------------------------------


def test_biorxiv_details_page(fixtures):
    page = parse_biorxiv_page(
        (fixtures / "biorxiv/biorxiv_api_details_2026-07-15_to_2026-07-18_TRIMMED-by-repo-author_3items.json").read_bytes(), "biorxiv"
    )
    assert len(page.entries) == 3 and page.total == 3 and page.cursor == 0
    first = page.entries[0]
    assert first.doi == "10.64898/2026.07.13.738145"
    assert first.title == "Laterality of subcortical structures predicts spontaneous brain dynamics"
    assert first.authors == ["Ghafari, T.", "Quinn, A. J.", "Jensen, O."]
    assert first.journal == "bioRxiv" and first.categories == ["neuroscience"]
    assert first.link == "https://www.biorxiv.org/content/10.64898/2026.07.13.738145v1"
    assert page.days[0] == date(2026, 7, 15)


def test_biorxiv_keeps_every_version():
    record = {"doi": "10.1101/2020.01.01.000001", "title": "T", "authors": "A, B.", "date": "2020-01-0{}", "version": "{}",
              "category": "genomics", "abstract": "x", "server": "bioRxiv"}
    collection = [{key: str(value).format(n) if isinstance(value, str) else value for key, value in record.items()} for n in (1, 2)]
    body = ('{"messages":[{"status":"ok","cursor":0,"count":2,"total":"2"}],"collection":' + __import__("json").dumps(collection) + "}").encode()
    page = parse_biorxiv_page(body, "biorxiv")
    assert [entry.guid for entry in page.entries] == ["10.1101/2020.01.01.000001v1", "10.1101/2020.01.01.000001v2"]
    assert [entry.announce_type for entry in page.entries] == ["new", "replace"]
    assert page.days == [date(2020, 1, 1), date(2020, 1, 2)]


def test_crossref_works_list(fixtures):
    page = parse_crossref_page((fixtures / "crossref/crossref_works_list_2026-05_total105074.json").read_bytes(), "crossref")
    assert len(page.entries) == 24 and page.total == 105074
    work = page.entries[1]
    assert work.doi == "10.36085/jsai.v9i1.9632"
    assert work.journal == "JSAI (Journal Scientific and Applied Informatics)"
    assert work.abstract.startswith("Layanan administrasi kependudukan") and "<jats:p>" not in work.abstract
    assert page.days[1] == date(2025, 12, 30)
    assert page.days[0] is None  # published-online carries only the year 2026
    assert page.days[2] == date(2026, 4, 6)  # no online or print date: the issued date


def test_crossref_page_inside_a_vcr_cassette(fixtures):
    cassette = yaml.safe_load((fixtures / "crossref/crossref_works_vcr-cassette_2022-11-09_query+filter-has-orcid+filter-has-full-text.yml").read_text())
    interaction = cassette["http_interactions"][0]
    assert interaction["request"]["uri"] == "https://api.crossref.org/works?query=NSF"
    page = parse_crossref_page(interaction["response"]["body"]["string"].encode(), "crossref")
    assert page.total == 94960 and page.entries
    assert all(entry.doi for entry in page.entries)


def test_crossref_rejects_a_single_work(fixtures):
    body = (fixtures / "crossref/crossref_work_single-doi_aps_2019-02_multiple-authors_prettyprinted.json").read_bytes()
    with pytest.raises(HistoryPageError, match="work-list"):
        parse_crossref_page(body, "crossref")


@pytest.mark.parametrize(
    ("title", "author"),
    [("Sparsity-certifying Graph Decompositions", "Ileana Streinu"), ("Erdős–Rényi graphs", "Paul Erdős"),
     ("A  (k, l)-pebble game: $x^2$", None), ("Note & comment", "Jr., Smith")],
)
def test_fast_title_key_matches_title_key(title, author):
    assert fast_title_key(title, author) == title_key(title, author)
