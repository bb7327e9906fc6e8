"""The span of days and instants the app works with: far enough from the ends of Python's
calendar (0001-01-01 and 9999-12-31) that no shift the app makes can leave it.

Pages, checks and queries move days by weeks (a two-week strip, a month overview, a slot
range) and instants by a day or so (time zones, the busy window around a booking); at the
ends of the calendar either raises OverflowError. A day or an instant outside the span is
simply too far away: the booking service refuses it like any other time beyond the booking
window, and a page asked to show such a day shows its default day instead.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

#: More than any shift the app makes (the longest is a slot range or a month overview).
MARGIN = timedelta(days=400)
FIRST_DAY = date.min + MARGIN
LAST_DAY = date.max - MARGIN
FIRST_INSTANT = datetime.combine(FIRST_DAY, time(0), timezone.utc)
LAST_INSTANT = datetime.combine(LAST_DAY, time(0), timezone.utc)


def day_in_span(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def instant_in_span(instant: datetime) -> bool:
    """Whether an aware instant is inside the span (comparing aware datetimes never overflows)."""
    return FIRST_INSTANT <= instant <= LAST_INSTANT
