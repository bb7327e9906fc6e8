"""An iCalendar (.ics) file for one appointment, for "Add to calendar" and email attachments."""
from __future__ import annotations

from datetime import datetime, timezone

from carebook.clock import utcnow
from carebook.config import ClinicSettings
from models import Appointment


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _stamp(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def appointment_ics(appointment: Appointment, clinic: ClinicSettings, *, cancelled: bool = False) -> str:
    """RFC 5545 text. Times in UTC; no reason for visit (calendars are often shared).

    One UID per appointment and its SEQUENCE (moved on at every change) make a calendar app
    replace the event it has: a moved appointment moves, a cancelled one (METHOD:CANCEL,
    STATUS:CANCELLED) is taken out.
    """
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Carebook//Appointments//EN",
        f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
        "BEGIN:VEVENT",
        f"UID:appointment-{appointment.id}@carebook",
        f"DTSTAMP:{_stamp(utcnow())}",
        f"SEQUENCE:{appointment.calendar_sequence or 0}",
        f"DTSTART:{_stamp(appointment.start_at)}",
        f"DTEND:{_stamp(appointment.end_at)}",
        f"SUMMARY:{_escape(f'Appointment with {appointment.doctor.name}')}",
        f"LOCATION:{_escape(f'{clinic.name}, {clinic.address}')}",
        f"DESCRIPTION:{_escape(f'To change or cancel, call {clinic.phone}.')}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"
