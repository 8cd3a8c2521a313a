"""Plain data records passed between the pipeline's stages.

These are the contracts between the Dagster-free modules in ``lib/``: parsers produce
``Entry`` rows, the radar matcher consumes papers and produces ``Match`` rows, and the
briefing writers and the site renderer consume ``BriefingPaper`` and ``Briefing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Language = Literal["zh-CN", "en"]

# Outcomes a fetch or parse of one source for one day can end in; stored in fetch_log.outcome.
FetchOutcome = Literal[
    "loaded",  # payload fetched and parsed, items stored
    "no_announcement",  # the source made no announcement that day (weekend, holiday, empty feed)
    "unchanged",  # HTTP 304, or the same bytes as the previous day's payload
    "stale",  # the feed still shows an earlier day's announcement
    "skipped",  # the source has no data for this day (an RSS feed requested for a past day)
    "source_error",  # network failure, HTTP error, or a body that is not a feed
    "parse_error",  # the body looked like a feed but could not be parsed
]


@dataclass(slots=True)
class Entry:
    """One item of one source payload, as the source stated it plus normalized fields."""

    source_id: str
    source_kind: str
    item_index: int
    title: str
    abstract: str
    raw_title: str = ""
    raw_summary: str = ""
    feed_category: str | None = None  # the category or subject of the feed the item came from
    guid: str | None = None
    link: str | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    announce_type: str | None = None  # arXiv: new, cross, replace, replace-cross
    arxiv_id: str | None = None  # without version: 2406.12345 or hep-th/9901001
    arxiv_version: int | None = None
    doi: str | None = None  # lower-case, without doi: or URL prefix
    published: datetime | None = None  # the item's own date, UTC
    journal: str | None = None  # journal or server name (Nature, bioRxiv, arXiv)
    title_key: str = ""  # normalized title plus first-author surname, the weakest identity
    # Links to other versions of the work, for the identity step and paper_links.
    version_label: str | None = None  # the version the item describes as the source wrote it, e.g. "v2"
    published_doi: str | None = None  # a preprint's journal article (bioRxiv "published", arXiv DOI)
    journal_ref: str | None = None  # citation of the published version (arXiv journal_ref)
    relation_dois: list[str] = field(default_factory=list)  # "<Crossref relation type>:<doi>"


@dataclass(slots=True)
class ParsedFeed:
    """A parsed payload: the feed's own metadata and its entries."""

    feed_title: str
    entries: list[Entry]
    # The announcement day the feed states for itself (arXiv RSS: the channel pubDate in
    # the feed's own time zone); None when the feed states none.
    feed_day: date | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class BriefingPaper:
    """One matched paper as the briefing writers and the site see it."""

    paper_id: str  # e.g. arxiv:2503.14603, doi:10.1101/2019.12.11.123456
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    source_id: str  # the source of the listing that matched, e.g. arxiv-cs-cl
    source_label: str  # badge text, e.g. "arXiv (cs.CL)", "Nature", "bioRxiv (Plant Biology)"
    link: str | None
    announced_day: date
    score: float
    rank: int
    reasons: list[str]  # human-readable, e.g. 'title: "diffusion"'
    is_update: bool = False  # a later version of a paper the radar already reported
    version: int | None = None
    published_journal: str | None = None  # a preprint's journal, or the citation, once published
    published_link: str | None = None  # the journal article's link (https://doi.org/...)
    # Category or subject of the listing's feed, e.g. cs.CL, as source_label shows it; None for
    # feeds without one (most journals). ``categories`` is sorted, so its first item is not the field.
    feed_category: str | None = None


@dataclass(slots=True)
class RadarInfo:
    """The fields of a radar that writers and renderers need."""

    radar_id: str
    name: str
    language: Language
    query: str
    description: str = ""
    glossary: list[str] = field(default_factory=list)  # terms a briefing keeps exactly as written


@dataclass(slots=True)
class BriefingTheme:
    title: str
    text: str
    paper_ids: list[str]


@dataclass(slots=True)
class ReadingItem:
    paper_id: str
    why: str


@dataclass(slots=True)
class Briefing:
    """One briefing per radar and day, with what is needed to audit it."""

    radar_id: str
    day: date
    language: Language
    generator: str  # "offline" or "llm"
    model: str | None  # the model name for LLM briefings
    prompt_version: str
    headline: str
    themes: list[BriefingTheme]
    reading_list: list[ReadingItem]
    input_ids: list[str]
    cited_ids: list[str]
    removed_ids: list[str]  # citations the model made that were not in the day's set
    tokens_in: int = 0
    tokens_out: int = 0
    error: str | None = None  # why an LLM briefing failed and the offline writer took over
    created_at: datetime | None = None
    radar_name: str = ""  # the radar's name, for headings; empty falls back to radar_id
    # Papers from different fields linked by a shared method or question.
    cross_domain: list[BriefingTheme] = field(default_factory=list)
    # One note per paper that is a new version of a work the radar reported before.
    updates: list[ReadingItem] = field(default_factory=list)
    # Kind of LLM failure behind ``error``: rate_limited, quota_exhausted, refused, timeout,
    # wrong_language, invalid_reply, no_valid_citations, budget_exhausted, http_error, connection_error.
    failure: str | None = None
    cache_key: str | None = None  # response cache key; None for briefings written without a model
    cached: bool = False  # True when the model's reply came from the response cache (no tokens spent)
    requests: int = 0  # chat completion requests made, retries and batches included
    batches: int = 0  # paper batches summarized before the combining request; 0 for one request
    cost_usd: float = 0.0  # estimated from tokens and the configured prices per 1K tokens
