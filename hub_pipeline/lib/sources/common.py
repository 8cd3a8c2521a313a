"""What every history parser returns for one page, and the error it raises."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from hub_pipeline.lib.models import Entry
from hub_pipeline.lib.normalize import _surname, clean_text, title_key


# Characters after which clean_text does more than fold whitespace: markup, character
# references, and invisible characters that are not whitespace (which it removes).
_NEEDS_FULL_CLEAN = re.compile("[&<\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff]")


class HistoryPageError(ValueError):
    """A stored page of a history source is not what the source should send."""


@dataclass(slots=True)
class HistoryPage:
    """One parsed page: its entries, the announcement day of each, and how to get the next page.

    ``next_token`` is the OAI resumptionToken or Crossref cursor (None or "" ends the list);
    ``total`` is the size of the whole result when the source states it.
    """

    entries: list[Entry]
    days: list[date | None]
    next_token: str | None = None
    total: int | None = None
    cursor: int | None = None
    warnings: list[str] = field(default_factory=list)


def clean(text: str | None) -> str:
    """clean_text, with a fast path for text that holds no markup or character reference."""
    if not text:
        return ""
    if _NEEDS_FULL_CLEAN.search(text):
        return clean_text(text)
    return " ".join(text.split())


def unwrap_recorded(body: bytes) -> tuple[bytes, int | None]:
    """Return the response body of a recorded {url, status_code, body} JSON, or ``body`` itself.

    arXiv API responses recorded by test suites are kept in this wrapper; the page inside is
    the verbatim Atom.
    """
    head = body[:200].lstrip()
    if not head.startswith(b"{"):
        return body, None
    try:
        wrapper = json.loads(body)
    except ValueError:
        return body, None
    if isinstance(wrapper, dict) and isinstance(wrapper.get("body"), str) and "status_code" in wrapper:
        return wrapper["body"].encode("utf-8"), int(wrapper["status_code"])
    return body, None


_NOT_ASCII_ALNUM = re.compile(r"[^0-9a-z\s]+")


def fast_title_key(title: str, first_author: str | None) -> str:
    """normalize.title_key for a cleaned title, without its Unicode folding when all is ASCII.

    For ASCII text casefold is lower() and no accents need folding, so one regex does the work;
    any other text goes through title_key itself, so both give the same key.
    """
    if not title.isascii() or (first_author and not first_author.isascii()) or "&" in title or "<" in title:
        return title_key(title, first_author)
    surname = _surname(first_author) if first_author else ""
    folded_title = " ".join(_NOT_ASCII_ALNUM.sub("", title.lower()).split())
    folded_surname = " ".join(_NOT_ASCII_ALNUM.sub("", surname.lower()).split())
    return f"{folded_title}|{folded_surname}"
