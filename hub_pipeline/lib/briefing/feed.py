"""Atom feed per radar: one entry per day's briefing, for feed readers.

The feed lives at data/site/<radar>/feed.atom beside the radar's day pages. Entry content is
the briefing rendered by the site's Markdown renderer (raw HTML escaped, only http(s) links)
and stored as type="html", so feedgen escapes it once more inside the XML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from feedgen.feed import FeedGenerator

from hub_pipeline.lib.briefing.i18n import text
from hub_pipeline.lib.models import RadarInfo
from hub_pipeline.lib.site.briefing_html import render_briefing_markdown

MAX_ENTRIES = 60


@dataclass(slots=True)
class FeedEntry:
    """One stored briefing as the feed needs it."""

    day: date
    markdown: str
    headline: str
    updated: datetime | None = None


def build_feed(radar: RadarInfo, entries: list[FeedEntry], site_url: str = "") -> bytes:
    """Return the Atom XML of a radar's briefings, newest first, at most MAX_ENTRIES.

    ``site_url`` is the public address of data/site/ (for example https://example.org/hub).
    Without it, links are relative to the feed file, which a reader resolves against the
    address it fetched the feed from.
    """
    base = site_url.rstrip("/") + f"/{radar.radar_id}/" if site_url else ""
    newest = sorted(entries, key=lambda entry: entry.day, reverse=True)[:MAX_ENTRIES]

    generator = FeedGenerator()
    generator.id(f"urn:academichub:radar:{radar.radar_id}")
    generator.title(radar.name)
    generator.subtitle(radar.description or radar.query)
    generator.language(radar.language)
    generator.author({"name": "AcademicHub"})
    generator.link(href=f"{base}index.html", rel="alternate")
    generator.link(href=f"{base}feed.atom", rel="self")
    generator.updated(_updated(newest[0]) if newest else datetime(1970, 1, 1, tzinfo=timezone.utc))

    # feedgen puts the entry added last at the top, so add the oldest first.
    for entry in reversed(newest):
        item = generator.add_entry()
        item.id(f"urn:academichub:briefing:{radar.radar_id}:{entry.day.isoformat()}")
        item.title(text(radar.language, "md_title", radar_id=radar.name, day=entry.day.isoformat()))
        item.link(href=f"{base}{entry.day.isoformat()}.html", rel="alternate")
        item.updated(_updated(entry))
        item.published(datetime.combine(entry.day, time(), tzinfo=timezone.utc))
        item.summary(entry.headline)
        item.content(str(render_briefing_markdown(entry.markdown)), type="html")
    return generator.atom_str(pretty=True)


def _updated(entry: FeedEntry) -> datetime:
    if entry.updated is not None:
        return entry.updated if entry.updated.tzinfo else entry.updated.replace(tzinfo=timezone.utc)
    return datetime.combine(entry.day, time(), tzinfo=timezone.utc)
