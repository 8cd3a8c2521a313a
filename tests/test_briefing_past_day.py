"""Briefings, prompts and pages of a past day name that day instead of calling it "today"."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from hub_pipeline.lib.briefing import to_markdown, write_offline
from hub_pipeline.lib.briefing.prompt import build_combine_messages, build_messages
from hub_pipeline.lib.day_state import SourceState
from hub_pipeline.lib.models import RadarInfo
from hub_pipeline.lib.site import RadarDayPage, render_site
from tests.test_briefing_offline import DAY, real_papers
from tests.test_site import page_text

TODAY_WORDS = re.compile(r"today|今日|今天", re.IGNORECASE)
GENERATED_AT = datetime(2026, 12, 4, 6, 0, tzinfo=timezone.utc)

# One state per wording of the source notes, on the past day.
SOURCE_STATES = [
    SourceState("arxiv-cs-cl", "arxiv_rss", "arXiv (cs.CL)", date(2025, 3, 22), "no_announcement", 0),
    SourceState("arxiv-cs-ai", "arxiv_rss", "arXiv (cs.AI)", DAY, "no_announcement", 0),
    SourceState("nature", "rss", "Nature", DAY, "no_announcement", 0),
    SourceState("arxiv-cs-cv", "arxiv_rss", "arXiv (cs.CV)", DAY, "unchanged", 0),
    SourceState("arxiv-cs-ro", "arxiv_rss", "arXiv (cs.RO)", DAY, "stale", 0, feed_day=date(2025, 3, 19)),
    SourceState("arxiv-cs-lg", "arxiv_rss", "arXiv (cs.LG)", DAY, "stale", 0),
    SourceState("science", "rss", "Science", DAY, "skipped", 0, reason="RSS has no history"),
    SourceState("cell", "rss", "Cell", DAY, "source_error", 0, reason="HTTP 500"),
    SourceState("nmi", "rss", "Nature Machine Intelligence", DAY, "parse_error", 0, reason="not XML"),
]


def radar(language: str) -> RadarInfo:
    return RadarInfo(radar_id=f"genai-{language.lower()}", name="Generative AI", language=language, query="diffusion OR LLM")


def test_past_day_is_not_today():
    assert DAY != datetime.now(timezone.utc).date()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "9 papers matched the radar \u201cGenerative AI\u201d on 2025-03-20, from "),
        ("zh-CN", "2025年3月20日有 9 篇论文与雷达「Generative AI」匹配，来自 "),
    ],
)
def test_headline_names_the_day(language: str, expected: str):
    briefing = write_offline(radar(language), DAY, real_papers())
    assert briefing.headline.startswith(expected)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "No paper matched the radar \u201cGenerative AI\u201d on 2025-03-20."),
        ("zh-CN", "2025年3月20日没有论文与雷达「Generative AI」匹配。"),
    ],
)
def test_empty_headline_names_the_day(language: str, expected: str):
    briefing = write_offline(radar(language), DAY, [])
    assert briefing.headline.startswith(expected)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_offline_briefing_no_today(language: str):
    papers = real_papers()
    briefing = write_offline(radar(language), DAY, papers)
    markdown = to_markdown(briefing, papers)
    assert not TODAY_WORDS.search(markdown)
    assert not TODAY_WORDS.search(to_markdown(write_offline(radar(language), DAY, []), []))


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_prompt_no_today(language: str):
    papers = real_papers()
    partials = [{"headline": "h", "themes": [], "reading_list": []}]
    for messages in (
        build_messages(radar(language), DAY, papers),
        build_messages(radar(language), DAY, papers, batch=(1, 2)),
        build_combine_messages(radar(language), DAY, papers, partials),
    ):
        system, user = messages[0]["content"], messages[1]["content"]
        assert "Announcement day: 2025-03-20" in user
        assert not TODAY_WORDS.search(user)
        # The system prompt names "today" only in the rule that forbids it.
        today_lines = [line for line in system.splitlines() if TODAY_WORDS.search(line)]
        assert len(today_lines) == 1
        assert today_lines[0].startswith("- Name the day by its announcement date")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_site_page_no_today(tmp_path: Path, language: str):
    papers = real_papers()
    info = radar(language)
    page = RadarDayPage(
        radar=info,
        day=DAY,
        papers=papers,
        briefing_markdown=to_markdown(write_offline(info, DAY, papers), papers),
        briefing_generator="offline",
        source_notes=list(SOURCE_STATES),
    )
    render_site(tmp_path, [page], generated_at=GENERATED_AT)
    text = page_text((tmp_path / info.radar_id / "2025-03-20.html").read_text(encoding="utf-8"))
    assert "Nature Machine Intelligence" in text
    assert not TODAY_WORDS.search(text)
