"""A day's state per source, read from fetch_log, and the checks that every empty day has a reason.

The ingest asset checks and the site both read these records, so the Dagster UI and the pages
say the same thing: which sources loaded, which had nothing to announce, and which failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
import duckdb
from defusedxml import DefusedXmlException

from hub_pipeline.lib.calendar import ARXIV_HOLIDAYS, is_announcement_day
from hub_pipeline.lib.config import HISTORY_KINDS
from hub_pipeline.lib.rawstore import read_payload

# Source kinds that carry arXiv's listings, daily (RSS) or backfilled (OAI-PMH, API).
ARXIV_KINDS = frozenset({"arxiv_rss", "arxiv_oai", "arxiv_api"})
# Outcomes that carry their own reason for an empty day.
EXPLAINED_OUTCOMES = frozenset({"no_announcement", "unchanged", "stale", "skipped", "source_error", "parse_error"})
# Days of history the empty-abstract check compares against.
TRAILING_DAYS = 10
# A day's empty-abstract share may exceed its trailing level by this much before the check fails.
EMPTY_ABSTRACT_TOLERANCE = 0.25
# Without history, a source fails the empty-abstract check above this share.
EMPTY_ABSTRACT_CEILING = 0.5
# Sources with fewer items than this are not judged by their empty-abstract share.
EMPTY_ABSTRACT_MIN_ITEMS = 5

_ITEM_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")


@dataclass(slots=True, frozen=True)
class SourceState:
    """One source's state for one announcement day, as fetch_log records it."""

    source_id: str
    source_kind: str
    label: str  # badge text, e.g. "arXiv (cs.CL)"
    day: date
    outcome: str
    items: int
    reason: str | None = None
    feed_day: date | None = None

    @property
    def is_arxiv(self) -> bool:
        return self.source_kind in ARXIV_KINDS

    @property
    def is_backfill(self) -> bool:
        """Whether the day was loaded from a backfill harvest of the source's archive."""
        return self.source_kind in HISTORY_KINDS

    @property
    def needs_note(self) -> bool:
        """Whether the page should carry a note for this source: anything but a daily load with items.

        A load's reason (parse warnings, a payload kept over a failed re-fetch) is for the operator
        and stays in fetch_log, so a daily load with items gets no note.
        """
        return self.outcome != "loaded" or self.items == 0 or self.is_backfill


@dataclass(slots=True)
class CheckOutcome:
    """The verdict of one day check, in plain data so it can be tested without Dagster."""

    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def load_source_states(conn: duckdb.DuckDBPyConnection, day: date, labels: dict[str, str] | None = None) -> list[SourceState]:
    """Return every fetch_log row of ``day`` as a SourceState, ordered by source id."""
    rows = conn.execute(
        """
        SELECT source_id, source_kind, outcome, coalesce(items, 0), reason, feed_day
        FROM main.fetch_log
        WHERE day = ?
        ORDER BY source_id
        """,
        [day],
    ).fetchall()
    labels = labels or {}
    return [
        SourceState(
            source_id=source_id,
            source_kind=kind,
            label=labels.get(source_id, source_id),
            day=day,
            outcome=outcome,
            items=int(items),
            reason=reason,
            feed_day=feed_day,
        )
        for source_id, kind, outcome, items, reason, feed_day in rows
    ]


def no_announcement_cause(day: date) -> str:
    """Return "weekend", "holiday" or "empty_feed" for an arXiv day without a mailing."""
    if day.weekday() >= 5:
        return "weekend"
    if day in ARXIV_HOLIDAYS:
        return "holiday"
    return "empty_feed"


def state_summary(states: list[SourceState]) -> dict[str, dict[str, Any]]:
    """The day's state per source as JSON-ready data for Dagster metadata."""
    return {
        state.source_id: {"outcome": state.outcome, "items": state.items, "reason": state.reason or ""}
        for state in states
    }


# --- checks ---------------------------------------------------------------------------------


def check_arxiv_weekday(conn: duckdb.DuckDBPyConnection, day: date, arxiv_source_ids: list[str]) -> CheckOutcome:
    """Fail a weekday with zero new arXiv papers unless every arXiv source's state explains it."""
    if not arxiv_source_ids:
        return CheckOutcome(True, f"{day}: no arXiv source is configured", {"arxiv_sources": 0})
    states = {state.source_id: state for state in load_source_states(conn, day)}
    new_papers = conn.execute(
        "SELECT count(*) FROM raw.entries WHERE day = ? AND source_kind = 'arxiv_rss' AND announce_type = 'new'",
        [day],
    ).fetchone()[0]
    metadata: dict[str, Any] = {"new_arxiv_entries": int(new_papers), "arxiv_sources": len(arxiv_source_ids)}

    missing = [source_id for source_id in arxiv_source_ids if source_id not in states]
    if missing:
        return CheckOutcome(
            False,
            f"{day}: no fetch_log row for {', '.join(missing)}; materialize raw_payloads and entries for this day",
            metadata,
        )
    if new_papers > 0 or day.weekday() >= 5:
        return CheckOutcome(True, f"{day}: {new_papers} new arXiv entries", metadata)

    unexplained = [
        states[source_id]
        for source_id in arxiv_source_ids
        if states[source_id].outcome not in EXPLAINED_OUTCOMES or not states[source_id].reason
    ]
    metadata["states"] = {source_id: states[source_id].outcome for source_id in arxiv_source_ids}
    if unexplained:
        names = ", ".join(f"{state.source_id} ({state.outcome}, {state.items} items)" for state in unexplained)
        return CheckOutcome(
            False,
            f"{day} is a weekday and no arXiv source has a new paper, and fetch_log gives no reason for {names}; "
            "inspect the stored payloads (raw.fetch_attempts) and re-run the day",
            metadata,
        )
    calendar = "an arXiv holiday" if not is_announcement_day(day) else "an announcement weekday"
    return CheckOutcome(True, f"{day} ({calendar}): no new arXiv paper, explained by fetch_log for every arXiv source", metadata)


def empty_abstract_counts(conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> dict[tuple[str, date], tuple[int, int]]:
    """Items and items without an abstract per (source, day), for the days first_day..last_day."""
    rows = conn.execute(
        """
        SELECT source_id, day, count(*), count(*) FILTER (WHERE abstract = '')
        FROM raw.entries WHERE day >= ? AND day <= ? GROUP BY source_id, day
        """,
        [first_day, last_day],
    ).fetchall()
    return {(source_id, day): (int(items), int(empty)) for source_id, day, items, empty in rows}


def check_empty_abstracts(
    conn: duckdb.DuckDBPyConnection,
    day: date,
    trailing_days: int = TRAILING_DAYS,
    counts: dict[tuple[str, date], tuple[int, int]] | None = None,
) -> CheckOutcome:
    """Compare each source's share of empty abstracts on ``day`` with its trailing level.

    ``counts`` (from empty_abstract_counts over a window and its trailing days) lets a
    backfill check a year of days with one query instead of one per day.
    """
    start = day - timedelta(days=trailing_days)
    if counts is None:
        counts = empty_abstract_counts(conn, start, day)
    history: dict[str, list[int]] = {}
    for (source_id, seen), (items, empty) in counts.items():
        if start <= seen < day:
            totals = history.setdefault(source_id, [0, 0, 0])
            totals[0] += 1
            totals[1] += items
            totals[2] += empty
    rows = []
    for (source_id, seen), (items, empty) in sorted(counts.items()):
        if seen == day:
            days, total, blank = history.get(source_id, (0, 0, 0))
            rows.append((source_id, items, empty / items, days, blank / total if total else None))
    shares: dict[str, Any] = {}
    failing = []
    for source_id, items, share, history_days, trailing in rows:
        limit = EMPTY_ABSTRACT_CEILING if not history_days else min(1.0, trailing + EMPTY_ABSTRACT_TOLERANCE)
        shares[source_id] = {
            "items": int(items),
            "empty_share": round(float(share), 3),
            "trailing_share": None if trailing is None else round(float(trailing), 3),
            "trailing_days": int(history_days),
        }
        if items >= EMPTY_ABSTRACT_MIN_ITEMS and share > limit:
            level = f"its trailing {trailing_days}-day level {trailing:.0%}" if history_days else "no history"
            failing.append(f"{source_id}: {share:.0%} of {items} items have no abstract ({level})")
    if failing:
        return CheckOutcome(
            False,
            f"{day}: empty abstracts above the usual level: " + "; ".join(failing)
            + ". Check whether the feed changed its format or the parser misses the abstract field",
            {"sources": shares},
        )
    return CheckOutcome(True, f"{day}: empty-abstract share within its usual level for {len(rows)} sources", {"sources": shares})


def count_payload_items(body: bytes) -> int:
    """Count the item or entry elements of a feed payload, independently of the parser."""
    try:
        root = defusedxml.ElementTree.fromstring(body)
    except (ParseError, DefusedXmlException, ValueError):
        return len(_ITEM_TAG.findall(body))
    return sum(
        1
        for element in root.iter()
        if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] in ("item", "entry")
    )


def check_expected_counts(conn: duckdb.DuckDBPyConnection, day: date, raw_dir: Path) -> CheckOutcome:
    """Record, per loaded source, the items in its payload against the rows stored for the day."""
    rows = conn.execute(
        """
        SELECT log.source_id, log.source_kind, log.payload_sha256, count(entries.item_index)
        FROM main.fetch_log AS log
        LEFT JOIN raw.entries AS entries
          ON entries.day = log.day AND entries.source_id = log.source_id
        WHERE log.day = ? AND log.outcome = 'loaded'
        GROUP BY ALL
        ORDER BY log.source_id
        """,
        [day],
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    short = []
    for source_id, source_kind, digest, observed in rows:
        if not digest or source_kind in HISTORY_KINDS:
            # A backfill harvest spreads many pages over many days, so no single payload gives
            # a day's expected count (its payload digest names the harvest's manifest); the
            # harvest's own page count is in raw.harvest_pages.
            continue
        expected = count_payload_items(read_payload(raw_dir, digest))
        counts[source_id] = {"expected": expected, "observed": int(observed)}
        if observed != expected:
            short.append(f"{source_id}: {expected} items in the payload, {observed} rows loaded")
    metadata = {
        "sources": counts,
        "expected_total": sum(count["expected"] for count in counts.values()),
        "observed_total": sum(count["observed"] for count in counts.values()),
    }
    if short:
        return CheckOutcome(
            False,
            f"{day}: loaded rows differ from the payload: " + "; ".join(short)
            + ". The parse warnings in fetch_log.reason say which items were dropped",
            metadata,
        )
    return CheckOutcome(True, f"{day}: every loaded source stored one row per payload item", metadata)
