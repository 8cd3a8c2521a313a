"""Static site pages: one page per radar and day, an index per radar, and the site index.

Pages use relative links only and load nothing from other hosts, so they work when opened
from the file system. Every value from feeds goes through Jinja2 autoescaping. The only
unescaped markup is the briefing HTML from ``render_briefing_markdown``.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cache
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup

from hub_pipeline.lib.briefing.offline import localize_reason
from hub_pipeline.lib.day_state import SourceState, no_announcement_cause
from hub_pipeline.lib.models import BriefingPaper, RadarInfo
from hub_pipeline.lib.outputs import write_text_atomic
from hub_pipeline.lib.site.briefing_html import render_briefing_markdown, safe_link
from hub_pipeline.lib.site.manifest import (
    MANIFEST_NAME,
    DayRecord,
    RadarRecord,
    load_site_records,
    manifest_json,
)
from hub_pipeline.lib.site.strings import (
    describe_source_state,
    format_day,
    format_paper_count,
    interface_text,
)

# A radar id becomes a directory name, so it must not be able to leave site_dir.
_RADAR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RESERVED_DIRS = frozenset({"static"})

# The arXiv RSS description prefix, e.g. "arXiv:2503.14603v1 Announce Type: new \nAbstract: ".
# Parsers remove it, and the renderer removes it again so that no page shows it.
_ARXIV_PREFIX = re.compile(
    r"^\s*arXiv:\s*\S+\s+Announce\s+Type:\s*[\w-]+\s*(?:Abstract:\s*)?", re.IGNORECASE
)
_WHITESPACE = re.compile(r"\s+")

# Beyond this many authors a paper shows the first ones and the total.
_MAX_AUTHORS_SHOWN = 10


@dataclass(slots=True)
class RadarDayPage:
    """Everything one radar's page for one announcement day shows."""

    radar: RadarInfo
    day: date
    papers: list[BriefingPaper]  # ranked
    briefing_markdown: str | None  # rendered to HTML with raw HTML escaped
    # The briefing's writer, "offline", "llm:<model>" or another label, kept in the manifest.
    # Pages show the writer only in the briefing's own footer, so the label appears once.
    briefing_generator: str
    # The day's state of each source: a SourceState, worded in the radar's language, or a
    # sentence shown as given.
    source_notes: list[SourceState | str]


@dataclass(slots=True)
class _PaperView:
    number: str
    anchor: str
    paper_id: str
    title: str
    link: str | None
    source_label: str
    day: str
    categories: list[str]
    authors: list[str]
    authors_more: str | None
    abstract: str
    reasons: list[str]
    is_update: bool
    version: int | None
    published_label: str | None  # "Now published in <journal>", for a preprint that became an article
    published_link: str | None


@dataclass(slots=True)
class _DayLink:
    href: str
    label: str
    paper_count: str | None


def _collapse(text: str | None) -> str:
    return _WHITESPACE.sub(" ", text or "").strip()


def _note_text(note: SourceState | str, language: str) -> str:
    if isinstance(note, str):
        return _collapse(note)
    cause = no_announcement_cause(note.day) if note.is_arxiv else None
    return _collapse(
        describe_source_state(
            language,
            source=note.label,
            outcome=note.outcome,
            items=note.items,
            reason=note.reason,
            feed_day=note.feed_day,
            cause=cause,
            backfilled=note.is_backfill,
        )
    )


def clean_abstract(abstract: str | None) -> str:
    """Return the abstract as one paragraph, without arXiv's "arXiv:... Announce Type:" prefix."""
    return _collapse(_ARXIV_PREFIX.sub("", abstract or "", count=1))


def _validate_radar_id(radar_id: str) -> None:
    if not _RADAR_ID.match(radar_id) or radar_id in _RESERVED_DIRS:
        raise ValueError(
            f"invalid radar id {radar_id!r} for a site directory: use letters, digits, "
            "'-', '_' or '.', starting with a letter or digit, and not 'static'"
        )


def _number_width(count: int) -> int:
    return max(2, len(str(count)))


def _paper_views(page: RadarDayPage) -> list[_PaperView]:
    """Order the papers by rank and number them 01., 02., ... in that order."""
    text = interface_text(page.radar.language)
    ordered = sorted(page.papers, key=lambda paper: (paper.rank, -paper.score, paper.paper_id))
    width = _number_width(len(ordered))

    views = []
    for position, paper in enumerate(ordered, start=1):
        authors = [_collapse(author) for author in paper.authors]
        authors = [author for author in authors if author]
        authors_more = None
        if len(authors) > _MAX_AUTHORS_SHOWN:
            authors_more = text["more_authors"].format(count=len(authors))
            authors = authors[:_MAX_AUTHORS_SHOWN]

        number = f"{position:0{width}d}"
        views.append(
            _PaperView(
                number=f"{number}.",
                anchor=f"paper-{number}",
                paper_id=paper.paper_id,
                title=_collapse(paper.title) or paper.paper_id,
                link=safe_link(paper.link),
                source_label=_collapse(paper.source_label) or paper.source_id,
                day=paper.announced_day.isoformat(),
                categories=[_collapse(category) for category in paper.categories if _collapse(category)],
                authors=authors,
                authors_more=authors_more,
                abstract=clean_abstract(paper.abstract),
                reasons=[localize_reason(page.radar.language, _collapse(reason)) for reason in paper.reasons if _collapse(reason)],
                is_update=paper.is_update,
                version=paper.version,
                published_label=_published_label(paper, text),
                published_link=safe_link(paper.published_link),
            )
        )

    return views


def _published_label(paper: BriefingPaper, text: Mapping[str, str]) -> str | None:
    journal = _collapse(paper.published_journal)
    if journal:
        return text["published_in"].format(journal=journal)
    if paper.published_link:
        return text["published"]
    return None


def _format_generated_at(generated_at: datetime) -> str:
    # NOTE: a naive datetime is taken to be UTC already; pass an aware one to be sure.
    if generated_at.tzinfo is not None:
        generated_at = generated_at.astimezone(timezone.utc)
    return generated_at.strftime("%Y-%m-%d %H:%M UTC")


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("hub_pipeline.lib.site", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _template(name: str) -> Template:
    return _environment().get_template(name)


def _write_text(path: Path, content: str) -> Path:
    """Write a file through a temporary sibling, so readers never see half a page."""
    return write_text_atomic(path, content)


def _render_day_page(page: RadarDayPage, generated_at: str) -> str:
    text = interface_text(page.radar.language)
    briefing_html: Markup | None = None
    if page.briefing_markdown and page.briefing_markdown.strip():
        briefing_html = render_briefing_markdown(page.briefing_markdown)

    return _template("day.html.j2").render(
        lang=page.radar.language,
        t=text,
        css_href="../static/style.css",
        home_href="../index.html",
        radar_index_href="index.html",
        radar=page.radar,
        day_iso=page.day.isoformat(),
        day_label=format_day(page.day, page.radar.language),
        briefing_html=briefing_html,
        source_notes=[note for note in (_note_text(note, page.radar.language) for note in page.source_notes) if note],
        papers=_paper_views(page),
        paper_count=format_paper_count(len(page.papers), page.radar.language),
        generated_at=generated_at,
    )


def _day_links(record: RadarRecord, href_prefix: str) -> list[_DayLink]:
    links = []
    for entry in record.days_newest_first():
        paper_count = None
        if isinstance(entry.paper_count, int):
            paper_count = format_paper_count(entry.paper_count, record.language)
        links.append(
            _DayLink(
                href=f"{href_prefix}{entry.day.isoformat()}.html",
                label=format_day(entry.day, record.language),
                paper_count=paper_count,
            )
        )
    return links


def _render_radar_index(record: RadarRecord, generated_at: str) -> str:
    return _template("radar_index.html.j2").render(
        lang=record.language,
        t=interface_text(record.language),
        css_href="../static/style.css",
        home_href="../index.html",
        radar=record,
        days=_day_links(record, ""),
        generated_at=generated_at,
    )


def _render_site_index(records: dict[str, RadarRecord], generated_at: str) -> str:
    radars = [
        {
            "record": record,
            "t": interface_text(record.language),
            "index_href": f"{record.radar_id}/index.html",
            "days": _day_links(record, f"{record.radar_id}/"),
        }
        for record in records.values()
    ]
    # The site index is bilingual: Chinese first, for its first readers, English beside it.
    return _template("site_index.html.j2").render(
        lang="zh-CN",
        t_zh=interface_text("zh-CN"),
        t_en=interface_text("en"),
        css_href="static/style.css",
        radars=radars,
        generated_at=generated_at,
    )


def _merge_pages(records: dict[str, RadarRecord], pages: list[RadarDayPage]) -> None:
    """Add the new pages to the records, taking each radar's details from its newest page."""
    for page in sorted(pages, key=lambda page: (page.radar.radar_id, page.day)):
        radar = page.radar
        record = records.setdefault(
            radar.radar_id,
            RadarRecord(radar_id=radar.radar_id, name="", language="en", query="", description=""),
        )
        record.name = _collapse(radar.name) or radar.radar_id
        record.language = radar.language
        record.query = radar.query
        record.description = radar.description
        record.days[page.day] = DayRecord(
            day=page.day,
            paper_count=len(page.papers),
            briefing_generator=page.briefing_generator,
        )


def _check_pages(pages: list[RadarDayPage]) -> None:
    seen: set[tuple[str, date]] = set()
    for page in pages:
        _validate_radar_id(page.radar.radar_id)
        interface_text(page.radar.language)  # raises for a language without interface text

        key = (page.radar.radar_id, page.day)
        if key in seen:
            raise ValueError(
                f"two pages for radar {key[0]!r} on {key[1].isoformat()}: pass one page per radar and day"
            )
        seen.add(key)


def render_site(site_dir: Path, pages: list[RadarDayPage], *, generated_at: datetime) -> list[Path]:
    """Write the given radar day pages, rebuild the indexes and return the written paths, sorted.

    Day pages of earlier runs stay and are listed, because the indexes come from
    site_dir/manifest.json and the day pages on disk. Radar indexes are rewritten only for
    radars among ``pages``. Raises ValueError for an unsafe radar id or a repeated day.
    """
    _check_pages(pages)
    site_dir = Path(site_dir)
    generated_text = _format_generated_at(generated_at)
    written: list[Path] = []

    css = resources.files("hub_pipeline.lib.site").joinpath("static", "style.css").read_text("utf-8")
    written.append(_write_text(site_dir / "static" / "style.css", css))

    for page in sorted(pages, key=lambda page: (page.radar.radar_id, page.day)):
        page_path = site_dir / page.radar.radar_id / f"{page.day.isoformat()}.html"
        written.append(_write_text(page_path, _render_day_page(page, generated_text)))

    records = load_site_records(site_dir)
    _merge_pages(records, pages)
    records = {radar_id: records[radar_id] for radar_id in sorted(records)}

    for radar_id in sorted({page.radar.radar_id for page in pages}):
        index_path = site_dir / radar_id / "index.html"
        written.append(_write_text(index_path, _render_radar_index(records[radar_id], generated_text)))

    written.append(_write_text(site_dir / "index.html", _render_site_index(records, generated_text)))
    written.append(_write_text(site_dir / MANIFEST_NAME, manifest_json(records)))

    return sorted(written)
