"""Editing a doctor's availability: weekly hours, appointment length, one-off changes, time off.

Every edit is a small frozen *change* value (:mod:`~carebook.availability.changes`, one
class per kind, each knowing its own rules). :class:`AvailabilityService` validates it,
works out which booked appointments it would push outside the doctor's time
(:meth:`~AvailabilityService.affected_appointments`), and applies it. A change that
hits booked appointments is applied only once the caller confirms, and then those
appointments stay booked and are flagged for staff (``needs_attention``, set by the
booking service); or the caller cancels them explicitly through the booking service
(:meth:`~AvailabilityService.cancel_affected`). Nothing is ever cancelled or deleted
silently.

The slot engine reads the same rows, so patients' slot lists change with the
commit. Like the booking service, this one flushes and never commits.

* :mod:`~carebook.availability.changes`: the change types and their JSON form.
* :mod:`~carebook.availability.service`: :class:`AvailabilityService`, applying changes and reading calendars.
* :mod:`~carebook.availability.store`: the calendar rows the change types read and write.
* :mod:`~carebook.availability.fit`: whether an appointment fits an availability.
* :mod:`~carebook.availability.ranges`: wall-clock time ranges.
* :mod:`~carebook.availability.errors`: :class:`InvalidChange`, :class:`NeedsConfirmation`.
* :mod:`~carebook.availability.calendar_view`: the week grid and month overview for display.
"""
from carebook.availability.changes import (APPOINTMENT_MINUTES, BUFFER_MINUTES, LONGEST_TIME_OFF, PLANNING_HORIZON,
                                           TIME_OFF_NOTE_LENGTH, AddTimeOff, Change, RemoveOneOff, RemoveTimeOff,
                                           RemoveWeeklyHours, SetAppointmentLength, SetOneOff, SetWeeklyHours,
                                           decode_change, encode_change, local_instant)
from carebook.availability.errors import InvalidChange, NeedsConfirmation, Problem
from carebook.availability.ranges import WEEKDAY_NAMES, TimeRange, format_range, ranges_on
from carebook.availability.service import Applied, AvailabilityService, DayPlan

__all__ = [
    "APPOINTMENT_MINUTES", "BUFFER_MINUTES", "LONGEST_TIME_OFF", "PLANNING_HORIZON", "TIME_OFF_NOTE_LENGTH",
    "WEEKDAY_NAMES", "AddTimeOff", "Applied", "AvailabilityService", "Change", "DayPlan", "InvalidChange",
    "NeedsConfirmation", "Problem", "RemoveOneOff", "RemoveTimeOff", "RemoveWeeklyHours", "SetAppointmentLength",
    "SetOneOff", "SetWeeklyHours", "TimeRange", "decode_change", "encode_change", "format_range", "local_instant",
    "ranges_on",
]
