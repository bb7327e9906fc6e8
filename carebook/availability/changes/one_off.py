"""One-off changes: on one date, other hours than the weekly ones, extra hours, or closed."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Iterator, Sequence

from carebook import slots
from carebook.availability.changes.base import Change, date_problems
from carebook.availability.errors import Problem
from carebook.availability.ranges import TimeRange, format_range, merged, range_problems, ranges_on
from carebook.availability.store import CalendarStore
from carebook.timefmt import format_date
from models import DateOverride, Doctor


@dataclass(frozen=True)
class SetOneOff(Change):
    """On ``on_date`` work ``ranges`` instead of the weekly hours (no ranges: closed).

    With ``adds_to_usual`` the ranges are extra hours on top of that day's usual ones.
    """

    doctor_id: int
    on_date: date
    ranges: Sequence[TimeRange] = ()
    adds_to_usual: bool = False

    action = "availability.one_off_set"
    section = "one_offs"

    def problems(self, calendar: CalendarStore) -> Iterator[Problem]:
        yield from date_problems(self.on_date, "on_date", calendar.today())
        if self.adds_to_usual and not self.ranges:
            yield Problem("ranges", "Enter the extra hours.")
        yield from range_problems(self.ranges, "ranges", format_date(self.on_date))

    def proposed(self, current: slots.Availability, calendar: CalendarStore) -> slots.Availability:
        return replace(current, overrides={**current.overrides, self.on_date: self._hours(current)})

    def write(self, doctor: Doctor, calendar: CalendarStore) -> dict[str, Any]:
        ranges = self._hours(calendar.availability_on(doctor, self.on_date))
        previous = calendar.one_off_rows(doctor.id, self.on_date)
        calendar.set_one_off(doctor.id, self.on_date, ranges)
        return {"on_date": self.on_date.isoformat(), "hours": [format_range(r) for r in ranges] or "closed",
                "extra_hours": self.adds_to_usual, "previous": _describe(previous) if previous else None}

    def describe(self) -> str:
        hours = ", ".join(format_range(r) for r in self.ranges)
        if self.adds_to_usual:
            return f"extra hours on {format_date(self.on_date)}: {hours}"
        return f"{format_date(self.on_date)}: " + (f"only {hours}" if hours else "closed all day")

    def _hours(self, current: slots.Availability) -> tuple[TimeRange, ...]:
        """The hours worked that day once applied: those given, and with ``adds_to_usual`` the usual ones."""
        ranges = list(self.ranges)
        if self.adds_to_usual:
            ranges += ranges_on(current, self.on_date)
        return tuple(merged(ranges))


@dataclass(frozen=True)
class RemoveOneOff(Change):
    """Drop the one-off change on ``on_date``: the weekly hours apply that day again."""

    doctor_id: int
    on_date: date

    action = "availability.one_off_removed"
    section = "one_offs"

    def problems(self, calendar: CalendarStore) -> Iterator[Problem]:
        yield from date_problems(self.on_date, "on_date", calendar.today())
        if not calendar.one_off_rows(self.doctor_id, self.on_date):
            yield Problem("on_date", "There is no one-off change on that date.")

    def proposed(self, current: slots.Availability, calendar: CalendarStore) -> slots.Availability:
        return replace(current, overrides={d: r for d, r in current.overrides.items() if d != self.on_date})

    def write(self, doctor: Doctor, calendar: CalendarStore) -> dict[str, Any]:
        previous = _describe(calendar.one_off_rows(doctor.id, self.on_date))
        calendar.remove_one_off(doctor.id, self.on_date)
        return {"on_date": self.on_date.isoformat(), "previous": previous}

    def describe(self) -> str:
        return f"the one-off change on {format_date(self.on_date)} removed (usual hours apply)"


def _describe(rows: Sequence[DateOverride]) -> list[str] | str:
    ranges = [format_range((r.start_time, r.end_time)) for r in rows if r.start_time is not None]
    return ranges or "closed"
