"""Every day accounted for: the state per source on the site, in metadata and in asset checks."""

from datetime import date, datetime, timezone

import duckdb
import pytest

from hub_pipeline.lib.calendar import ARXIV_HOLIDAYS, is_announcement_day
from hub_pipeline.lib.day_state import SourceState, check_empty_abstracts, count_payload_items
from hub_pipeline.lib.models import RadarInfo
from hub_pipeline.lib.site import RadarDayPage, render_site
from hub_pipeline.lib.site.strings import describe_source_state
from hub_pipeline.lib.warehouse import ensure_tables
from tests.conftest import arxiv_day_sources, run_day, write_sources
from tests.http_fixtures import Reply, serve
from tests.test_site import page_text

DAY = "2025-03-20"


def _checks(result) -> dict[str, object]:
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


def _entries_metadata(result) -> dict[str, object]:
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key.to_user_string() == "entries":
            return {key: value.value for key, value in materialization.metadata.items()}
    raise AssertionError("entries was not materialized")


def _arxiv_feed(day_rfc822: str, items: str) -> str:
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>cs.CL updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.CL</link>
    <description>cs.CL updates on the arXiv.org e-print archive.</description>
    <pubDate>{day_rfc822}</pubDate>
{items}
  </channel>
</rss>
"""


CROSS_ITEM = """    <item>
      <title>A cross-listed paper</title>
      <link>https://arxiv.org/abs/2503.99991</link>
      <description>arXiv:2503.99991v1 Announce Type: cross
Abstract: Only a cross-list today.</description>
      <guid isPermaLink="false">oai:arXiv.org:2503.99991v1</guid>
      <category>cs.CL</category>
      <arxiv:announce_type>cross</arxiv:announce_type>
      <dc:creator>Ada Lovelace</dc:creator>
    </item>"""

UNTITLED_ITEM = """    <item>
      <description>An item with neither title nor link.</description>
      <arxiv:announce_type>new</arxiv:announce_type>
    </item>"""


# --- wording -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "outcome", "cause", "expected"),
    [
        ("zh-CN", "no_announcement", "weekend", "arXiv (cs.CL):本日 arXiv 无发布(arXiv 周末不发布新论文)。"),
        ("zh-CN", "no_announcement", "holiday", "arXiv (cs.CL):本日 arXiv 无发布(arXiv 假日)。"),
        ("en", "no_announcement", "weekend", "arXiv (cs.CL): no arXiv mailing on this day (arXiv does not announce on weekends)."),
        ("en", "no_announcement", "holiday", "arXiv (cs.CL): no arXiv mailing on this day (an arXiv holiday)."),
        ("en", "no_announcement", "empty_feed", "arXiv (cs.CL): no arXiv mailing on this day (the feed has no items)."),
    ],
)
def test_no_announcement_worded_per_language(language, outcome, cause, expected):
    assert describe_source_state(language, source="arXiv (cs.CL)", outcome=outcome, cause=cause) == expected


@pytest.mark.parametrize("outcome", ["unchanged", "stale", "skipped", "source_error", "parse_error", "loaded"])
def test_every_outcome_has_both_languages(outcome):
    zh = describe_source_state("zh-CN", source="Nature", outcome=outcome, items=3, reason="HTTP 500", feed_day=date(2025, 3, 19))
    en = describe_source_state("en", source="Nature", outcome=outcome, items=3, reason="HTTP 500", feed_day=date(2025, 3, 19))
    assert zh.startswith("Nature:")
    assert en.startswith("Nature:")
    assert zh != en
    if outcome in ("source_error", "parse_error"):
        assert "HTTP 500" in zh
        assert "HTTP 500" in en
    if outcome == "loaded":
        assert "HTTP 500" not in zh
        assert "HTTP 500" not in en
    if outcome == "stale":
        assert "2025-03-19" in zh
        assert "2025-03-19" in en


HARVEST_REASON = "backfill harvest 2008-01-01..2008-03-31, 10 pages; 9063 records belong to days outside the window, 0 have no day"


@pytest.mark.parametrize(
    ("language", "items", "backfilled", "expected"),
    [
        ("en", 16, True, "arXiv (cs): 16 items loaded by a backfill from the source's archive."),
        ("zh-CN", 16, True, "arXiv (cs):已载入 16 条,由回填从该来源的存档取得。"),
        ("en", 0, False, "arXiv (cs): the source listed no items on this day."),
        ("zh-CN", 0, False, "arXiv (cs):该来源本日没有条目。"),
        ("en", 16, False, "arXiv (cs): loaded 16 items."),
    ],
)
def test_loaded_worded_without_reason(language, items, backfilled, expected):
    worded = describe_source_state(
        language, source="arXiv (cs)", outcome="loaded", items=items, reason=HARVEST_REASON, backfilled=backfilled
    )
    assert worded == expected


@pytest.mark.parametrize(
    ("kind", "outcome", "items", "reason", "expected"),
    [
        ("arxiv_rss", "loaded", 58, None, False),
        ("arxiv_rss", "loaded", 58, "item 3 has no title", False),
        ("arxiv_rss", "loaded", 0, "the feed parsed but had no items", True),
        ("arxiv_oai", "loaded", 16, HARVEST_REASON, True),
        ("arxiv_oai", "no_announcement", 0, "no arXiv mailing on 2008-01-05 (Saturday)", True),
    ],
)
def test_source_state_needs_note(kind, outcome, items, reason, expected):
    state = SourceState("arxiv-cs", kind, "arXiv (cs)", date(2008, 1, 4), outcome, items, reason)
    assert state.needs_note is expected


@pytest.mark.parametrize(
    ("language", "weekend", "backfill"),
    [
        ("en", "arXiv (cs): no arXiv mailing on this day (arXiv does not announce on weekends).", "arXiv (cs): 16 items loaded by a backfill from the source's archive."),
        ("zh-CN", "arXiv (cs):本日 arXiv 无发布(arXiv 周末不发布新论文)。", "arXiv (cs):已载入 16 条,由回填从该来源的存档取得。"),
    ],
)
def test_backfilled_source_notes_on_page(tmp_path, language, weekend, backfill):
    saturday, friday = date(2008, 1, 5), date(2008, 1, 4)
    radar = RadarInfo(radar_id="quantum", name="Quantum", language=language, query="quantum")
    states = {
        saturday: SourceState("arxiv-oai-cs", "arxiv_oai", "arXiv (cs)", saturday, "no_announcement", 0, "no arXiv mailing on 2008-01-05 (Saturday): arXiv does not announce on weekends"),
        friday: SourceState("arxiv-oai-cs", "arxiv_oai", "arXiv (cs)", friday, "loaded", 16, HARVEST_REASON),
    }
    pages = [
        RadarDayPage(radar=radar, day=day, papers=[], briefing_markdown=None, briefing_generator="none", source_notes=[state])
        for day, state in states.items()
    ]
    render_site(tmp_path, pages, generated_at=datetime(2026, 12, 5, tzinfo=timezone.utc))
    saturday_text = page_text((tmp_path / "quantum" / "2008-01-05.html").read_text(encoding="utf-8"))
    friday_text = page_text((tmp_path / "quantum" / "2008-01-04.html").read_text(encoding="utf-8"))
    assert weekend in saturday_text
    assert backfill in friday_text
    assert "harvest" not in friday_text


def test_unknown_language_rejected():
    with pytest.raises(ValueError, match="invalid radar language"):
        describe_source_state("fr", source="x", outcome="loaded")


# --- calendar ------------------------------------------------------------------------------


def test_holidays_cover_2024_to_2026():
    years = {day.year for day in ARXIV_HOLIDAYS}
    assert {2024, 2025, 2026} <= years
    assert all(day.weekday() < 5 for day in ARXIV_HOLIDAYS), "a weekend day in the holiday list is redundant"
    assert not is_announcement_day(date(2024, 12, 25))


# --- pipeline ------------------------------------------------------------------------------


def test_weekend_state_in_english_page_and_metadata(tmp_path, fixtures):
    sources_file = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, DAY)[:1])
    result = run_day(tmp_path / "data", "2025-03-22", sources_file)

    assert result.success
    page = (tmp_path / "data" / "site" / "diffusion-across-fields" / "2025-03-22.html").read_text(encoding="utf-8")
    assert "no arXiv mailing on this day (arXiv does not announce on weekends)" in page
    state = _entries_metadata(result)["day_state"]
    assert state["arxiv-cs-ai"]["outcome"] == "no_announcement"
    assert "weekends" in state["arxiv-cs-ai"]["reason"]
    checks = _checks(result)
    assert checks["arxiv_weekday_has_papers"].passed


def test_holiday_state_said_on_page(tmp_path, fixtures):
    sources_file = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, DAY)[:1])
    result = run_day(tmp_path / "data", "2025-12-25", sources_file)

    assert result.success
    zh_page = (tmp_path / "data" / "site" / "llm-reasoning" / "2025-12-25.html").read_text(encoding="utf-8")
    en_page = (tmp_path / "data" / "site" / "diffusion-across-fields" / "2025-12-25.html").read_text(encoding="utf-8")
    assert "本日 arXiv 无发布(arXiv 假日)" in zh_page
    assert "no arXiv mailing on this day (an arXiv holiday)" in en_page
    assert _checks(result)["arxiv_weekday_has_papers"].passed


def test_listed_holiday_with_a_mailing_is_loaded(tmp_path):
    # The holiday list is approximate, so a listed day whose feed carries that day's mailing loads.
    feed = tmp_path / "cs.CL.xml"
    feed.write_text(_arxiv_feed("Thu, 25 Dec 2025 00:00:00 -0500", CROSS_ITEM), encoding="utf-8")
    sources_file = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": feed.as_uri()}],
    )
    result = run_day(tmp_path / "data", "2025-12-25", sources_file)

    assert result.success
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        outcome, items = conn.execute("SELECT outcome, items FROM fetch_log").fetchone()
    assert (outcome, items) == ("loaded", 1)


def test_weekday_without_new_arxiv_paper_fails_its_check(tmp_path):
    # A Friday whose feed carries one cross-list and no new paper, with no reason recorded.
    feed = tmp_path / "cs.CL.xml"
    feed.write_text(_arxiv_feed("Fri, 21 Mar 2025 00:00:00 -0400", CROSS_ITEM), encoding="utf-8")
    sources_file = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": feed.as_uri()}],
    )
    result = run_day(tmp_path / "data", "2025-03-21", sources_file)

    assert result.success  # the check warns the operator; the day's pages are still written
    check = _checks(result)["arxiv_weekday_has_papers"]
    assert not check.passed
    assert "arxiv-cs-cl (loaded, 1 items)" in check.description


def test_weekday_with_empty_feed_is_explained(tmp_path):
    feed = tmp_path / "cs.CL.xml"
    feed.write_text(_arxiv_feed("Fri, 21 Mar 2025 00:00:00 -0400", ""), encoding="utf-8")
    sources_file = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": feed.as_uri()}],
    )
    result = run_day(tmp_path / "data", "2025-03-21", sources_file)

    check = _checks(result)["arxiv_weekday_has_papers"]
    assert check.passed
    page = (tmp_path / "data" / "site" / "llm-reasoning" / "2025-03-21.html").read_text(encoding="utf-8")
    assert "本日 arXiv 无发布(订阅源中没有条目)" in page


def test_expected_and_observed_counts_recorded(tmp_path, fixtures):
    result = run_day(tmp_path / "data", DAY, write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, DAY)[:2]))

    check = _checks(result)["expected_vs_observed_counts"]
    assert check.passed
    counts = check.metadata["sources"].value
    # `grep -c "<item>"` gives 69 for cs.AI and 58 for cs.CL in the stored payloads.
    assert counts == {"arxiv-cs-ai": {"expected": 69, "observed": 69}, "arxiv-cs-cl": {"expected": 58, "observed": 58}}


def test_dropped_item_fails_the_count_check(tmp_path):
    feed = tmp_path / "cs.CL.xml"
    feed.write_text(_arxiv_feed("Fri, 21 Mar 2025 00:00:00 -0400", CROSS_ITEM + "\n" + UNTITLED_ITEM), encoding="utf-8")
    sources_file = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": feed.as_uri()}],
    )
    check = _checks(run_day(tmp_path / "data", "2025-03-21", sources_file))["expected_vs_observed_counts"]

    assert not check.passed
    assert check.metadata["sources"].value == {"arxiv-cs-cl": {"expected": 2, "observed": 1}}
    assert "2 items in the payload, 1 rows loaded" in check.description


def test_count_payload_items_survives_broken_xml():
    assert count_payload_items(b"<rss><channel><item><title>a</title></item><item><title>b") == 2


def _insert_entries(conn, day: date, source_id: str, abstracts: list[str]) -> None:
    for index, abstract in enumerate(abstracts):
        conn.execute(
            """
            INSERT INTO raw.entries (day, source_id, source_kind, source_label, payload_sha256, item_index,
                                     title, abstract, authors, categories, title_key)
            VALUES (?, ?, 'rss', ?, 'x', ?, 'A title', ?, [], [], 'k')
            """,
            [day, source_id, source_id, index, abstract],
        )


def test_empty_abstract_share_against_trailing_level(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        ensure_tables(conn)
        for offset in range(1, 6):
            _insert_entries(conn, date(2025, 3, 20 - offset), "nature", ["text"] * 9 + [""])  # 10% empty
            _insert_entries(conn, date(2025, 3, 20 - offset), "cell", [""] * 8 + ["text"] * 2)  # 80% empty
        _insert_entries(conn, date(2025, 3, 20), "nature", ["text"] * 4 + [""] * 6)  # 60% empty: a jump
        _insert_entries(conn, date(2025, 3, 20), "cell", [""] * 8 + ["text"] * 2)  # its usual level

        outcome = check_empty_abstracts(conn, date(2025, 3, 20))

    assert not outcome.passed
    assert "nature: 60% of 10 items have no abstract (its trailing 10-day level 10%)" in outcome.description
    assert "cell" not in outcome.description
    assert outcome.metadata["sources"]["cell"] == {"items": 10, "empty_share": 0.8, "trailing_share": 0.8, "trailing_days": 5}


# --- non-feed responses over HTTP never replace a good day ----------------------------------


def test_rate_limit_page_and_empty_body_keep_the_good_day(tmp_path, fixtures):
    nature = (fixtures / "journals" / "nature_rss1.0-rdf_prism_2023-12-15_75items.rdf.xml").read_bytes()
    today = datetime.now(timezone.utc).date().isoformat()
    routes = {
        "/nature.rss": [
            Reply(200, nature, {"Content-Type": "application/rdf+xml"}),
            Reply(200, b"Rate exceeded.", {"Content-Type": "text/plain"}),
            Reply(200, b"", {"Content-Type": "application/rss+xml"}),
        ]
    }
    with serve(routes) as server:
        sources = write_sources(tmp_path / "sources.yaml", [{"id": "nature", "kind": "rss", "url": server.url("/nature.rss")}])
        assert run_day(tmp_path / "data", today, sources).success
        with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
            papers_before = conn.execute("SELECT * FROM papers ORDER BY paper_id").fetchall()
        rate_limited = run_day(tmp_path / "data", today, sources)
        empty = run_day(tmp_path / "data", today, sources)

    assert rate_limited.success and empty.success
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        outcome, items, reason = conn.execute("SELECT outcome, items, reason FROM fetch_log").fetchone()
        attempts = conn.execute(
            "SELECT outcome, reason, payload_sha256, bytes FROM raw.fetch_attempts ORDER BY fetched_at"
        ).fetchall()
        assert conn.execute("SELECT * FROM papers ORDER BY paper_id").fetchall() == papers_before
    # 75 <item> elements in the stored Nature feed; both later attempts are source errors.
    assert (outcome, items) == ("loaded", 75)
    assert "a later attempt ended in source_error" in reason
    assert [attempt[0] for attempt in attempts] == ["fetched", "source_error", "source_error"]
    assert "Rate exceeded." in attempts[1][1]
    assert "empty" in attempts[2][1]
    # Raw first: the rate-limit page is kept for inspection.
    digest = attempts[1][2]
    assert (tmp_path / "data" / "raw" / digest[:2] / f"{digest}.bin").read_bytes() == b"Rate exceeded."
