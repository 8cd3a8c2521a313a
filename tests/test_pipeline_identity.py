"""One work across category feeds, a replacement, a digest feed and a backfill: one paper.

Day 1 is the real arXiv listing of 2025-03-20 (2503.14603 is new in cs.CL and cross-listed in
cs.LG) plus a digest feed, written here, that names the paper only by its arXiv DOI. Day 2
brings the replacement (v2), the digest again under a new guid, the journal article the
preprint became, and rows as an arXiv API backfill writes them (with the article's DOI and
journal reference).
"""

from datetime import date

import duckdb
import polars as pl
import pytest
import yaml

from hub_pipeline.lib.identifiers import arxiv_metadata_identifiers
from hub_pipeline.lib.ingest import ENTRY_SCHEMA
from hub_pipeline.lib.normalize import title_key
from tests.conftest import arxiv_day_sources, run_day, write_sources
from tests.test_pipeline_daily import REPLACEMENT_FEED

DAY, NEXT_DAY = "2025-03-20", date(2025, 3, 21)
PAPER = "arxiv:2503.14603"
TITLE = "Command R7B Arabic: A Small, Enterprise Focused, Multilingual, and Culturally Aware Arabic LLM"
ARTICLE_DOI = "10.5555/jalt.2025.0042"
JOURNAL = "Journal of Arabic Language Technology"
TABLES = ["papers", "paper_listings", "paper_links", "paper_match_candidates", "radar_matches", "briefings"]


def digest_feed(guid: str, tracking: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Weekly NLP digest</title>
    <link>https://digest.example/</link>
    <description>Papers worth reading.</description>
    <item>
      <title>{TITLE}</title>
      <link>https://digest.example/items/arabic-r7b?utm_source={tracking}</link>
      <guid isPermaLink="false">{guid}</guid>
      <dc:identifier>doi:10.48550/arXiv.2503.14603</dc:identifier>
      <dc:creator>Yazeed Alnumay, Alexandre Barbet</dc:creator>
      <description>A digest note on an Arabic model.</description>
    </item>
    <item>
      <title>Synchronous vs Asynchronous Reinforcement Learning in a Real World Robot</title>
      <link>https://arxiv.org/abs/2503.14554v1</link>
      <guid isPermaLink="false">{guid}-robot</guid>
      <description>A digest note on robot learning.</description>
    </item>
  </channel>
</rss>
"""


JOURNAL_FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">
  <channel>
    <title>{JOURNAL}</title>
    <link>https://jalt.example/</link>
    <description>Latest articles.</description>
    <prism:publicationName>{JOURNAL}</prism:publicationName>
    <item>
      <title>{TITLE}</title>
      <link>https://jalt.example/articles/42</link>
      <guid>https://jalt.example/articles/42</guid>
      <prism:doi>{ARTICLE_DOI}</prism:doi>
      <dc:creator>Yazeed Alnumay</dc:creator>
      <dc:creator>Alexandre Barbet</dc:creator>
      <description>The published version.</description>
    </item>
  </channel>
</rss>
"""

RADARS = {
    "radars": [
        {"id": "arabic-en", "name": "Arabic NLP", "language": "en", "query": "ti:arabic AND ti:llm"},
        {"id": "arabic-zh", "name": "阿拉伯语处理", "language": "zh-CN", "query": "ti:arabic AND ti:llm"},
    ]
}


def insert_backfill_rows(database) -> None:
    """Write rows as an arXiv API backfill parser would, through the shared identifier helper."""
    stated = arxiv_metadata_identifiers(
        "http://arxiv.org/abs/2503.14603v2", doi="10.5555/JALT.2025.0042", journal_ref=f"{JOURNAL} 3 (2025) 42"
    )
    row = {name: None for name in ENTRY_SCHEMA}
    row.update(
        day=NEXT_DAY,
        source_id="arxiv-api-backfill",
        source_kind="arxiv_api",
        source_label="arXiv API",
        payload_sha256="0" * 64,
        item_index=0,
        guid="http://arxiv.org/abs/2503.14603v2",
        link="http://arxiv.org/abs/2503.14603v2",
        title=TITLE,
        abstract="A revised abstract for the second version.",
        authors=["Yazeed Alnumay", "Alexandre Barbet"],
        categories=["cs.CL"],
        arxiv_id=stated.arxiv_id,
        arxiv_version=stated.arxiv_version,
        doi=stated.doi,
        journal="arXiv",
        title_key=title_key(TITLE, "Yazeed Alnumay"),
        version_label=stated.version_label,
        published_doi=stated.published_doi,
        journal_ref=stated.journal_ref,
        relation_dois=[],
    )
    frame = pl.DataFrame([row], schema=ENTRY_SCHEMA)
    with duckdb.connect(str(database)) as conn:
        conn.register("backfill_rows", frame.to_arrow())
        conn.execute(f"INSERT INTO raw.entries ({', '.join(ENTRY_SCHEMA)}) SELECT * FROM backfill_rows")


@pytest.fixture(scope="module")
def two_days(tmp_path_factory, fixtures):
    root = tmp_path_factory.mktemp("identity")
    data_dir = root / "data"
    radars_file = root / "radars.yaml"
    radars_file.write_text(yaml.safe_dump(RADARS, allow_unicode=True), encoding="utf-8")

    digest_1 = root / "digest-1.xml"
    digest_1.write_text(digest_feed("digest-2025-03-20-1", "rss"), encoding="utf-8")
    day_1 = arxiv_day_sources(fixtures, DAY) + [{"id": "digest", "kind": "rss", "url": digest_1.as_uri()}]
    first = run_day(data_dir, DAY, write_sources(root / "day1.yaml", day_1), radars_file)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        after_day_1 = {
            "papers": conn.execute("SELECT count(*) FROM papers").fetchone()[0],
            "paper": conn.execute(
                "SELECT listing_count, source_ids FROM papers WHERE paper_id = ?", [PAPER]
            ).fetchone(),
        }

    replacement = root / "cs.CL-2025-03-21.xml"
    replacement.write_text(REPLACEMENT_FEED, encoding="utf-8")
    digest_2 = root / "digest-2.xml"
    digest_2.write_text(digest_feed("digest-2025-03-21-7", "email"), encoding="utf-8")
    journal = root / "jalt.xml"
    journal.write_text(JOURNAL_FEED, encoding="utf-8")
    day_2 = [
        {"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": replacement.as_uri()},
        {"id": "digest", "kind": "rss", "url": digest_2.as_uri()},
        {"id": "jalt", "kind": "rss", "url": journal.as_uri()},
    ]
    day_2_file = write_sources(root / "day2.yaml", day_2)
    insert_backfill_rows(data_dir / "warehouse.duckdb")
    second = run_day(data_dir, NEXT_DAY, day_2_file, radars_file)
    return data_dir, day_2_file, radars_file, first, second, after_day_1


def query(data_dir, sql, parameters=()):
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql, list(parameters)).fetchall()


def test_both_days_succeed(two_days):
    _, _, _, first, second, _ = two_days
    assert first.success
    assert second.success


def test_digest_adds_no_paper_on_day_one(two_days):
    *_, after_day_1 = two_days
    # 211 distinct arXiv ids in the six feeds; both digest items name one of them.
    assert after_day_1["papers"] == 211
    listing_count, source_ids = after_day_1["paper"]
    assert listing_count == 3  # cs.CL new, cs.LG cross, digest
    assert source_ids == ["arxiv-cs-cl", "arxiv-cs-lg", "digest"]


def test_one_paper_with_all_listings(two_days):
    data_dir, *_ = two_days
    # Day 2 adds only the journal article as a new work.
    assert query(data_dir, "SELECT count(*) FROM papers")[0][0] == 212
    listings = query(
        data_dir,
        "SELECT announced_day, source_id, announce_type, version FROM paper_listings WHERE paper_id = ? ORDER BY ALL",
        [PAPER],
    )
    assert listings == [
        (date(2025, 3, 20), "arxiv-api-backfill", None, 2),  # the RSS day wins over the derived one
        (date(2025, 3, 20), "arxiv-cs-cl", "new", 1),
        (date(2025, 3, 20), "arxiv-cs-lg", "cross", 1),
        (date(2025, 3, 20), "digest", None, None),
        (date(2025, 3, 21), "arxiv-cs-cl", "replace", 2),
        (date(2025, 3, 21), "digest", None, None),
    ]
    robot = query(data_dir, "SELECT source_ids FROM papers WHERE paper_id = 'arxiv:2503.14554'")
    # Read by hand: 2503.14554 is listed in cs.AI, cs.CV, cs.LG and cs.RO that day.
    assert robot == [(["arxiv-cs-ai", "arxiv-cs-cv", "arxiv-cs-lg", "arxiv-cs-ro", "digest"],)]


def test_paper_carries_identifiers_and_versions(two_days):
    data_dir, *_ = two_days
    [row] = query(
        data_dir,
        "SELECT arxiv_id, latest_version, versions, doi, dois, abstract, identity_rule, identity_confidence, "
        "published_doi, published_link, published_journal FROM papers WHERE paper_id = ?",
        [PAPER],
    )
    assert row[:5] == ("2503.14603", 2, [1, 2], "10.48550/arxiv.2503.14603", ["10.48550/arxiv.2503.14603"])
    assert row[5] == "A revised abstract for the second version."
    assert row[6:8] == ("arxiv", 1.0)
    assert row[8:] == (ARTICLE_DOI, f"https://doi.org/{ARTICLE_DOI}", JOURNAL)


def test_preprint_and_article_are_linked(two_days):
    data_dir, *_ = two_days
    links = query(
        data_dir,
        "SELECT paper_id, relation, related_doi, related_paper_id, related_journal, evidence FROM paper_links ORDER BY ALL",
    )
    assert links == [
        (PAPER, "published_as", ARTICLE_DOI, f"doi:{ARTICLE_DOI}", JOURNAL, ["arXiv DOI"]),
        (f"doi:{ARTICLE_DOI}", "preprint", "10.48550/arxiv.2503.14603", PAPER, "arXiv", ["arXiv DOI"]),
    ]
    candidates = query(data_dir, "SELECT paper_id_a, paper_id_b, reason FROM paper_match_candidates")
    assert candidates == [(PAPER, f"doi:{ARTICLE_DOI}", "same title and authors but different identifiers")]


def test_radar_reports_the_work_once_then_as_update(two_days):
    data_dir, *_ = two_days
    matches = query(data_dir, "SELECT radar_id, day, paper_id, is_update, version FROM radar_matches ORDER BY ALL")
    # The article matched on day 2 too, but its preprint's entry names it as published.
    assert matches == [
        ("arabic-en", date(2025, 3, 20), PAPER, False, 1),
        ("arabic-en", date(2025, 3, 21), PAPER, True, 2),
        ("arabic-zh", date(2025, 3, 20), PAPER, False, 1),
        ("arabic-zh", date(2025, 3, 21), PAPER, True, 2),
    ]


def test_site_and_briefing_say_published(two_days):
    data_dir, *_ = two_days
    english = (data_dir / "site" / "arabic-en" / "2025-03-21.html").read_text(encoding="utf-8")
    assert f'<a href="https://doi.org/{ARTICLE_DOI}" rel="noopener noreferrer">Now published in {JOURNAL}</a>' in english
    chinese = (data_dir / "site" / "arabic-zh" / "2025-03-21.html").read_text(encoding="utf-8")
    assert f"已正式发表于 {JOURNAL}" in chinese
    markdown = (data_dir / "briefings" / "arabic-en" / "2025-03-21.md").read_text(encoding="utf-8")
    assert f"[now published in {JOURNAL}](https://doi.org/{ARTICLE_DOI})" in markdown
    assert "new version v2" in markdown


def test_rerun_changes_no_public_table(two_days):
    data_dir, day_2_file, radars_file, *_ = two_days
    before = snapshot_tables(data_dir)
    assert run_day(data_dir, NEXT_DAY, day_2_file, radars_file).success
    assert snapshot_tables(data_dir) == before


def snapshot_tables(data_dir):
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        return {table: conn.execute(f"SELECT * FROM main.{table} ORDER BY ALL").fetchall() for table in TABLES}
