"""Editing a doctor's availability: weekly hours, appointment length, one-off changes, time off.

Every edit is a small frozen *change* value. :class:`AvailabilityService` validates
it, works out which booked appointments it would push outside the doctor's time
(:meth:`~AvailabilityService.affected_appointments`), and applies it. A change that
hits booked appointments is applied only once the caller confirms, and then those
appointments stay booked and are flagged for staff (``needs_attention``); or the
caller cancels them explicitly through the booking service
(:meth:`~AvailabilityService.cancel_affected`). Nothing is ever cancelled or
deleted silently.

The slot engine reads the same rows, so patients' slot lists change with the
commit. Like the booking service, this one flushes and never commits.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Union
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carebook import audit, slots, timefmt
from carebook.booking import BookingService
from carebook.clock import utcnow
from carebook.config import BookingPolicy
from models import Appointment, AppointmentStatus, DateOverride, Doctor, TimeOff, WeeklyHours

UTC = timezone.utc
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
APPOINTMENT_MINUTES = (5, 240)
BUFFER_MINUTES = (0, 120)
#: How far ahead a change may be planned; also keeps date arithmetic far from its limits.
PLANNING_HORIZON = timedelta(days=731)
LONGEST_TIME_OFF = timedelta(days=366)
TIME_OFF_NOTE_LENGTH = 200

TimeRange = slots.TimeRange


# --------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class SetWeeklyHours:
    """From ``valid_from`` on, work these ranges each weekday (Monday=0; a missing day is off).

    Replaces the pattern that starts on exactly that date, if any; an earlier pattern
    applies until then and a later one still takes over at its own date.
    """

    doctor_id: int
    valid_from: date
    ranges: Mapping[int, Sequence[TimeRange]]


@dataclass(frozen=True)
class RemoveWeeklyHours:
    """Drop a planned pattern: the one before it then goes on applying."""

    doctor_id: int
    valid_from: date


@dataclass(frozen=True)
class SetAppointmentLength:
    """Length of new appointments and the gap after each; applies to new bookings at once."""

    doctor_id: int
    appointment_minutes: int
    buffer_minutes: int


@dataclass(frozen=True)
class SetOneOff:
    """On ``on_date`` work ``ranges`` instead of the weekly hours (no ranges: closed).

    With ``adds_to_usual`` the ranges are extra hours on top of that day's usual ones.
    """

    doctor_id: int
    on_date: date
    ranges: Sequence[TimeRange] = ()
    adds_to_usual: bool = False


@dataclass(frozen=True)
class RemoveOneOff:
    doctor_id: int
    on_date: date


@dataclass(frozen=True)
class AddTimeOff:
    """Away from ``start_date`` (at ``start_time``, else midnight) until ``end_date``
    (at ``end_time``, else the end of that day), in clinic wall-clock time."""

    doctor_id: int
    start_date: date
    end_date: date
    start_time: time | None = None
    end_time: time | None = None
    note: str = ""


@dataclass(frozen=True)
class RemoveTimeOff:
    doctor_id: int
    time_off_id: int


Change = Union[SetWeeklyHours, RemoveWeeklyHours, SetAppointmentLength, SetOneOff, RemoveOneOff,
               AddTimeOff, RemoveTimeOff]
_CHANGE_TYPES = {cls.__name__: cls for cls in (SetWeeklyHours, RemoveWeeklyHours, SetAppointmentLength,
                                               SetOneOff, RemoveOneOff, AddTimeOff, RemoveTimeOff)}


def encode_change(change: Change) -> dict[str, Any]:
    """A JSON-ready form of ``change`` (to carry it through a confirmation page)."""
    data: dict[str, Any] = {"type": type(change).__name__}
    for name, value in vars(change).items():
        if name == "ranges" and isinstance(value, Mapping):
            value = {str(day): [_encode_range(r) for r in day_ranges] for day, day_ranges in value.items()}
        elif name == "ranges":
            value = [_encode_range(r) for r in value]
        elif isinstance(value, (date, time)):
            value = value.isoformat()
        data[name] = value
    return data


def decode_change(data: Mapping[str, Any]) -> Change:
    """The change :func:`encode_change` wrote. Raises ValueError on anything else."""
    try:
        cls = _CHANGE_TYPES[data["type"]]
        values = {name: _FIELD_DECODERS[name](data[name]) for name in cls.__dataclass_fields__ if name in data}
        if cls is SetWeeklyHours:
            values["ranges"] = {int(day): tuple(_decode_range(r) for r in day_ranges)
                                for day, day_ranges in data["ranges"].items()}
        return cls(**values)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"not an availability change: {error!r}") from None


def _optional_time(raw: str | None) -> time | None:
    return None if raw is None else time.fromisoformat(raw)


def _decode_ranges(raw: Any) -> Any:
    # A weekly pattern's mapping is decoded by decode_change itself.
    return raw if isinstance(raw, Mapping) else tuple(_decode_range(r) for r in raw)


_FIELD_DECODERS = {
    "doctor_id": int, "time_off_id": int, "appointment_minutes": int, "buffer_minutes": int,
    "valid_from": date.fromisoformat, "on_date": date.fromisoformat,
    "start_date": date.fromisoformat, "end_date": date.fromisoformat,
    "start_time": _optional_time, "end_time": _optional_time,
    "adds_to_usual": bool, "note": str, "ranges": _decode_ranges,
}


def _encode_range(time_range: TimeRange) -> list[str]:
    return [time_range[0].isoformat(), time_range[1].isoformat()]


def _decode_range(raw: Sequence[str]) -> TimeRange:
    start, end = raw
    return time.fromisoformat(start), time.fromisoformat(end)


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Problem:
    """What is wrong with a change. ``field`` names the input: "valid_from", "ranges",
    "ranges.<weekday>.<n>" (n-th range given for that weekday), "ranges.<n>",
    "appointment_minutes", "buffer_minutes", "on_date", "start_date", "end_date",
    "start_time", "end_time", "note", "time_off" or "reason"."""

    field: str
    message: str


class InvalidChange(Exception):
    """The change breaks a rule; nothing was written."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    def messages(self, field_name: str) -> list[str]:
        return [p.message for p in self.problems if p.field == field_name]


class NeedsConfirmation(Exception):
    """The change would leave these booked appointments outside the doctor's time.

    Nothing was written. Show them, then apply with ``confirm_affected=True`` (keep and
    flag them) or call ``cancel_affected``.
    """

    def __init__(self, affected: Sequence[Appointment]):
        super().__init__(f"{len(affected)} booked appointment(s) affected")
        self.affected = list(affected)


@dataclass(frozen=True)
class Applied:
    change: Change
    flagged: list[Appointment] = field(default_factory=list)
    cancelled: list[Appointment] = field(default_factory=list)


@dataclass(frozen=True)
class DayPlan:
    """One local day of a doctor's calendar, for display."""

    day: date
    working: list[slots.Interval]  # UTC, merged
    one_off: tuple[TimeRange, ...] | None  # None: the weekly hours apply; (): closed by a one-off change
    time_off: list[TimeOff]  # rows overlapping the day
    appointments: list[Appointment]  # not cancelled, by start


# --------------------------------------------------------------------------- the service


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``wall`` on ``day``, read exactly as the slot engine
    reads working hours: the first pass of a repeated autumn hour, and the transition
    itself for a time that a spring change skips. Time off and hours then always agree."""
    probe = slots.Availability(appointment_minutes=APPOINTMENT_MINUTES[0], overrides={day: [(wall, time.max)]})
    ((start, _end),) = slots.working_intervals(probe, day, tz)
    return start


def format_range(time_range: TimeRange) -> str:
    return f"{time_range[0]:%H:%M}–{time_range[1]:%H:%M}"


@dataclass
class AvailabilityService:
    session: Session
    timezone: ZoneInfo
    policy: BookingPolicy

    def __post_init__(self) -> None:
        self.booking = BookingService(self.session, self.timezone, self.policy)

    def today(self) -> date:
        return utcnow().astimezone(self.timezone).date()

    # -- validation ----------------------------------------------------------------------

    def validate(self, change: Change) -> None:
        """Raise InvalidChange listing every problem with ``change``."""
        problems = list(self._problems(change))
        if problems:
            raise InvalidChange(problems)

    def _problems(self, change: Change):
        if isinstance(change, SetWeeklyHours):
            yield from self._date_problems(change.valid_from, "valid_from")
            if not any(change.ranges.values()):
                yield Problem("ranges", "Enter at least one range of hours. To stop working for a while, "
                                        "add time off instead.")
            for weekday, day_ranges in sorted(change.ranges.items()):
                if not 0 <= weekday <= 6:
                    yield Problem("ranges", "Unknown weekday.")
                    continue
                yield from _range_problems(day_ranges, f"ranges.{weekday}", WEEKDAY_NAMES[weekday])
        elif isinstance(change, RemoveWeeklyHours):
            yield from self._date_problems(change.valid_from, "valid_from")
            if not self._pattern_rows(change.doctor_id, change.valid_from):
                yield Problem("valid_from", "There are no weekly hours starting on that date.")
        elif isinstance(change, SetAppointmentLength):
            low, high = APPOINTMENT_MINUTES
            if not low <= change.appointment_minutes <= high:
                yield Problem("appointment_minutes", f"Appointment length must be between {low} and {high} minutes.")
            low, high = BUFFER_MINUTES
            if not low <= change.buffer_minutes <= high:
                yield Problem("buffer_minutes", f"The buffer must be between {low} and {high} minutes.")
        elif isinstance(change, SetOneOff):
            yield from self._date_problems(change.on_date, "on_date")
            if change.adds_to_usual and not change.ranges:
                yield Problem("ranges", "Enter the extra hours.")
            yield from _range_problems(change.ranges, "ranges", timefmt.format_date(change.on_date))
        elif isinstance(change, RemoveOneOff):
            yield from self._date_problems(change.on_date, "on_date")
            if not self._one_off_rows(change.doctor_id, change.on_date):
                yield Problem("on_date", "There is no one-off change on that date.")
        elif isinstance(change, AddTimeOff):
            date_problems = list(self._date_problems(change.start_date, "start_date"))
            yield from date_problems
            if len(change.note) > TIME_OFF_NOTE_LENGTH:
                yield Problem("note", f"Keep the note under {TIME_OFF_NOTE_LENGTH} characters.")
            if change.end_date < change.start_date:
                yield Problem("end_date", "The last day cannot be before the first day.")
            elif change.end_date - change.start_date > LONGEST_TIME_OFF:
                yield Problem("end_date", "Time off can cover at most a year at a time.")
            elif not date_problems:
                start_at, end_at = self._time_off_interval(change)
                if end_at <= start_at:
                    yield Problem("end_time", "Time off must end after it starts.")
        elif isinstance(change, RemoveTimeOff):
            row = self.session.get(TimeOff, change.time_off_id)
            if row is None or row.doctor_id != change.doctor_id:
                yield Problem("time_off", "That time off no longer exists.")
            elif row.end_at <= utcnow():
                yield Problem("time_off", "Past time off stays on record and cannot be removed.")
        else:
            raise TypeError(f"not an availability change: {change!r}")

    def _date_problems(self, day: date, field_name: str):
        today = self.today()
        if day < today:
            yield Problem(field_name, f"That date is in the past. Changes can start today "
                                      f"({timefmt.format_date(today)}) or later.")
        elif day > today + PLANNING_HORIZON:
            yield Problem(field_name, "Choose a date within the next two years.")

    # -- affected appointments -----------------------------------------------------------

    def affected_appointments(self, change: Change) -> list[Appointment]:
        """Booked future appointments that fit the doctor's time now but would not after ``change``.

        An appointment fits when it lies wholly inside the working time of its day (as
        the slot engine computes it, so across daylight-saving changes too) and
        overlaps no time off. One that already did not fit (booked outside hours by
        staff) is not blamed on this change.
        """
        self.validate(change)
        if isinstance(change, SetAppointmentLength):
            return []  # existing appointments keep their times
        doctor = self._doctor(change.doctor_id)
        booked = self.session.scalars(
            select(Appointment).where(Appointment.doctor_id == doctor.id,
                                      Appointment.status == AppointmentStatus.BOOKED,
                                      Appointment.start_at > utcnow())
            .order_by(Appointment.start_at)).all()
        if not booked:
            return []
        first_day = self.booking.local_day(booked[0].start_at) - timedelta(days=1)
        last_day = max(self.booking.local_day(a.end_at) for a in booked) + timedelta(days=1)
        current = self.booking.availabilities([doctor], first_day, last_day)[doctor.id]
        proposed = self._proposed(current, change)
        fits_now, fits_after = _Fit(current, self.timezone), _Fit(proposed, self.timezone)
        return [a for a in booked if fits_now(a) and not fits_after(a)]

    def _proposed(self, current: slots.Availability, change: Change) -> slots.Availability:
        """``current`` as it would be with ``change`` applied (pure; nothing written)."""
        if isinstance(change, SetWeeklyHours):
            patterns = [p for p in current.patterns if p.valid_from != change.valid_from]
            patterns.append(slots.WeeklyPattern(change.valid_from, _clean_weekly(change.ranges)))
            return replace(current, patterns=patterns)
        if isinstance(change, RemoveWeeklyHours):
            return replace(current, patterns=[p for p in current.patterns if p.valid_from != change.valid_from])
        if isinstance(change, SetOneOff):
            overrides = dict(current.overrides)
            overrides[change.on_date] = self._one_off_ranges(current, change)
            return replace(current, overrides=overrides)
        if isinstance(change, RemoveOneOff):
            return replace(current, overrides={d: r for d, r in current.overrides.items() if d != change.on_date})
        if isinstance(change, AddTimeOff):
            return replace(current, time_off=[*current.time_off, self._time_off_interval(change)])
        if isinstance(change, RemoveTimeOff):
            row = self.session.get(TimeOff, change.time_off_id)
            remaining = list(current.time_off)
            if (row.start_at, row.end_at) in remaining:
                remaining.remove((row.start_at, row.end_at))
            return replace(current, time_off=remaining)
        return current

    def _one_off_ranges(self, current: slots.Availability, change: SetOneOff) -> tuple[TimeRange, ...]:
        ranges = list(change.ranges)
        if change.adds_to_usual:
            ranges += ranges_on(current, change.on_date)
        return _merge_ranges(ranges)

    def _time_off_interval(self, change: AddTimeOff) -> slots.Interval:
        start = local_instant(change.start_date, change.start_time or time(0), self.timezone)
        if change.end_time is not None:
            end = local_instant(change.end_date, change.end_time, self.timezone)
        else:
            end = local_instant(change.end_date + timedelta(days=1), time(0), self.timezone)
        return start, end

    # -- applying ------------------------------------------------------------------------

    def apply(self, change: Change, actor: audit.Actor, *, confirm_affected: bool = False,
              shown_ids: Collection[int] | None = None) -> Applied:
        """Validate and apply ``change``; flag the appointments it affects (never cancel them).

        Raises InvalidChange, or NeedsConfirmation when it affects booked appointments and
        ``confirm_affected`` is false, or when ``shown_ids`` (the appointments the user
        saw) misses one that is affected now.
        """
        doctor = self._lock_doctor(change.doctor_id)
        affected = self.affected_appointments(change)
        self._require_confirmation(affected, confirm_affected, shown_ids)
        details = self._write(change, doctor)
        for appointment in affected:
            appointment.needs_attention = True
            audit.record(self.session, actor, "appointment.flagged", "appointment", appointment.id,
                         why="availability_changed", change=_action(change))
        self.session.flush()
        if affected:
            details["flagged_appointment_ids"] = [a.id for a in affected]
        audit.record(self.session, actor, _action(change), "doctor", doctor.id, **details)
        self.session.flush()
        return Applied(change, flagged=affected)

    def cancel_affected(self, change: Change, actor: audit.Actor, *, reason: str,
                        shown_ids: Collection[int] | None = None) -> Applied:
        """Cancel the appointments ``change`` affects through the booking service, then apply it."""
        doctor = self._lock_doctor(change.doctor_id)
        affected = self.affected_appointments(change)
        self._require_confirmation(affected, True, shown_ids)
        reason = reason.strip()
        if affected and not reason:
            raise InvalidChange([Problem("reason", "Give a reason for cancelling.")])
        if len(reason) > 500:
            raise InvalidChange([Problem("reason", "Keep the reason under 500 characters.")])
        for appointment in affected:
            self.booking.cancel(actor, appointment, reason=reason, enforce_cutoff=False)
        details = self._write(change, doctor)
        self.session.flush()
        if affected:
            details["cancelled_appointment_ids"] = [a.id for a in affected]
        audit.record(self.session, actor, _action(change), "doctor", doctor.id, **details)
        self.session.flush()
        return Applied(change, cancelled=affected)

    @staticmethod
    def _require_confirmation(affected: Sequence[Appointment], confirmed: bool,
                              shown_ids: Collection[int] | None) -> None:
        if not affected:
            return
        unseen = shown_ids is not None and any(a.id not in shown_ids for a in affected)
        if not confirmed or unseen:
            raise NeedsConfirmation(affected)

    def _write(self, change: Change, doctor: Doctor) -> dict[str, Any]:
        """Write ``change`` and return what the audit row should say about it (no health details)."""
        if isinstance(change, SetWeeklyHours):
            previous = _describe_rows(self._pattern_rows(doctor.id, change.valid_from))
            self._delete_pattern(doctor.id, change.valid_from)
            weekly = _clean_weekly(change.ranges)
            for weekday, day_ranges in weekly.items():
                for start, end in day_ranges:
                    self.session.add(WeeklyHours(doctor_id=doctor.id, valid_from=change.valid_from,
                                                 weekday=weekday, start_time=start, end_time=end))
            return {"valid_from": change.valid_from.isoformat(), "hours": _describe_weekly(weekly),
                    "previous_hours": previous or None}
        if isinstance(change, RemoveWeeklyHours):
            previous = _describe_rows(self._pattern_rows(doctor.id, change.valid_from))
            self._delete_pattern(doctor.id, change.valid_from)
            return {"valid_from": change.valid_from.isoformat(), "previous_hours": previous}
        if isinstance(change, SetAppointmentLength):
            details = {"appointment_minutes": change.appointment_minutes, "buffer_minutes": change.buffer_minutes,
                       "previous_appointment_minutes": doctor.appointment_minutes,
                       "previous_buffer_minutes": doctor.buffer_minutes}
            doctor.appointment_minutes = change.appointment_minutes
            doctor.buffer_minutes = change.buffer_minutes
            return details
        if isinstance(change, SetOneOff):
            current = self.booking.availabilities([doctor], change.on_date, change.on_date)[doctor.id]
            ranges = self._one_off_ranges(current, change)
            previous = self._one_off_rows(doctor.id, change.on_date)
            previous_description = _describe_one_off(previous) if previous else None
            self._delete_one_off(doctor.id, change.on_date)
            if ranges:
                for start, end in ranges:
                    self.session.add(DateOverride(doctor_id=doctor.id, on_date=change.on_date,
                                                  start_time=start, end_time=end))
            else:
                self.session.add(DateOverride(doctor_id=doctor.id, on_date=change.on_date))
            return {"on_date": change.on_date.isoformat(), "hours": [format_range(r) for r in ranges] or "closed",
                    "extra_hours": change.adds_to_usual,
                    "previous": previous_description}
        if isinstance(change, RemoveOneOff):
            previous = _describe_one_off(self._one_off_rows(doctor.id, change.on_date))
            self._delete_one_off(doctor.id, change.on_date)
            return {"on_date": change.on_date.isoformat(), "previous": previous}
        if isinstance(change, AddTimeOff):
            start_at, end_at = self._time_off_interval(change)
            row = TimeOff(doctor_id=doctor.id, start_at=start_at, end_at=end_at, reason=change.note.strip())
            self.session.add(row)
            self.session.flush()
            # The note stays out of the audit log: it may say why (a health matter).
            return {"time_off_id": row.id, "start_at": start_at.isoformat(), "end_at": end_at.isoformat()}
        if isinstance(change, RemoveTimeOff):
            row = self.session.get(TimeOff, change.time_off_id)
            details = {"time_off_id": row.id, "start_at": row.start_at.isoformat(), "end_at": row.end_at.isoformat()}
            self.session.delete(row)
            return details
        raise TypeError(f"not an availability change: {change!r}")

    # -- reading, for the calendar pages -------------------------------------------------

    def patterns(self, doctor: Doctor) -> list[slots.WeeklyPattern]:
        """All of the doctor's weekly patterns, oldest first, ranges sorted."""
        by_start: dict[date, dict[int, list[TimeRange]]] = {}
        for row in self.session.scalars(select(WeeklyHours).where(WeeklyHours.doctor_id == doctor.id)):
            by_start.setdefault(row.valid_from, {}).setdefault(row.weekday, []).append((row.start_time, row.end_time))
        return [slots.WeeklyPattern(valid_from, {d: sorted(r) for d, r in sorted(weekly.items())})
                for valid_from, weekly in sorted(by_start.items())]

    def pattern_on(self, doctor: Doctor, day: date) -> slots.WeeklyPattern | None:
        """The weekly pattern in effect on ``day``."""
        in_effect = [p for p in self.patterns(doctor) if p.valid_from <= day]
        return in_effect[-1] if in_effect else None

    def one_offs(self, doctor: Doctor, from_day: date) -> dict[date, tuple[TimeRange, ...]]:
        """One-off changes from ``from_day`` on: date -> ranges (empty: closed)."""
        result: dict[date, list[TimeRange]] = {}
        for row in self.session.scalars(select(DateOverride).where(
                DateOverride.doctor_id == doctor.id, DateOverride.on_date >= from_day)
                .order_by(DateOverride.on_date, DateOverride.start_time)):
            ranges = result.setdefault(row.on_date, [])
            if row.start_time is not None:
                ranges.append((row.start_time, row.end_time))
        return {day: tuple(ranges) for day, ranges in result.items()}

    def time_off(self, doctor: Doctor, ending_after: datetime) -> list[TimeOff]:
        return list(self.session.scalars(select(TimeOff).where(
            TimeOff.doctor_id == doctor.id, TimeOff.end_at > ending_after).order_by(TimeOff.start_at)))

    def plan(self, doctor: Doctor, first_day: date, last_day: date) -> list[DayPlan]:
        """Each local day of [first_day, last_day] with its hours, time off and appointments."""
        availability = self.booking.availabilities([doctor], first_day, last_day)[doctor.id]
        window_start, window_end = self.booking.utc_window(first_day, last_day)
        time_off = list(self.session.scalars(select(TimeOff).where(
            TimeOff.doctor_id == doctor.id, TimeOff.end_at > window_start, TimeOff.start_at < window_end)
            .order_by(TimeOff.start_at)))
        appointments = self.session.scalars(select(Appointment).where(
            Appointment.doctor_id == doctor.id, Appointment.status != AppointmentStatus.CANCELLED,
            Appointment.start_at >= window_start, Appointment.start_at < window_end)
            .order_by(Appointment.start_at)).all()
        days = []
        day = first_day
        while day <= last_day:
            day_start, day_end = self.booking.utc_window(day, day)
            days.append(DayPlan(
                day=day,
                working=slots.working_intervals(availability, day, self.timezone),
                one_off=tuple(availability.overrides[day]) if day in availability.overrides else None,
                time_off=[row for row in time_off if row.start_at < day_end and row.end_at > day_start],
                appointments=[a for a in appointments if self.booking.local_day(a.start_at) == day],
            ))
            day += timedelta(days=1)
        return days

    def appointment_counts(self, doctor: Doctor, first_day: date, last_day: date) -> dict[date, int]:
        """How many appointments (not cancelled) start on each local day of the range."""
        window_start, window_end = self.booking.utc_window(first_day, last_day)
        counts: dict[date, int] = {}
        for start_at in self.session.scalars(select(Appointment.start_at).where(
                Appointment.doctor_id == doctor.id, Appointment.status != AppointmentStatus.CANCELLED,
                Appointment.start_at >= window_start, Appointment.start_at < window_end)):
            day = self.booking.local_day(start_at)
            counts[day] = counts.get(day, 0) + 1
        return counts

    # -- internals -----------------------------------------------------------------------

    def _doctor(self, doctor_id: int) -> Doctor:
        doctor = self.session.get(Doctor, doctor_id)
        if doctor is None:
            raise InvalidChange([Problem("doctor", "Unknown doctor.")])
        return doctor

    def _lock_doctor(self, doctor_id: int) -> Doctor:
        # The booking service takes the same lock to book, so no booking can slip into
        # time that this change removes between the check below and the commit.
        self.session.execute(select(Doctor.id).where(Doctor.id == doctor_id).with_for_update())
        return self._doctor(doctor_id)

    def _pattern_rows(self, doctor_id: int, valid_from: date) -> list[WeeklyHours]:
        return list(self.session.scalars(select(WeeklyHours).where(
            WeeklyHours.doctor_id == doctor_id, WeeklyHours.valid_from == valid_from)
            .order_by(WeeklyHours.weekday, WeeklyHours.start_time)))

    def _delete_pattern(self, doctor_id: int, valid_from: date) -> None:
        self.session.execute(delete(WeeklyHours).where(WeeklyHours.doctor_id == doctor_id,
                                                       WeeklyHours.valid_from == valid_from)
                             .execution_options(synchronize_session="fetch"))

    def _one_off_rows(self, doctor_id: int, on_date: date) -> list[DateOverride]:
        return list(self.session.scalars(select(DateOverride).where(
            DateOverride.doctor_id == doctor_id, DateOverride.on_date == on_date)
            .order_by(DateOverride.start_time)))

    def _delete_one_off(self, doctor_id: int, on_date: date) -> None:
        self.session.execute(delete(DateOverride).where(DateOverride.doctor_id == doctor_id,
                                                        DateOverride.on_date == on_date)
                             .execution_options(synchronize_session="fetch"))


# --------------------------------------------------------------------------- helpers


def ranges_on(availability: slots.Availability, day: date) -> tuple[TimeRange, ...]:
    """The wall-clock ranges worked on ``day``: its one-off change, else the weekly pattern then."""
    if day in availability.overrides:
        return tuple(availability.overrides[day])
    in_effect = [p for p in availability.patterns if p.valid_from <= day]
    if not in_effect:
        return ()
    pattern = max(in_effect, key=lambda p: p.valid_from)
    return tuple(pattern.ranges.get(day.weekday(), ()))


def _range_problems(ranges: Sequence[TimeRange], prefix: str, day_name: str):
    """End after start, and no two ranges of one day overlapping."""
    checked: list[TimeRange] = []
    for number, (start, end) in enumerate(ranges):
        where = f"{prefix}.{number}"
        if end <= start:
            yield Problem(where, "The end must be after the start.")
            continue
        clash = next((other for other in checked if start < other[1] and other[0] < end), None)
        if clash is not None:
            yield Problem(where, f"Overlaps {format_range(clash)} on {day_name}.")
            continue
        checked.append((start, end))


def _merge_ranges(ranges: Sequence[TimeRange]) -> tuple[TimeRange, ...]:
    merged: list[TimeRange] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _clean_weekly(ranges: Mapping[int, Sequence[TimeRange]]) -> dict[int, tuple[TimeRange, ...]]:
    return {weekday: tuple(sorted(day_ranges)) for weekday, day_ranges in sorted(ranges.items()) if day_ranges}


def _describe_weekly(weekly: Mapping[int, Sequence[TimeRange]]) -> dict[str, list[str]]:
    return {WEEKDAY_NAMES[weekday]: [format_range(r) for r in day_ranges] for weekday, day_ranges in weekly.items()}


def _describe_rows(rows: Sequence[WeeklyHours]) -> dict[str, list[str]]:
    weekly: dict[int, list[TimeRange]] = {}
    for row in rows:
        weekly.setdefault(row.weekday, []).append((row.start_time, row.end_time))
    return _describe_weekly(_clean_weekly(weekly))


def _describe_one_off(rows: Sequence[DateOverride]) -> list[str] | str:
    ranges = [format_range((r.start_time, r.end_time)) for r in rows if r.start_time is not None]
    return ranges or "closed"


def _action(change: Change) -> str:
    return {
        SetWeeklyHours: "availability.weekly_hours_set",
        RemoveWeeklyHours: "availability.weekly_hours_removed",
        SetAppointmentLength: "availability.appointment_length_set",
        SetOneOff: "availability.one_off_set",
        RemoveOneOff: "availability.one_off_removed",
        AddTimeOff: "availability.time_off_added",
        RemoveTimeOff: "availability.time_off_removed",
    }[type(change)]


class _Fit:
    """Does an appointment lie inside working time and outside time off, under one availability?"""

    def __init__(self, availability: slots.Availability, tz: ZoneInfo) -> None:
        self._availability = availability
        self._tz = tz
        self._days: dict[date, list[slots.Interval]] = {}

    def _working(self, day: date) -> list[slots.Interval]:
        if day not in self._days:
            self._days[day] = slots.working_intervals(self._availability, day, self._tz)
        return self._days[day]

    def __call__(self, appointment: Appointment) -> bool:
        start, end = appointment.start_at, appointment.end_at
        if any(off_start < end and start < off_end for off_start, off_end in self._availability.time_off):
            return False
        day, last_day = start.astimezone(self._tz).date(), end.astimezone(self._tz).date()
        intervals: list[slots.Interval] = []
        while day <= last_day:
            intervals.extend(self._working(day))
            day += timedelta(days=1)
        # Touching intervals are joined, so an appointment across midnight in 24-hour work fits.
        merged: list[slots.Interval] = []
        for interval_start, interval_end in sorted(intervals):
            if merged and interval_start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(interval_end, merged[-1][1]))
            else:
                merged.append((interval_start, interval_end))
        return any(covered_start <= start and end <= covered_end for covered_start, covered_end in merged)
