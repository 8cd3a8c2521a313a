"""The whole daily graph over the real arXiv feeds stored for 2025-03-20."""

import dataclasses
import json
import shutil
from collections import Counter
from datetime import date

import duckdb
import pytest

from hub_pipeline.lib.daily_papers import briefing_papers
from hub_pipeline.lib.sql_models import build_model, load_models
from tests.conftest import REPO, arxiv_day_sources, run_day, write_sources

PUBLIC_TABLES = ["papers", "paper_listings", "radar_matches", "briefings", "fetch_log"]
DAY = "2025-03-20"


def snapshot(database) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as conn:
        return {table: conn.execute(f"SELECT * FROM main.{table} ORDER BY ALL").fetchall() for table in PUBLIC_TABLES}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, fixtures):
    data_dir = tmp_path_factory.mktemp("data")
    sources_file = write_sources(data_dir.parent / "sources.yaml", arxiv_day_sources(fixtures, DAY))
    result = run_day(data_dir, DAY, sources_file)
    return data_dir, sources_file, result


def test_day_run_succeeds(first_run):
    _, _, result = first_run
    assert result.success


def test_papers_and_listings_counts(first_run):
    data_dir, _, _ = first_run
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        # 352 <item> elements and 211 distinct arXiv ids across the six feeds (counted with grep).
        assert conn.execute("SELECT count(*) FROM paper_listings").fetchone()[0] == 352
        assert conn.execute("SELECT count(*) FROM papers").fetchone()[0] == 211
        assert conn.execute("SELECT count(DISTINCT paper_id) FROM papers").fetchone()[0] == 211


@pytest.mark.parametrize("table", ["intermediate.paper_sightings", "intermediate.paper_latest_entry"])
def test_passes_equal_one_pass(first_run, tmp_path, table):
    # The run built each in one pass (352 rows); 50 rows per pass makes eight.
    data_dir, _, _ = first_run
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(data_dir / "warehouse.duckdb", copy)
    model = next(model for model in load_models(REPO / "dbt_like_sql") if model.table == table)
    with duckdb.connect(str(copy)) as conn:
        before = conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        build_model(conn, dataclasses.replace(model, rows_per_pass=50), date(2025, 3, 20), date(2025, 3, 21))
        after = conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    assert len(before) == 211
    assert after == before


def test_cross_listed_paper_is_one_row(first_run):
    data_dir, _, _ = first_run
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        # 2503.14603 is listed in cs.CL (new) and cs.LG (cross) and carries categories cs.CL, cs.LG.
        row = conn.execute(
            "SELECT categories, listing_count, latest_version, link FROM papers WHERE paper_id = 'arxiv:2503.14603'"
        ).fetchone()
        listings = conn.execute(
            "SELECT source_id, announce_type FROM paper_listings WHERE paper_id = 'arxiv:2503.14603' ORDER BY source_id"
        ).fetchall()
    assert row[0] == ["cs.CL", "cs.LG"]
    assert row[1] == 2
    assert row[2] == 1
    assert row[3] == "https://arxiv.org/abs/2503.14603"
    assert listings == [("arxiv-cs-cl", "new"), ("arxiv-cs-lg", "cross")]


def test_abstracts_have_no_arxiv_prefix(first_run):
    data_dir, _, _ = first_run
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        prefixed = conn.execute(
            "SELECT count(*) FROM papers WHERE abstract LIKE 'arXiv:%' OR abstract LIKE '%Announce Type:%'"
        ).fetchone()[0]
        empty_authors = conn.execute("SELECT count(*) FROM papers WHERE len(authors) = 0").fetchone()[0]
    assert prefixed == 0
    assert empty_authors == 0


def test_fetch_log_has_a_row_per_source(first_run):
    data_dir, _, _ = first_run
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute("SELECT source_id, outcome, items, bytes > 0 FROM fetch_log ORDER BY source_id").fetchall()
    assert [row[1] for row in rows] == ["loaded"] * 6
    assert sum(row[2] for row in rows) == 352
    assert all(row[3] for row in rows)


def test_briefings_cite_only_matched_papers(first_run):
    data_dir, _, _ = first_run
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        briefings = conn.execute("SELECT radar_id, generator, input_ids, cited_ids FROM briefings").fetchall()
        matched = conn.execute("SELECT radar_id, list(paper_id) FROM radar_matches GROUP BY radar_id").fetchall()
    matched_by_radar = dict(matched)
    assert len(briefings) == 8  # one per shipped radar, also for a radar with no match
    for radar_id, generator, input_ids, cited_ids in briefings:
        assert generator == "offline"
        assert set(cited_ids) <= set(input_ids)
        assert set(input_ids) == set(matched_by_radar.get(radar_id, []))


def test_briefing_counts_listing_fields(first_run):
    data_dir, _, _ = first_run
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        papers = briefing_papers(conn, "llm-reasoning", date(2025, 3, 20))
        markdown = conn.execute("SELECT markdown FROM briefings WHERE radar_id = 'llm-reasoning'").fetchone()[0]
    headline = markdown.split("\n\n")[1]
    # MetaLadder is announced as new in cs.CL and cross-listed in cs.AI; papers.categories is sorted.
    metaladder = next(paper for paper in papers if paper.paper_id == "arxiv:2503.14891")
    assert (metaladder.categories, metaladder.feed_category, metaladder.source_label) == (
        ["cs.AI", "cs.CL"],
        "cs.CL",
        "arXiv (cs.CL)",
    )
    for field, count in Counter(paper.feed_category for paper in papers).items():
        assert f"{field}（{count} 篇）" in headline


def test_shipped_radars_find_papers(first_run):
    data_dir, _, _ = first_run
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        counts = dict(conn.execute("SELECT radar_id, count(*) FROM radar_matches GROUP BY radar_id").fetchall())
    # The computer-science radars have papers in these cs feeds; the others have none here.
    assert counts.get("llm-reasoning", 0) > 0
    assert counts.get("3d-vision", 0) > 0
    assert counts.get("diffusion-across-fields", 0) > 0
    assert counts.get("medical-imaging", 0) > 0


def test_shipped_author_filter_people(first_run):
    data_dir, _, _ = first_run
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        matched = {row[0] for row in conn.execute("SELECT paper_id FROM radar_matches WHERE radar_id = 'followed-authors'").fetchall()}
    # The cs.CV papers of the day's feeds by Xiao Xiang Zhu and Lichao Mou (three) or Hao Fei
    # (three), read from the stored payloads. Xinghao Zhu (2503.14526) and Xiaobin Zhu
    # (2503.14880) share the surname and first initial but not the given name.
    assert matched == {
        "arxiv:2503.14958", "arxiv:2503.14966", "arxiv:2503.14979",
        "arxiv:2503.14911", "arxiv:2503.15005", "arxiv:2503.15019",
    }


def test_outputs_written(first_run):
    data_dir, _, _ = first_run
    markdown = data_dir / "briefings" / "llm-reasoning" / f"{DAY}.md"
    payload = data_dir / "briefings" / "llm-reasoning" / f"{DAY}.json"
    page = data_dir / "site" / "llm-reasoning" / f"{DAY}.html"
    assert markdown.is_file()
    assert json.loads(payload.read_text(encoding="utf-8"))
    assert page.is_file()
    assert (data_dir / "site" / "index.html").is_file()
    assert 'lang="zh-CN"' in page.read_text(encoding="utf-8")


def test_second_run_changes_no_public_table(first_run):
    data_dir, sources_file, _ = first_run
    before = snapshot(data_dir / "warehouse.duckdb")
    result = run_day(data_dir, DAY, sources_file)
    assert result.success
    after = snapshot(data_dir / "warehouse.duckdb")
    for table in PUBLIC_TABLES:
        assert after[table] == before[table], f"{table} changed on the second run"


def test_broken_source_fails_alone(tmp_path, fixtures):
    sources = arxiv_day_sources(fixtures, DAY)[:2]
    broken = fixtures / "tricky" / "malformed_truncated_rss2.0_reuters_unclosed-channel.xml"
    html = fixtures / "tricky" / "nature_feed-url-returned-HTML-page-not-XML_2023-07-05.html"
    sources.append({"id": "broken-feed", "kind": "rss", "url": broken.resolve().as_uri()})
    sources.append({"id": "nature", "kind": "rss", "url": html.resolve().as_uri()})
    sources_file = write_sources(tmp_path / "sources.yaml", sources)

    result = run_day(tmp_path / "data", DAY, sources_file)

    assert result.success
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        log = {row[0]: row[1:] for row in conn.execute("SELECT source_id, outcome, reason, payload_sha256 FROM fetch_log").fetchall()}
        loaded = conn.execute("SELECT count(*) FROM paper_listings").fetchone()[0]
    assert log["broken-feed"][0] == "parse_error"
    assert "broken-feed" in log["broken-feed"][1]
    assert log["nature"][0] == "source_error"
    assert "HTML" in log["nature"][1]
    # Raw first: both bad payloads are kept for inspection.
    for source_id in ("broken-feed", "nature"):
        digest = log[source_id][2]
        assert (tmp_path / "data" / "raw" / digest[:2] / f"{digest}.bin").is_file()
    # cs.AI (69 items) and cs.CL (58 items) still landed.
    assert loaded == 69 + 58


def test_replacement_updates_the_paper(tmp_path, fixtures):
    sources_file = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, DAY))
    assert run_day(tmp_path / "data", DAY, sources_file).success

    replacement = tmp_path / "cs.CL-2025-03-21.xml"
    replacement.write_text(REPLACEMENT_FEED, encoding="utf-8")
    next_day = write_sources(
        tmp_path / "next.yaml",
        [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": replacement.as_uri()}],
    )
    assert run_day(tmp_path / "data", date(2025, 3, 21), next_day).success

    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        count = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
        paper = conn.execute(
            "SELECT latest_version, abstract, first_announced_day, listing_count FROM papers WHERE paper_id = 'arxiv:2503.14603'"
        ).fetchone()
    assert count == 211
    assert paper[0] == 2
    assert paper[1] == "A revised abstract for the second version."
    assert paper[2] == date(2025, 3, 20)
    assert paper[3] == 3


REPLACEMENT_FEED = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>cs.CL updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.CL</link>
    <description>cs.CL updates on the arXiv.org e-print archive.</description>
    <pubDate>Fri, 21 Mar 2025 00:00:00 -0400</pubDate>
    <item>
      <title>Command R7B Arabic: A Small, Enterprise Focused, Multilingual, and Culturally Aware Arabic LLM</title>
      <link>https://arxiv.org/abs/2503.14603</link>
      <description>arXiv:2503.14603v2 Announce Type: replace
Abstract: A revised abstract for the second version.</description>
      <guid isPermaLink="false">oai:arXiv.org:2503.14603v2</guid>
      <category>cs.CL</category>
      <pubDate>Fri, 21 Mar 2025 00:00:00 -0400</pubDate>
      <arxiv:announce_type>replace</arxiv:announce_type>
      <dc:creator>Yazeed Alnumay, Alexandre Barbet</dc:creator>
    </item>
  </channel>
</rss>
"""


def test_weekend_day_says_why_it_is_empty(tmp_path, fixtures):
    sources_file = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, DAY)[:1])
    result = run_day(tmp_path / "data", "2025-03-22", sources_file)

    assert result.success
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        outcome, reason = conn.execute("SELECT outcome, reason FROM fetch_log").fetchone()
        papers = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
    assert outcome == "no_announcement"
    assert "weekends" in reason
    assert papers == 0
    page = (tmp_path / "data" / "site" / "llm-reasoning" / "2025-03-22.html").read_text(encoding="utf-8")
    assert "本日 arXiv 无发布" in page


def test_stale_feed_is_not_loaded_for_another_day(tmp_path, fixtures):
    # The 2025-03-20 cs.AI feed presented as Friday 2025-03-21's: its channel date is Thursday.
    sources_file = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, DAY)[:1])
    result = run_day(tmp_path / "data", "2025-03-21", sources_file)

    assert result.success
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        outcome, reason, items = conn.execute("SELECT outcome, reason, items FROM fetch_log").fetchone()
    assert outcome == "stale"
    assert "2025-03-20" in reason
    assert items == 0


def test_sql_assets_report_counts(first_run):
    _, _, result = first_run
    metadata = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    # 352 listings of 211 papers: 141 sightings merged into papers listed elsewhere that day.
    assert metadata["paper_listings"]["listings"].value == 352
    assert metadata["paper_listings"]["papers_listed"].value == 211
    assert metadata["paper_listings"]["merged_duplicates"].value == 141
    assert metadata["papers"]["new_papers"].value == 211
    assert metadata["papers"]["updated_papers"].value == 0
    assert metadata["entries"]["entries"].value == 352
    assert metadata["briefings"]["briefings"].value == 8


def test_other_radars_file_keeps_rows_of_unknown_radars(first_run, tmp_path):
    data_dir, sources_file, _ = first_run
    before = snapshot(data_dir / "warehouse.duckdb")
    radars = tmp_path / "radars.yaml"
    radars.write_text("radars:\n  - {id: arabic-llm, name: Arabic LLMs, language: en, query: 'ti:Arabic'}\n", encoding="utf-8")

    assert run_day(data_dir, DAY, sources_file, radars).success

    after = snapshot(data_dir / "warehouse.duckdb")
    assert before["radar_matches"]
    assert all(row in after["radar_matches"] for row in before["radar_matches"])
    assert {row[0] for row in after["briefings"]} == {row[0] for row in before["briefings"]} | {"arabic-llm"}
    # Put the shipped radars back, so later tests of this module see the day as it was.
    assert run_day(data_dir, DAY, sources_file).success
