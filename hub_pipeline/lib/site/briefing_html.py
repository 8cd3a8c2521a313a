"""Briefing Markdown to HTML, safe to insert into a page.

Briefings may quote titles and abstracts from feeds or text from an LLM, so the Markdown is
untrusted. markdown-it-py runs with raw HTML disabled, which escapes any tag in the text.
Links are kept only for http(s) URLs, images are not rendered (a page must load nothing from
other hosts), and LaTeX spans are shown exactly as written.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markupsafe import Markup

# The page puts the briefing under an h2, so Markdown headings start one level below it.
_HEADING_OFFSET = 2

_LINK_SCHEMES = ("http", "https")
_URL_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")

# Opening and closing delimiters of LaTeX spans, longest first so "$$" wins over "$".
# Display math written \[...\] is left out: the briefing writer escapes a literal "[" as
# "\[", so that pair would turn bracketed title text into a math span.
_MATH_DELIMITERS = (("$$", "$$"), ("\\(", "\\)"), ("$", "$"))


def safe_link(url: str | None) -> str | None:
    """Return the URL, trimmed, when it is an absolute http(s) URL with a host, else None.

    Anything else (javascript:, data:, relative paths, URLs with spaces or control
    characters) is rejected, so callers show the text without a link.
    """
    if not url:
        return None

    candidate = url.strip()
    if _URL_FORBIDDEN_CHARS.search(candidate):
        return None

    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in _LINK_SCHEMES or not parts.hostname:
        return None

    return candidate


def _math_span_end(src: str, start: int, opening: str, closing: str) -> int | None:
    """Return the index just past the closing delimiter of a LaTeX span, or None."""
    if opening == "$":
        # Pandoc's rule for single dollars, so that "$5 and $10" stays text: no space
        # after the opening or before the closing dollar, and no digit after the closing one.
        if start >= len(src) or src[start].isspace():
            return None
        end = start
        while True:
            end = src.find("$", end)
            if end < 0:
                return None
            if src[end - 1] != "\\":
                break
            end += 1
        if end == start or src[end - 1].isspace():
            return None
        if end + 1 < len(src) and src[end + 1].isdigit():
            return None
        return end + 1

    end = src.find(closing, start)
    if end <= start:
        return None
    return end + len(closing)


def _math_inline(state: StateInline, silent: bool) -> bool:
    """Inline rule that keeps a LaTeX span as literal text, before Markdown escapes apply."""
    for opening, closing in _MATH_DELIMITERS:
        if not state.src.startswith(opening, state.pos):
            continue

        end = _math_span_end(state.src, state.pos + len(opening), opening, closing)
        if end is None or end > state.posMax:
            return False
        if not silent:
            token = state.push("math_inline", "", 0)
            token.content = state.src[state.pos : end]
        state.pos = end
        return True

    return False


def _render_math_inline(self, tokens, idx, options, env) -> str:  # noqa: ANN001
    return f'<span class="math">{escapeHtml(tokens[idx].content)}</span>'


def _render_link_open(self, tokens, idx, options, env) -> str:  # noqa: ANN001
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _validate_link(url: str) -> bool:
    return safe_link(url) is not None


@cache
def _markdown_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable("table")
    parser.enable("strikethrough")
    parser.disable("image")
    parser.validateLink = _validate_link
    parser.inline.ruler.before("escape", "math_inline", _math_inline)
    parser.add_render_rule("math_inline", _render_math_inline)
    parser.add_render_rule("link_open", _render_link_open)
    return parser


def render_briefing_markdown(markdown_text: str) -> Markup:
    """Render briefing Markdown to HTML with raw HTML escaped and only http(s) links.

    The result is marked safe for Jinja2: it is the only markup the site inserts unescaped.
    """
    parser = _markdown_parser()
    tokens = parser.parse(markdown_text)

    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1]) + _HEADING_OFFSET)
            token.tag = f"h{level}"

    html = parser.renderer.render(tokens, parser.options, {})
    # Safe to mark: html=False escapes every tag in the input, validateLink drops non-http(s)
    # links, and the custom rules above emit only escaped text.
    return Markup(html)
