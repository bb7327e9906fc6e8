"""The doctor's calendar laid out for display: the week grid, a day in words, the month overview.

Pure layout over the service's :class:`~carebook.availability.service.DayPlan` values
(no Flask, no queries but the month's appointment counts), so the portal's templates
only draw what is decided here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from carebook import timefmt
from carebook.availability.service import AvailabilityService, DayPlan
from models import Appointment, Doctor

UNIT_MINUTES = 5
#: Tallest piece of a day column, in units; doctor.css has a height class for 1..CHUNK_UNITS.
CHUNK_UNITS = 48
DEFAULT_HOURS = (8, 18)


@dataclass
class Piece:
    """A stretch of one day column: its height in units and what it shows."""

    units: int
    state: str  # closed, working, one-off, time-off or appointments
    appointments: list[Appointment] = field(default_factory=list)
    continued: bool = False  # the lower part of a stretch taller than CHUNK_UNITS


@dataclass
class DayColumn:
    plan: DayPlan
    summary: list[str]
    pieces: list[Piece]


@dataclass
class WeekGrid:
    hours: list[str]  # the label at the top of each hour
    end_label: str
    days: list[DayColumn]


@dataclass
class MonthDay:
    day: date
    count: int
    in_month: bool


def week_grid(plans: list[DayPlan], tz: ZoneInfo) -> WeekGrid:
    """Lay out a week: days across, wall-clock time down, in 5-minute units.

    Every column spans the same hours (08:00-18:00, widened to the week's hours and
    appointments), so the columns line up with the hour labels.
    """
    spans = [(_wall_minutes(s, p.day, tz), _wall_minutes(e, p.day, tz)) for p in plans
             for s, e in [*p.working, *((a.start_at, a.end_at) for a in p.appointments)]]
    first = min([DEFAULT_HOURS[0] * 60, *(s for s, _e in spans)]) // 60 * 60
    last = -(-max([DEFAULT_HOURS[1] * 60, *(e for _s, e in spans)]) // 60) * 60
    return WeekGrid(hours=[f"{minute // 60:02d}:00" for minute in range(first, last, 60)],
                    end_label=f"{last // 60 % 24:02d}:00",
                    days=[DayColumn(p, day_summary(p, tz), _DayLayout(p, tz, first, last).pieces()) for p in plans])


def day_summary(plan: DayPlan, tz: ZoneInfo) -> list[str]:
    """The day in words: hours, one-off change, time off (for phones and screen readers)."""
    lines = []
    if plan.working:
        hours = ", ".join(f"{timefmt.format_time(s, tz)}–{timefmt.format_time(e, tz)}" for s, e in plan.working)
        lines.append(("One-off hours " if plan.one_off is not None else "Hours ") + hours)
    else:
        lines.append("Closed (one-off change)" if plan.one_off is not None else "Not working")
    for row in plan.time_off:
        start, end = _wall_minutes(row.start_at, plan.day, tz), _wall_minutes(row.end_at, plan.day, tz)
        when = "all day" if (start, end) == (0, 24 * 60) else \
            f"{start // 60:02d}:{start % 60:02d}–{end // 60 % 24:02d}:{end % 60:02d}"
        lines.append(f"Time off {when}" + (f" ({row.reason})" if row.reason else ""))
    return lines


def month_overview(service: AvailabilityService, doctor: Doctor, in_month: date, shown_monday: date) -> dict:
    """The month around ``in_month`` as whole weeks, with each day's appointment count (one query)."""
    first = in_month.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    grid_start = first - timedelta(days=first.weekday())
    grid_end = next_month - timedelta(days=1)
    grid_end += timedelta(days=6 - grid_end.weekday())
    counts = service.appointment_counts(doctor, grid_start, grid_end)
    weeks = []
    monday = grid_start
    while monday <= grid_end:
        weeks.append((monday, [MonthDay(monday + timedelta(days=n), counts.get(monday + timedelta(days=n), 0),
                                        (monday + timedelta(days=n)).month == first.month) for n in range(7)]))
        monday += timedelta(days=7)
    previous_month = (first - timedelta(days=1)).replace(day=1)
    return {"first": first, "weeks": weeks, "shown_monday": shown_monday,
            "previous": previous_month, "next": next_month}


def _wall_minutes(instant: datetime, day: date, tz: ZoneInfo) -> int:
    """Minutes after local midnight of ``day`` on the wall clock (clamped to the day)."""
    local = instant.astimezone(tz)
    if local.date() < day:
        return 0
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


class _DayLayout:
    """One day's column, from minute ``first`` to ``last`` of the day, cut into pieces."""

    def __init__(self, plan: DayPlan, tz: ZoneInfo, first: int, last: int) -> None:
        self.plan, self.tz, self.first = plan, tz, first
        self.units = (last - first) // UNIT_MINUTES
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

        Appointments that share a unit are shown in one block (only cancelled ones could overlap).
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
        middle = self.first + unit * UNIT_MINUTES + UNIT_MINUTES / 2
        if any(start <= middle < end for start, end in self.away):
            return "time-off"
        if any(start <= middle < end for start, end in self.working):
            return self.working_state
        return "closed"

    def _minutes(self, start: datetime, end: datetime) -> tuple[int, int]:
        return _wall_minutes(start, self.plan.day, self.tz), _wall_minutes(end, self.plan.day, self.tz)

    def _unit_span(self, start: datetime, end: datetime) -> tuple[int, int]:
        """The units an appointment covers: at least one, all inside the column."""
        start_minute, end_minute = self._minutes(start, end)
        first_unit = min(max((start_minute - self.first) // UNIT_MINUTES, 0), self.units - 1)
        end_unit = -(-(end_minute - self.first) // UNIT_MINUTES)
        return first_unit, min(max(end_unit, first_unit + 1), self.units)


def _chunks(piece: Piece) -> list[Piece]:
    if piece.units <= CHUNK_UNITS:
        return [piece]
    head = Piece(CHUNK_UNITS, piece.state, piece.appointments, piece.continued)
    return [head, *_chunks(Piece(piece.units - CHUNK_UNITS, piece.state, [], True))]
