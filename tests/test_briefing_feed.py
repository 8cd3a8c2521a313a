"""Atom feed per radar and the briefing on the site's day page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone

import feedparser

from hub_pipeline.lib.briefing import to_markdown, write_offline
from hub_pipeline.lib.briefing.feed import FeedEntry, build_feed
from hub_pipeline.lib.site import RadarDayPage, render_site
from tests.test_briefing_offline import DAY, radar, real_papers

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(days: list[date], language: str = "en", title: str | None = None) -> list[FeedEntry]:
    papers = real_papers()
    if title:
        papers[0].title = title
    result = []
    for day in days:
        briefing = write_offline(radar(language), day, papers)
        result.append(FeedEntry(day, to_markdown(briefing, papers), briefing.headline))
    return result


def test_feed_entry_per_day():
    xml = build_feed(radar("en"), entries([date(2025, 3, 19), date(2025, 3, 20), date(2025, 3, 18)]))
    parsed = feedparser.parse(xml)
    assert parsed.bozo == 0
    assert parsed.feed.title == "Generative AI"
    assert [entry.id for entry in parsed.entries] == [
        "urn:academichub:briefing:genai:2025-03-20",
        "urn:academichub:briefing:genai:2025-03-19",
        "urn:academichub:briefing:genai:2025-03-18",
    ]


def test_feed_content_escaped():
    xml = build_feed(radar("en"), entries([DAY], title="<script>alert(1)</script> Diffusion & more"))
    assert b"<script>" not in xml
    root = ET.fromstring(xml)
    content = root.find(f"{ATOM}entry/{ATOM}content")
    assert content.get("type") == "html"
    # One level of escaping is undone by the XML parser; the HTML inside still escapes the tag.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Diffusion &amp; more" in content.text
    assert "<h4>Reading list</h4>" in content.text


def test_feed_links_absolute_with_site_url():
    xml = build_feed(radar("en"), entries([DAY]), site_url="https://example.org/hub/")
    parsed = feedparser.parse(xml)
    assert parsed.entries[0].link == "https://example.org/hub/genai/2025-03-20.html"
    assert any(link.href == "https://example.org/hub/genai/feed.atom" and link.rel == "self" for link in parsed.feed.links)


def test_feed_zh_title():
    parsed = feedparser.parse(build_feed(radar("zh-CN"), entries([DAY], "zh-CN")))
    assert parsed.entries[0].title == "研究雷达简报：Generative AI（2025-03-20）"
    assert parsed.feed.language == "zh-CN"


def test_feed_empty_radar():
    parsed = feedparser.parse(build_feed(radar("en"), []))
    assert parsed.bozo == 0
    assert parsed.entries == []


def test_site_page_shows_sections(tmp_path):
    papers = real_papers()
    papers[2].is_update, papers[2].version = True, 2
    briefing = write_offline(radar("zh-CN"), DAY, papers)
    page = RadarDayPage(
        radar=radar("zh-CN"),
        day=DAY,
        papers=papers,
        briefing_markdown=to_markdown(briefing, papers),
        briefing_generator="offline",
        source_notes=[],
    )
    render_site(tmp_path, [page], generated_at=datetime(2025, 3, 20, 8, tzinfo=timezone.utc))
    html = (tmp_path / "genai" / "2025-03-20.html").read_text(encoding="utf-8")
    assert "跨领域联系" in html
    assert "v2：本雷达此前报道过的论文发布了新版本。" in html
    assert "阅读清单" in html


def test_site_pages_announce_feed(tmp_path):
    papers = real_papers()
    page = RadarDayPage(radar=radar("en"), day=DAY, papers=papers, briefing_markdown="# b", briefing_generator="offline", source_notes=[])
    render_site(tmp_path, [page], generated_at=datetime(2025, 3, 20, 8, tzinfo=timezone.utc))
    link = '<link rel="alternate" type="application/atom+xml" title="Generative AI" href="feed.atom">'
    assert link in (tmp_path / "genai" / "2025-03-20.html").read_text(encoding="utf-8")
    assert link in (tmp_path / "genai" / "index.html").read_text(encoding="utf-8")
