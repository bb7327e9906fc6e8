"""The doctor's calendar laid out for display: the week grid, a day in words, the month overview.

Pure layout over the service's :class:`~carebook.availability.service.DayPlan` values
(no Flask; no queries but the month's: one calendar read and the appointment counts),
so the portal's templates only draw what is decided here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Sequence
from zoneinfo import ZoneInfo

from carebook import slots, timefmt
from carebook.availability.ranges import TimeRange
from carebook.availability.service import AvailabilityService, DayPlan
from models import Appointment, Doctor

UNIT_MINUTES = 5
UNITS_PER_HOUR = 60 // UNIT_MINUTES
#: Tallest piece of a day column, in units; doctor.css has a height class for 1..CHUNK_UNITS.
CHUNK_UNITS = 48
DEFAULT_HOURS = (8, 18)
#: An appointment with fewer units than this in its block shows its time and patient only;
#: its reason stays in the link's accessible name and on the appointment's page.
ROOMY_UNITS = 6
#: The state of a unit that is not on that day's clock: the hour skipped when the clocks go
#: forward, or the second pass of the repeated hour on the days the clocks do not go back.
NO_SUCH_TIME = "no-such-time"


@dataclass
class Piece:
    """A stretch of one day column: its height in units and what it shows."""

    units: int
    state: str  # closed, working, one-off, time-off, no-such-time or appointments
    appointments: list[Appointment] = field(default_factory=list)
    continued: bool = False  # the lower part of a stretch taller than CHUNK_UNITS

    @property
    def compact(self) -> bool:
        """Too short a block for more than each appointment's time and patient on a desktop."""
        return self.units < ROOMY_UNITS * len(self.appointments)


@dataclass
class DayColumn:
    plan: DayPlan
    summary: list[str]
    pieces: list[Piece]


@dataclass
class WeekGrid:
    hours: list[str]  # the label at the top of each hour; a repeated hour is there twice, with its zone
    end_label: str
    days: list[DayColumn]

    @property
    def units(self) -> int:
        """The height of every day column, in units (doctor.css sizes the grid's rows from it)."""
        return len(self.hours) * UNITS_PER_HOUR

    @property
    def clock_change(self) -> bool:
        """Whether a column shows time that is not on its day's clock (the week the clocks change)."""
        return any(piece.state == NO_SUCH_TIME for column in self.days for piece in column.pieces)


@dataclass(frozen=True)
class DayMark:
    """What the month overview says about a day besides its appointments, in a word and in full."""

    kind: str  # off, part-off or one-off: the CSS class, and the legend's entry
    label: str  # shown in the day's cell: "Off", "Part off", "One-off"
    detail: str  # read out after it: "time off 12:00–14:00"


@dataclass
class MonthDay:
    day: date
    count: int
    in_month: bool
    marks: list[DayMark] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The day's link as read out: "3 June: 2 appointments, Part off: time off 12:00–14:00"."""
        count = f"{self.count} appointment{'s' if self.count != 1 else ''}" if self.count else "no appointments"
        return ", ".join([f"{self.day.day} {self.day:%B}: {count}", *(f"{m.label}: {m.detail}" for m in self.marks)])


# --------------------------------------------------------------------------- the week


def week_grid(plans: list[DayPlan], tz: ZoneInfo) -> WeekGrid:
    """Lay out a week: days across, wall-clock time down, in 5-minute units.

    Every column spans the same hours (08:00-18:00, widened to the week's hours and
    appointments), so the columns line up with the hour labels. An hour that happens twice
    on one of the days (the clocks go back) is in every column twice.
    """
    spans = [(_wall_minutes(s, p.day, tz), _wall_minutes(e, p.day, tz)) for p in plans
             for s, e in [*p.working, *((a.start_at, a.end_at) for a in p.appointments)]]
    first = min([DEFAULT_HOURS[0] * 60, *(s for s, _e in spans)]) // 60
    last = -(-max([DEFAULT_HOURS[1] * 60, *(e for _s, e in spans)]) // 60)
    axis = _Axis([p.day for p in plans], tz, first, last)
    return WeekGrid(hours=axis.labels(), end_label=f"{last % 24:02d}:00",
                    days=[DayColumn(p, day_summary(p, tz), _DayLayout(p, axis).pieces()) for p in plans])


def day_summary(plan: DayPlan, tz: ZoneInfo) -> list[str]:
    """The day in words: hours, one-off change, time off, a clock change (for phones and screen readers)."""
    lines = []
    if plan.working:
        lines.append(("One-off hours " if plan.one_off is not None else "Hours ") + _spans(plan.working, tz))
    else:
        lines.append("Closed (one-off change)" if plan.one_off is not None else "Not working")
    for row in plan.time_off:
        if (_wall_minutes(row.start_at, plan.day, tz), _wall_minutes(row.end_at, plan.day, tz)) == (0, 24 * 60):
            when = "all day"
        else:
            when = f"{_clock_on(row.start_at, plan.day, tz)}–{_clock_on(row.end_at, plan.day, tz)}"
        lines.append(f"Time off {when}" + (f" ({row.reason})" if row.reason else ""))
    change = _ClockChange.on(plan.day, tz)
    if change is not None:
        lines.append(change.sentence())
    return lines


# --------------------------------------------------------------------------- the month


def month_overview(service: AvailabilityService, doctor: Doctor, in_month: date, shown_monday: date) -> dict:
    """The month around ``in_month`` as whole weeks: each day's appointment count and marks.

    Two queries: the doctor's calendar (hours, one-off changes, time off) and the counts.
    """
    first = in_month.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    grid_start = first - timedelta(days=first.weekday())
    grid_end = next_month - timedelta(days=1)
    grid_end += timedelta(days=6 - grid_end.weekday())
    counts = service.appointment_counts(doctor, grid_start, grid_end)
    availability = service.booking.availabilities([doctor], grid_start, grid_end)[doctor.id]
    weeks = []
    monday = grid_start
    while monday <= grid_end:
        days = []
        for day in (monday + timedelta(days=n) for n in range(7)):
            marks = day_marks(slots.working_intervals(availability, day, service.timezone),
                              availability.overrides.get(day), availability.time_off, service.timezone)
            days.append(MonthDay(day, counts.get(day, 0), day.month == first.month, marks))
        weeks.append((monday, days))
        monday += timedelta(days=7)
    previous_month = (first - timedelta(days=1)).replace(day=1)
    return {"first": first, "weeks": weeks, "shown_monday": shown_monday,
            "previous": previous_month, "next": next_month}


def day_marks(working: Sequence[slots.Interval], one_off: Sequence[TimeRange] | None,
              time_off: Sequence[slots.Interval], tz: ZoneInfo) -> list[DayMark]:
    """Whether the doctor is off that day, or part of it, and whether its hours were changed for it.

    ``working`` is the day's hours before time off; time off counts where it overlaps them, so
    an evening away after a day's work leaves the day unmarked (the week shows it).
    """
    marks = []
    away = _overlaps(working, time_off)
    if not working:
        marks.append(DayMark("off", "Off", "not working"))
    elif away == [tuple(interval) for interval in working]:
        marks.append(DayMark("off", "Off", "time off all day"))
    elif away:
        marks.append(DayMark("part-off", "Part off", "time off " + _spans(away, tz)))
    if one_off is not None:
        marks.append(DayMark("one-off", "One-off", f"hours {_spans(working, tz)}" if working else "closed all day"))
    return marks


# --------------------------------------------------------------------------- helpers


def _wall_minutes(instant: datetime, day: date, tz: ZoneInfo) -> int:
    """Minutes after local midnight of ``day`` on the wall clock (clamped to the day)."""
    local = instant.astimezone(tz)
    if local.date() < day:
        return 0
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


def _clock_on(instant: datetime, day: date, tz: ZoneInfo) -> str:
    """The time of ``instant`` on ``day``'s clock: midnight if it falls on another day."""
    return timefmt.format_time(instant, tz) if instant.astimezone(tz).date() == day else "00:00"


def _spans(intervals: Sequence[slots.Interval], tz: ZoneInfo) -> str:
    return ", ".join(f"{timefmt.format_time(s, tz)}–{timefmt.format_time(e, tz)}" for s, e in intervals)


def _overlaps(working: Sequence[slots.Interval], time_off: Sequence[slots.Interval]) -> list[slots.Interval]:
    """The parts of ``working`` that time off covers, merged, in order."""
    cuts = sorted((max(start, away_start), min(end, away_end)) for start, end in working
                  for away_start, away_end in time_off if away_start < end and away_end > start)
    covered: list[slots.Interval] = []
    for cut_start, cut_end in cuts:
        if covered and cut_start <= covered[-1][1]:
            covered[-1] = (covered[-1][0], max(covered[-1][1], cut_end))
        else:
            covered.append((cut_start, cut_end))
    return covered


@dataclass(frozen=True)
class _ClockChange:
    """The clocks going back or forward on one local day: which wall-clock minutes repeat or are skipped."""

    day: date
    repeated: frozenset[int]  # minutes of the day (on the unit grid) that happen twice
    skipped: frozenset[int]  # minutes of the day that never happen

    @classmethod
    def on(cls, day: date, tz: ZoneInfo) -> _ClockChange | None:
        start, end = datetime.combine(day, time(), tz), datetime.combine(day + timedelta(days=1), time(), tz)
        if start.utcoffset() == end.utcoffset():
            return None
        repeated, skipped = set(), set()
        for minute in range(0, 24 * 60, UNIT_MINUTES):
            wall = datetime.combine(day, time(minute // 60, minute % 60), tz)
            first, second = wall.utcoffset(), wall.replace(fold=1).utcoffset()
            if first > second:
                repeated.add(minute)
            elif first < second:
                skipped.add(minute)
        return cls(day, frozenset(repeated), frozenset(skipped))

    def sentence(self) -> str:
        minutes = self.repeated or self.skipped
        start, end = min(minutes), max(minutes) + UNIT_MINUTES
        stretch = f"{start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}"
        return (f"Clocks go back: {stretch} happens twice" if self.repeated
                else f"Clocks go forward: {stretch} is skipped")


class _Axis:
    """The week's clock, top to bottom: wall-clock hours ``first`` to ``last``.

    An hour that happens twice on one of the days is in it twice ("01:00 BST", then "01:00 GMT"),
    so that day's appointments keep their order and never share a place. Positions are minutes
    from the top; a unit that is not on a day's clock (the skipped hour, or the second pass of
    an hour that day does not repeat) is :data:`NO_SUCH_TIME` in that day's column.
    """

    def __init__(self, days: list[date], tz: ZoneInfo, first: int, last: int) -> None:
        self.tz, self.first = tz, first
        self.changes = {day: change for day in days if (change := _ClockChange.on(day, tz)) is not None}
        repeated = {minute // 60: (day, minute) for day, change in self.changes.items()
                    for minute in sorted(change.repeated, reverse=True)}
        self.rows: list[tuple[int, int]] = []  # (hour, fold)
        self._labels: list[str] = []
        for hour in range(first, last):
            if hour in repeated:
                day, minute = repeated[hour]
                wall = datetime.combine(day, time(hour, minute % 60), tz)
                self.rows += [(hour, 0), (hour, 1)]
                self._labels += [f"{hour:02d}:00 {wall.tzname()}", f"{hour:02d}:00 {wall.replace(fold=1).tzname()}"]
            else:
                self.rows.append((hour, 0))
                self._labels.append(f"{hour:02d}:00")
        self.row_of = {row: number for number, row in enumerate(self.rows)}
        self.units = len(self.rows) * UNITS_PER_HOUR

    def labels(self) -> list[str]:
        return list(self._labels)

    def position(self, instant: datetime, day: date) -> int:
        """Minutes from the top of ``day``'s column to ``instant`` (clamped to the column)."""
        local = instant.astimezone(self.tz)
        if local.date() < day or (local.date() == day and local.hour < self.first):
            return 0
        row = self.row_of.get((local.hour, local.fold), self.row_of.get((local.hour, 0)))
        if local.date() > day or row is None:
            return self.units * UNIT_MINUTES
        return row * 60 + local.minute

    def exists(self, unit: int, day: date) -> bool:
        """Whether ``unit`` is a time that ``day``'s clock shows."""
        hour, fold = self.rows[unit // UNITS_PER_HOUR]
        minute = hour * 60 + unit % UNITS_PER_HOUR * UNIT_MINUTES
        change = self.changes.get(day)
        if fold:
            return change is not None and minute in change.repeated
        return change is None or minute not in change.skipped


class _DayLayout:
    """One day's column on the week's axis, cut into pieces."""

    def __init__(self, plan: DayPlan, axis: _Axis) -> None:
        self.plan, self.axis = plan, axis
        self.units = axis.units
        self.working = [self._minutes(start, end) for start, end in plan.working]
        self.away = [self._minutes(row.start_at, row.end_at) for row in plan.time_off]
        self.working_state = "one-off" if plan.one_off is not None else "working"

    def pieces(self) -> list[Piece]:
        """Appointment blocks, and between them stretches of one state; none taller than CHUNK_UNITS."""
        blocks = self._appointment_blocks()
        pieces: list[Piece] = []
        unit = 0
        while unit < self.units:
            if unit in blocks:
                end, appointments = blocks[unit]
                pieces.append(Piece(end - unit, "appointments", appointments))
            else:
                end = self._stretch_end(unit, blocks)
                pieces.append(Piece(end - unit, self._state(unit)))
            unit = end
        return [chunk for piece in pieces for chunk in _chunks(piece)]

    def _appointment_blocks(self) -> dict[int, tuple[int, list[Appointment]]]:
        """First unit -> (end unit, appointments) of each block of appointments.

        Appointments that share a unit are shown in one block (lengths that are not a
        multiple of 5 minutes, or a finished appointment beside a booked one).
        """
        blocks: list[tuple[int, int, list[Appointment]]] = []
        for appointment in self.plan.appointments:
            start, end = self._unit_span(appointment.start_at, appointment.end_at)
            if blocks and start < blocks[-1][1]:
                blocks[-1] = (blocks[-1][0], max(end, blocks[-1][1]), blocks[-1][2] + [appointment])
            else:
                blocks.append((start, end, [appointment]))
        return {start: (end, appointments) for start, end, appointments in blocks}

    def _stretch_end(self, unit: int, blocks: dict) -> int:
        """Where the stretch of one state that starts at ``unit`` ends: at another state or a block."""
        state, end = self._state(unit), unit + 1
        while end < self.units and end not in blocks and self._state(end) == state:
            end += 1
        return end

    def _state(self, unit: int) -> str:
        if not self.axis.exists(unit, self.plan.day):
            return NO_SUCH_TIME
        middle = unit * UNIT_MINUTES + UNIT_MINUTES / 2
        if any(start <= middle < end for start, end in self.away):
            return "time-off"
        if any(start <= middle < end for start, end in self.working):
            return self.working_state
        return "closed"

    def _minutes(self, start: datetime, end: datetime) -> tuple[int, int]:
        return self.axis.position(start, self.plan.day), self.axis.position(end, self.plan.day)

    def _unit_span(self, start: datetime, end: datetime) -> tuple[int, int]:
        """The units an appointment covers: at least one, all inside the column."""
        start_minute, end_minute = self._minutes(start, end)
        first_unit = min(max(start_minute // UNIT_MINUTES, 0), self.units - 1)
        end_unit = -(-end_minute // UNIT_MINUTES)
        return first_unit, min(max(end_unit, first_unit + 1), self.units)


def _chunks(piece: Piece) -> list[Piece]:
    if piece.units <= CHUNK_UNITS:
        return [piece]
    head = Piece(CHUNK_UNITS, piece.state, piece.appointments, piece.continued)
    return [head, *_chunks(Piece(piece.units - CHUNK_UNITS, piece.state, [], True))]
