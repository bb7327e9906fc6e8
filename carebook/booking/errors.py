"""Why a booking request cannot be carried out: one exception per reason, each with a stable code."""
from __future__ import annotations


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


class PatientErased(BookingError):
    code, message = "patient_erased", "This patient's data were erased at their request: they cannot be booked."
