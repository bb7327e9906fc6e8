"""The length of a doctor's appointments and the gap after each."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from carebook import slots
from carebook.appointment_types import sync_default_type
from carebook.availability.changes.base import Change
from carebook.availability.errors import Problem
from carebook.availability.store import CalendarStore
from models import Doctor

APPOINTMENT_MINUTES = (5, 240)
BUFFER_MINUTES = (0, 120)


@dataclass(frozen=True)
class SetAppointmentLength(Change):
    """Length of new appointments and the gap after each; applies to new bookings at once."""

    doctor_id: int
    appointment_minutes: int
    buffer_minutes: int

    action = "availability.appointment_length_set"
    section = "hours"
    can_affect_appointments = False  # existing appointments keep their times

    def problems(self, calendar: CalendarStore) -> Iterator[Problem]:
        low, high = APPOINTMENT_MINUTES
        if not low <= self.appointment_minutes <= high:
            yield Problem("appointment_minutes", f"Appointment length must be between {low} and {high} minutes.")
        low, high = BUFFER_MINUTES
        if not low <= self.buffer_minutes <= high:
            yield Problem("buffer_minutes", f"The buffer must be between {low} and {high} minutes.")

    def proposed(self, current: slots.Availability, calendar: CalendarStore) -> slots.Availability:
        return current

    def write(self, doctor: Doctor, calendar: CalendarStore) -> dict[str, Any]:
        details = {"appointment_minutes": self.appointment_minutes, "buffer_minutes": self.buffer_minutes,
                   "previous_appointment_minutes": doctor.appointment_minutes,
                   "previous_buffer_minutes": doctor.buffer_minutes}
        doctor.appointment_minutes = self.appointment_minutes
        doctor.buffer_minutes = self.buffer_minutes
        sync_default_type(calendar.session, doctor)
        return details

    def describe(self) -> str:
        buffer = f" with {self.buffer_minutes} minutes between" if self.buffer_minutes else ""
        return f"appointments of {self.appointment_minutes} minutes{buffer}"
