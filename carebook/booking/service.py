"""The booking service: the one place where appointments are made, moved, cancelled, marked and flagged.

Every entry point (portal, JSON API, staff console, CLI, the availability service)
goes through :class:`BookingService`. It works inside the caller's transaction: it
takes the doctor's row lock, re-checks the request against the availability as it is
now, writes the appointment and its audit row, and announces the change on
:data:`~carebook.booking.signals.appointment_changed` (the reminder outbox listens
there) in the same transaction. It flushes but never commits; the edge commits once.
The database's overlap constraints are the last word, and a violation comes back as
the same clean conflict as the service's own check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import scoped_session

from carebook import audit, calendar_limits, slots
from carebook.appointment_types import Terms, create_default_type, terms_for
from carebook.booking.constraints import overlap_error
from carebook.booking.errors import (CancellationTooLate, DoctorInactive, InThePast, NewPatientsOnly, NotBooked,
                                     NotStartedYet, OutsideAvailability, OutsideBookingWindow, PatientErased,
                                     ReturningPatientsOnly, SlotTaken, StaffOnlyType, TypeNotOffered)
from carebook.booking.free_slots import ONE_DAY, SlotFinder
from carebook.booking.queries import read_calendars
from carebook.booking.signals import appointment_changed
from carebook.clock import utcnow
from models import Appointment, AppointmentStatus, AppointmentType, Audience, Doctor, Patient

#: Where patients book for themselves: staff-only types are refused there.
ONLINE_SOURCES = frozenset({"portal", "api"})


@dataclass
class BookingService(SlotFinder):
    """Reads calendars as :class:`SlotFinder` does, and makes every change to appointments."""

    # (transaction, doctor ids) locked in it by lock_doctor(), so book() does not lock them again.
    _locked: tuple[object, set[int]] | None = field(default=None, init=False, repr=False, compare=False)

    def book(self, actor: audit.Actor, *, doctor: Doctor, patient: Patient, start_at: datetime,
             reason: str = "", allow_outside_hours: bool = False, override_note: str = "",
             appointment_type: AppointmentType | None = None) -> Appointment:
        """Book ``patient`` with ``doctor`` at ``start_at`` for ``appointment_type``, or raise a BookingError.

        Without a type, the doctor's default type (what every booking was before types).
        The doctor must offer the type, it must be active, the patient must be of its
        audience (new or returning), and a staff-only type is refused to the portal and
        the API. ``allow_outside_hours`` (staff only, with ``override_note`` for the audit
        log) books a time outside the doctor's hours; it never allows an overlap.
        """
        start_at = _as_utc(start_at)
        self._check_patient(patient)
        self._lock_doctor(doctor)
        appointment_type = appointment_type or self._default_type(doctor)
        terms = self._terms(doctor, appointment_type)
        self._check_type_allowed(actor, doctor, patient, appointment_type)
        end_at = self._check_bookable(doctor, start_at, terms, allow_outside_hours=allow_outside_hours)
        appointment = Appointment(doctor=doctor, patient=patient, start_at=start_at, end_at=end_at,
                                  appointment_type=appointment_type,
                                  buffer_end_at=end_at + timedelta(minutes=terms.buffer_minutes),
                                  reason=reason.strip(), created_by_id=actor.user_id,
                                  status=AppointmentStatus.BOOKED)
        self.session.add(appointment)
        self._flush_checking_overlaps()
        self._record(actor, "booked", appointment, doctor_id=doctor.id, patient_id=patient.id,
                     start_at=start_at.isoformat(), end_at=end_at.isoformat(),
                     appointment_type_id=appointment_type.id, appointment_type=appointment_type.name,
                     **({"outside_hours_note": override_note} if allow_outside_hours else {}))
        return appointment

    def reschedule(self, actor: audit.Actor, appointment: Appointment, new_start_at: datetime, *,
                   enforce_cutoff: bool = True, allow_outside_hours: bool = False,
                   override_note: str = "", reason: str = "",
                   appointment_type: AppointmentType | None = None) -> Appointment:
        """Move a booked appointment to a new time of the same doctor, atomically.

        The appointment keeps its id and its type, unless ``appointment_type`` names another
        (checked as a new booking's would be); the new time is checked for the type's
        length and buffer as they are now. Its old time is free again in the same
        transaction, so either the move happens whole or nothing changes.
        """
        new_start_at = _as_utc(new_start_at)
        self._check_changeable(appointment, enforce_cutoff)
        self._lock_doctor(appointment.doctor)
        self.session.refresh(appointment)
        self._check_changeable(appointment, enforce_cutoff)
        previous_start_at = appointment.start_at
        doctor = appointment.doctor
        changing_type = appointment_type is not None and appointment_type.id != appointment.appointment_type_id
        previous_type_name = appointment.appointment_type.name
        if changing_type:
            terms = self._terms(doctor, appointment_type)
            self._check_type_allowed(actor, doctor, appointment.patient, appointment_type)
        else:
            appointment_type = appointment.appointment_type
            terms = self.kept_terms(appointment)
        end_at = self._check_bookable(doctor, new_start_at, terms, allow_outside_hours=allow_outside_hours,
                                      exclude_appointment_id=appointment.id)
        appointment.start_at, appointment.end_at = new_start_at, end_at
        appointment.buffer_end_at = end_at + timedelta(minutes=terms.buffer_minutes)
        appointment.appointment_type = appointment_type
        appointment.needs_attention = False
        appointment.calendar_sequence += 1
        self._flush_checking_overlaps()
        self._record(actor, "rescheduled", appointment, previous_start_at=previous_start_at,
                     start_at=new_start_at.isoformat(), end_at=end_at.isoformat(),
                     appointment_type_id=appointment_type.id, appointment_type=appointment_type.name,
                     **({"previous_appointment_type": previous_type_name} if changing_type else {}),
                     **({"note": reason.strip()} if reason.strip() else {}),
                     **({"outside_hours_note": override_note} if allow_outside_hours else {}))
        return appointment

    def cancel(self, actor: audit.Actor, appointment: Appointment, *, reason: str = "",
               enforce_cutoff: bool = True) -> Appointment:
        self._check_changeable(appointment, enforce_cutoff)
        # Every change to a doctor's appointments takes the doctor's lock first, so the database's
        # own write to the doctor's row (calendar_version, migration 0004) never waits in the
        # opposite order to a booking's.
        self._lock_doctor(appointment.doctor)
        self.session.refresh(appointment)
        self._check_changeable(appointment, enforce_cutoff)
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancelled_at = utcnow()
        appointment.cancelled_by_id = actor.user_id
        appointment.cancellation_reason = reason.strip()
        appointment.calendar_sequence += 1
        self.session.flush()
        self._record(actor, "cancelled", appointment, start_at=appointment.start_at.isoformat(),
                     appointment_type_id=appointment.appointment_type_id,
                     appointment_type=appointment.appointment_type.name)
        return appointment

    def mark_outcome(self, actor: audit.Actor, appointment: Appointment, status: AppointmentStatus) -> Appointment:
        """Record that a booked appointment happened (completed) or the patient did not come (no-show).

        Only once it has started; a wrongly marked outcome may be corrected the same way.
        """
        if status not in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW):
            raise ValueError(f"not an outcome: {status}")
        self._lock_doctor(appointment.doctor)
        if appointment.status is AppointmentStatus.CANCELLED:
            raise NotBooked()
        if appointment.start_at > utcnow():
            raise NotStartedYet()
        previous = appointment.status
        appointment.status = status
        appointment.needs_attention = False
        self.session.flush()
        self._record(actor, status.value, appointment, previous_status=previous.value)
        return appointment

    def flag_for_attention(self, actor: audit.Actor, appointment: Appointment, *, why: str,
                           **details: Any) -> Appointment:
        """Ask staff to look at a booked appointment (e.g. the doctor's hours changed under it).

        It stays booked as it is; ``why`` and ``details`` go to the audit row. Staff clear
        the flag with :meth:`clear_attention`, or by moving or cancelling the appointment.
        """
        self._lock_doctor(appointment.doctor)
        if appointment.status is not AppointmentStatus.BOOKED:
            raise NotBooked()
        appointment.needs_attention = True
        self.session.flush()
        self._record(actor, "flagged", appointment, why=why, **details)
        return appointment

    def clear_attention(self, actor: audit.Actor, appointment: Appointment, note: str) -> Appointment:
        """Staff have dealt with a flagged appointment (e.g. called the patient) and keep it as it is."""
        if not appointment.needs_attention:
            return appointment
        self._lock_doctor(appointment.doctor)
        appointment.needs_attention = False
        self.session.flush()
        self._record(actor, "attention_cleared", appointment, note=note.strip())
        return appointment

    def cancellation_deadline(self, appointment: Appointment) -> datetime:
        """Until when a patient may cancel or move this appointment online."""
        return appointment.start_at - self.policy.cancellation_cutoff

    def lock_doctor(self, doctor_id: int) -> Doctor | None:
        """Lock the doctor's row for this transaction and load it as it is now (None if there is none).

        For callers that start from an id: booking that doctor later in the same
        transaction then needs no second round trip for the lock.
        """
        doctor = self.session.scalar(
            select(Doctor).where(Doctor.id == doctor_id).with_for_update(of=Doctor)
            .execution_options(populate_existing=True))
        if doctor is not None:
            transaction = self._transaction()
            if self._locked is None or self._locked[0] is not transaction:
                self._locked = (transaction, set())
            self._locked[1].add(doctor.id)
        return doctor

    # -- internals -----------------------------------------------------------------------

    def _lock_doctor(self, doctor: Doctor) -> None:
        # Serialises bookings per doctor, so the availability check below cannot race
        # another booking of the same doctor. (SQLite serialises all writers anyway.)
        # The same statement reloads the row, so the check sees the doctor as of the lock.
        if self._locked is not None and self._locked[0] is self._transaction() and doctor.id in self._locked[1]:
            return
        self.lock_doctor(doctor.id)

    def _check_patient(self, patient: Patient) -> None:
        """Refuse a patient who has been erased, as of now.

        The patient's row is read under a share lock (before the doctor's: the erasure takes
        the patient's row first too, then cancels through this service), so an erasure and a
        booking of the same patient never both go through: one waits for the other.
        """
        current = self.session.scalar(
            select(Patient.erased_at).where(Patient.id == patient.id).with_for_update(read=True, of=Patient))
        if current is not None:
            raise PatientErased()

    def _transaction(self):
        """The session's current (outermost) transaction: row locks last exactly as long as it."""
        session = self.session() if isinstance(self.session, scoped_session) else self.session
        return session.get_transaction()

    def _default_type(self, doctor: Doctor) -> AppointmentType:
        """The doctor's default type; made now for a doctor who has none (rows written past the account service)."""
        if doctor.default_appointment_type_id is None:
            return create_default_type(self.session, doctor)
        return self.session.get(AppointmentType, doctor.default_appointment_type_id)

    def _terms(self, doctor: Doctor, appointment_type: AppointmentType) -> Terms:
        """The doctor's length and buffer for an active type they offer, or TypeNotOffered."""
        if appointment_type.id == doctor.default_appointment_type_id and appointment_type.is_active:
            # The doctor's own length and buffer, which their default type is kept in step with:
            # no query, and exactly what the slot lists without a type were computed from.
            return Terms(appointment_type.id, doctor.appointment_minutes, doctor.buffer_minutes)
        terms = terms_for(self.session, doctor.id, appointment_type.id)
        if terms is None:
            raise TypeNotOffered()
        return terms

    def move_slots(self, appointment: Appointment, first_day: date, last_day: date) -> Sequence[slots.Slot]:
        """The times ``appointment`` may move to keeping its type: what :meth:`reschedule` accepts for it.

        Its type's slots where the doctor still offers it; else (a retired type, or one withdrawn
        from the doctor) slots of the appointment's own length and buffer, as :meth:`kept_terms` says.
        """
        doctor, kept = appointment.doctor, appointment.appointment_type
        if kept.id == doctor.default_appointment_type_id:
            return self.doctor_free_slots(doctor.id, first_day, last_day) or []
        offered = self.doctor_free_slots(doctor.id, first_day, last_day, kept.id)
        if offered is not None:
            return offered
        terms = self.kept_terms(appointment)
        return self.terms_free_slots(doctor.id, terms.duration_minutes, terms.buffer_minutes,
                                     first_day, last_day) or []

    def kept_terms(self, appointment: Appointment) -> Terms:
        """A moved appointment's terms: its type's as the doctor offers it now, else its own as booked.

        (A retired type, or one the doctor no longer offers, stays on its appointments, which can still
        move, but cannot be newly chosen: :meth:`reschedule` to it from another type is refused.)
        """
        doctor, kept_type = appointment.doctor, appointment.appointment_type
        if kept_type.id == doctor.default_appointment_type_id:
            return Terms(kept_type.id, doctor.appointment_minutes, doctor.buffer_minutes)
        terms = terms_for(self.session, doctor.id, kept_type.id)
        if terms is not None:
            return terms
        minutes = int((appointment.end_at - appointment.start_at).total_seconds() // 60)
        buffer = int((appointment.buffer_end_at - appointment.end_at).total_seconds() // 60)
        return Terms(kept_type.id, minutes, buffer)

    def _check_type_allowed(self, actor: audit.Actor, doctor: Doctor, patient: Patient,
                            appointment_type: AppointmentType) -> None:
        """Staff-only types only from the console or scripts; new / returning patients as the type says."""
        if not appointment_type.bookable_online and actor.source in ONLINE_SOURCES:
            raise StaffOnlyType()
        if appointment_type.audience is Audience.ANYONE:
            return
        returning = self.is_returning_patient(doctor.id, patient.id)
        if appointment_type.audience is Audience.NEW_PATIENTS and returning:
            raise NewPatientsOnly()
        if appointment_type.audience is Audience.RETURNING_PATIENTS and not returning:
            raise ReturningPatientsOnly()

    def is_returning_patient(self, doctor_id: int, patient_id: int) -> bool:
        """Whether the patient has a past completed appointment with the doctor."""
        return self.session.scalar(
            select(Appointment.id).where(Appointment.doctor_id == doctor_id, Appointment.patient_id == patient_id,
                                         Appointment.status == AppointmentStatus.COMPLETED,
                                         Appointment.start_at < utcnow()).limit(1)) is not None

    def _check_bookable(self, doctor: Doctor, start_at: datetime, terms: Terms, *, allow_outside_hours: bool,
                        exclude_appointment_id: int | None = None) -> datetime:
        """The end of the appointment that may start at ``start_at``, or raise why not."""
        now = utcnow()
        if not doctor.is_active:
            raise DoctorInactive()
        if start_at <= now:
            raise InThePast()
        if not calendar_limits.instant_in_span(start_at):
            # Even staff booking outside the hours: the checks below shift the time by a day or so.
            raise OutsideBookingWindow()
        if allow_outside_hours:
            return self._check_free(doctor, start_at, terms, exclude_appointment_id)
        if not (now + self.policy.minimum_notice <= start_at <= now + self.policy.booking_horizon):
            raise OutsideBookingWindow()
        return self._check_free_slot(doctor, start_at, terms, now, exclude_appointment_id)

    def _check_free(self, doctor: Doctor, start_at: datetime, terms: Terms,
                    exclude_appointment_id: int | None) -> datetime:
        """Staff booking outside the hours: only the doctor's other bookings (and the buffers) are in the way."""
        end_at = start_at + timedelta(minutes=terms.duration_minutes)
        buffer_end_at = end_at + timedelta(minutes=terms.buffer_minutes)
        taken = self.busy([doctor.id], start_at - ONE_DAY, start_at + ONE_DAY, exclude_appointment_id)[doctor.id]
        # The same ranges as the database's guard: each appointment to the end of its own buffer.
        if any(start < buffer_end_at and start_at < end for start, end in taken):
            raise SlotTaken()
        return end_at

    def _check_free_slot(self, doctor: Doctor, start_at: datetime, terms: Terms, now: datetime,
                         exclude_appointment_id: int | None) -> datetime:
        """A patient's booking: ``start_at`` must begin one of the doctor's free slots for the type."""
        day = self.local_day(start_at)
        rows = read_calendars(self.session, [doctor.id], day - ONE_DAY, day + ONE_DAY,
                              self.utc_window(day - ONE_DAY, day + ONE_DAY),
                              busy_window=(start_at - ONE_DAY, start_at + ONE_DAY),
                              exclude_appointment_id=exclude_appointment_id)
        availability = rows.availability(doctor.id, terms.duration_minutes, terms.buffer_minutes,
                                         self.policy.slot_grid)
        window = dict(tz=self.timezone, now=now, minimum_notice=self.policy.minimum_notice,
                      horizon=self.policy.booking_horizon)
        slot = slots.find_slot(availability, start_at, taken=rows.busy[doctor.id], **window)
        if slot is not None:
            return slot.end_at
        if slots.find_slot(availability, start_at, **window) is not None:
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
            overlap = overlap_error(error)
            if overlap is None:
                raise
            raise overlap from None

    def _record(self, actor: audit.Actor, event: str, appointment: Appointment,
                previous_start_at: datetime | None = None, **details: Any) -> None:
        """Write the change's audit row, then announce it on ``appointment_changed`` (signals.py)."""
        if previous_start_at is not None:
            details = {"previous_start_at": previous_start_at.isoformat(), **details}
        audit.record(self.session, actor, f"appointment.{event}", "appointment", appointment.id, **details)
        appointment_changed.send(self.session, event=event, appointment=appointment,
                                 previous_start_at=previous_start_at)


def _as_utc(instant: datetime) -> datetime:
    if instant.utcoffset() is None:
        raise ValueError("booking times must be timezone-aware")
    try:
        return instant.astimezone(timezone.utc)
    except OverflowError:
        # Beyond either end of the calendar in UTC (9999-12-31T12:00-12:00, 0001-01-01T00:00+14:00).
        raise (InThePast() if instant.year == 1 else OutsideBookingWindow()) from None
