"""What a patient books: the clinic's appointment types, and which doctor offers which.

A type is clinic-wide (name, what patients read about it, length, buffer after, colour,
who may book it and how). A doctor offers a type through a :class:`DoctorAppointmentType`
row, optionally with their own length for it. Types are retired (``is_active``), never
deleted: old appointments keep pointing at them.
"""
from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carebook.extensions import db

#: Lengths and buffers the clinic may give a type (the doctors' old limits, kept).
DURATION_MINUTES = (5, 240)
BUFFER_MINUTES = (0, 120)


class Audience(str, enum.Enum):
    """Who may book a type: anyone, only patients new to the doctor, or only returning ones."""

    ANYONE = "anyone"
    NEW_PATIENTS = "new_patients"
    RETURNING_PATIENTS = "returning_patients"


class AppointmentType(db.Model):
    __tablename__ = "appointment_types"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 5 AND 240", name="duration_minutes_range"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 120", name="buffer_minutes_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    #: What patients read before they choose it.
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int]
    #: Time kept free after each appointment of this type (cleaning, notes).
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    #: A CSS colour, ``#rrggbb``, for calendars and schedules.
    colour: Mapped[str] = mapped_column(String(7), default="#0a58ca")
    #: False: staff-only (the console may book it; the portal and the API may not).
    bookable_online: Mapped[bool] = mapped_column(default=True)
    audience: Mapped[Audience] = mapped_column(
        Enum(Audience, name="appointment_audience", native_enum=False, create_constraint=True,
             values_callable=lambda audiences: [a.value for a in audiences], length=24),
        default=Audience.ANYONE,
    )
    #: Retired types take no new bookings and stay on old appointments.
    is_active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<AppointmentType {self.id} {self.name!r}>"


class DoctorAppointmentType(db.Model):
    """Doctor ``doctor_id`` offers type ``appointment_type_id``, perhaps with a length of their own."""

    __tablename__ = "doctor_appointment_types"
    __table_args__ = (
        CheckConstraint("duration_minutes IS NULL OR duration_minutes BETWEEN 5 AND 240",
                        name="duration_minutes_range"),
    )

    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"), primary_key=True)
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"), primary_key=True,
                                                     index=True)
    #: The doctor's own length for this type; None: the type's.
    duration_minutes: Mapped[int | None]
    #: Whether the doctor may change ``duration_minutes`` themselves (staff decide).
    doctor_may_change_duration: Mapped[bool] = mapped_column(default=False)

    appointment_type: Mapped[AppointmentType] = relationship(lazy="joined", innerjoin=True)

    @property
    def effective_duration_minutes(self) -> int:
        return self.duration_minutes or self.appointment_type.duration_minutes
