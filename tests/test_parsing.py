"""Parsing of real stored payloads, and of small hand-written feeds for the edge cases.

Expected values were read from the fixture files with grep and sed, not from the parser.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hub_pipeline.lib.parsing import FeedParseError, parse_payload

FIXTURES = Path(
    os.environ.get("HUB_FIXTURES_DIR") or Path(__file__).resolve().parents[2] / "shared" / "fixtures"
)

ARXIV_CS_SD = "arxiv_rss/arxiv_rss_cs.SD_2026-03-06.xml"
ARXIV_CS_CL = "arxiv_rss_days/2025-03-20/cs.CL.xml"
ARXIV_CS_AI = "arxiv_rss_days/2025-03-20/cs.AI.xml"
ARXIV_EMPTY_ATOM = "tricky/arxiv_rss_atom_cs_2025-11-23_sunday_EMPTY-feed-no-entries.xml"
BIORXIV = "biorxiv/biorxiv_rss1.0_subject-plant-biology_2019-08-27_30items.rdf.xml"
NATURE_2023 = "journals/nature_rss1.0-rdf_prism_2023-12-15_75items.rdf.xml"
NATURE_2024 = "journals/nature_rss1.0-rdf_prism_2024-07-18_75items.rdf.xml"
SCIENCE = "journals/science_twis_rss1.0-rdf_2017-06-15.rdf.xml"
WILEY = "journals/wiley_onlinelibrary_rss1.0-rdf_journal-of-vegetation-science_ns-declared-inline.rdf.xml"
MALFORMED = "tricky/malformed_truncated_rss2.0_reuters_unclosed-channel.xml"
HTML_PAGE = "tricky/nature_feed-url-returned-HTML-page-not-XML_2023-07-05.html"
LATIN1 = "tricky/nonutf8_iso-8859-1_rss2.0_inovacaotecnologica-science-news.xml"


def parse_fixture(kind, relative_path, **kwargs):
    return parse_payload(kind, "test-source", (FIXTURES / relative_path).read_bytes(), **kwargs)


def by_arxiv_id(feed, arxiv_id):
    return next(entry for entry in feed.entries if entry.arxiv_id == arxiv_id)


def rss(items: str, channel: str = "<title>cs.CL updates on arXiv.org</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"{channel}{items}</channel></rss>"
    ).encode()


# --- arXiv RSS -------------------------------------------------------------------------------


def test_arxiv_cs_sd_counts():
    feed = parse_fixture("arxiv_rss", ARXIV_CS_SD)
    counts = Counter(entry.announce_type for entry in feed.entries)
    assert len(feed.entries) == 28
    assert counts == {"new": 11, "replace": 9, "cross": 4, "replace-cross": 4}
    assert feed.warnings == []


def test_arxiv_cs_sd_replacement_version():
    entry = by_arxiv_id(parse_fixture("arxiv_rss", ARXIV_CS_SD), "2508.16332")
    assert entry.announce_type == "replace"
    assert entry.arxiv_version == 3
    assert entry.abstract.startswith("Controllable human voice generation")


def test_arxiv_cs_sd_channel():
    feed = parse_fixture("arxiv_rss", ARXIV_CS_SD)
    assert feed.feed_title == "cs.SD updates on arXiv.org"
    assert feed.feed_day == date(2026, 3, 6)
    assert {entry.feed_category for entry in feed.entries} == {"cs.SD"}
    assert {entry.journal for entry in feed.entries} == {"arXiv"}


def test_arxiv_keeps_latex():
    entry = parse_fixture("arxiv_rss", ARXIV_CS_SD).entries[0]
    assert entry.title == (
        "When Denoising Hinders: Revisiting Zero-Shot ASR with SAM-Audio and Whisper $X_m$"
    )
    assert entry.abstract.endswith("zero-shot ASR pipelines. $S = \\pi R^2$.")
    assert entry.title_key.endswith("whisper xm|islam")


def test_arxiv_keeps_latex_in_title():
    entry = by_arxiv_id(parse_fixture("arxiv_rss", ARXIV_CS_AI), "2503.15457")
    assert entry.title == "Di$\\mathtt{[M]}$O: Distilling Masked Diffusion Models into One-step Generator"


def test_arxiv_latex_author_kept():
    entry = by_arxiv_id(parse_fixture("arxiv_rss", ARXIV_CS_SD), "2509.15001")
    assert entry.authors[0] == "Th\\'eo Charlot"
    assert len(entry.authors) == 6


def test_arxiv_cs_cl_first_item():
    feed = parse_fixture("arxiv_rss", ARXIV_CS_CL)
    entry = feed.entries[0]
    assert len(feed.entries) == 58
    assert entry.arxiv_id == "2503.14603"
    assert entry.arxiv_version == 1
    assert entry.announce_type == "new"
    assert entry.categories == ["cs.CL", "cs.LG"]
    assert entry.authors[0] == "Yazeed Alnumay"
    assert entry.authors[-1] == "Jennifer Tracey"
    assert len(entry.authors) == 12
    assert entry.abstract.startswith("Building high-quality large language models")
    assert entry.link == "https://arxiv.org/abs/2503.14603"
    assert entry.guid == "oai:arXiv.org:2503.14603v1"
    assert entry.published == datetime(2025, 3, 20, 4, 0, tzinfo=UTC)
    assert entry.title_key.startswith("command r7b arabic a small enterprise focused")
    assert entry.title_key.endswith("|alnumay")


def test_arxiv_raw_summary_keeps_prefix():
    entry = parse_fixture("arxiv_rss", ARXIV_CS_CL).entries[0]
    assert entry.raw_summary.startswith("arXiv:2503.14603v1 Announce Type: new")
    assert not entry.abstract.startswith("arXiv:")


def test_arxiv_no_abstract_keeps_prefix():
    for relative_path in (ARXIV_CS_SD, ARXIV_CS_CL):
        for entry in parse_fixture("arxiv_rss", relative_path).entries:
            assert "Announce Type:" not in entry.abstract, entry.arxiv_id


def test_arxiv_cs_cl_cross_lists():
    counts = Counter(entry.announce_type for entry in parse_fixture("arxiv_rss", ARXIV_CS_CL).entries)
    assert counts == {"new": 45, "cross": 13}


def test_arxiv_feed_category_argument_wins():
    feed = parse_fixture("arxiv_rss", ARXIV_CS_CL, feed_category="cs.XX")
    assert {entry.feed_category for entry in feed.entries} == {"cs.XX"}


def test_arxiv_feed_day_uses_feed_time_zone():
    # 23:30 at -0400 is already the next day in UTC, but the feed's own date counts.
    body = rss("", "<title>cs.CL updates on arXiv.org</title><pubDate>Thu, 20 Mar 2025 23:30:00 -0400</pubDate>")
    assert parse_payload("arxiv_rss", "arxiv-cs-cl", body).feed_day == date(2025, 3, 20)


def test_arxiv_id_falls_back_to_guid():
    body = rss(
        "<item><title>T</title><link>https://arxiv.org/abs/2406.12345</link>"
        "<description>No prefix here.</description>"
        '<guid isPermaLink="false">oai:arXiv.org:2406.12345v2</guid></item>'
    )
    entry = parse_payload("arxiv_rss", "arxiv-cs-cl", body).entries[0]
    assert entry.arxiv_id == "2406.12345"
    assert entry.arxiv_version == 2
    assert entry.abstract == "No prefix here."


def test_arxiv_id_falls_back_to_link():
    body = rss("<item><title>T</title><link>http://arxiv.org/abs/hep-th/9901001v1</link></item>")
    entry = parse_payload("arxiv_rss", "arxiv-hep-th", body).entries[0]
    assert entry.arxiv_id == "hep-th/9901001"
    assert entry.arxiv_version == 1


def test_arxiv_escaped_math_survives():
    body = rss(
        "<item><title>When $a&lt;b$ holds</title><link>https://arxiv.org/abs/2406.12345</link>"
        "<description>arXiv:2406.12345v1 Announce Type: new \nAbstract: All p&lt;0.001; "
        "$x &lt;i and j&gt; y$ and the &lt;think&gt; token, Q&amp;amp;A.</description></item>"
    )
    entry = parse_payload("arxiv_rss", "arxiv-cs-cl", body).entries[0]
    assert entry.title == "When $a<b$ holds"
    assert entry.abstract == "All p<0.001; $x <i and j> y$ and the <think> token, Q&A."


def test_arxiv_empty_weekend_atom():
    feed = parse_fixture("arxiv_rss", ARXIV_EMPTY_ATOM)
    assert feed.entries == []
    assert feed.feed_day == date(2025, 11, 23)
    assert feed.feed_title == "cs updates on arXiv.org"
    assert feed.warnings == []


# --- bioRxiv ---------------------------------------------------------------------------------


def test_biorxiv_first_item():
    feed = parse_fixture("biorxiv_rss", BIORXIV)
    entry = feed.entries[0]
    assert len(feed.entries) == 30
    assert entry.title.startswith("Wheat inositol pyrophosphate kinase (TaVIH2-3B) interacts")
    assert entry.title.endswith("alters the plant cell-wall composition")
    assert entry.doi == "10.1101/743294"
    assert entry.link == "http://biorxiv.org/cgi/content/short/743294v1?rss=1"
    assert entry.authors[0] == "Kaur, M."
    assert entry.authors[-1] == "Pandey, A. K."
    assert len(entry.authors) == 13
    assert entry.abstract.startswith("Inositol pyrophosphates (PPx-InsPs) are of key interest")
    assert entry.published == datetime(2019, 8, 27, tzinfo=UTC)
    assert entry.title_key.endswith("|kaur")


def test_biorxiv_channel():
    feed = parse_fixture("biorxiv_rss", BIORXIV)
    assert {entry.journal for entry in feed.entries} == {"bioRxiv"}
    assert {entry.feed_category for entry in feed.entries} == {"Plant Biology"}
    assert all(entry.doi and entry.doi.startswith("10.1101/") for entry in feed.entries)


def test_biorxiv_lower_case_initials():
    entry = next(e for e in parse_fixture("biorxiv_rss", BIORXIV).entries if e.authors[0] == "Zhang, a.")
    assert entry.authors == ["Zhang, a.", "jiang, x.", "zhang, x."]


def test_medrxiv_from_link_host():
    body = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<channel rdf:about="http://medrxiv.org"><title>medRxiv Subject Collection: Epidemiology</title>'
        "<link>http://medrxiv.org</link></channel>"
        '<item rdf:about="http://medrxiv.org/cgi/content/short/2020.03.20.20039412v1?rss=1">'
        "<title>A study</title><link>http://medrxiv.org/cgi/content/short/2020.03.20.20039412v1?rss=1</link>"
        "<dc:identifier>doi:10.1101/2020.03.20.20039412</dc:identifier>"
        "<dc:publisher>Cold Spring Harbor Laboratory Press</dc:publisher></item></rdf:RDF>"
    ).encode()
    entry = parse_payload("biorxiv_rss", "medrxiv-epidemiology", body).entries[0]
    assert entry.journal == "medRxiv"
    assert entry.feed_category == "Epidemiology"
    assert entry.doi == "10.1101/2020.03.20.20039412"


# --- journal feeds ---------------------------------------------------------------------------


def test_nature_2023_items():
    feed = parse_fixture("rss", NATURE_2023)
    assert len(feed.entries) == 75
    assert feed.feed_title == "Nature"
    assert {entry.journal for entry in feed.entries} == {"Nature"}


def test_nature_research_item():
    entry = parse_fixture("rss", NATURE_2023).entries[1]
    assert entry.title == "Mucosal boosting enhances vaccine protection against SARS-CoV-2 in macaques"
    assert entry.doi == "10.1038/s41586-023-06951-3"
    assert entry.authors[0] == "Katherine McMahan"
    assert entry.authors[-1] == "Dan H. Barouch"
    assert len(entry.authors) == 30
    assert entry.published == datetime(2023, 12, 14, tzinfo=UTC)
    # The content only repeats the title after the "Published online" line.
    assert entry.abstract == ""


def test_nature_news_standfirst():
    entry = parse_fixture("rss", NATURE_2023).entries[0]
    assert entry.doi == "10.1038/d41586-023-03953-z"
    assert entry.abstract == (
        "Lund University in Sweden reorganizes in the face of years of accusations against two professors."
    )


def test_nature_italic_title():
    titles = [entry.title for entry in parse_fixture("rss", NATURE_2023).entries]
    assert "Nature’s 10: ten people (and one non-human) who helped shape science in 2023" in titles
    assert "Cat parasite Toxoplasma tricked to grow in a dish" in titles


def test_nature_subscript_titles():
    titles = [entry.title for entry in parse_fixture("rss", NATURE_2024).entries]
    assert "Catalysis of an SN2 pathway by geometric preorganization" in titles
    assert "Superconductivity in pressurized trilayer La4Ni3O10−δ single crystals" in titles


def test_science_twis():
    feed = parse_fixture("rss", SCIENCE)
    entry = feed.entries[0]
    assert len(feed.entries) == 69
    assert entry.title == "Food for fungi"
    assert entry.authors == ["Hines, P. J."]
    assert entry.journal == "Science"
    assert entry.abstract == ""
    assert entry.published == datetime(2017, 6, 15, 17, 29, 47, tzinfo=UTC)


def test_science_doi_from_first_identifier():
    # Each item has two dc:identifier elements, and the DOI is the first one.
    entry = parse_fixture("rss", SCIENCE).entries[0]
    assert entry.doi == "10.1126/science.356.6343.1134-a"


def test_science_every_item_has_doi():
    feed = parse_fixture("rss", SCIENCE)
    assert all(entry.doi and entry.doi.startswith("10.1126/science.") for entry in feed.entries)


def test_science_two_authors_in_one_creator():
    entries = parse_fixture("rss", SCIENCE).entries
    assert ["Ash, C.", "Mueller, K. L."] in [entry.authors for entry in entries]


def test_wiley_items():
    feed = parse_fixture("rss", WILEY)
    entry = feed.entries[0]
    assert len(feed.entries) == 44
    assert entry.doi == "10.1111/jvs.12120"
    assert entry.title == (
        "Field evidence of smoke-stimulated seedling emergence and establishment in Mediterranean Basin flora"
    )
    assert entry.authors == ["J. Tormo", "B. Moreira", "J.G. Pausas"]
    assert entry.journal == "Journal of Vegetation Science"
    assert len({e.doi for e in feed.entries if e.doi}) == 44


def test_wiley_abstract_text():
    entries = {entry.doi: entry for entry in parse_fixture("rss", WILEY).entries}
    assert "(r = 0.81, P < 0.001)" in entries["10.1111/jvs.12105"].abstract
    assert "gas exchange (CO2 and H2O)" in entries["10.1111/jvs.12102"].abstract


def test_latin1_feed():
    feed = parse_fixture("rss", LATIN1)
    entry = feed.entries[0]
    assert feed.feed_title == "RSS Feed do Site Inovação Tecnológica"
    assert entry.title == "Revolução nas telas com pontos quânticos impressos em 3D"
    assert entry.abstract == (
        "A nova tecnologia permitiu criar as três cores primárias em 5.600 PPI, "
        "excedendo em muito as TVs QLED de 8K, que têm 100 PPI."
    )
    assert entry.title_key == "revolucao nas telas com pontos quanticos impressos em 3d|"


def test_atom_journal_feed():
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Some Journal</title><updated>2024-05-02T10:00:00+02:00</updated>"
        '<entry><title type="html">CO&lt;sub&gt;2&lt;/sub&gt; fixation</title>'
        '<link href="https://doi.org/10.1234/abc.5"/><id>urn:x:1</id>'
        "<author><name>Ann Lee</name></author><author><name>Bo Chen</name></author>"
        "<summary>Short text.</summary><updated>2024-05-01T12:00:00Z</updated></entry></feed>"
    ).encode()
    feed = parse_payload("rss", "some-journal", body)
    entry = feed.entries[0]
    assert feed.feed_day == date(2024, 5, 2)
    assert entry.title == "CO2 fixation"
    assert entry.doi == "10.1234/abc.5"
    assert entry.authors == ["Ann Lee", "Bo Chen"]
    assert entry.journal == "Some Journal"
    assert entry.published == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


# --- bad input -------------------------------------------------------------------------------


def test_html_page_rejected():
    with pytest.raises(FeedParseError) as error:
        parse_payload("rss", "nature", (FIXTURES / HTML_PAGE).read_bytes())
    message = str(error.value)
    assert "'nature'" in message
    assert "HTML page starting '<!DOCTYPE html" in message
    assert "check the source URL" in message


def test_malformed_feed_rejected():
    with pytest.raises(FeedParseError) as error:
        parse_fixture("rss", MALFORMED)
    assert "'test-source'" in str(error.value)
    assert "not well-formed" in str(error.value)


def test_empty_payload_rejected():
    with pytest.raises(FeedParseError, match="payload is empty"):
        parse_payload("rss", "empty", b"  \n")


def test_other_xml_rejected():
    with pytest.raises(FeedParseError, match="not an RSS, RDF or Atom feed"):
        parse_payload("rss", "sitemap", b'<?xml version="1.0"?><urlset><url>x</url></urlset>')


def test_unknown_kind_rejected():
    with pytest.raises(ValueError, match="unknown parser kind 'json_api'") as error:
        parse_payload("json_api", "x", rss(""))
    assert not isinstance(error.value, FeedParseError)


def test_bozo_feed_with_entries_warns():
    body = rss("<item><title>A & B</title><link>http://x.org/1</link></item>")
    feed = parse_payload("rss", "loose", body)
    assert [entry.title for entry in feed.entries] == ["A & B"]
    assert len(feed.warnings) == 1
    assert "not well-formed" in feed.warnings[0]


def test_item_without_title_or_link_dropped():
    body = rss(
        "<item><title>First</title></item>"
        "<item><description>Only a description.</description></item>"
        "<item><link>http://x.org/3</link></item>"
    )
    feed = parse_payload("rss", "gaps", body)
    assert [entry.item_index for entry in feed.entries] == [0, 2]
    assert feed.warnings == ["item 1: has neither a title nor a link; dropped"]


# --- nothing is fetched or read --------------------------------------------------------------


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.requests.append(self.path)
        body = b"LEAKED-OVER-HTTP"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def recording_server():
    _RecordingHandler.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _RecordingHandler.requests
    server.shutdown()
    server.server_close()


def test_external_entities_not_resolved(tmp_path, recording_server):
    base_url, requests = recording_server
    secret = tmp_path / "secret.txt"
    secret.write_text("LEAKED-FROM-FILE")
    body = (
        '<?xml version="1.0"?>\n'
        "<!DOCTYPE rss [\n"
        f'<!ENTITY file SYSTEM "{secret.as_uri()}">\n'
        f'<!ENTITY web SYSTEM "{base_url}/entity">\n'
        "]>\n"
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>A &file; B &web; C</title><link>http://x.org/1</link>"
        "<description>&file;&web;</description></item></channel></rss>"
    ).encode()
    with pytest.raises(FeedParseError) as error:
        parse_payload("rss", "xxe", body)
    assert "declares XML entities" in str(error.value)
    assert "LEAKED" not in str(error.value)
    assert requests == []


def test_external_dtd_not_fetched(recording_server):
    base_url, requests = recording_server
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{base_url}/rss.dtd">\n'
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>A</title><link>http://x.org/1</link></item></channel></rss>"
    ).encode()
    feed = parse_payload("rss", "dtd", body)
    assert [entry.title for entry in feed.entries] == ["A"]
    assert requests == []


@pytest.mark.timeout(10)
def test_entity_expansion_bounded():
    levels = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(levels) + "\n]>\n"
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>&l9;</title><link>http://x.org/1</link></item></channel></rss>"
    ).encode()
    try:
        feed = parse_payload("rss", "bomb", body)
    except FeedParseError:
        return
    assert all(len(entry.title) < 10_000 for entry in feed.entries)


def test_url_payload_not_fetched(recording_server):
    base_url, requests = recording_server
    with pytest.raises(FeedParseError):
        parse_payload("rss", "url", f"{base_url}/feed.xml".encode())
    assert requests == []


def test_path_payload_not_opened(tmp_path):
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss("<item><title>From a file</title><link>http://x.org/1</link></item>"))
    with pytest.raises(FeedParseError):
        parse_payload("rss", "path", str(feed_file).encode())
