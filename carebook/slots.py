"""The slot engine: which appointment slots of a doctor can still be booked.

Pure functions over plain values (no database, no Flask), so the portal, the
booking service and the benchmark all share one definition of "bookable".

Working hours are clinic wall-clock times, but slots are real instants. Each
local day's ranges are turned into UTC intervals once, and slots are then
stepped in elapsed time inside those intervals. The DST rule:

* a wall time is read with ``fold=0``: in the repeated autumn hour that is the
  first occurrence, so 00:00-04:00 on a fall-back day lasts five real hours;
* a wall time that does not exist (the spring-forward gap) becomes the first
  instant after the gap, the transition itself, so 00:00-04:00 on a
  spring-forward day lasts three real hours;
* a range whose converted end is not after its start is dropped.

Because slots step in real time, no hour is lost or doubled and no slot can
start at a wall time that does not exist.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

__all__ = [
    "GRID_DURATION",
    "GRID_DURATION_PLUS_BUFFER",
    "GRID_MODES",
    "Availability",
    "Interval",
    "Slot",
    "TimeRange",
    "WeeklyPattern",
    "bookable_slots",
    "calendar_slots",
    "find_slot",
    "grid_minutes_for",
    "group_by_local_day",
    "within",
    "working_intervals",
]

TimeRange = tuple[time, time]
"""Local wall-clock ``[start, end)`` with ``end > start``."""

Interval = tuple[datetime, datetime]
"""Aware instants ``[start, end)``; the engine returns them in UTC."""

UTC = timezone.utc
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)
# Bounds no real slot reaches (with room for an appointment's length after the latter).
_BEFORE_ANY_SLOT = datetime(1, 1, 2, tzinfo=UTC)
_AFTER_ANY_SLOT = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WeeklyPattern:
    """Weekly hours that apply from ``valid_from`` until the next pattern starts."""

    valid_from: date
    ranges: Mapping[int, Sequence[TimeRange]]  # weekday (Monday=0) -> ranges; missing = off


@dataclass(frozen=True)
class Availability:
    """Everything about a doctor's own time that decides their slots."""

    appointment_minutes: int
    buffer_minutes: int = 0
    patterns: Sequence[WeeklyPattern] = ()
    # A date present here replaces that day's weekly ranges; an empty sequence closes it.
    overrides: Mapping[date, Sequence[TimeRange]] = field(default_factory=dict)
    time_off: Sequence[Interval] = ()
    #: Minutes between possible start times, from each working range's start (the app passes
    #: :func:`grid_minutes_for` the clinic's grid). None: the length plus the buffer (back-to-back
    #: slots, as before appointment types). A grid finer than the length lists overlapping start
    #: times (each is free on its own; booking one takes the others).
    grid_minutes: int | None = None


#: The clinic's start-time grids besides a number of minutes (``SLOT_GRID_MINUTES``): each
#: type's own duration for the doctor (the default), or its duration plus its buffer.
GRID_DURATION = "duration"
GRID_DURATION_PLUS_BUFFER = "duration+buffer"
GRID_MODES = (GRID_DURATION, GRID_DURATION_PLUS_BUFFER)


def grid_minutes_for(grid: int | str, appointment_minutes: int, buffer_minutes: int) -> int:
    """Minutes between start times for a type of this length and buffer on the clinic's ``grid``.

    ``grid`` is a whole number of minutes (the same for every type) or one of :data:`GRID_MODES`.
    """
    if grid == GRID_DURATION:
        return appointment_minutes
    if grid == GRID_DURATION_PLUS_BUFFER:
        return appointment_minutes + buffer_minutes
    if isinstance(grid, int) and not isinstance(grid, bool):
        return grid
    raise ValueError(f"not a slot grid: {grid!r}")


@dataclass(frozen=True, order=True, slots=True)
class Slot:
    """One bookable appointment, as UTC instants ``[start_at, end_at)``."""

    start_at: datetime
    end_at: datetime


# --------------------------------------------------------------------------- public API


def working_intervals(availability: Availability, day: date, tz: ZoneInfo) -> list[Interval]:
    """The doctor's working time on local date ``day`` as sorted UTC intervals.

    Overlapping or touching ranges are merged, so the result is disjoint.
    """
    return _Schedule(availability).day_intervals(day, tz)


def bookable_slots(
    availability: Availability,
    *,
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    now: datetime,
    minimum_notice: timedelta,
    horizon: timedelta,
    busy: Iterable[Interval] = (),
    taken: Iterable[Interval] = (),
) -> list[Slot]:
    """All bookable slots whose local start date is in [first_day, last_day] (inclusive).

    Sorted by start; ``busy`` holds existing appointments, in any order and zone, each
    widened by this availability's buffer on both sides. ``taken`` holds existing
    appointments that carry their own buffer already (``[start_at, buffer_end_at)``):
    a slot may end, plus this availability's buffer, where one of them starts, and start
    where its own buffer ends. Appointments of any length mix that way.
    """
    now = _to_utc(now, "now")
    intervals = _intervals_between(availability, first_day, last_day, tz)
    return _slots(availability, intervals, now + minimum_notice, now + horizon, busy, taken)


def calendar_slots(
    availability: Availability,
    *,
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    busy: Iterable[Interval] = (),
    taken: Iterable[Interval] = (),
) -> list[Slot]:
    """Every free slot whose local start date is in [first_day, last_day], whatever the time now.

    The grid starts at each working range's start, never at "now", so what a patient may
    book at any moment is exactly the part of this list that :func:`within` keeps: this
    list can be computed once and reused while the doctor's calendar is unchanged.
    """
    intervals = _intervals_between(availability, first_day, last_day, tz)
    return _slots(availability, intervals, _BEFORE_ANY_SLOT, _AFTER_ANY_SLOT, busy, taken)


def within(free: Sequence[Slot], earliest: datetime, latest: datetime) -> Sequence[Slot]:
    """The slots of the sorted ``free`` that start in [earliest, latest]: what :func:`bookable_slots` keeps."""
    return free[bisect_left(free, earliest, key=_start_of):bisect_right(free, latest, key=_start_of)]


def find_slot(
    availability: Availability,
    start_at: datetime,
    *,
    tz: ZoneInfo,
    now: datetime,
    minimum_notice: timedelta,
    horizon: timedelta,
    busy: Iterable[Interval] = (),
    taken: Iterable[Interval] = (),
) -> Slot | None:
    """The bookable slot starting exactly at ``start_at`` (aware, any zone), or None.

    It runs the same engine as :func:`bookable_slots` over the one local day, so the
    two can never disagree about what is bookable.
    """
    start_at = _to_utc(start_at, "start_at")
    day = start_at.astimezone(tz).date()
    slots = bookable_slots(
        availability,
        first_day=day,
        last_day=day,
        tz=tz,
        now=now,
        minimum_notice=minimum_notice,
        horizon=horizon,
        busy=busy,
        taken=taken,
    )
    i = bisect_left(slots, start_at, key=_start_of)
    if i < len(slots) and slots[i].start_at == start_at:
        return slots[i]
    return None


def group_by_local_day(slots: Iterable[Slot], tz: ZoneInfo) -> dict[date, list[Slot]]:
    """Slots keyed by their local start date, in order."""
    grouped: dict[date, list[Slot]] = {}
    for slot in sorted(slots):
        grouped.setdefault(slot.start_at.astimezone(tz).date(), []).append(slot)
    return grouped


# --------------------------------------------------------------------------- working time


class _Schedule:
    """Day-by-day lookup of working ranges, with the patterns sorted once per call."""

    def __init__(self, availability: Availability) -> None:
        # A stable sort keeps the later of two patterns with the same valid_from winning.
        self._patterns = sorted(availability.patterns, key=lambda p: p.valid_from)
        self._valid_from = [p.valid_from for p in self._patterns]
        self._overrides = availability.overrides
        self._readings: dict[time, tuple[time, time]] = {}

    def ranges_on(self, day: date) -> Sequence[TimeRange]:
        if day in self._overrides:
            return self._overrides[day]
        i = bisect_right(self._valid_from, day) - 1
        if i < 0:
            return ()
        return self._patterns[i].ranges.get(day.weekday(), ())

    def day_intervals(self, day: date, tz: ZoneInfo) -> list[Interval]:
        ranges = self.ranges_on(day)
        if not ranges:
            return []
        converted = []
        for start, end in ranges:
            start_utc = _local_to_utc(day, self._both_folds(start), tz)
            end_utc = _local_to_utc(day, self._both_folds(end), tz)
            if end_utc > start_utc:
                converted.append((start_utc, end_utc))
        return _merge(converted) if len(converted) > 1 else converted

    def _both_folds(self, wall: time) -> tuple[time, time]:
        # time.replace is slow and the same few wall times recur every day: build them once.
        readings = self._readings.get(wall)
        if readings is None:
            plain = wall.replace(tzinfo=None, fold=0)  # only the wall-clock reading counts
            readings = self._readings[wall] = (plain, plain.replace(fold=1))
        return readings


def _local_to_utc(day: date, wall: tuple[time, time], tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall time (given as its fold=0 and fold=1 readings) on ``day``."""
    first, second = wall
    before = tz.utcoffset(datetime.combine(day, first, tzinfo=tz))
    after = tz.utcoffset(datetime.combine(day, second, tzinfo=tz))
    utc = datetime.combine(day, first, tzinfo=UTC) - before
    if after <= before:
        # Unambiguous, or the repeated autumn hour where fold=0 is the first pass: already right.
        return utc
    # In a gap zoneinfo uses the offset from before the transition, which overshoots
    # into the later part of the day; the rule wants the transition instant itself.
    return _transition_in(utc - (after - before), utc, tz)


def _transition_in(lo: datetime, hi: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC instant in (lo, hi] that already uses ``hi``'s offset.

    Only reached for wall times inside a gap, which is rare, and tz transitions fall
    on whole seconds, so a bisection on seconds is cheap and exact.
    """
    # Whole-second bounds keep every probe, and so the answer, on a whole second.
    lo = lo.replace(microsecond=0)
    if hi.microsecond:
        hi = hi.replace(microsecond=0) + _ONE_SECOND
    target = hi.astimezone(tz).utcoffset()
    while hi - lo > _ONE_SECOND:
        mid = lo + (hi - lo) // 2 // _ONE_SECOND * _ONE_SECOND
        if mid.astimezone(tz).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, disjoint union of ``intervals``; touching ones are joined."""
    intervals.sort()
    merged: list[Interval] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _intervals_between(availability: Availability, first_day: date, last_day: date, tz: ZoneInfo) -> list[Interval]:
    """Working time of every local day in [first_day, last_day], in UTC, day after day."""
    schedule = _Schedule(availability)
    intervals: list[Interval] = []
    day = first_day
    while day <= last_day:
        intervals.extend(schedule.day_intervals(day, tz))
        day += _ONE_DAY
    return intervals


# --------------------------------------------------------------------------- slot walk


def _slots(
    availability: Availability,
    intervals: list[Interval],
    earliest: datetime,
    latest: datetime,
    busy: Iterable[Interval],
    taken: Iterable[Interval] = (),
) -> list[Slot]:
    """Step the slot grid through ``intervals`` and keep what is not blocked.

    Intervals and blocked time are both walked once in time order, so the cost is
    linear in slots + blocked intervals rather than their product.
    """
    if availability.appointment_minutes <= 0:
        raise ValueError("appointment_minutes must be positive")
    if availability.buffer_minutes < 0:
        raise ValueError("buffer_minutes must not be negative")
    if availability.grid_minutes is not None and availability.grid_minutes <= 0:
        raise ValueError("grid_minutes must be positive")
    length = timedelta(minutes=availability.appointment_minutes)
    if availability.grid_minutes is None:
        step = length + timedelta(minutes=availability.buffer_minutes)
    else:
        step = timedelta(minutes=availability.grid_minutes)
    # The next listed start after a slot: the next grid point that does not overlap it, or with
    # a grid finer than the length, simply the next grid point.
    advance = min(length, step)

    # Days of a sane zone come out in order; sorting makes that an invariant.
    intervals.sort()
    if intervals:
        window = (max(intervals[0][0], earliest), min(intervals[-1][1], latest + length))
    else:
        window = (earliest, earliest)
    blocked = _blocked(availability, busy, window, taken)  # also rejects naive instants on a day off
    blocked_count = len(blocked)

    found: list[Slot] = []
    append = found.append
    j = 0
    # The furthest end among blocked intervals starting before the current slot ends:
    # the slot is free exactly when that reach is not past its start.
    reach = window[0]
    previous_end = earliest  # never start before the notice, nor overlap the slot before
    for start, end in intervals:
        last_start = min(end - length, latest)
        s = start
        if s < previous_end:
            s += -((start - previous_end) // step) * step  # first grid point at/after it
        while s <= last_start:
            e = s + length
            while j < blocked_count and blocked[j][0] < e:
                if blocked[j][1] > reach:
                    reach = blocked[j][1]
                j += 1
            if reach > s:
                # Most blocks are one booked slot, so one step usually clears them; a long
                # block jumps by division (slow on timedelta, so not the first resort).
                s += step
                if s < reach:
                    s += -((s - reach) // step) * step
                continue
            append(Slot(s, e))
            previous_end = s + advance
            s += step
    return found


def _blocked(
    availability: Availability, busy: Iterable[Interval], window: Interval, taken: Iterable[Interval] = ()
) -> list[Interval]:
    """Time off, buffer-widened busy intervals and taken intervals that touch ``window``, in UTC, by start.

    A taken interval already ends with its own appointment's buffer; it is widened only at
    its start, by the buffer the new slot needs after it.
    """
    lo, hi = window
    pad = timedelta(minutes=availability.buffer_minutes)
    relevant: list[Interval] = []
    keep = relevant.append
    for start, end in availability.time_off:
        start, end = _to_utc(start, "time_off"), _to_utc(end, "time_off")
        if start < hi and end > lo and end > start:
            keep((start, end))
    # The hot loop of a busy calendar: skip conversions and padding that are no-ops.
    for start, end in busy:
        if start.tzinfo is not UTC:
            start = _to_utc(start, "busy")
        if end.tzinfo is not UTC:
            end = _to_utc(end, "busy")
        if pad:
            start -= pad
            end += pad
        if start < hi and end > lo and end > start:
            keep((start, end))
    for start, end in taken:
        start, end = _to_utc(start, "taken") - pad, _to_utc(end, "taken")
        if start < hi and end > lo and end > start:
            keep((start, end))
    relevant.sort()
    return relevant


def _to_utc(instant: datetime, what: str) -> datetime:
    # Same tzinfo object on both sides keeps every later comparison a cheap field compare.
    if instant.tzinfo is UTC:
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got naive {instant!r}")
    return instant.astimezone(UTC)


def _start_of(slot: Slot) -> datetime:
    return slot.start_at
