"""Static site renderer: radar day pages, radar and site indexes, and the stylesheet."""

from hub_pipeline.lib.site.briefing_html import render_briefing_markdown, safe_link
from hub_pipeline.lib.site.render import RadarDayPage, clean_abstract, render_site

__all__ = ["RadarDayPage", "clean_abstract", "render_briefing_markdown", "render_site", "safe_link"]
