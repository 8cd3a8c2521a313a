"""arXiv's announcement calendar: which days carry a mailing.

arXiv announces new submissions Sunday to Thursday at 20:00 US Eastern time, and its RSS feeds
date each mailing with the following day, so mailings fall on Monday to Friday. The feeds are
rebuilt shortly after midnight Eastern time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")

# Weekdays that carry no mailing, dated as the feeds date mailings. NOTE: approximate. The
# dates follow arXiv's usual closures (New Year, US Thanksgiving, Christmas) and were not
# checked against arXiv's published schedule, so compare them with it each year. Ingest still
# fetches listed days and loads a feed that carries that day's mailing, and an unlisted
# holiday's empty feed becomes no_announcement, so an error here hides no papers.
ARXIV_HOLIDAYS: frozenset[date] = frozenset(
    {
        date(2024, 1, 1),
        date(2024, 11, 28),
        date(2024, 12, 25),
        date(2024, 12, 26),
        date(2025, 1, 1),
        date(2025, 11, 27),
        date(2025, 12, 25),
        date(2025, 12, 26),
        date(2026, 1, 1),
        date(2026, 11, 26),
        date(2026, 12, 25),
    }
)

# The feed for a mailing dated D is rebuilt around 00:00-00:30 Eastern time on D; an hour of
# margin keeps a run from reading the previous mailing.
_FEED_READY_HOUR_ET = 1


def is_announcement_day(day: date) -> bool:
    """Return whether arXiv publishes a mailing dated ``day``."""
    return day.weekday() < 5 and day not in ARXIV_HOLIDAYS


def no_announcement_reason(day: date) -> str | None:
    """Say why ``day`` carries no arXiv mailing, or None when it does."""
    if day.weekday() >= 5:
        return f"no arXiv mailing on {day.isoformat()} ({day.strftime('%A')}): arXiv does not announce on weekends"
    if day in ARXIV_HOLIDAYS:
        return f"no arXiv mailing on {day.isoformat()}: an arXiv holiday"
    return None


def latest_announcement_day(now: datetime | None = None) -> date:
    """Return the most recent announcement day whose feeds are complete at ``now``."""
    current = (now or datetime.now(timezone.utc)).astimezone(EASTERN)
    day = (current - timedelta(hours=_FEED_READY_HOUR_ET)).date()
    while not is_announcement_day(day):
        day -= timedelta(days=1)
    return day
