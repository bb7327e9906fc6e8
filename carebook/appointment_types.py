"""Appointment types as the booking service sees them: a doctor's default type, and a type's terms.

A doctor's *default type* is what is booked when nobody names a type (old API clients,
scripts). Every doctor has one, made with them from their appointment length and buffer
(and, for doctors who existed before types, by migration 0010); the doctor's own
"appointment length and buffer" settings keep it in step.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AppointmentType, Doctor, DoctorAppointmentType


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
