"""The rows behind a doctor's availability (weekly hours, one-off changes, time off), as the change types use them.

Each change type reads and writes through a :class:`CalendarStore`, so the change
types hold the rules and none of the SQL. Like the services, it flushes only when it
needs an id, and never commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carebook import slots
from carebook.availability.ranges import TimeRange
from carebook.booking import BookingService
from carebook.clock import utcnow
from models import DateOverride, Doctor, TimeOff, WeeklyHours


@dataclass
class CalendarStore:
    session: Session
    timezone: ZoneInfo
    booking: BookingService

    def today(self) -> date:
        """Today in the clinic's time zone: changes may start today or later."""
        return utcnow().astimezone(self.timezone).date()

    def availability_on(self, doctor: Doctor, day: date) -> slots.Availability:
        """The doctor's availability as stored now, read around ``day``."""
        return self.booking.availabilities([doctor], day, day)[doctor.id]

    # -- weekly hours ----------------------------------------------------------------------

    def weekly_rows(self, doctor_id: int, valid_from: date) -> list[WeeklyHours]:
        """The pattern starting on exactly ``valid_from``, by weekday and start."""
        return list(self.session.scalars(select(WeeklyHours).where(
            WeeklyHours.doctor_id == doctor_id, WeeklyHours.valid_from == valid_from)
            .order_by(WeeklyHours.weekday, WeeklyHours.start_time)))

    def set_weekly(self, doctor_id: int, valid_from: date, weekly: Mapping[int, Sequence[TimeRange]]) -> None:
        """Replace the pattern starting on ``valid_from`` with ``weekly`` (weekday -> ranges)."""
        self.remove_weekly(doctor_id, valid_from)
        for weekday, day_ranges in weekly.items():
            for start, end in day_ranges:
                self.session.add(WeeklyHours(doctor_id=doctor_id, valid_from=valid_from,
                                             weekday=weekday, start_time=start, end_time=end))

    def remove_weekly(self, doctor_id: int, valid_from: date) -> None:
        self.session.execute(delete(WeeklyHours).where(WeeklyHours.doctor_id == doctor_id,
                                                       WeeklyHours.valid_from == valid_from)
                             .execution_options(synchronize_session="fetch"))

    # -- one-off changes -------------------------------------------------------------------

    def one_off_rows(self, doctor_id: int, on_date: date) -> list[DateOverride]:
        return list(self.session.scalars(select(DateOverride).where(
            DateOverride.doctor_id == doctor_id, DateOverride.on_date == on_date)
            .order_by(DateOverride.start_time)))

    def set_one_off(self, doctor_id: int, on_date: date, ranges: Sequence[TimeRange]) -> None:
        """Work only ``ranges`` on ``on_date``; no ranges: closed (one row without times)."""
        self.remove_one_off(doctor_id, on_date)
        if not ranges:
            self.session.add(DateOverride(doctor_id=doctor_id, on_date=on_date))
        for start, end in ranges:
            self.session.add(DateOverride(doctor_id=doctor_id, on_date=on_date, start_time=start, end_time=end))

    def remove_one_off(self, doctor_id: int, on_date: date) -> None:
        self.session.execute(delete(DateOverride).where(DateOverride.doctor_id == doctor_id,
                                                        DateOverride.on_date == on_date)
                             .execution_options(synchronize_session="fetch"))

    # -- time off --------------------------------------------------------------------------

    def time_off_row(self, time_off_id: int) -> TimeOff | None:
        return self.session.get(TimeOff, time_off_id)

    def add_time_off(self, doctor_id: int, start_at: datetime, end_at: datetime, note: str) -> TimeOff:
        row = TimeOff(doctor_id=doctor_id, start_at=start_at, end_at=end_at, reason=note)
        self.session.add(row)
        self.session.flush()  # for its id, which the audit row names
        return row

    def remove_time_off(self, row: TimeOff) -> None:
        self.session.delete(row)
