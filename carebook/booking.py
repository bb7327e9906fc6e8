"""The booking service: the one place where appointments are made, moved and cancelled.

Every entry point (portal, JSON API, staff console, CLI) goes through
:class:`BookingService`. It works inside the caller's transaction: it takes the
doctor's row lock, re-checks the request against the availability as it is now,
writes the appointment and its audit row, and calls the registered listeners
(the reminder outbox hooks in there) in the same transaction. It flushes but never
commits; the edge commits once. The database's overlap constraints are the last
word, and a violation comes back as the same clean conflict as the service's own check.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebook import audit, slots
from carebook.clock import utcnow
from carebook.config import BookingPolicy
from models import (
    DOCTOR_OVERLAP_CONSTRAINT,
    PATIENT_OVERLAP_CONSTRAINT,
    Appointment,
    AppointmentStatus,
    DateOverride,
    Doctor,
    Patient,
    TimeOff,
    WeeklyHours,
)


class BookingError(Exception):
    """A booking request that cannot be carried out. ``code`` is stable, for API clients."""

    code = "booking_error"
    #: "conflict": the calendar changed under the request (show fresh slots);
    #: "rule": the request breaks a rule and will not succeed if retried.
    kind = "rule"
    message = "This booking cannot be made."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message


class SlotTaken(BookingError):
    code, kind, message = "slot_taken", "conflict", "Sorry, that time was just taken. Please choose another."


class OutsideAvailability(BookingError):
    code, kind, message = ("outside_availability", "conflict",
                           "That time is no longer available: the doctor's hours have changed.")


class PatientBusy(BookingError):
    code, kind, message = "patient_conflict", "conflict", "You already have an appointment at that time."


class DoctorInactive(BookingError):
    code, kind, message = "doctor_inactive", "conflict", "This doctor is not taking bookings."


class InThePast(BookingError):
    code, message = "in_the_past", "That time has already passed."


class OutsideBookingWindow(BookingError):
    code, message = "outside_booking_window", "That time is too soon or too far ahead to book online."


class CancellationTooLate(BookingError):
    code, message = "cancellation_too_late", "This appointment is too close to change online. Please call the clinic."


class NotBooked(BookingError):
    code, message = "not_booked", "This appointment is no longer booked."


class NotStartedYet(BookingError):
    code, message = "not_started_yet", "An appointment can be marked completed or no-show only once it has started."


#: Signature of a listener: (session, event, appointment, previous_start_at or None).
#: Events: "booked", "rescheduled", "cancelled". The reminder outbox registers here.
Listener = Callable[[Session, str, Appointment, "datetime | None"], None]
listeners: list[Listener] = []


@dataclass
class BookingService:
    session: Session
    timezone: ZoneInfo
    policy: BookingPolicy

    # -- reading availability ------------------------------------------------------------

    def availabilities(self, doctors: Sequence[Doctor], first_day: date, last_day: date
                       ) -> dict[int, slots.Availability]:
        """Each doctor's availability around [first_day, last_day], in a fixed number of queries."""
        ids = [doctor.id for doctor in doctors]
        patterns: dict[int, dict[date, dict[int, list[tuple[time, time]]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list)))
        for row in self.session.scalars(select(WeeklyHours).where(WeeklyHours.doctor_id.in_(ids))):
            patterns[row.doctor_id][row.valid_from][row.weekday].append((row.start_time, row.end_time))
        overrides: dict[int, dict[date, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
        for row in self.session.scalars(select(DateOverride).where(
                DateOverride.doctor_id.in_(ids), DateOverride.on_date.between(first_day, last_day))):
            ranges = overrides[row.doctor_id][row.on_date]
            if row.start_time is not None:
                ranges.append((row.start_time, row.end_time))
        window_start, window_end = self.utc_window(first_day, last_day)
        time_off: dict[int, list[slots.Interval]] = defaultdict(list)
        for row in self.session.scalars(select(TimeOff).where(
                TimeOff.doctor_id.in_(ids), TimeOff.end_at > window_start, TimeOff.start_at < window_end)):
            time_off[row.doctor_id].append((row.start_at, row.end_at))
        return {
            doctor.id: slots.Availability(
                appointment_minutes=doctor.appointment_minutes,
                buffer_minutes=doctor.buffer_minutes,
                patterns=[slots.WeeklyPattern(valid_from=valid_from, ranges=dict(by_weekday))
                          for valid_from, by_weekday in patterns[doctor.id].items()],
                overrides=dict(overrides[doctor.id]),
                time_off=time_off[doctor.id],
            )
            for doctor in doctors
        }

    def busy(self, doctor_ids: Iterable[int], start: datetime, end: datetime,
             exclude_appointment_id: int | None = None) -> dict[int, list[slots.Interval]]:
        """Booked appointments of these doctors that overlap [start, end)."""
        query = select(Appointment.doctor_id, Appointment.start_at, Appointment.end_at).where(
            Appointment.doctor_id.in_(list(doctor_ids)),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.end_at > start, Appointment.start_at < end,
        )
        if exclude_appointment_id is not None:
            query = query.where(Appointment.id != exclude_appointment_id)
        busy: dict[int, list[slots.Interval]] = defaultdict(list)
        for doctor_id, start_at, end_at in self.session.execute(query):
            busy[doctor_id].append((start_at, end_at))
        return busy

    def free_slots(self, doctor: Doctor, first_day: date, last_day: date) -> list[slots.Slot]:
        return self.free_slots_for([doctor], first_day, last_day)[doctor.id]

    def free_slots_for(self, doctors: Sequence[Doctor], first_day: date, last_day: date
                       ) -> dict[int, list[slots.Slot]]:
        """Bookable slots per doctor, as patients may book them now. Constant query count."""
        result: dict[int, list[slots.Slot]] = {doctor.id: [] for doctor in doctors}
        for doctor, find in self._slot_finders(doctors, first_day, last_day):
            result[doctor.id] = find(first_day, last_day)
        return result

    def next_free_slots(self, doctors: Sequence[Doctor], first_day: date, last_day: date,
                        step_days: int = 7) -> dict[int, slots.Slot | None]:
        """Each doctor's first bookable slot in [first_day, last_day], or None. Constant query count.

        The data for the whole range is read once; the slot engine then walks it a week at
        a time and stops at the first free slot, so a busy doctor costs little.
        """
        result: dict[int, slots.Slot | None] = {doctor.id: None for doctor in doctors}
        for doctor, find in self._slot_finders(doctors, first_day, last_day):
            window_start = first_day
            while window_start <= last_day and result[doctor.id] is None:
                window_end = min(window_start + timedelta(days=step_days - 1), last_day)
                found = find(window_start, window_end)
                result[doctor.id] = found[0] if found else None
                window_start = window_end + timedelta(days=1)
        return result

    def _slot_finders(self, doctors: Sequence[Doctor], first_day: date, last_day: date):
        """(doctor, find(first, last) -> slots) for each active doctor, over data read in one go."""
        active = [doctor for doctor in doctors if doctor.is_active]
        if not active:
            return []
        availabilities = self.availabilities(active, first_day, last_day)
        busy = self.busy([d.id for d in active], *self.utc_window(first_day, last_day))
        now = utcnow()

        def finder(doctor: Doctor):
            def find(first: date, last: date) -> list[slots.Slot]:
                return slots.bookable_slots(
                    availabilities[doctor.id], first_day=first, last_day=last, tz=self.timezone, now=now,
                    minimum_notice=self.policy.minimum_notice, horizon=self.policy.booking_horizon,
                    busy=busy[doctor.id])
            return find

        return [(doctor, finder(doctor)) for doctor in active]

    def bookable_days(self) -> tuple[date, date]:
        """The first and last local dates on which a patient may book today."""
        now = utcnow()
        return (now + self.policy.minimum_notice).astimezone(self.timezone).date(), \
            (now + self.policy.booking_horizon).astimezone(self.timezone).date()

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.timezone).date()

    # -- changing appointments -----------------------------------------------------------

    def book(self, actor: audit.Actor, *, doctor: Doctor, patient: Patient, start_at: datetime,
             reason: str = "", allow_outside_hours: bool = False, override_note: str = "") -> Appointment:
        """Book ``patient`` with ``doctor`` at ``start_at``, or raise a BookingError.

        ``allow_outside_hours`` (staff only, with ``override_note`` for the audit log)
        books a time outside the doctor's hours; it never allows an overlap.
        """
        start_at = _as_utc(start_at)
        self._lock_doctor(doctor)
        end_at = self._check_bookable(doctor, start_at, allow_outside_hours=allow_outside_hours)
        appointment = Appointment(doctor=doctor, patient=patient, start_at=start_at, end_at=end_at,
                                  reason=reason.strip(), created_by_id=actor.user_id,
                                  status=AppointmentStatus.BOOKED)
        self.session.add(appointment)
        self._flush_checking_overlaps()
        audit.record(self.session, actor, "appointment.booked", "appointment", appointment.id,
                     doctor_id=doctor.id, patient_id=patient.id, start_at=start_at.isoformat(),
                     end_at=end_at.isoformat(), **({"outside_hours_note": override_note} if allow_outside_hours else {}))
        self._notify("booked", appointment, None)
        return appointment

    def reschedule(self, actor: audit.Actor, appointment: Appointment, new_start_at: datetime, *,
                   enforce_cutoff: bool = True, allow_outside_hours: bool = False,
                   override_note: str = "", reason: str = "") -> Appointment:
        """Move a booked appointment to a new time of the same doctor, atomically.

        The appointment keeps its id; its old time is free again in the same
        transaction, so either the move happens whole or nothing changes.
        """
        new_start_at = _as_utc(new_start_at)
        self._check_changeable(appointment, enforce_cutoff)
        self._lock_doctor(appointment.doctor)
        self.session.refresh(appointment)
        self._check_changeable(appointment, enforce_cutoff)
        previous_start_at = appointment.start_at
        end_at = self._check_bookable(appointment.doctor, new_start_at, allow_outside_hours=allow_outside_hours,
                                      exclude_appointment_id=appointment.id)
        appointment.start_at, appointment.end_at = new_start_at, end_at
        appointment.needs_attention = False
        self._flush_checking_overlaps()
        audit.record(self.session, actor, "appointment.rescheduled", "appointment", appointment.id,
                     previous_start_at=previous_start_at.isoformat(), start_at=new_start_at.isoformat(),
                     end_at=end_at.isoformat(), **({"note": reason.strip()} if reason.strip() else {}),
                     **({"outside_hours_note": override_note} if allow_outside_hours else {}))
        self._notify("rescheduled", appointment, previous_start_at)
        return appointment

    def cancel(self, actor: audit.Actor, appointment: Appointment, *, reason: str = "",
               enforce_cutoff: bool = True) -> Appointment:
        self._check_changeable(appointment, enforce_cutoff)
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancelled_at = utcnow()
        appointment.cancelled_by_id = actor.user_id
        appointment.cancellation_reason = reason.strip()
        self.session.flush()
        audit.record(self.session, actor, "appointment.cancelled", "appointment", appointment.id,
                     start_at=appointment.start_at.isoformat())
        self._notify("cancelled", appointment, None)
        return appointment

    def mark_outcome(self, actor: audit.Actor, appointment: Appointment, status: AppointmentStatus) -> Appointment:
        """Record that a booked appointment happened (completed) or the patient did not come (no-show).

        Only once it has started; a wrongly marked outcome may be corrected the same way.
        """
        if status not in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW):
            raise ValueError(f"not an outcome: {status}")
        if appointment.status is AppointmentStatus.CANCELLED:
            raise NotBooked()
        if appointment.start_at > utcnow():
            raise NotStartedYet()
        previous = appointment.status
        appointment.status = status
        appointment.needs_attention = False
        self.session.flush()
        audit.record(self.session, actor, f"appointment.{status.value}", "appointment", appointment.id,
                     previous_status=previous.value)
        return appointment

    def clear_attention(self, actor: audit.Actor, appointment: Appointment, note: str) -> Appointment:
        """Staff have dealt with a flagged appointment (e.g. called the patient) and keep it as it is."""
        if not appointment.needs_attention:
            return appointment
        appointment.needs_attention = False
        self.session.flush()
        audit.record(self.session, actor, "appointment.attention_cleared", "appointment", appointment.id,
                     note=note.strip())
        return appointment

    def cancellation_deadline(self, appointment: Appointment) -> datetime:
        """Until when a patient may cancel or move this appointment online."""
        return appointment.start_at - self.policy.cancellation_cutoff

    # -- internals -----------------------------------------------------------------------

    def _lock_doctor(self, doctor: Doctor) -> None:
        # Serialises bookings per doctor, so the availability check below cannot race
        # another booking of the same doctor. (SQLite serialises all writers anyway.)
        self.session.execute(select(Doctor.id).where(Doctor.id == doctor.id).with_for_update())
        self.session.refresh(doctor)

    def _check_bookable(self, doctor: Doctor, start_at: datetime, *, allow_outside_hours: bool,
                        exclude_appointment_id: int | None = None) -> datetime:
        """The end of the appointment that may start at ``start_at``, or raise why not."""
        now = utcnow()
        if not doctor.is_active:
            raise DoctorInactive()
        if start_at <= now:
            raise InThePast()
        length = timedelta(minutes=doctor.appointment_minutes)
        day = self.local_day(start_at)
        busy = self.busy([doctor.id], start_at - timedelta(days=1), start_at + timedelta(days=1),
                         exclude_appointment_id)[doctor.id]
        if allow_outside_hours:
            if any(start < start_at + length and start_at < end for start, end in busy):
                raise SlotTaken()
            return start_at + length
        if not (now + self.policy.minimum_notice <= start_at <= now + self.policy.booking_horizon):
            raise OutsideBookingWindow()
        availability = self.availabilities([doctor], day - timedelta(days=1), day + timedelta(days=1))[doctor.id]
        window = dict(tz=self.timezone, now=now, minimum_notice=self.policy.minimum_notice,
                      horizon=self.policy.booking_horizon)
        slot = slots.find_slot(availability, start_at, busy=busy, **window)
        if slot is not None:
            return slot.end_at
        if slots.find_slot(availability, start_at, busy=(), **window) is not None:
            raise SlotTaken()
        raise OutsideAvailability()

    def _check_changeable(self, appointment: Appointment, enforce_cutoff: bool) -> None:
        if appointment.status is not AppointmentStatus.BOOKED:
            raise NotBooked()
        if appointment.start_at <= utcnow():
            raise InThePast("This appointment has already started.")
        if enforce_cutoff and utcnow() > self.cancellation_deadline(appointment):
            raise CancellationTooLate()

    def _flush_checking_overlaps(self) -> None:
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as error:
            constraint = _violated_constraint(error)
            if constraint == DOCTOR_OVERLAP_CONSTRAINT:
                raise SlotTaken() from None
            if constraint == PATIENT_OVERLAP_CONSTRAINT:
                raise PatientBusy() from None
            raise

    def _notify(self, event: str, appointment: Appointment, previous_start_at: datetime | None) -> None:
        for listener in listeners:
            listener(self.session, event, appointment, previous_start_at)

    def utc_window(self, first_day: date, last_day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(first_day, time(0), self.timezone)
        end = datetime.combine(last_day + timedelta(days=1), time(0), self.timezone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _as_utc(instant: datetime) -> datetime:
    if instant.utcoffset() is None:
        raise ValueError("booking times must be timezone-aware")
    return instant.astimezone(timezone.utc)


def _violated_constraint(error: IntegrityError) -> str | None:
    """Which overlap constraint an IntegrityError came from, on PostgreSQL or SQLite."""
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    text = str(error.orig)
    for constraint in (DOCTOR_OVERLAP_CONSTRAINT, PATIENT_OVERLAP_CONSTRAINT):
        if constraint in text:
            return constraint
    return None
