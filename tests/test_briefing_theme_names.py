"""Offline theme names read as words, not as query syntax (wildcards, field scopes, quotes)."""

from __future__ import annotations

import polars as pl
import pytest

from hub_pipeline.lib.briefing import write_offline
from hub_pipeline.lib.briefing.offline import _plain_words
from hub_pipeline.lib.config import RadarConfig
from hub_pipeline.lib.models import BriefingPaper, RadarInfo
from hub_pipeline.lib.radar_rank import PaperIndex, RadarRanker
from tests.test_briefing_offline import DAY, DIFFUSION_IDS, LLM_IDS, real_papers

QUERY = 'ti:distill* OR abs:"language model*" OR ti:denois*'
# Theme texts put the name between “” or 「」 on purpose, so only titles are checked for curly quotes.
TITLE_SYNTAX = ("*", "ti:", "abs:", '"', "“", "”")
TEXT_SYNTAX = ("*", "ti:", "abs:", '"')


def ranked_by_query(query: str) -> list[BriefingPaper]:
    """Match the nine real papers with the real ranker and keep its reasons."""
    papers = real_papers()
    frame = pl.DataFrame(
        {
            "paper_id": [paper.paper_id for paper in papers],
            "title": [paper.title for paper in papers],
            "abstract": [paper.abstract for paper in papers],
            "authors": [paper.authors for paper in papers],
            "categories": [paper.categories for paper in papers],
            "source_ids": [[paper.source_id] for paper in papers],
        },
        schema_overrides={"authors": pl.List(pl.Utf8)},
    )
    results, _ = RadarRanker([RadarConfig(id="genai", name="Generative AI", language="en", query=query)]).rank(PaperIndex(frame))
    matches = {match.paper_id: match for match in results["genai"]}
    matched = [paper for paper in papers if paper.paper_id in matches]
    for paper in matched:
        paper.reasons = matches[paper.paper_id].reasons
    return matched


def radar(language: str, query: str = QUERY) -> RadarInfo:
    return RadarInfo(radar_id="genai", name="Generative AI", language=language, query=query)


def test_ranker_reasons_carry_wildcards():
    reasons = {reason for paper in ranked_by_query(QUERY) for reason in paper.reasons}
    assert 'title: "distill*"' in reasons
    assert 'abstract: "language model*"' in reasons


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_prefix_theme_named_by_word(language: str):
    briefing = write_offline(radar(language), DAY, ranked_by_query(QUERY))
    names = {theme.title.lower(): theme for theme in briefing.themes}
    # "distill*" hits DiMO and Uncertainty Distillation in their titles; the policy paper
    # writes "small-model distillation" in its abstract, so the word joins all three.
    assert names["distillation"].paper_ids == ["arxiv:2503.15457", "arxiv:2503.14749", "arxiv:2503.14521"]
    assert "language models" in names


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_theme_names_have_no_query_syntax(language: str):
    briefing = write_offline(radar(language), DAY, ranked_by_query(QUERY))
    assert briefing.themes
    for theme in briefing.themes + briefing.cross_domain:
        for mark in TITLE_SYNTAX:
            assert mark not in theme.title, theme.title
        for mark in TEXT_SYNTAX:
            assert mark not in theme.text.split(":")[0], theme.text


def test_scoped_quoted_reasons_named_by_word():
    papers = real_papers()
    for paper in papers:
        if paper.paper_id in DIFFUSION_IDS:
            paper.reasons = ['title: "ti:diffus*"']
        else:
            paper.reasons = ['abstract: "abs:“language model*”"']
    themes = {theme.title: theme.paper_ids for theme in write_offline(radar("en"), DAY, papers).themes}
    assert themes["Diffusion"] == DIFFUSION_IDS
    assert themes["Language Models"] == LLM_IDS


@pytest.mark.parametrize(
    ("term", "words", "is_prefix"),
    [
        ("diffusion", ["diffusion"], False),
        ("ti:diffusion", ["diffusion"], False),
        ("diffus*", ["diffus"], True),
        ("language model*", ["language", "model"], True),
        ('abs:"language model*"', ["language", "model"], True),
        ("“large language models”", ["large", "language", "models"], False),
        ("扩散模型 (diffusion model / diffusion models)", ["扩散模型"], False),
        ("Alzheimer's", ["Alzheimer's"], False),
        ("*", [], True),
    ],
)
def test_plain_words(term: str, words: list[str], is_prefix: bool):
    assert _plain_words(term) == (words, is_prefix)


def test_prefix_without_word_names_no_theme():
    papers = real_papers()[:3]
    for paper in papers:
        paper.reasons = ['title: "zzz*"']
    titles = [theme.title for theme in write_offline(radar("en", "zzz*"), DAY, papers).themes]
    assert not any("zzz" in title.lower() for title in titles)
