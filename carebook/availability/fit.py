"""Does a booked appointment fit a doctor's availability? The test behind "affected appointments"."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from carebook import slots
from carebook.availability.ranges import merged
from models import Appointment


class Fit:
    """Does an appointment lie inside working time and outside time off, under one availability?

    Call it with each appointment; the working time of each day is worked out once.
    """

    def __init__(self, availability: slots.Availability, tz: ZoneInfo) -> None:
        self._availability = availability
        self._tz = tz
        self._days: dict[date, list[slots.Interval]] = {}

    def __call__(self, appointment: Appointment) -> bool:
        start, end = appointment.start_at, appointment.end_at
        if any(off_start < end and start < off_end for off_start, off_end in self._availability.time_off):
            return False
        # Touching intervals are joined, so an appointment across midnight in 24-hour work fits.
        covered = merged(self._working_between(start.astimezone(self._tz).date(), end.astimezone(self._tz).date()))
        return any(covered_start <= start and end <= covered_end for covered_start, covered_end in covered)

    def _working_between(self, first_day: date, last_day: date) -> list[slots.Interval]:
        intervals: list[slots.Interval] = []
        day = first_day
        while day <= last_day:
            intervals.extend(self._working(day))
            day += timedelta(days=1)
        return intervals

    def _working(self, day: date) -> list[slots.Interval]:
        if day not in self._days:
            self._days[day] = slots.working_intervals(self._availability, day, self._tz)
        return self._days[day]
