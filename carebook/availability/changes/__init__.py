"""The seven kinds of availability change, one class each, and their JSON form.

Each class holds everything about its kind of change: its rules, its effect on the
doctor's availability, how it is stored and audited, and its description
(the interface is :class:`~carebook.availability.changes.base.Change`).
"""
from carebook.availability.changes.appointment_length import APPOINTMENT_MINUTES, BUFFER_MINUTES, SetAppointmentLength
from carebook.availability.changes.base import PLANNING_HORIZON, Change
from carebook.availability.changes.encoding import decode_change, encode_change
from carebook.availability.changes.one_off import RemoveOneOff, SetOneOff
from carebook.availability.changes.time_off import (LONGEST_TIME_OFF, TIME_OFF_NOTE_LENGTH, AddTimeOff, RemoveTimeOff,
                                                    local_instant)
from carebook.availability.changes.weekly_hours import RemoveWeeklyHours, SetWeeklyHours

__all__ = [
    "APPOINTMENT_MINUTES", "BUFFER_MINUTES", "LONGEST_TIME_OFF", "PLANNING_HORIZON", "TIME_OFF_NOTE_LENGTH",
    "AddTimeOff", "Change", "RemoveOneOff", "RemoveTimeOff", "RemoveWeeklyHours", "SetAppointmentLength",
    "SetOneOff", "SetWeeklyHours", "decode_change", "encode_change", "local_instant",
]
