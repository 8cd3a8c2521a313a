"""What every history parser returns for one page, and the error it raises."""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
from lxml import etree

from hub_pipeline.lib.models import Entry
from hub_pipeline.lib.normalize import _surname, clean_text, title_key
from hub_pipeline.lib.sources.columns import NEEDS_FULL_CLEAN, PAGE_SCHEMA


_NEEDS_FULL_CLEAN = re.compile(NEEDS_FULL_CLEAN)


def xml_error_detail(error: etree.XMLSyntaxError) -> str:
    """Describe an lxml syntax error once: libxml2's message, then its line and column.

    ``str(error)`` repeats the position ("..., line 1, column 145 (<string>, line 1)").
    """
    last = error.error_log.last_error
    if last is None:
        return str(error)
    return f"{last.message} (line {last.line}, column {last.column})"


class HistoryPageError(ValueError):
    """A stored page of a history source is not what the source should send."""


class HistoryPage:
    """One parsed page: its records, the announcement day of each, and how to get the next page.

    The records are a polars frame of sources.columns.PAGE_SCHEMA (``frame``); the JSON
    parsers build ``Entry`` objects and ``days`` instead, and either form is derived from the
    other on first use. ``next_token`` is the OAI resumptionToken or Crossref cursor (None or
    "" ends the list); ``total`` is the size of the whole result when the source states it.
    """

    __slots__ = ("_frame", "_entries", "_days", "next_token", "total", "cursor", "warnings")

    def __init__(
        self,
        entries: list[Entry] | None = None,
        days: list[date | None] | None = None,
        *,
        frame: pl.DataFrame | None = None,
        next_token: str | None = None,
        total: int | None = None,
        cursor: int | None = None,
    ) -> None:
        self._frame = frame
        self._entries: list[Entry] | None = None
        self._days: list[date | None] | None = None
        if frame is None:
            self._entries = entries if entries is not None else []
            self._days = days if days is not None else [None] * len(self._entries)
        self.next_token = next_token
        self.total = total
        self.cursor = cursor
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return self._frame.height if self._frame is not None else len(self._entries or [])

    @property
    def frame(self) -> pl.DataFrame:
        if self._frame is None:
            columns: dict[str, list] = {name: [] for name in PAGE_SCHEMA}
            fields = [name for name in PAGE_SCHEMA if name != "day"]
            for entry in self._entries or []:
                for name in fields:
                    columns[name].append(getattr(entry, name))
            columns["day"] = list(self._days or [])
            self._frame = pl.DataFrame(columns, schema=PAGE_SCHEMA)
        return self._frame

    @frame.setter
    def frame(self, frame: pl.DataFrame) -> None:
        self._frame, self._entries, self._days = frame, None, None

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            fields = [name for name in PAGE_SCHEMA if name != "day"]
            self._entries = [Entry(**dict(zip(fields, values))) for values in self._frame.select(fields).iter_rows()]
        return self._entries

    @property
    def days(self) -> list[date | None]:
        if self._days is None:
            self._days = self._frame["day"].to_list()
        return self._days


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
