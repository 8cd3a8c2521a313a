"""Render a briefing as Markdown for readers and as a JSON-ready dict for files and the site."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from typing import Any

from hub_pipeline.lib.briefing.i18n import text
from hub_pipeline.lib.models import Briefing, BriefingPaper

# Characters that would turn untrusted text into Markdown markup or raw HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
# Inline LaTeX as titles carry it: $...$ (no space inside the dollars, no digit after the
# closing one, as Pandoc reads them) and \(...\). These spans are kept as written, because
# the site renders them verbatim and an escape inside would show as a stray backslash.
_MATH_SPAN = re.compile(r"(\$(?!\s)[^$\n]+?(?<!\s)\$(?!\d)|\\\(.+?\\\))")


def to_markdown(briefing: Briefing, papers: list[BriefingPaper]) -> str:
    """Render one briefing as Markdown: headline, themes, cross-domain links, reading list, updates, footer.

    Citation numbers follow the reading list. Papers cited only in themes, links or updates are
    numbered after it, in a list of their own, so every [n] points at a listed title.
    """
    language = briefing.language
    by_id = {paper.paper_id: paper for paper in papers}

    numbers: dict[str, int] = {}
    for paper_id in [item.paper_id for item in briefing.reading_list]:
        numbers.setdefault(paper_id, len(numbers) + 1)
    also_cited = []
    grouped = [i for group in briefing.themes + briefing.cross_domain for i in group.paper_ids]
    for paper_id in grouped + [item.paper_id for item in briefing.updates]:
        if paper_id not in numbers:
            numbers[paper_id] = len(numbers) + 1
            also_cited.append(paper_id)

    lines = [
        "# " + text(language, "md_title", radar_id=_escape(briefing.radar_name or briefing.radar_id), day=briefing.day.isoformat()),
        "",
        _escape(briefing.headline),
        "",
    ]

    for heading, groups in (("md_themes", briefing.themes), ("md_cross_domain", briefing.cross_domain)):
        if not groups:
            continue
        lines += ["## " + text(language, heading), ""]
        for group in groups:
            citations = " ".join(_citation(numbers[i], by_id.get(i)) for i in group.paper_ids)
            lines += ["### " + _escape(group.title), "", f"{_escape(group.text)} {citations}".strip(), ""]

    if briefing.reading_list:
        lines += ["## " + text(language, "md_reading_list"), ""]
        for item in briefing.reading_list:
            lines.append(_list_entry(language, numbers[item.paper_id], item.paper_id, by_id.get(item.paper_id), item.why))
        lines.append("")

    if briefing.updates:
        lines += ["## " + text(language, "md_updates"), ""]
        for item in briefing.updates:
            paper = by_id.get(item.paper_id)
            title = _escape(paper.title) if paper else _escape(item.paper_id)
            lines.append(f"- {title} {_citation(numbers[item.paper_id], paper)}: {_escape(item.why)}")
        lines.append("")

    if also_cited:
        lines += ["## " + text(language, "md_also_cited"), ""]
        for paper_id in also_cited:
            lines.append(_list_entry(language, numbers[paper_id], paper_id, by_id.get(paper_id), ""))
        lines.append("")

    lines += ["---", ""] + [f"*{line}*" for line in _footer(briefing)]
    return "\n".join(lines) + "\n"


def to_json(briefing: Briefing, papers: list[BriefingPaper]) -> dict[str, Any]:
    """Return the briefing and its papers as a dict that ``json.dumps`` accepts (ISO dates)."""
    data = _plain(dataclasses.asdict(briefing))
    data["papers"] = [_plain(dataclasses.asdict(paper)) for paper in papers]
    return data


def _footer(briefing: Briefing) -> list[str]:
    language = briefing.language
    if briefing.generator == "llm":
        model = _escape(briefing.model or "?")
        lines = [text(language, "md_by_llm", model=model, prompt_version=briefing.prompt_version)]
    else:
        lines = [text(language, "md_by_offline", prompt_version=briefing.prompt_version)]
    if briefing.error:
        lines.append(text(language, "md_error", error=_escape(briefing.error)))
    if briefing.removed_ids:
        ids = text(language, "list_separator").join(_escape(i) for i in briefing.removed_ids)
        lines.append(text(language, "md_removed", count=len(briefing.removed_ids), ids=ids))
    if briefing.failure:
        lines.append(text(language, "md_failure", failure=briefing.failure))
    if briefing.cached:
        lines.append(text(language, "md_cached"))
    if briefing.batches:
        lines.append(text(language, "md_batches", count=briefing.batches))
    if briefing.tokens_in or briefing.tokens_out:
        lines.append(text(language, "md_tokens", tokens_in=briefing.tokens_in, tokens_out=briefing.tokens_out))
    if briefing.cost_usd:
        lines.append(text(language, "md_cost", cost=f"{briefing.cost_usd:.4f}"))
    return lines


def _list_entry(language: str, number: int, paper_id: str, paper: BriefingPaper | None, why: str) -> str:
    """Return one line per paper: number, title with link, source and version, then why it matters."""
    marker = f"{number}. "
    reason = f" — {_escape(why)}" if why else ""
    if paper is None:
        return marker + _escape(paper_id) + reason

    title = _link(_escape(paper.title), paper.link)
    details = [_escape(paper.source_label)] if paper.source_label else []
    if paper.is_update:
        update = text(language, "md_update")
        details.append(f"{update} v{paper.version}" if paper.version is not None else update)
    if paper.published_journal or paper.published_link:
        details.append(_published(language, paper))
    return f"{marker}**{title}**" + (" · " + " · ".join(details) if details else "") + reason


def _published(language: str, paper: BriefingPaper) -> str:
    """Say where a preprint was published, linked to the article when its link is known."""
    if paper.published_journal:
        label = text(language, "md_published_in", journal=_escape(paper.published_journal))
    else:
        label = text(language, "md_published")
    return _link(label, paper.published_link)


def _citation(number: int, paper: BriefingPaper | None) -> str:
    # A matched pair of brackets is allowed inside link text, so no escaping is needed; an
    # escaped "\[" would read as the start of a LaTeX display span on the site.
    return _link(f"[{number}]", paper.link if paper else None)


def _link(label: str, url: str | None) -> str:
    # Only web links: a feed could carry a javascript: or data: URL.
    if not url or not url.lower().startswith(("http://", "https://")):
        return label
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return f"[{label}]({safe})"


def _escape(value: str) -> str:
    """Escape Markdown markup in untrusted text, outside LaTeX spans, and fold it onto one line."""
    parts = _MATH_SPAN.split(" ".join(str(value).split()))
    # re.split with one group alternates text and math spans: even indexes are text.
    return "".join(part if index % 2 else _MARKDOWN_SPECIAL.sub(r"\\\1", part) for index, part in enumerate(parts))


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
