"""Appointment types: keeping the clinic's list, which doctor offers which, and a type's terms.

A doctor's *default type* is what is booked when nobody names a type (old API clients,
scripts). Every doctor has one, made with them from their appointment length and buffer
(and, for doctors who existed before types, by migration 0011); the doctor's own
"appointment length and buffer" settings keep it in step.

Every change is checked here (a clear :class:`AppointmentTypeError` naming the field) and
written with an audit row; these functions flush, never commit. Types are retired, never
deleted. A change of a type's length or buffer applies to new bookings: each appointment
keeps the length and buffer it was booked with.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from carebook import audit
from carebook.clock import utcnow
from models import Appointment, AppointmentStatus, AppointmentType, Audience, Doctor, DoctorAppointmentType
from models.appointment_types import BUFFER_MINUTES, COLOURS, DEFAULT_COLOUR, DURATION_MINUTES

NAME_MAX = 80
DESCRIPTION_MAX = 2000
COLOUR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")
#: (value, name) of each colour a type may have (models/appointment_types.py), for forms.
COLOUR_CHOICES = list(COLOURS.items())


class AppointmentTypeError(Exception):
    """A change to appointment types that cannot be made; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Terms:
    """How long a type takes with one doctor, and the buffer after it."""

    appointment_type_id: int
    duration_minutes: int
    buffer_minutes: int


def default_type_name(minutes: int) -> str:
    return f"Appointment ({minutes} min)"


def create_default_type(session: Session, doctor: Doctor) -> AppointmentType:
    """Make the doctor's default type from their length and buffer, offered by them. Flushes."""
    appointment_type = AppointmentType(name=default_type_name(doctor.appointment_minutes), description="",
                                       duration_minutes=doctor.appointment_minutes,
                                       buffer_minutes=doctor.buffer_minutes)
    session.add(appointment_type)
    session.flush()
    session.add(DoctorAppointmentType(doctor_id=doctor.id, appointment_type_id=appointment_type.id,
                                      doctor_may_change_duration=True))
    doctor.default_appointment_type_id = appointment_type.id
    session.flush()
    return appointment_type


def sync_default_type(session: Session, doctor: Doctor) -> None:
    """After the doctor's length or buffer changed: their default type takes the new terms."""
    if doctor.default_appointment_type_id is None:
        create_default_type(session, doctor)
        return
    appointment_type = session.get(AppointmentType, doctor.default_appointment_type_id)
    if appointment_type.name == default_type_name(appointment_type.duration_minutes):
        appointment_type.name = default_type_name(doctor.appointment_minutes)
    appointment_type.duration_minutes = doctor.appointment_minutes
    appointment_type.buffer_minutes = doctor.buffer_minutes
    offer = session.get(DoctorAppointmentType, (doctor.id, appointment_type.id))
    if offer is not None:
        offer.duration_minutes = None


def terms_for(session: Session, doctor_id: int, appointment_type_id: int) -> Terms | None:
    """The doctor's terms for an active type they offer, or None if they do not offer it."""
    row = session.execute(
        select(AppointmentType.duration_minutes, AppointmentType.buffer_minutes,
               DoctorAppointmentType.duration_minutes)
        .join(DoctorAppointmentType, DoctorAppointmentType.appointment_type_id == AppointmentType.id)
        .where(DoctorAppointmentType.doctor_id == doctor_id, AppointmentType.id == appointment_type_id,
               AppointmentType.is_active)).first()
    if row is None:
        return None
    type_minutes, buffer, own_minutes = row
    return Terms(appointment_type_id, own_minutes or type_minutes, buffer)


def offered_types(session: Session, doctor_id: int, *, online_only: bool = False) -> list[AppointmentType]:
    """The active types the doctor offers, by name."""
    query = (select(AppointmentType).join(DoctorAppointmentType)
             .where(DoctorAppointmentType.doctor_id == doctor_id, AppointmentType.is_active)
             .order_by(AppointmentType.name, AppointmentType.id))
    if online_only:
        query = query.where(AppointmentType.bookable_online)
    return list(session.scalars(query))


def patient_offers(session: Session, doctor_id: int, *, returning: bool) -> list[DoctorAppointmentType]:
    """What a patient may book online with the doctor: active online types, for them (new or returning), by name.

    Only what to show: the booking service enforces the same rules whatever is sent.
    """
    hidden = Audience.NEW_PATIENTS if returning else Audience.RETURNING_PATIENTS
    return [offer for offer in offers_of_doctor(session, doctor_id)
            if offer.appointment_type.is_active and offer.appointment_type.bookable_online
            and offer.appointment_type.audience is not hidden]


def returning_to(session: Session, patient_id: int) -> set[int]:
    """The doctors the patient is returning to: a past completed appointment with each (the service's rule)."""
    return set(session.scalars(
        select(Appointment.doctor_id).where(Appointment.patient_id == patient_id,
                                            Appointment.status == AppointmentStatus.COMPLETED,
                                            Appointment.start_at < utcnow()).distinct()))


def applies_to(appointment_type: AppointmentType, *, returning: bool) -> bool:
    """Whether a patient (returning to the doctor or not) is of the type's audience."""
    return appointment_type.audience is not (Audience.NEW_PATIENTS if returning else Audience.RETURNING_PATIENTS)


@dataclass(frozen=True, slots=True)
class OnlineOffer:
    """A type a doctor offers online, with the doctor's length for it."""

    appointment_type: AppointmentType
    duration_minutes: int


def active_doctors_with_online_offers(session: Session) -> list[tuple[Doctor, list[OnlineOffer]]]:
    """Every active doctor (by specialty) with the active online types they offer (by name). One query,
    for the patients' doctor list, however many doctors and types there are."""
    rows = session.execute(
        select(Doctor, AppointmentType, DoctorAppointmentType.duration_minutes)
        .outerjoin(DoctorAppointmentType, DoctorAppointmentType.doctor_id == Doctor.id)
        .outerjoin(AppointmentType, and_(AppointmentType.id == DoctorAppointmentType.appointment_type_id,
                                         AppointmentType.is_active, AppointmentType.bookable_online))
        .where(Doctor.is_active)
        .order_by(Doctor.specialty, Doctor.id, AppointmentType.name, AppointmentType.id)).tuples()
    listed: dict[int, tuple[Doctor, list[OnlineOffer]]] = {}
    for doctor, appointment_type, own_minutes in rows:
        _doctor, offers = listed.setdefault(doctor.id, (doctor, []))
        if appointment_type is not None:
            offers.append(OnlineOffer(appointment_type, own_minutes or appointment_type.duration_minutes))
    return list(listed.values())


def offers_of_doctor(session: Session, doctor_id: int) -> list[DoctorAppointmentType]:
    """What the doctor offers (retired types too: they stay offered, and bookable again if brought back), by name."""
    return list(session.scalars(
        select(DoctorAppointmentType).join(DoctorAppointmentType.appointment_type)
        .where(DoctorAppointmentType.doctor_id == doctor_id)
        .order_by(AppointmentType.is_active.desc(), AppointmentType.name, AppointmentType.id)))


def offers_of_type(session: Session, appointment_type_id: int) -> list[tuple[DoctorAppointmentType, Doctor]]:
    """Who offers the type, with their offer, by doctor id."""
    return list(session.execute(
        select(DoctorAppointmentType, Doctor).join(Doctor, Doctor.id == DoctorAppointmentType.doctor_id)
        .where(DoctorAppointmentType.appointment_type_id == appointment_type_id)
        .order_by(Doctor.id)).tuples())


def own_durations(session: Session, appointment_type_id: int) -> dict[int, int | None]:
    """doctor id -> their own length for the type (None: the type's), for every doctor who offers it. One query."""
    return dict(session.execute(
        select(DoctorAppointmentType.doctor_id, DoctorAppointmentType.duration_minutes)
        .where(DoctorAppointmentType.appointment_type_id == appointment_type_id)).tuples())


def all_types(session: Session) -> list[AppointmentType]:
    """The clinic's whole list: active types first, then retired ones, each by name."""
    return list(session.scalars(select(AppointmentType).order_by(AppointmentType.is_active.desc(),
                                                                 AppointmentType.name, AppointmentType.id)))


# --------------------------------------------------------------------------- keeping the list


def create_type(session: Session, actor: audit.Actor, *, name: str, duration_minutes: int, buffer_minutes: int = 0,
                description: str = "", colour: str = DEFAULT_COLOUR, bookable_online: bool = True,
                audience: Audience = Audience.ANYONE) -> AppointmentType:
    """A new active type of the clinic's list (offered by nobody yet)."""
    values = _checked(name=name, duration_minutes=duration_minutes, buffer_minutes=buffer_minutes,
                      description=description, colour=colour, bookable_online=bookable_online, audience=audience)
    appointment_type = AppointmentType(**values)
    session.add(appointment_type)
    session.flush()
    audit.record(session, actor, "appointment_type.created", "appointment_type", appointment_type.id,
                 **_audit_values(values))
    return appointment_type


def update_type(session: Session, actor: audit.Actor, appointment_type: AppointmentType,
                **changes: Any) -> AppointmentType:
    """Change some of a type's fields (name, description, duration_minutes, buffer_minutes, colour,
    bookable_online, audience). Booked appointments keep their own length and buffer."""
    unknown = set(changes) - {"name", "description", "duration_minutes", "buffer_minutes", "colour",
                              "bookable_online", "audience"}
    if unknown:
        raise ValueError(f"not a field of an appointment type: {sorted(unknown)}")
    values = _checked(**changes)
    previous = {key: getattr(appointment_type, key) for key in values}
    for key, value in values.items():
        setattr(appointment_type, key, value)
    # A default type's length and buffer are its doctor's appointment length and buffer: keep them one.
    for doctor in session.scalars(select(Doctor).where(Doctor.default_appointment_type_id == appointment_type.id)):
        doctor.appointment_minutes = appointment_type.duration_minutes
        doctor.buffer_minutes = appointment_type.buffer_minutes
    session.flush()
    changed = {key: value for key, value in values.items() if previous[key] != value}
    if changed:
        audit.record(session, actor, "appointment_type.updated", "appointment_type", appointment_type.id,
                     **_audit_values(changed),
                     **{f"previous_{key}": value for key, value in _audit_values(
                         {key: previous[key] for key in changed}).items()})
    return appointment_type


def retire_type(session: Session, actor: audit.Actor, appointment_type: AppointmentType) -> None:
    """No new bookings of the type; its appointments keep it. A doctor's default type cannot be retired."""
    default_of = session.scalar(select(Doctor).where(Doctor.default_appointment_type_id == appointment_type.id)
                                .limit(1))
    if default_of is not None:
        raise AppointmentTypeError(f"This is {default_of.name}'s default type: it cannot be retired.")
    appointment_type.is_active = False
    session.flush()
    audit.record(session, actor, "appointment_type.retired", "appointment_type", appointment_type.id,
                 name=appointment_type.name)


def reactivate_type(session: Session, actor: audit.Actor, appointment_type: AppointmentType) -> None:
    appointment_type.is_active = True
    session.flush()
    audit.record(session, actor, "appointment_type.reactivated", "appointment_type", appointment_type.id,
                 name=appointment_type.name)


# --------------------------------------------------------------------------- who offers what


def offer_type(session: Session, actor: audit.Actor, doctor: Doctor, appointment_type: AppointmentType, *,
               duration_minutes: int | None = None, doctor_may_change_duration: bool = False) -> DoctorAppointmentType:
    """The doctor offers the type (again), with their own length for it if given."""
    if duration_minutes is not None:
        _check_duration(duration_minutes)
        if appointment_type.id == doctor.default_appointment_type_id:
            raise AppointmentTypeError("The default type's length is the doctor's appointment length: "
                                       "change that instead.", field="duration_minutes")
    offer = session.get(DoctorAppointmentType, (doctor.id, appointment_type.id))
    if offer is None:
        offer = DoctorAppointmentType(doctor_id=doctor.id, appointment_type_id=appointment_type.id)
        session.add(offer)
    offer.duration_minutes = duration_minutes
    offer.doctor_may_change_duration = doctor_may_change_duration
    session.flush()
    audit.record(session, actor, "appointment_type.offered", "doctor", doctor.id,
                 appointment_type_id=appointment_type.id, appointment_type=appointment_type.name,
                 duration_minutes=duration_minutes, doctor_may_change_duration=doctor_may_change_duration)
    return offer


def withdraw_type(session: Session, actor: audit.Actor, doctor: Doctor, appointment_type: AppointmentType) -> None:
    """The doctor stops offering the type (their booked appointments of it stand). Not their default type."""
    if appointment_type.id == doctor.default_appointment_type_id:
        raise AppointmentTypeError(f"This is {doctor.name}'s default type: they always offer it.")
    offer = session.get(DoctorAppointmentType, (doctor.id, appointment_type.id))
    if offer is None:
        return
    session.delete(offer)
    session.flush()
    audit.record(session, actor, "appointment_type.withdrawn", "doctor", doctor.id,
                 appointment_type_id=appointment_type.id, appointment_type=appointment_type.name)


def set_own_duration(session: Session, actor: audit.Actor, doctor: Doctor, appointment_type: AppointmentType,
                     duration_minutes: int | None) -> DoctorAppointmentType:
    """A doctor's own length for a type they offer (None: the type's). Doctors only where staff allow it."""
    offer = session.get(DoctorAppointmentType, (doctor.id, appointment_type.id))
    if offer is None:
        raise AppointmentTypeError(f"{doctor.name} does not offer {appointment_type.name}.")
    if appointment_type.id == doctor.default_appointment_type_id:
        raise AppointmentTypeError("The default type's length is the appointment length: change that instead.",
                                   field="duration_minutes")
    acting_as_doctor = actor.user is not None and actor.user.doctor is not None
    if acting_as_doctor and not offer.doctor_may_change_duration:
        raise AppointmentTypeError("The clinic sets the length of this type: ask the front desk to change it.",
                                   field="duration_minutes")
    if duration_minutes is not None:
        _check_duration(duration_minutes)
    previous = offer.duration_minutes
    offer.duration_minutes = duration_minutes
    session.flush()
    audit.record(session, actor, "appointment_type.own_duration_set", "doctor", doctor.id,
                 appointment_type_id=appointment_type.id, appointment_type=appointment_type.name,
                 duration_minutes=duration_minutes, previous_duration_minutes=previous)
    return offer


# --------------------------------------------------------------------------- checks


def _check_duration(minutes: Any, field: str = "duration_minutes") -> None:
    low, high = DURATION_MINUTES
    if type(minutes) is not int or not low <= minutes <= high:
        raise AppointmentTypeError(f"The length must be between {low} and {high} minutes.", field=field)


def _checked(**values: Any) -> dict[str, Any]:
    """The values, cleaned, or AppointmentTypeError for the first that is not acceptable."""
    cleaned = dict(values)
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name or len(name) > NAME_MAX or "\x00" in name:
            raise AppointmentTypeError(f"Give the type a name of at most {NAME_MAX} characters.", field="name")
        cleaned["name"] = name
    if "description" in values:
        description = (values["description"] or "").strip()
        if len(description) > DESCRIPTION_MAX or "\x00" in description:
            raise AppointmentTypeError(f"The description can be at most {DESCRIPTION_MAX} characters.",
                                       field="description")
        cleaned["description"] = description
    if "duration_minutes" in values:
        _check_duration(values["duration_minutes"])
    if "buffer_minutes" in values:
        low, high = BUFFER_MINUTES
        if type(values["buffer_minutes"]) is not int or not low <= values["buffer_minutes"] <= high:
            raise AppointmentTypeError(f"The buffer must be between {low} and {high} minutes.",
                                       field="buffer_minutes")
    if "colour" in values:
        if not isinstance(values["colour"], str) or not COLOUR_PATTERN.fullmatch(values["colour"]) \
                or values["colour"].lower() not in COLOURS:
            raise AppointmentTypeError("Choose one of the colours: " + ", ".join(COLOURS.values()) + ".",
                                       field="colour")
        cleaned["colour"] = values["colour"].lower()
    if "audience" in values:
        try:
            cleaned["audience"] = Audience(values["audience"])
        except ValueError:
            raise AppointmentTypeError("Choose who may book it: anyone, new patients or returning patients.",
                                       field="audience") from None
    if "bookable_online" in values:
        cleaned["bookable_online"] = bool(values["bookable_online"])
    return cleaned


def _audit_values(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value.value if isinstance(value, Audience) else value for key, value in values.items()}
