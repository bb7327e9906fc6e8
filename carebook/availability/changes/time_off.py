"""Time off: away from one wall-clock time to another, whatever the weekly hours say."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from carebook import slots
from carebook.availability.changes.appointment_length import APPOINTMENT_MINUTES
from carebook.availability.changes.base import Change, date_problems
from carebook.availability.errors import Problem
from carebook.availability.store import CalendarStore
from carebook.clock import utcnow
from carebook.timefmt import format_date
from models import Doctor

LONGEST_TIME_OFF = timedelta(days=366)
TIME_OFF_NOTE_LENGTH = 200


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``wall`` on ``day``, read exactly as the slot engine
    reads working hours: the first pass of a repeated autumn hour, and the transition
    itself for a time that a spring change skips. Time off and hours then always agree."""
    probe = slots.Availability(appointment_minutes=APPOINTMENT_MINUTES[0], overrides={day: [(wall, time.max)]})
    ((start, _end),) = slots.working_intervals(probe, day, tz)
    return start


@dataclass(frozen=True)
class AddTimeOff(Change):
    """Away from ``start_date`` (at ``start_time``, else midnight) until ``end_date``
    (at ``end_time``, else the end of that day), in clinic wall-clock time."""

    doctor_id: int
    start_date: date
    end_date: date
    start_time: time | None = None
    end_time: time | None = None
    note: str = ""

    action = "availability.time_off_added"
    section = "time_off"

    def interval(self, tz: ZoneInfo) -> slots.Interval:
        """The time off as UTC instants."""
        start = local_instant(self.start_date, self.start_time or time(0), tz)
        if self.end_time is not None:
            return start, local_instant(self.end_date, self.end_time, tz)
        return start, local_instant(self.end_date + timedelta(days=1), time(0), tz)

    def problems(self, calendar: CalendarStore) -> Iterator[Problem]:
        start_problems = list(date_problems(self.start_date, "start_date", calendar.today()))
        yield from start_problems
        if len(self.note) > TIME_OFF_NOTE_LENGTH:
            yield Problem("note", f"Keep the note under {TIME_OFF_NOTE_LENGTH} characters.")
        if self.end_date < self.start_date:
            yield Problem("end_date", "The last day cannot be before the first day.")
        elif self.end_date - self.start_date > LONGEST_TIME_OFF:
            yield Problem("end_date", "Time off can cover at most a year at a time.")
        elif not start_problems:
            start_at, end_at = self.interval(calendar.timezone)
            if end_at <= start_at:
                yield Problem("end_time", "Time off must end after it starts.")

    def proposed(self, current: slots.Availability, calendar: CalendarStore) -> slots.Availability:
        return replace(current, time_off=[*current.time_off, self.interval(calendar.timezone)])

    def write(self, doctor: Doctor, calendar: CalendarStore) -> dict[str, Any]:
        start_at, end_at = self.interval(calendar.timezone)
        row = calendar.add_time_off(doctor.id, start_at, end_at, self.note.strip())
        # The note stays out of the audit log: it may say why (a health matter).
        return {"time_off_id": row.id, "start_at": start_at.isoformat(), "end_at": end_at.isoformat()}

    def describe(self) -> str:
        start = format_date(self.start_date) + (f" {self.start_time:%H:%M}" if self.start_time else "")
        end = format_date(self.end_date) + (f" {self.end_time:%H:%M}" if self.end_time else "")
        if self.start_date != self.end_date:
            return f"time off from {start} until {end}" + ("" if self.end_time else " (whole day)")
        if self.start_time or self.end_time:
            return (f"time off on {format_date(self.start_date)} from {_clock(self.start_time, '00:00')} "
                    f"until {_clock(self.end_time, 'the end of the day')}")
        return f"time off on {start}"


@dataclass(frozen=True)
class RemoveTimeOff(Change):
    """Drop time off that has not ended yet (past time off stays on record)."""

    doctor_id: int
    time_off_id: int

    action = "availability.time_off_removed"
    section = "time_off"

    def problems(self, calendar: CalendarStore) -> Iterator[Problem]:
        row = calendar.time_off_row(self.time_off_id)
        if row is None or row.doctor_id != self.doctor_id:
            yield Problem("time_off", "That time off no longer exists.")
        elif row.end_at <= utcnow():
            yield Problem("time_off", "Past time off stays on record and cannot be removed.")

    def proposed(self, current: slots.Availability, calendar: CalendarStore) -> slots.Availability:
        row = calendar.time_off_row(self.time_off_id)
        remaining = list(current.time_off)
        if (row.start_at, row.end_at) in remaining:
            remaining.remove((row.start_at, row.end_at))
        return replace(current, time_off=remaining)

    def write(self, doctor: Doctor, calendar: CalendarStore) -> dict[str, Any]:
        row = calendar.time_off_row(self.time_off_id)
        details = {"time_off_id": row.id, "start_at": row.start_at.isoformat(), "end_at": row.end_at.isoformat()}
        calendar.remove_time_off(row)
        return details

    def describe(self) -> str:
        return "time off removed"


def _clock(value: time | None, otherwise: str) -> str:
    return f"{value:%H:%M}" if value is not None else otherwise
