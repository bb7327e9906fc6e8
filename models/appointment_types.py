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

#: The colours a type may have, by name. A fixed palette, so that every page shows a type's colour
#: with a class (the Content-Security-Policy forbids inline styles; carebook/static/theme.css holds
#: one class per colour), and every colour carries white text at WCAG AA (at least 6.4:1). A colour
#: is never the only signal: the type's name is always shown with it.
COLOURS = {
    "#0a58ca": "Blue",
    "#146c43": "Green",
    "#b02a37": "Red",
    "#055160": "Teal",
    "#6f42c1": "Purple",
    "#9c4200": "Orange",
    "#a3216b": "Magenta",
    "#595f64": "Grey",
}
DEFAULT_COLOUR = "#0a58ca"


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
    colour: Mapped[str] = mapped_column(String(7), default=DEFAULT_COLOUR)
    #: False: staff-only (the console may book it; the portal and the API may not).
    bookable_online: Mapped[bool] = mapped_column(default=True)
    audience: Mapped[Audience] = mapped_column(
        Enum(Audience, name="appointment_audience", native_enum=False, create_constraint=True,
             values_callable=lambda audiences: [a.value for a in audiences], length=24),
        default=Audience.ANYONE,
    )
    #: Retired types take no new bookings and stay on old appointments.
    is_active: Mapped[bool] = mapped_column(default=True)

    @property
    def colour_name(self) -> str:
        """The palette's name for the colour ("Blue"): shown beside it, so colour is never the only signal."""
        return COLOURS.get(self.colour, "Grey")

    @property
    def colour_class(self) -> str:
        """The stylesheet class that paints the type's colour (``type-colour-blue``; theme.css)."""
        return "type-colour-" + self.colour_name.lower()

    @property
    def audience_label(self) -> str:
        return {Audience.ANYONE: "Anyone", Audience.NEW_PATIENTS: "New patients only",
                Audience.RETURNING_PATIENTS: "Returning patients only"}[self.audience]

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
