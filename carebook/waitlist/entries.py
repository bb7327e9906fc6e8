"""Joining and leaving the waitlist, and the end of entries whose time has passed.

An entry says what a patient waits for. It ends when one of its offers is claimed
(fulfilled), when the patient (or staff for them) leaves it (withdrawn), or when its date
range has passed or the appointment it would bring forward has started (expired). Every
change is audited (never health details); these functions flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebook import audit
from carebook.clock import utcnow
from carebook.waitlist.errors import AlreadyWaiting, EntryEnded, InvalidRequest
from models import Appointment, AppointmentStatus, AppointmentType, Doctor, DoctorAppointmentType, Patient
from models.waitlist import (ALL_PARTS_OF_DAY, ALL_WEEKDAYS, MAX_NOTICE_MINUTES, OfferStatus, WaitlistEntry,
                             WaitlistOffer, WaitlistStatus)

#: How far ahead a wish may reach.
LONGEST_RANGE = timedelta(days=366)


@dataclass(frozen=True)
class Wish:
    """What a patient asks for when they join (from the portal's form or the console's)."""

    earliest_date: date
    latest_date: date
    doctor: Doctor | None = None
    specialty: str | None = None
    appointment_type: AppointmentType | None = None
    weekdays: int = ALL_WEEKDAYS
    times_of_day: int = ALL_PARTS_OF_DAY
    min_notice_minutes: int = 0

    @classmethod
    def from_form(cls, session: Session, doctor: Doctor, form) -> Wish:
        """The wish a join form describes (the portal's or the console's: the same fields), for ``doctor``
        or, when ``scope`` is "specialty", any doctor of their specialty."""
        by_specialty = form.scope.data == "specialty"
        kind = session.get(AppointmentType, int(form.appointment_type.data)) if form.appointment_type.data else None
        return cls(earliest_date=form.earliest_date.data, latest_date=form.latest_date.data,
                   doctor=None if by_specialty else doctor, specialty=doctor.specialty if by_specialty else None,
                   appointment_type=kind, weekdays=form.weekdays.bits, times_of_day=form.times_of_day.bits,
                   min_notice_minutes=int(form.min_notice_minutes.data))


def today(tz: ZoneInfo) -> date:
    return utcnow().astimezone(tz).date()


def join(session: Session, actor: audit.Actor, patient: Patient, wish: Wish, tz: ZoneInfo) -> WaitlistEntry:
    """Put ``patient`` on the waitlist for ``wish``, or raise InvalidRequest naming the field at fault."""
    _check_patient(patient)
    _check_wish(session, wish, tz)
    entry = WaitlistEntry(patient_id=patient.id, doctor_id=wish.doctor.id if wish.doctor else None,
                          specialty=None if wish.doctor else wish.specialty,
                          appointment_type_id=wish.appointment_type.id if wish.appointment_type else None,
                          earliest_date=wish.earliest_date, latest_date=wish.latest_date, weekdays=wish.weekdays,
                          times_of_day=wish.times_of_day, min_notice_minutes=wish.min_notice_minutes,
                          created_by_id=actor.user_id, created_at=utcnow())
    session.add(entry)
    session.flush()
    _record(session, actor, "waitlist.joined", entry)
    return entry


def join_earlier(session: Session, actor: audit.Actor, patient: Patient, appointment: Appointment, tz: ZoneInfo,
                 *, weekdays: int = ALL_WEEKDAYS, times_of_day: int = ALL_PARTS_OF_DAY,
                 min_notice_minutes: int = 0) -> WaitlistEntry:
    """Wait for an earlier time with the same doctor and type than ``appointment``; claiming moves it."""
    _check_patient(patient)
    if appointment.patient_id != patient.id:
        raise InvalidRequest("That is not this patient's appointment.")
    if appointment.status is not AppointmentStatus.BOOKED or appointment.start_at <= utcnow():
        raise InvalidRequest("Only an upcoming booked appointment can be brought forward.")
    first, last = today(tz), appointment.start_at.astimezone(tz).date()
    _check_choices(weekdays, times_of_day, min_notice_minutes)
    entry = WaitlistEntry(patient_id=patient.id, doctor_id=appointment.doctor_id,
                          appointment_type_id=appointment.appointment_type_id, earliest_date=first, latest_date=last,
                          weekdays=weekdays, times_of_day=times_of_day, min_notice_minutes=min_notice_minutes,
                          earlier_than_appointment_id=appointment.id, created_by_id=actor.user_id,
                          created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        raise AlreadyWaiting() from None
    _record(session, actor, "waitlist.joined", entry)
    return entry


def leave(session: Session, actor: audit.Actor, entry: WaitlistEntry) -> WaitlistEntry:
    """End an active entry at the patient's request (or staff's, for them); its open offer goes with it."""
    if not entry.is_active:
        raise EntryEnded()
    end(session, entry, WaitlistStatus.WITHDRAWN)
    _record(session, actor, "waitlist.left", entry)
    return entry


def end(session: Session, entry: WaitlistEntry, status: WaitlistStatus) -> None:
    """Mark ``entry`` ended with ``status``; withdraw its open offer, if any (flushed)."""
    now = utcnow()
    entry.status, entry.ended_at = status, now
    session.flush()
    session.execute(update(WaitlistOffer)
                    .where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.status == OfferStatus.PENDING)
                    .values(status=OfferStatus.WITHDRAWN, closed_at=now)
                    .execution_options(synchronize_session=False))


def withdraw_all(session: Session, patient_id: int) -> None:
    """End every active entry of the patient (their data are being erased); audited by the erasure itself."""
    for entry in session.scalars(select(WaitlistEntry).where(WaitlistEntry.patient_id == patient_id,
                                                             WaitlistEntry.status == WaitlistStatus.ACTIVE)):
        end(session, entry, WaitlistStatus.WITHDRAWN)


def expire_passed(session: Session, tz: ZoneInfo) -> int:
    """End the entries whose date range has passed, or whose "earlier than" appointment started; how many."""
    now = utcnow()
    passed = select(WaitlistEntry.id).where(WaitlistEntry.status == WaitlistStatus.ACTIVE, or_(
        WaitlistEntry.latest_date < today(tz),
        WaitlistEntry.earlier_than_appointment_id.in_(
            select(Appointment.id).where(Appointment.id == WaitlistEntry.earlier_than_appointment_id,
                                         Appointment.start_at <= now))))
    ids = session.scalars(passed).all()
    for entry_id in ids:
        session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                        .values(status=WaitlistStatus.EXPIRED, ended_at=now)
                        .execution_options(synchronize_session=False))
        session.execute(update(WaitlistOffer)
                        .where(WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == OfferStatus.PENDING)
                        .values(status=OfferStatus.WITHDRAWN, closed_at=now)
                        .execution_options(synchronize_session=False))
        audit.write_row(session, None, "system", "waitlist.expired", "waitlist_entry", entry_id, {})
    return len(ids)


def specialties(session: Session) -> list[str]:
    """The specialties of the active doctors (what "any doctor of this specialty" may name)."""
    return sorted(set(session.scalars(select(Doctor.specialty).where(Doctor.is_active))))


# --------------------------------------------------------------------------- checks


def _check_patient(patient: Patient) -> None:
    if patient.is_erased:
        raise InvalidRequest("This patient's data were erased at their request.")


def _check_choices(weekdays: int, times_of_day: int, min_notice_minutes: int) -> None:
    if not 1 <= weekdays <= ALL_WEEKDAYS:
        raise InvalidRequest("Choose at least one day of the week.", "weekdays")
    if not 1 <= times_of_day <= ALL_PARTS_OF_DAY:
        raise InvalidRequest("Choose at least one part of the day.", "times_of_day")
    if not 0 <= min_notice_minutes <= MAX_NOTICE_MINUTES:
        raise InvalidRequest("Choose a notice of at most two weeks.", "min_notice_minutes")


def _check_wish(session: Session, wish: Wish, tz: ZoneInfo) -> None:
    first = today(tz)
    if wish.earliest_date < first:
        raise InvalidRequest("The first day cannot be in the past.", "earliest_date")
    if wish.latest_date < wish.earliest_date:
        raise InvalidRequest("The last day cannot be before the first day.", "latest_date")
    if wish.latest_date > first + LONGEST_RANGE:
        raise InvalidRequest("Choose a last day within the next year.", "latest_date")
    _check_choices(wish.weekdays, wish.times_of_day, wish.min_notice_minutes)
    if wish.doctor is not None:
        if not wish.doctor.is_active:
            raise InvalidRequest("This doctor is not taking bookings.", "doctor")
    elif not wish.specialty or wish.specialty not in specialties(session):
        raise InvalidRequest("Choose a doctor or a specialty.", "specialty")
    kind = wish.appointment_type
    if kind is None:
        return
    if not kind.is_active or not kind.bookable_online:
        raise InvalidRequest("That kind of appointment cannot be booked online.", "appointment_type")
    offered_by = select(DoctorAppointmentType.doctor_id).join(Doctor, Doctor.id == DoctorAppointmentType.doctor_id) \
        .where(DoctorAppointmentType.appointment_type_id == kind.id, Doctor.is_active)
    offered_by = offered_by.where(Doctor.id == wish.doctor.id) if wish.doctor is not None \
        else offered_by.where(Doctor.specialty == wish.specialty)
    if session.scalar(offered_by.limit(1)) is None:
        raise InvalidRequest("No doctor you chose offers that kind of appointment.", "appointment_type")


def _record(session: Session, actor: audit.Actor, action: str, entry: WaitlistEntry) -> None:
    details = {"patient_id": entry.patient_id, "earliest_date": entry.earliest_date.isoformat(),
               "latest_date": entry.latest_date.isoformat()}
    if entry.doctor_id is not None:
        details["doctor_id"] = entry.doctor_id
    else:
        details["specialty"] = entry.specialty
    if entry.earlier_than_appointment_id is not None:
        details["earlier_than_appointment_id"] = entry.earlier_than_appointment_id
    audit.record(session, actor, action, "waitlist_entry", entry.id, **details)


__all__ = ["Wish", "end", "expire_passed", "withdraw_all", "join", "join_earlier", "leave", "specialties", "today"]
