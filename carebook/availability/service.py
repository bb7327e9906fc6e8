"""The availability service: validating, previewing and applying changes, and reading calendars for display.

A change that hits booked appointments is applied only once the caller confirms,
and then those appointments stay booked and are flagged for staff through the
booking service; or the caller has them cancelled, through the booking service too
(:meth:`AvailabilityService.cancel_affected`). Nothing is ever cancelled or deleted
silently. Like the booking service, this one flushes and never commits.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebook import audit, slots
from carebook.availability.changes import Change
from carebook.availability.errors import InvalidChange, NeedsConfirmation, Problem
from carebook.availability.fit import Fit
from carebook.availability.ranges import TimeRange
from carebook.availability.store import CalendarStore
from carebook.booking import BookingService
from carebook.clock import utcnow
from carebook.config import BookingPolicy
from carebook.waitlist import freed as waitlist_freed
from models import Appointment, AppointmentStatus, DateOverride, Doctor, TimeOff, WeeklyHours

CANCELLATION_REASON_LENGTH = 500


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


@dataclass
class AvailabilityService:
    session: Session
    timezone: ZoneInfo
    policy: BookingPolicy

    def __post_init__(self) -> None:
        self.booking = BookingService(self.session, self.timezone, self.policy)
        self.calendar = CalendarStore(self.session, self.timezone, self.booking)

    def today(self) -> date:
        return self.calendar.today()

    # -- changing ------------------------------------------------------------------------

    def validate(self, change: Change) -> None:
        """Raise InvalidChange listing every problem with ``change``."""
        if not isinstance(change, Change):
            raise TypeError(f"not an availability change: {change!r}")
        problems = list(change.problems(self.calendar))
        if problems:
            raise InvalidChange(problems)

    def affected_appointments(self, change: Change) -> list[Appointment]:
        """Booked future appointments that fit the doctor's time now but would not after ``change``.

        An appointment fits when it lies wholly inside the working time of its day (as
        the slot engine computes it, so across daylight-saving changes too) and
        overlaps no time off. One that already did not fit (booked outside hours by
        staff) is not blamed on this change.
        """
        self.validate(change)
        if not change.can_affect_appointments:
            return []
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
        fits_now = Fit(current, self.timezone)
        fits_after = Fit(change.proposed(current, self.calendar), self.timezone)
        return [a for a in booked if fits_now(a) and not fits_after(a)]

    def stranded_offers(self, change: Change) -> list[int]:
        """Open waitlist offers of the doctor's time that fit it now but would lie outside it after ``change``.

        The same test as :meth:`affected_appointments`, on the offers: every change that removes
        bookable time (fewer weekly hours, a one-off change that shortens or closes a day, time
        off) strands the offers made of that time, and the caller withdraws them in the change's
        own transaction, so nobody is left holding a link to a time that can no longer be booked.
        """
        if not change.can_affect_appointments:
            return []
        offers = waitlist_freed.open_offers(self.session, change.doctor_id, utcnow())
        if not offers:
            return []
        doctor = self._doctor(change.doctor_id)
        first_day = self.booking.local_day(min(o.start_at for o in offers)) - timedelta(days=1)
        last_day = self.booking.local_day(max(o.end_at for o in offers)) + timedelta(days=1)
        current = self.booking.availabilities([doctor], first_day, last_day)[doctor.id]
        fits_now = Fit(current, self.timezone)
        fits_after = Fit(change.proposed(current, self.calendar), self.timezone)
        return [o.id for o in offers if fits_now(o) and not fits_after(o)]

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
        stranded = self.stranded_offers(change)
        details = change.write(doctor, self.calendar)
        waitlist_freed.withdraw_offers(self.session, stranded, reason=change.action)
        # Time it opens is offered to waiting patients after the commit (carebook/waitlist/freed.py).
        waitlist_freed.record_availability_change(self.session, change, details, self.timezone, self.policy)
        for appointment in affected:
            self.booking.flag_for_attention(actor, appointment, why="availability_changed", change=change.action)
        self._record(actor, change, doctor, details, flagged_appointment_ids=[a.id for a in affected])
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
        if len(reason) > CANCELLATION_REASON_LENGTH:
            raise InvalidChange([Problem("reason", f"Keep the reason under {CANCELLATION_REASON_LENGTH} characters.")])
        stranded = self.stranded_offers(change)
        for appointment in affected:
            self.booking.cancel(actor, appointment, reason=reason, enforce_cutoff=False)
        details = change.write(doctor, self.calendar)
        waitlist_freed.withdraw_offers(self.session, stranded, reason=change.action)
        waitlist_freed.record_availability_change(self.session, change, details, self.timezone, self.policy)
        self._record(actor, change, doctor, details, cancelled_appointment_ids=[a.id for a in affected])
        return Applied(change, cancelled=affected)

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
        # time that this change removes between the check below and the commit; taken
        # through it, the lock is not taken again to flag or cancel the affected appointments.
        doctor = self.booking.lock_doctor(doctor_id)
        if doctor is None:
            raise InvalidChange([Problem("doctor", "Unknown doctor.")])
        return doctor

    @staticmethod
    def _require_confirmation(affected: Sequence[Appointment], confirmed: bool,
                              shown_ids: Collection[int] | None) -> None:
        if not affected:
            return
        unseen = shown_ids is not None and any(a.id not in shown_ids for a in affected)
        if not confirmed or unseen:
            raise NeedsConfirmation(affected)

    def _record(self, actor: audit.Actor, change: Change, doctor: Doctor, details: dict[str, Any],
                **appointment_ids: list[int]) -> None:
        """The change's audit row, naming the appointments it flagged or cancelled, if any."""
        self.session.flush()
        details.update({key: ids for key, ids in appointment_ids.items() if ids})
        audit.record(self.session, actor, change.action, "doctor", doctor.id, **details)
        self.session.flush()
