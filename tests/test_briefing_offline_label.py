"""The offline label appears once in a briefing: in its footer, not in the headline or beside it."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hub_pipeline.lib.briefing import to_markdown, write_offline
from hub_pipeline.lib.site import RadarDayPage, render_site
from tests.test_briefing_offline import DAY, radar, real_papers
from tests.test_site import page_text

GENERATED_AT = datetime(2026, 12, 4, 6, 0, tzinfo=timezone.utc)
# Phrases of the footer line that labels an offline briefing, per language.
LABEL_PHRASES = {
    "en": ["offline", "without a language model"],
    "zh-CN": ["离线", "未使用语言模型"],
}
FOOTERS = {
    "en": "Written offline by the extractive writer (offline-5), without a language model.",
    "zh-CN": "本简报由离线摘录程序撰写（offline-5），未使用语言模型。",
}


def briefing_box(tmp_path: Path, language: str, markdown: str) -> str:
    """Render the day page and return the text of its briefing section."""
    page = RadarDayPage(
        radar=radar(language),
        day=DAY,
        papers=real_papers(),
        briefing_markdown=markdown,
        briefing_generator="offline",
        source_notes=[],
    )
    render_site(tmp_path, [page], generated_at=GENERATED_AT)
    html = (tmp_path / "genai" / "2025-03-20.html").read_text(encoding="utf-8")
    section = html[html.index('<section class="briefing"') :]
    return page_text(section[: section.index("</section>")])


def count_label(text: str, language: str) -> list[int]:
    # The version "offline-5" also contains "offline", so it is left out of the count.
    text = text.replace("(offline-5)", "").replace("（offline-5）", "")
    return [text.count(phrase) for phrase in LABEL_PHRASES[language]]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_offline_headline_has_no_label(language: str):
    briefing = write_offline(radar(language), DAY, real_papers())
    assert count_label(briefing.headline, language) == [0, 0]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_markdown_labels_offline_once(language: str):
    papers = real_papers()
    markdown = to_markdown(write_offline(radar(language), DAY, papers), papers)
    assert FOOTERS[language] in markdown
    assert count_label(markdown, language) == [1, 1]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_site_box_labels_offline_once(tmp_path: Path, language: str):
    papers = real_papers()
    markdown = to_markdown(write_offline(radar(language), DAY, papers), papers)
    box = briefing_box(tmp_path, language, markdown)
    assert FOOTERS[language] in box
    assert count_label(box, language) == [1, 1]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_empty_day_labels_offline_once(tmp_path: Path, language: str):
    markdown = to_markdown(write_offline(radar(language), DAY, []), [])
    box = briefing_box(tmp_path, language, markdown)
    assert count_label(box, language) == [1, 1]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_fallback_labels_offline_once(tmp_path: Path, language: str):
    papers = real_papers()
    briefing = dataclasses.replace(
        write_offline(radar(language), DAY, papers), error="LLM call failed: HTTP 500", failure="http_error"
    )
    box = briefing_box(tmp_path, language, to_markdown(briefing, papers))
    assert "HTTP 500" in box
    assert count_label(box, language) == [1, 1]
