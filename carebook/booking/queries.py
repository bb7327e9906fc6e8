"""The calendar read: a doctor's whole calendar in one round trip, and the small queries beside it.

Reading is the hot path (every slot list, the doctor list, every booking's re-check),
so it reads plain rows (no ORM objects) and gets everything the slot engine needs in
one statement: weekly hours, one-off changes, time off and booked appointments as one
UNION ALL. One round trip instead of four; the query count never depends on the
number of doctors, days or appointments.

Each row of the UNION ALL is
(kind, doctor_id, day, number, other_number, start_time, end_time, start_at, end_at, version):

* doctor    id's appointment_minutes (number), buffer_minutes (other_number) and
            calendar_version (version), if active
* weekly    valid_from (day), weekday (number), start_time, end_time
* override  on_date (day), start_time, end_time (both NULL: closed that day)
* time off  start_at, end_at
* busy      a booked appointment's start_at, buffer_end_at (its own buffer included)

The statements are built once, with bound parameters, so SQLAlchemy finds them
compiled in its cache; only the values change from call to call.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Iterable

from sqlalchemy import (BigInteger, Date, DateTime, Integer, Time, bindparam, cast, func, literal_column, null, select,
                        union_all)
from sqlalchemy.orm import Session

from carebook import slots
from models import (Appointment, AppointmentStatus, AppointmentType, DateOverride, Doctor, DoctorAppointmentType,
                    TimeOff, WeeklyHours)
from models.types import UTCDateTime

#: Longer than any appointment with its buffer (at most 240 + 120 minutes). It gives the
#: busy query a lower bound on start_at, so it reads one range of ix_appointments_doctor_start
#: instead of the doctor's whole history.
MAX_APPOINTMENT_LENGTH = timedelta(days=1)

_DOCTOR, _WEEKLY, _OVERRIDE, _TIME_OFF, _BUSY = 0, 1, 2, 3, 4
_NO_DATE, _NO_NUMBER, _NO_TIME = cast(null(), Date), cast(null(), Integer), cast(null(), Time)
_NO_VERSION = cast(null(), BigInteger)
# PostgreSQL hands instants back aware, in the session's time zone, which the engine options
# pin to UTC (carebook/database.py); converting each of them again would cost more than the
# rest of reading the row. SQLite stores naive UTC text, which UTCDateTime makes aware.
_INSTANT = UTCDateTime().with_variant(DateTime(timezone=True), "postgresql")
_NO_INSTANT = cast(null(), _INSTANT)

# What a kept slot list is checked against (carebook/slot_cache.py). Plain Core on the table:
# it runs on every slot request, and needs none of the ORM's work.
_doctors = Doctor.__table__.c
CALENDAR_STAMP = (select(_doctors.calendar_version, _doctors.appointment_minutes, _doctors.buffer_minutes)
                  .where(_doctors.id == bindparam("doctor_id"), _doctors.is_active))
_types, _offers = AppointmentType.__table__.c, DoctorAppointmentType.__table__.c
#: The same for one type the doctor offers: (calendar_version, the doctor's length for it, its buffer).
TYPE_CALENDAR_STAMP = (
    select(_doctors.calendar_version, func.coalesce(_offers.duration_minutes, _types.duration_minutes),
           _types.buffer_minutes)
    .select_from(DoctorAppointmentType.__table__)
    .join(Doctor.__table__, _doctors.id == _offers.doctor_id)
    .join(AppointmentType.__table__, _types.id == _offers.appointment_type_id)
    .where(_offers.doctor_id == bindparam("doctor_id"), _offers.appointment_type_id == bindparam("type_id"),
           _doctors.is_active, _types.is_active))


def stamp_of(doctor) -> tuple[int, int, int]:
    """A doctor's calendar stamp (carebook/slot_cache.py), from a row or object read before the calendar."""
    return doctor.calendar_version, doctor.appointment_minutes, doctor.buffer_minutes


def read_calendars(session: Session, doctor_ids: list[int], first_day: date, last_day: date,
                   window: tuple[datetime, datetime], busy_window: tuple[datetime, datetime] | None = None,
                   exclude_appointment_id: int | None = None, with_doctors: bool = False) -> CalendarRows:
    """The calendars of these doctors around [first_day, last_day] (``window``: those days in UTC).

    With ``busy_window``, their booked time in it too (but for ``exclude_appointment_id``);
    ``with_doctors``, the active ones' terms and calendar stamps.
    """
    params = {"doctor_ids": doctor_ids, "first_day": first_day, "last_day": last_day,
              "window_start": window[0], "window_end": window[1]}
    if busy_window is not None:
        params.update(busy_start=busy_window[0], busy_end=busy_window[1],
                      busy_earliest_start=busy_window[0] - MAX_APPOINTMENT_LENGTH)
    if exclude_appointment_id is not None:
        params["exclude_id"] = exclude_appointment_id
    statement = _calendar_statement(with_doctors, busy_window is not None, exclude_appointment_id is not None)
    return CalendarRows(session.execute(statement, params))


def booked_between(doctor_ids: list[int], start: datetime, end: datetime,
                   exclude_appointment_id: int | None = None) -> list:
    """WHERE terms: booked appointments of these doctors whose time, buffer included, overlaps [start, end)."""
    terms = [
        Appointment.doctor_id.in_(doctor_ids),
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.start_at > start - MAX_APPOINTMENT_LENGTH, Appointment.start_at < end,
        Appointment.buffer_end_at > start,
    ]
    if exclude_appointment_id is not None:
        terms.append(Appointment.id != exclude_appointment_id)
    return terms


class CalendarRows:
    """The calendar read's rows, decoded by kind."""

    def __init__(self, rows: Iterable) -> None:
        self.terms: dict[int, tuple[int, int]] = {}
        self.versions: dict[int, int] = {}
        self.patterns: dict[int, dict[date, dict[int, list[tuple[time, time]]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list)))
        self.overrides: dict[int, dict[date, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
        self.time_off: dict[int, list[slots.Interval]] = defaultdict(list)
        #: Booked time per doctor, each appointment to the end of its own buffer (the engine's ``taken``).
        self.busy: dict[int, list[slots.Interval]] = defaultdict(list)
        for kind, doctor_id, day, number, other_number, start_time, end_time, start_at, end_at, version in rows:
            if kind == _BUSY:
                self.busy[doctor_id].append((start_at, end_at))
            elif kind == _WEEKLY:
                self.patterns[doctor_id][day][number].append((start_time, end_time))
            elif kind == _OVERRIDE:
                ranges = self.overrides[doctor_id][day]  # a closed day is present, with no ranges
                if start_time is not None:
                    ranges.append((start_time, end_time))
            elif kind == _TIME_OFF:
                self.time_off[doctor_id].append((start_at, end_at))
            else:
                self.terms[doctor_id] = (number, other_number)
                self.versions[doctor_id] = version

    def availability(self, doctor_id: int, appointment_minutes: int, buffer_minutes: int,
                     grid: int | str = slots.GRID_DURATION) -> slots.Availability:
        """The doctor's availability for a type of this length and buffer, on the clinic's start-time ``grid``."""
        return slots.Availability(
            appointment_minutes=appointment_minutes,
            buffer_minutes=buffer_minutes,
            grid_minutes=slots.grid_minutes_for(grid, appointment_minutes, buffer_minutes),
            patterns=[slots.WeeklyPattern(valid_from=valid_from, ranges=dict(by_weekday))
                      for valid_from, by_weekday in sorted(self.patterns[doctor_id].items())],
            overrides=dict(self.overrides[doctor_id]),
            time_off=self.time_off[doctor_id],
        )


def _kind(kind: int):
    return literal_column(str(kind), Integer)


@lru_cache(maxsize=None)
def _calendar_statement(with_doctors: bool, with_busy: bool, excluding: bool):
    ids = bindparam("doctor_ids", expanding=True)
    window_start, window_end = bindparam("window_start", type_=UTCDateTime), bindparam("window_end", type_=UTCDateTime)
    parts = [
        select(_kind(_WEEKLY), WeeklyHours.doctor_id, WeeklyHours.valid_from, WeeklyHours.weekday, _NO_NUMBER,
               WeeklyHours.start_time, WeeklyHours.end_time, _NO_INSTANT, _NO_INSTANT, _NO_VERSION)
        .where(WeeklyHours.doctor_id.in_(ids)),
        select(_kind(_OVERRIDE), DateOverride.doctor_id, DateOverride.on_date, _NO_NUMBER, _NO_NUMBER,
               DateOverride.start_time, DateOverride.end_time, _NO_INSTANT, _NO_INSTANT, _NO_VERSION)
        .where(DateOverride.doctor_id.in_(ids),
               DateOverride.on_date.between(bindparam("first_day", type_=Date), bindparam("last_day", type_=Date))),
        select(_kind(_TIME_OFF), TimeOff.doctor_id, _NO_DATE, _NO_NUMBER, _NO_NUMBER, _NO_TIME, _NO_TIME,
               TimeOff.start_at, TimeOff.end_at, _NO_VERSION)
        .where(TimeOff.doctor_id.in_(ids), TimeOff.end_at > window_start, TimeOff.start_at < window_end),
    ]
    if with_doctors:
        parts.append(select(_kind(_DOCTOR), Doctor.id, _NO_DATE, Doctor.appointment_minutes, Doctor.buffer_minutes,
                            _NO_TIME, _NO_TIME, _NO_INSTANT, _NO_INSTANT, Doctor.calendar_version)
                     .where(Doctor.id.in_(ids), Doctor.is_active))
    if with_busy:
        parts.append(_busy_part(ids, excluding))
    return union_all(*parts)


def _busy_part(ids, excluding: bool):
    start = bindparam("busy_start", type_=UTCDateTime)
    busy = (select(_kind(_BUSY), Appointment.doctor_id, _NO_DATE, _NO_NUMBER, _NO_NUMBER, _NO_TIME, _NO_TIME,
                   Appointment.start_at, Appointment.buffer_end_at, _NO_VERSION)
            .where(Appointment.doctor_id.in_(ids), Appointment.status == AppointmentStatus.BOOKED,
                   Appointment.start_at > bindparam("busy_earliest_start", type_=UTCDateTime),
                   Appointment.start_at < bindparam("busy_end", type_=UTCDateTime),
                   Appointment.buffer_end_at > start))
    if excluding:
        busy = busy.where(Appointment.id != bindparam("exclude_id", type_=Integer))
    return busy
