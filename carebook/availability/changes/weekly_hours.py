"""Weekly hours: from a date on, the ranges worked each weekday; or dropping such a planned pattern."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Iterator, Mapping, Sequence

from carebook import slots
from carebook.availability.changes.base import Change, date_problems
from carebook.availability.errors import Problem
from carebook.availability.ranges import WEEKDAY_NAMES, TimeRange, format_range, range_problems
from carebook.availability.store import CalendarStore
from carebook.timefmt import format_date
from models import Doctor, WeeklyHours

WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class SetWeeklyHours(Change):
    """From ``valid_from`` on, work these ranges each weekday (Monday=0; a missing day is off).

    Replaces the pattern that starts on exactly that date, if any; an earlier pattern
    applies until then and a later one still takes over at its own date.
    """

    doctor_id: int
    valid_from: date
    ranges: Mapping[int, Sequence[TimeRange]]

    action = "availability.weekly_hours_set"
    section = "hours"

    def problems(self, calendar: CalendarStore) -> Iterator[Problem]:
        yield from date_problems(self.valid_from, "valid_from", calendar.today())
        if not any(self.ranges.values()):
            yield Problem("ranges", "Enter at least one range of hours. To stop working for a while, "
                                    "add time off instead.")
        for weekday, day_ranges in sorted(self.ranges.items()):
            if not 0 <= weekday <= 6:
                yield Problem("ranges", "Unknown weekday.")
                continue
            yield from range_problems(day_ranges, f"ranges.{weekday}", WEEKDAY_NAMES[weekday])

    def proposed(self, current: slots.Availability, calendar: CalendarStore) -> slots.Availability:
        patterns = [p for p in current.patterns if p.valid_from != self.valid_from]
        patterns.append(slots.WeeklyPattern(self.valid_from, _clean_weekly(self.ranges)))
        return replace(current, patterns=patterns)

    def write(self, doctor: Doctor, calendar: CalendarStore) -> dict[str, Any]:
        previous = _describe_rows(calendar.weekly_rows(doctor.id, self.valid_from))
        weekly = _clean_weekly(self.ranges)
        calendar.set_weekly(doctor.id, self.valid_from, weekly)
        return {"valid_from": self.valid_from.isoformat(), "hours": _describe_weekly(weekly),
                "previous_hours": previous or None}

    def describe(self) -> str:
        days = "; ".join(f"{WEEKDAY_SHORT[number]} {', '.join(format_range(r) for r in sorted(ranges))}"
                         for number, ranges in sorted(self.ranges.items()) if ranges)
        return f"weekly hours from {format_date(self.valid_from)}: {days}"


@dataclass(frozen=True)
class RemoveWeeklyHours(Change):
    """Drop a planned pattern: the one before it then goes on applying."""

    doctor_id: int
    valid_from: date

    action = "availability.weekly_hours_removed"
    section = "hours"

    def problems(self, calendar: CalendarStore) -> Iterator[Problem]:
        yield from date_problems(self.valid_from, "valid_from", calendar.today())
        if not calendar.weekly_rows(self.doctor_id, self.valid_from):
            yield Problem("valid_from", "There are no weekly hours starting on that date.")

    def proposed(self, current: slots.Availability, calendar: CalendarStore) -> slots.Availability:
        return replace(current, patterns=[p for p in current.patterns if p.valid_from != self.valid_from])

    def write(self, doctor: Doctor, calendar: CalendarStore) -> dict[str, Any]:
        previous = _describe_rows(calendar.weekly_rows(doctor.id, self.valid_from))
        calendar.remove_weekly(doctor.id, self.valid_from)
        return {"valid_from": self.valid_from.isoformat(), "previous_hours": previous}

    def describe(self) -> str:
        return f"the weekly hours planned from {format_date(self.valid_from)} removed"


def _clean_weekly(ranges: Mapping[int, Sequence[TimeRange]]) -> dict[int, tuple[TimeRange, ...]]:
    return {weekday: tuple(sorted(day_ranges)) for weekday, day_ranges in sorted(ranges.items()) if day_ranges}


def _describe_weekly(weekly: Mapping[int, Sequence[TimeRange]]) -> dict[str, list[str]]:
    return {WEEKDAY_NAMES[weekday]: [format_range(r) for r in day_ranges] for weekday, day_ranges in weekly.items()}


def _describe_rows(rows: Sequence[WeeklyHours]) -> dict[str, list[str]]:
    weekly: dict[int, list[TimeRange]] = {}
    for row in rows:
        weekly.setdefault(row.weekday, []).append((row.start_time, row.end_time))
    return _describe_weekly(_clean_weekly(weekly))
