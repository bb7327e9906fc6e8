"""Booking: the one place where appointments are made, moved, cancelled, marked and flagged.

* :mod:`~carebook.booking.service`: :class:`BookingService`, the rules and every change
  to an appointment, in the caller's transaction (it flushes, never commits).
* :mod:`~carebook.booking.free_slots`: its read side, doctors' free slots (:class:`SlotFinder`).
* :mod:`~carebook.booking.queries`: the calendar read, one statement per call.
* :mod:`~carebook.booking.constraints`: the database's overlap constraints as booking errors.
* :mod:`~carebook.booking.errors`: why a request cannot be carried out.
* :mod:`~carebook.booking.signals`: :data:`appointment_changed`, sent for every change.
"""
from carebook.booking.errors import (BookingError, CancellationTooLate, DoctorInactive, InThePast, NotBooked,
                                     NotStartedYet, OutsideAvailability, OutsideBookingWindow, PatientBusy,
                                     PatientErased, SlotTaken)
from carebook.booking.free_slots import SlotFinder
from carebook.booking.queries import MAX_APPOINTMENT_LENGTH
from carebook.booking.service import BookingService
from carebook.booking.signals import appointment_changed

__all__ = [
    "BookingError", "BookingService", "CancellationTooLate", "DoctorInactive", "InThePast", "MAX_APPOINTMENT_LENGTH",
    "NotBooked", "NotStartedYet", "OutsideAvailability", "OutsideBookingWindow", "PatientBusy", "PatientErased",
    "SlotFinder",
    "SlotTaken", "appointment_changed",
]
