"""The announcement day of an arXiv submission, derived from its v1 time and arXiv's schedule.

arXiv closes each submission window at 14:00 US Eastern time on weekdays and announces the
window at 20:00 the same day (the Friday window on Sunday), and its listings date a mailing
with the day after the announcement. So a submission made Monday before 14:00 ET appears in the
mailing dated Tuesday, one made Friday after 14:00 ET in the mailing dated Tuesday as well.

How exact this is: for a v1 time the rule matches arXiv's listing day unless the paper was put
on hold by moderation (it then appears later), or a holiday moved the deadline (the mailing
moves to the next announcement day here, while arXiv may also shift the cut-off). OAI-PMH's
arXiv format gives only the date of v1, not the time; those records are assumed to have come in
before that day's cut-off, so they can be one mailing early. Where the daily RSS saw the
paper, its day wins (staging.entries).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from hub_pipeline.lib.calendar import EASTERN, is_announcement_day

CUTOFF = time(14, 0)  # US Eastern


def announcement_day(submitted: datetime) -> date:
    """Return the mailing day (as arXiv's listings date it) of a v1 submitted at ``submitted``."""
    if submitted.tzinfo is None:
        submitted = submitted.replace(tzinfo=timezone.utc)
    local = submitted.astimezone(EASTERN)
    deadline = local.date()
    if local.time() >= CUTOFF or deadline.weekday() >= 5:
        deadline += timedelta(days=1)
    return mailing_for_deadline(deadline)


@lru_cache(maxsize=4096)  # a harvest has a few hundred distinct dates over many records
def announcement_day_from_date(submitted_on: date) -> date:
    """Like ``announcement_day`` when only the date of v1 is known: assume before the cut-off."""
    deadline = submitted_on
    while deadline.weekday() >= 5:
        deadline += timedelta(days=1)
    return _mailing_after(deadline)


def _mailing_after(deadline: date) -> date:
    # Monday to Thursday windows are dated the next day; Friday's is announced Sunday evening
    # and dated Monday. A mailing that would fall on a holiday moves to the next announcement day.
    mailing = deadline + timedelta(days=3 if deadline.weekday() == 4 else 1)
    while not is_announcement_day(mailing):
        mailing += timedelta(days=1)
    return mailing


def mailing_for_deadline(deadline: date) -> date:
    """Return the mailing of the window that closes on ``deadline`` (moved past a weekend first).

    ``announcement_day`` applies this rule to the day a submission's window closes. The
    column-wise parsers compute that day with polars and call this once per distinct day.
    """
    while deadline.weekday() >= 5:
        deadline += timedelta(days=1)
    return _mailing_after(deadline)
