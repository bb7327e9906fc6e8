"""Does a free slot suit a waitlist entry? Pure rules, no database: the offering pass and the tests share them.

The slot engine has already said the slot is free and bookable now (inside the doctor's
hours, outside time off, clear of every booking and buffer, at least the clinic's minimum
notice ahead, within the horizon). What is left is the patient's own wish: the day in their
range, a weekday and part of the day they chose, at least the notice they need, earlier
than the appointment they want to bring forward, and no appointment of theirs at that time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from carebook import timefmt
from carebook.quiet_hours import QuietWindow
from models.waitlist import PARTS_OF_DAY

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Wish:
    """What one entry asks for, read from its row (plain values: no ORM object in the rules)."""

    entry_id: int
    patient_id: int
    earliest_date: date
    latest_date: date
    weekdays: int
    times_of_day: int
    min_notice: timedelta
    #: The start of the appointment to bring forward ("earlier than this"), and its id; else None.
    earlier_than_start: datetime | None = None
    earlier_than_id: int | None = None

    @classmethod
    def of(cls, entry, earlier_than_start: datetime | None = None) -> Wish:
        return cls(entry.id, entry.patient_id, entry.earliest_date, entry.latest_date, entry.weekdays,
                   entry.times_of_day, timedelta(minutes=entry.min_notice_minutes), earlier_than_start,
                   entry.earlier_than_appointment_id)


def weekday_bit(day: date) -> int:
    return 1 << day.weekday()


def part_of_day_bit(instant: datetime, tz: ZoneInfo) -> int:
    return 1 << PARTS_OF_DAY.index(timefmt.part_of_day(instant, tz))


def suits(wish: Wish, start_at: datetime, end_at: datetime, tz: ZoneInfo, now: datetime,
          patient_busy: Iterable[Interval] = ()) -> bool:
    """Whether the slot [start_at, end_at) is one the patient asked for, as of ``now``."""
    day = start_at.astimezone(tz).date()
    if not wish.earliest_date <= day <= wish.latest_date:
        return False
    if not wish.weekdays & weekday_bit(day):
        return False
    if not wish.times_of_day & part_of_day_bit(start_at, tz):
        return False
    if start_at < now + wish.min_notice:
        return False
    if wish.earlier_than_id is not None and (wish.earlier_than_start is None or start_at >= wish.earlier_than_start):
        return False
    return not any(start < end_at and start_at < end for start, end in patient_busy)


@dataclass(frozen=True)
class OfferTiming:
    """When an offer made now stops holding off the next patients, and when its SMS may go."""

    #: The end of the hold-free window: then the next patients are offered the slot, if still free.
    expires_at: datetime
    #: When the offer's SMS goes: now, or the end of the quiet hours; None: not before the slot closes.
    sms_at: datetime | None


def offer_timing(start_at: datetime, now: datetime, hold: timedelta, minimum_notice: timedelta,
                 quiet: QuietWindow | None = None) -> OfferTiming | None:
    """The timing of an offer of the slot at ``start_at`` made ``now``; None: no time is left to offer it.

    The hold-free window is ``hold`` from now, or from the end of the clinic's quiet hours for an
    offer made in them (the patients reached by SMS get their whole window, and the queue is not
    run through while everyone sleeps); never past the last moment the slot can still be booked
    online (its start minus the clinic's minimum notice). The SMS waits for the end of the quiet
    hours too, and is not sent at all if the slot can no longer be booked by then.
    """
    last = start_at - minimum_notice
    if last <= now:
        return None
    texts_from = quiet.next_free(now) if quiet is not None else now
    return OfferTiming(expires_at=min(texts_from + hold, last), sms_at=texts_from if texts_from < last else None)
