"""Tests for the static site renderer: files, language, numbering, escaping, indexes.

Titles, authors and abstracts below are copied by hand from the arXiv RSS feeds of
2025-03-20 and 2025-03-21 in the shared fixtures; test_copied_text_matches_fixtures checks
that every copy is verbatim.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hub_pipeline.lib.briefing import to_markdown, write_offline
from hub_pipeline.lib.models import BriefingPaper, RadarInfo
from hub_pipeline.lib.site import RadarDayPage, clean_abstract, render_briefing_markdown, render_site, safe_link
from hub_pipeline.lib.site.strings import INTERFACE_TEXT

GENERATED_AT = datetime(2025, 3, 20, 9, 30, tzinfo=timezone.utc)
DAY = date(2025, 3, 20)
NEXT_DAY = date(2025, 3, 21)


def fixtures_dir() -> Path:
    override = os.environ.get("HUB_FIXTURES_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared" / "fixtures"


# --- real papers, copied by hand -------------------------------------------------------

COMMAND_R7B_TITLE = (
    "Command R7B Arabic: A Small, Enterprise Focused, Multilingual, and Culturally Aware Arabic LLM"
)
# The description exactly as the cs.CL feed has it, arXiv prefix included.
COMMAND_R7B_DESCRIPTION = (
    "arXiv:2503.14603v1 Announce Type: new \n"
    "Abstract: Building high-quality large language models (LLMs) for enterprise Arabic "
    "applications remains challenging due to the limited availability of digitized Arabic data. "
    "In this work, we present a data synthesis and refinement strategy to help address this "
    "problem, namely, by leveraging synthetic data generation and human-in-the-loop annotation "
    "to expand our Arabic training corpus."
)
COMMAND_R7B_AUTHORS = [
    "Yazeed Alnumay", "Alexandre Barbet", "Anna Bialas", "William Darling", "Shaan Desai",
    "Joan Devassy", "Kyle Duffy", "Stephanie Howe", "Olivia Lasche", "Justin Lee",
    "Anirudh Shrinivason", "Jennifer Tracey",
]  # fmt: skip

DIMO_TITLE = "Di$\\mathtt{[M]}$O: Distilling Masked Diffusion Models into One-step Generator"
DIMO_ABSTRACT = (
    "Masked Diffusion Models (MDMs) have emerged as a powerful generative modeling technique. "
    "Despite their remarkable results, they typically suffer from slow inference with several "
    "steps. In this paper, we propose Di$\\mathtt{[M]}$O, a novel approach that distills masked "
    "diffusion models into a one-step generator."
)

ROBOT_TITLE = "Synchronous vs Asynchronous Reinforcement Learning in a Real World Robot"
ROBOT_ABSTRACT = (
    "In recent times, reinforcement learning (RL) with physical robots has attracted the "
    "attention of a wide range of researchers. However, state-of-the-art RL algorithms do not "
    "consider that physical environments do not wait for the RL agent to make decisions or updates."
)

JUDGE_TITLE = (
    "Does Context Matter? ContextualJudgeBench for Evaluating LLM-based Judges in Contextual Settings"
)
JUDGE_ABSTRACT = (
    "The large language model (LLM)-as-judge paradigm has been used to meet the demand for a "
    "cheap, reliable, and fast evaluation of model outputs during AI system development and "
    "post-deployment monitoring."
)

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_ABSTRACT = "Results <img src=x onerror=alert(1)> follow."
HOSTILE_LINK = "javascript:alert(1)"


def make_paper(
    paper_id: str,
    title: str,
    abstract: str,
    *,
    rank: int,
    authors: list[str] | None = None,
    source_label: str = "arXiv (cs.CL)",
    link: str | None = None,
    day: date = DAY,
    reasons: list[str] | None = None,
    is_update: bool = False,
    version: int | None = None,
) -> BriefingPaper:
    return BriefingPaper(
        paper_id=paper_id,
        title=title,
        abstract=abstract,
        authors=authors if authors is not None else [],
        categories=["cs.CL", "cs.LG"],
        source_id="arxiv-cs-cl",
        source_label=source_label,
        link=link,
        announced_day=day,
        score=1.0 / rank,
        rank=rank,
        reasons=reasons if reasons is not None else ['title: "language model"'],
        is_update=is_update,
        version=version,
    )


ZH_RADAR = RadarInfo(
    radar_id="llm-zh",
    name="大语言模型雷达",
    language="zh-CN",
    query='"language model" OR LLM',
    description="大模型训练、评测与应用",
)
EN_RADAR = RadarInfo(
    radar_id="robot-learning",
    name="Robot learning",
    language="en",
    query="robot AND (reinforcement OR diffusion)",
)


def zh_page() -> RadarDayPage:
    papers = [
        make_paper(
            "arxiv:2503.15457", DIMO_TITLE, DIMO_ABSTRACT, rank=2,
            authors=["Yuanzhi Zhu", "Xi Wang", "Stéphane Lathuilière", "Vicky Kalogeiton"],
            source_label="arXiv (cs.CV)", link="https://arxiv.org/abs/2503.15457",
        ),
        make_paper(
            "arxiv:2503.14603", COMMAND_R7B_TITLE, COMMAND_R7B_DESCRIPTION, rank=1,
            authors=COMMAND_R7B_AUTHORS, link="https://arxiv.org/abs/2503.14603",
            is_update=True, version=2,
        ),
        make_paper("arxiv:0000.00001", HOSTILE_TITLE, HOSTILE_ABSTRACT, rank=3, authors=[], link=HOSTILE_LINK),
    ]  # fmt: skip
    briefing = (
        "# 今日要点\n\n"
        "[Command R7B Arabic](https://arxiv.org/abs/2503.14603) 介绍了阿拉伯语小模型。\n\n"
        "Di$\\mathtt{[M]}$O 把掩码扩散模型蒸馏为一步生成器。\n\n"
        "<script>alert(1)</script>\n\n"
        '<img src=x onerror=alert(1)> <a href="javascript:alert(1)">raw</a> [md](javascript:alert(1))\n'
    )
    return RadarDayPage(
        radar=ZH_RADAR,
        day=DAY,
        papers=papers,
        briefing_markdown=briefing,
        briefing_generator="offline",
        source_notes=["arXiv cs.RO: no announcement"],
    )


def en_page(day: date = DAY) -> RadarDayPage:
    if day == DAY:
        papers = [
            make_paper(
                "arxiv:2503.14554", ROBOT_TITLE, ROBOT_ABSTRACT, rank=1,
                authors=["Ali Parsaee", "Fahim Shahriar", "Chuxin He", "Ruiqing Tan"],
                source_label="arXiv (cs.RO)", link="https://arxiv.org/abs/2503.14554",
            ),
        ]  # fmt: skip
    else:
        papers = [
            make_paper(
                "arxiv:2503.15620", JUDGE_TITLE, JUDGE_ABSTRACT, rank=1, day=day,
                authors=["Austin Xu", "Srijan Bansal", "Yifei Ming", "Semih Yavuz", "Shafiq Joty"],
                link="https://arxiv.org/abs/2503.15620",
            ),
        ]  # fmt: skip
    return RadarDayPage(
        radar=EN_RADAR,
        day=day,
        papers=papers,
        briefing_markdown="One paper compares **synchronous** and asynchronous RL on a real arm.",
        briefing_generator="llm:gpt-4o-mini",
        source_notes=["No arXiv cs.RO mailing today."],
    )


# --- HTML helpers --------------------------------------------------------------------


class _PageParser(HTMLParser):
    """Collect every start tag with its attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._in_title:
            self.title += data


def parse_page(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser


def page_text(html: str) -> str:
    return " ".join("".join(parse_page(html).text_parts).split())


def assert_no_active_markup(html: str) -> None:
    """Fail when the HTML contains a script, an image, an on* handler or a non-http(s) link."""
    parsed = parse_page(html)
    tag_names = [tag for tag, _ in parsed.tags]
    assert "script" not in tag_names
    assert "img" not in tag_names
    assert "<script" not in html.lower()
    assert 'href="javascript:' not in html.lower()

    for tag, attrs in parsed.tags:
        handlers = [name for name in attrs if name.startswith("on")]
        assert handlers == [], f"<{tag}> has event handlers {handlers}"
        href = (attrs.get("href") or "").strip().lower()
        assert not href.startswith(("javascript:", "data:", "vbscript:")), f"<{tag}> links to {href}"


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, list[Path]]:
    site_dir = tmp_path / "site"
    written = render_site(site_dir, [zh_page(), en_page()], generated_at=GENERATED_AT)
    return site_dir, written


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- files and languages -------------------------------------------------------------


def test_render_writes_expected_files(site: tuple[Path, list[Path]]) -> None:
    site_dir, written = site
    expected = {
        site_dir / "index.html",
        site_dir / "manifest.json",
        site_dir / "static" / "style.css",
        site_dir / "llm-zh" / "2025-03-20.html",
        site_dir / "llm-zh" / "index.html",
        site_dir / "robot-learning" / "2025-03-20.html",
        site_dir / "robot-learning" / "index.html",
    }
    assert set(written) == expected
    for path in expected:
        assert path.is_file(), path


def test_zh_page_language_and_labels(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "llm-zh" / "2025-03-20.html")
    text = page_text(html)
    assert '<html lang="zh-CN">' in html
    for label in ("作者:", "摘要:", "匹配原因:", "当日简报", "来源说明", "论文列表"):
        assert label in text, label
    assert "Authors" not in text


def test_en_page_language_and_labels(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "robot-learning" / "2025-03-20.html")
    text = page_text(html)
    assert '<html lang="en">' in html
    for label in ("Authors:", "Abstract:", "Why it matched:", "The day's briefing", "Papers"):
        assert label in text, label
    assert "作者" not in text
    assert "摘要" not in text


def test_page_shows_radar_query_and_day(site: tuple[Path, list[Path]]) -> None:
    text = page_text(read(site[0] / "llm-zh" / "2025-03-20.html"))
    assert "大语言模型雷达" in text
    assert '"language model" OR LLM' in text
    assert "2025-03-20 星期四" in text


def test_source_notes_shown(site: tuple[Path, list[Path]]) -> None:
    zh_text = page_text(read(site[0] / "llm-zh" / "2025-03-20.html"))
    en_text = page_text(read(site[0] / "robot-learning" / "2025-03-20.html"))
    assert "arXiv cs.RO: no announcement" in zh_text
    assert "No arXiv cs.RO mailing today." in en_text


def test_empty_day_says_so(tmp_path: Path) -> None:
    page = RadarDayPage(
        radar=EN_RADAR,
        day=date(2025, 3, 22),
        papers=[],
        briefing_markdown=None,
        briefing_generator="offline",
        source_notes=["arXiv: no announcement on Saturday"],
    )
    render_site(tmp_path, [page], generated_at=GENERATED_AT)
    text = page_text(read(tmp_path / "robot-learning" / "2025-03-22.html"))
    assert "No papers matched this radar on this day." in text
    assert "There is no briefing for this day." in text
    assert "arXiv: no announcement on Saturday" in text


def test_zh_page_semantic_reasons_in_chinese(tmp_path: Path) -> None:
    reasons = [
        'abstract: "language model" (2x)',
        "no query term; kept for its similarity",
        "no query term; close to the radar's seeds",  # as earlier versions wrote it
        'followed author: "Lichao Mou" (filter "L. Mou")',
        'nearest seed: arxiv:2503.14736 "HandSplat: Embedding-Driven Gaussian Splatting" (similarity 0.71)',
        "close to the radar description (similarity 0.58)",
        "closer to negative example arxiv:2503.14603 (similarity 0.74)",
    ]
    paper = make_paper("arxiv:2503.15457", DIMO_TITLE, DIMO_ABSTRACT, rank=1, reasons=reasons)
    page = RadarDayPage(
        radar=ZH_RADAR, day=DAY, papers=[paper], briefing_markdown=None, briefing_generator="offline", source_notes=[]
    )
    render_site(tmp_path, [page], generated_at=GENERATED_AT)
    text = page_text(read(tmp_path / "llm-zh" / "2025-03-20.html"))
    assert '摘要: "language model" (2x)' in text
    assert text.count("未命中检索式，因相似度入选") == 2
    assert '关注的作者："Lichao Mou"（过滤条件 "L. Mou"）' in text
    assert '最相近的种子论文：arxiv:2503.14736 "HandSplat: Embedding-Driven Gaussian Splatting"（相似度 0.71）' in text
    assert "与雷达描述相近（相似度 0.58）" in text
    assert "更接近反例 arxiv:2503.14603（相似度 0.74）" in text
    for english in ("nearest seed", "similarity", "no query term", "radar description", "negative example"):
        assert english not in text, english


def test_zh_briefing_and_page_share_terms(tmp_path: Path) -> None:
    paper = make_paper("arxiv:2503.15457", DIMO_TITLE, DIMO_ABSTRACT, rank=1, reasons=['title: "diffusion"'])
    briefing = write_offline(ZH_RADAR, DAY, [paper])
    page = RadarDayPage(
        radar=ZH_RADAR,
        day=DAY,
        papers=[paper],
        briefing_markdown=to_markdown(briefing, [paper]),
        briefing_generator="offline",
        source_notes=[],
    )
    render_site(tmp_path, [page], generated_at=GENERATED_AT)
    text = page_text(read(tmp_path / "llm-zh" / "2025-03-20.html"))
    assert '匹配原因：标题: "diffusion"。' in text  # the briefing's reading list
    assert '匹配原因:标题: "diffusion"' in text  # the paper list
    assert "匹配依据" not in text
    assert "当日简报" in text
    assert "本日简报" not in text


# --- the paper list ------------------------------------------------------------------


def test_papers_numbered_by_rank(site: tuple[Path, list[Path]]) -> None:
    text = page_text(read(site[0] / "llm-zh" / "2025-03-20.html"))
    first = text.index("01. arXiv (cs.CL) 2025-03-20")
    second = text.index("02. arXiv (cs.CV) 2025-03-20")
    third = text.index("03. arXiv (cs.CL) 2025-03-20")
    assert first < text.index(COMMAND_R7B_TITLE) < second
    assert second < text.index(DIMO_TITLE) < third


def test_no_author_line_without_authors(tmp_path: Path) -> None:
    papers = [
        make_paper("arxiv:2503.14554", ROBOT_TITLE, ROBOT_ABSTRACT, rank=1, authors=[]),
        make_paper("arxiv:2503.15620", JUDGE_TITLE, JUDGE_ABSTRACT, rank=2, authors=["", "  "]),
    ]
    page = RadarDayPage(ZH_RADAR, DAY, papers, None, "offline", [])
    render_site(tmp_path, [page], generated_at=GENERATED_AT)
    html = read(tmp_path / "llm-zh" / "2025-03-20.html")
    assert 'class="authors"' not in html
    assert "作者:" not in page_text(html)


def test_author_line_lists_authors(site: tuple[Path, list[Path]]) -> None:
    text = page_text(read(site[0] / "llm-zh" / "2025-03-20.html"))
    assert "作者:Yuanzhi Zhu, Xi Wang, Stéphane Lathuilière, Vicky Kalogeiton" in text


def test_long_author_list_shortened(site: tuple[Path, list[Path]]) -> None:
    text = page_text(read(site[0] / "llm-zh" / "2025-03-20.html"))
    assert "Olivia Lasche, Justin Lee 等,共 12 位作者" in text
    assert "Anirudh Shrinivason" not in text


def test_arxiv_prefix_removed(site: tuple[Path, list[Path]]) -> None:
    text = page_text(read(site[0] / "llm-zh" / "2025-03-20.html"))
    assert "Announce Type" not in text
    assert "arXiv:2503.14603v1" not in text
    assert "摘要:Building high-quality large language models (LLMs)" in text


def test_update_tag_with_version(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "llm-zh" / "2025-03-20.html")
    assert 'class="badge badge-update">更新 · v2</span>' in html


def test_title_links_to_paper(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "llm-zh" / "2025-03-20.html")
    assert f'<a href="https://arxiv.org/abs/2503.14603" rel="noopener noreferrer">{COMMAND_R7B_TITLE}</a>' in html


def test_latex_shown_as_written(site: tuple[Path, list[Path]]) -> None:
    text = page_text(read(site[0] / "llm-zh" / "2025-03-20.html"))
    assert DIMO_TITLE in text
    assert "Di$\\mathtt{[M]}$O 把掩码扩散模型蒸馏为一步生成器" in text


def test_briefing_keeps_latex_delimiters() -> None:
    html = str(render_briefing_markdown("Loss \\(x_1*y*\\) and $a*b*c$ cost $5 and $10."))
    assert "\\(x_1*y*\\)" in html
    assert "$a*b*c$" in html
    assert "<em>" not in html
    assert "$5 and $10" in html


# --- untrusted text ------------------------------------------------------------------


def test_hostile_paper_fields_escaped(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "llm-zh" / "2025-03-20.html")
    text = page_text(html)
    assert_no_active_markup(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE_TITLE in text
    assert "<img src=x onerror=alert(1)>" in text


def test_hostile_link_not_linked(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "llm-zh" / "2025-03-20.html")
    assert '<h3 class="paper-title">&lt;script&gt;alert(1)&lt;/script&gt;</h3>' in html


def test_briefing_raw_html_escaped(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "llm-zh" / "2025-03-20.html")
    briefing = html[html.index('class="briefing-body"') : html.index("</section>")]
    assert_no_active_markup(briefing)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in briefing
    assert "&lt;img src=x onerror=alert(1)&gt;" in briefing
    assert "[md](javascript:alert(1))" in briefing


def test_briefing_markdown_rendered(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "llm-zh" / "2025-03-20.html")
    assert "<h3>今日要点</h3>" in html
    assert '<a href="https://arxiv.org/abs/2503.14603" rel="nofollow noopener noreferrer">Command R7B Arabic</a>' in html


def test_hostile_radar_fields_escaped(tmp_path: Path) -> None:
    radar = RadarInfo(
        radar_id="hostile",
        name="<script>alert(1)</script>",
        language="en",
        query='"><img src=x onerror=alert(1)>',
        description="<iframe src=javascript:alert(1)>",
    )
    paper = make_paper(
        "arxiv:0000.00002", "Plain title", "Plain abstract.", rank=1,
        source_label="<b onmouseover=alert(1)>x</b>", reasons=['<a href="javascript:alert(1)">r</a>'],
    )  # fmt: skip
    page = RadarDayPage(radar, DAY, [paper], None, "<script>x</script>", ["<script>alert(1)</script>"])
    render_site(tmp_path, [page], generated_at=GENERATED_AT)
    for path in (tmp_path / "hostile" / "2025-03-20.html", tmp_path / "hostile" / "index.html", tmp_path / "index.html"):
        html = read(path)
        assert_no_active_markup(html)
        assert "<iframe" not in html, path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://arxiv.org/abs/2503.14603", "https://arxiv.org/abs/2503.14603"),
        ("  http://dx.doi.org/10.1101/2019.12.11.123456 ", "http://dx.doi.org/10.1101/2019.12.11.123456"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        (" javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//arxiv.org/abs/2503.14603", None),
        ("/abs/2503.14603", None),
        ("https://", None),
        ("https://arxiv.org/abs/2503 14603", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_link(url: str | None, expected: str | None) -> None:
    assert safe_link(url) == expected


def test_clean_abstract_without_prefix() -> None:
    assert clean_abstract(JUDGE_ABSTRACT) == JUDGE_ABSTRACT


def test_clean_abstract_strips_prefix() -> None:
    assert clean_abstract(COMMAND_R7B_DESCRIPTION).startswith("Building high-quality")


# --- indexes -------------------------------------------------------------------------


def test_index_lists_both_radars(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "index.html")
    text = page_text(html)
    assert '<a href="llm-zh/2025-03-20.html">大语言模型雷达</a>' in html
    assert '<a href="robot-learning/2025-03-20.html">Robot learning</a>' in html
    assert "研究雷达" in text
    assert "Research radars" in text


def test_index_keeps_older_day(site: tuple[Path, list[Path]]) -> None:
    site_dir, _ = site
    later = datetime(2025, 3, 21, 9, 30, tzinfo=timezone.utc)
    written = render_site(site_dir, [en_page(NEXT_DAY)], generated_at=later)

    assert site_dir / "llm-zh" / "2025-03-20.html" not in written
    assert (site_dir / "robot-learning" / "2025-03-20.html").is_file()
    for index, prefix in ((site_dir / "index.html", "robot-learning/"), (site_dir / "robot-learning" / "index.html", "")):
        html = read(index)
        newer = html.index(f'href="{prefix}2025-03-21.html"')
        older = html.index(f'href="{prefix}2025-03-20.html"')
        assert newer < older, index
    assert "llm-zh/2025-03-20.html" in read(site_dir / "index.html")


def test_index_rebuilt_without_manifest(site: tuple[Path, list[Path]]) -> None:
    site_dir, _ = site
    (site_dir / "manifest.json").unlink()
    render_site(site_dir, [en_page(NEXT_DAY)], generated_at=GENERATED_AT)
    html = read(site_dir / "index.html")
    assert "robot-learning/2025-03-20.html" in html
    assert "llm-zh/2025-03-20.html" in html


def test_index_drops_deleted_page(site: tuple[Path, list[Path]]) -> None:
    site_dir, _ = site
    (site_dir / "llm-zh" / "2025-03-20.html").unlink()
    render_site(site_dir, [en_page(NEXT_DAY)], generated_at=GENERATED_AT)
    assert "llm-zh/" not in read(site_dir / "index.html")


def test_paper_count_singular(site: tuple[Path, list[Path]]) -> None:
    text = page_text(read(site[0] / "index.html"))
    assert "Thursday, 2025-03-20 Latest 1 paper" in text
    assert "2025-03-20 星期四 最新一期 3 篇论文" in text


def test_radar_index_lists_days(site: tuple[Path, list[Path]]) -> None:
    html = read(site[0] / "llm-zh" / "index.html")
    assert '<html lang="zh-CN">' in html
    assert '<a href="2025-03-20.html">2025-03-20 星期四</a>' in html


# --- links, assets and determinism -----------------------------------------------------


def test_relative_css_links(site: tuple[Path, list[Path]]) -> None:
    site_dir, _ = site
    assert '<link rel="stylesheet" href="../static/style.css">' in read(site_dir / "llm-zh" / "2025-03-20.html")
    assert '<link rel="stylesheet" href="../static/style.css">' in read(site_dir / "llm-zh" / "index.html")
    assert '<link rel="stylesheet" href="static/style.css">' in read(site_dir / "index.html")


def test_pages_load_nothing_remote(site: tuple[Path, list[Path]]) -> None:
    site_dir, _ = site
    css = read(site_dir / "static" / "style.css")
    assert "http" not in css
    assert "@import" not in css
    for path in sorted(site_dir.rglob("*.html")):
        for tag, attrs in parse_page(read(path)).tags:
            assert tag not in ("script", "img", "iframe"), path
            if tag == "link":
                assert "//" not in (attrs.get("href") or ""), path


def test_styles_have_cjk_fallback(site: tuple[Path, list[Path]]) -> None:
    css = read(site[0] / "static" / "style.css")
    for font in ('"PingFang SC"', '"Noto Sans CJK SC"', '"Microsoft YaHei"'):
        assert font in css, font


def test_output_deterministic(tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    render_site(first, [zh_page(), en_page()], generated_at=GENERATED_AT)
    render_site(second, [en_page(), zh_page()], generated_at=GENERATED_AT)
    first_files = sorted(path.relative_to(first) for path in first.rglob("*") if path.is_file())
    second_files = sorted(path.relative_to(second) for path in second.rglob("*") if path.is_file())
    assert first_files == second_files
    for relative in first_files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_generated_at_only_in_footer(tmp_path: Path) -> None:
    render_site(tmp_path / "a", [zh_page()], generated_at=GENERATED_AT)
    render_site(tmp_path / "b", [zh_page()], generated_at=datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc))
    first = read(tmp_path / "a" / "llm-zh" / "2025-03-20.html").splitlines()
    second = read(tmp_path / "b" / "llm-zh" / "2025-03-20.html").splitlines()
    changed = [(old, new) for old, new in zip(first, second, strict=True) if old != new]
    assert changed == [("    <p>页面生成于 2025-03-20 09:30 UTC</p>", "    <p>页面生成于 2026-01-02 03:04 UTC</p>")]


# --- input checks and interface text -----------------------------------------------------


@pytest.mark.parametrize("radar_id", ["../evil", "static", ".hidden", "a/b", ""])
def test_unsafe_radar_id_rejected(tmp_path: Path, radar_id: str) -> None:
    radar = RadarInfo(radar_id=radar_id, name="x", language="en", query="x")
    with pytest.raises(ValueError, match="invalid radar id"):
        render_site(tmp_path, [RadarDayPage(radar, DAY, [], None, "offline", [])], generated_at=GENERATED_AT)


def test_duplicate_page_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="two pages for radar"):
        render_site(tmp_path, [en_page(), en_page()], generated_at=GENERATED_AT)


def test_invalid_manifest_names_file(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="manifest.json"):
        render_site(tmp_path, [en_page()], generated_at=GENERATED_AT)


def test_unknown_language_rejected(tmp_path: Path) -> None:
    radar = RadarInfo(radar_id="french", name="x", language="fr", query="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid radar language 'fr'"):
        render_site(tmp_path, [RadarDayPage(radar, DAY, [], None, "offline", [])], generated_at=GENERATED_AT)


def test_interface_text_same_keys() -> None:
    assert INTERFACE_TEXT["zh-CN"].keys() == INTERFACE_TEXT["en"].keys()


def test_interface_keys_not_dict_methods() -> None:
    # Jinja2 resolves t.key as an attribute first, so a key named like a dict method
    # (update, items, ...) would render the method instead of the label.
    clashes = [key for key in INTERFACE_TEXT["en"] if hasattr(dict, key)]
    assert clashes == []


def test_copied_text_matches_fixtures() -> None:
    days = fixtures_dir() / "arxiv_rss_days"
    if not days.is_dir():
        pytest.skip(f"fixtures not found at {days}; set HUB_FIXTURES_DIR")
    cases = [
        ("2025-03-20/cs.CL.xml", f"<title>{COMMAND_R7B_TITLE}</title>"),
        ("2025-03-20/cs.CL.xml", COMMAND_R7B_DESCRIPTION),
        ("2025-03-20/cs.AI.xml", f"<title>{DIMO_TITLE}</title>"),
        ("2025-03-20/cs.AI.xml", DIMO_ABSTRACT),
        ("2025-03-20/cs.RO.xml", f"<title>{ROBOT_TITLE}</title>"),
        ("2025-03-20/cs.RO.xml", ROBOT_ABSTRACT),
        ("2025-03-21/cs.CL.xml", f"<title>{JUDGE_TITLE}</title>"),
        ("2025-03-21/cs.CL.xml", JUDGE_ABSTRACT),
    ]
    for relative, snippet in cases:
        assert snippet in (days / relative).read_text(encoding="utf-8"), (relative, snippet[:60])


# --- a real browser --------------------------------------------------------------------


def test_browser_does_not_run_hostile_script(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed, so the rendered page is not loaded in a browser")

    payload = "document.title='pwned'"
    paper = make_paper(
        "arxiv:0000.00003", f"<script>{payload}</script>", f'<img src=x onerror="{payload}">', rank=1,
        link=f"javascript:{payload}",
    )  # fmt: skip
    briefing = f"<script>{payload}</script>\n\n<img src=x onerror=\"{payload}\">\n"
    page = RadarDayPage(EN_RADAR, DAY, [paper], briefing, "offline", [])
    render_site(tmp_path / "site", [page], generated_at=GENERATED_AT)
    page_path = tmp_path / "site" / "robot-learning" / "2025-03-20.html"

    result = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom", page_path.as_uri(),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]

    dom = parse_page(result.stdout)
    assert dom.title == "Robot learning · 2025-03-20 · AcademicHub"
    assert_no_active_markup(result.stdout)
