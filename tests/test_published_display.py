"""The "now published in" line of a preprint, escaped, on the site and in the briefing."""

from datetime import date, datetime, timezone

from hub_pipeline.lib.briefing.offline import write_offline
from hub_pipeline.lib.briefing.render import to_markdown
from hub_pipeline.lib.models import BriefingPaper, RadarInfo
from hub_pipeline.lib.site import RadarDayPage, render_site

DAY = date(2025, 3, 21)
RADAR = RadarInfo(radar_id="arabic", name="Arabic NLP", language="en", query="arabic")
RADAR_ZH = RadarInfo(radar_id="arabic-zh", name="阿拉伯语", language="zh-CN", query="arabic")


def paper(journal: str | None, link: str | None) -> BriefingPaper:
    return BriefingPaper(
        paper_id="arxiv:2503.14603",
        title="Command R7B Arabic: A Small, Enterprise Focused, Multilingual, and Culturally Aware Arabic LLM",
        abstract="A revised abstract for the second version.",
        authors=["Yazeed Alnumay"],
        categories=["cs.CL"],
        source_id="arxiv-cs-cl",
        source_label="arXiv (cs.CL)",
        link="https://arxiv.org/abs/2503.14603",
        announced_day=DAY,
        score=3.0,
        rank=1,
        reasons=['title: "arabic"'],
        is_update=True,
        version=2,
        published_journal=journal,
        published_link=link,
    )


def render(tmp_path, radar, item) -> str:
    page = RadarDayPage(radar=radar, day=DAY, papers=[item], briefing_markdown=None, briefing_generator="offline", source_notes=[])
    render_site(tmp_path, [page], generated_at=datetime(2025, 3, 21, 8, tzinfo=timezone.utc))
    return (tmp_path / radar.radar_id / "2025-03-21.html").read_text(encoding="utf-8")


def test_site_escapes_journal_name(tmp_path):
    html = render(tmp_path, RADAR, paper("<b>J. Arabic NLP</b>", "https://doi.org/10.5555/x"))
    assert 'Now published in &lt;b&gt;J. Arabic NLP&lt;/b&gt;</a>' in html
    assert '<a href="https://doi.org/10.5555/x" rel="noopener noreferrer">Now published' in html


def test_site_without_journal_name_or_link(tmp_path):
    assert ">Now published</a>" in render(tmp_path, RADAR, paper(None, "https://doi.org/10.5555/x"))
    html = render(tmp_path / "ref", RADAR, paper("Phys.Rev.D76:013009,2007", None))
    assert '<p class="published">Now published in Phys.Rev.D76:013009,2007</p>' in html
    assert 'class="published"' not in render(tmp_path / "none", RADAR, paper(None, None))


def test_site_drops_unsafe_published_link(tmp_path):
    html = render(tmp_path, RADAR_ZH, paper("J. Arabic NLP", "javascript:alert(1)"))
    assert "已正式发表于 J. Arabic NLP" in html
    assert "javascript:" not in html


def test_briefing_markdown_names_the_journal():
    item = paper("J. *Arabic* NLP", "https://doi.org/10.5555/x")
    markdown = to_markdown(write_offline(RADAR, DAY, [item]), [item])
    assert "[now published in J. \\*Arabic\\* NLP](https://doi.org/10.5555/x)" in markdown
    zh = to_markdown(write_offline(RADAR_ZH, DAY, [item]), [item])
    assert "[已正式发表于 J. \\*Arabic\\* NLP](https://doi.org/10.5555/x)" in zh
