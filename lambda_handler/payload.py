"""The reminder message: version 1 of the JSON that EventBridge Scheduler puts on the queue.

The web app builds it (``reminders.planning.reminder_payload``); this module is the one that says what
a valid message is. A message carries everything the email needs, so the function
never reads the database; it carries no reason for visit and no health details.

Version 1 fields (extra fields are ignored, so a sender may add fields first and
bump the version only for incompatible changes)::

    {"version": 1, "kind": "reminder",
     "reminder_id": "appt-42-20260602T090000Z",      # one per appointment time
     "appointment_id": 42,
     "start_at": "2026-06-02T09:00:00Z",              # UTC
     "timezone": "Europe/London",
     "local_time_text": "Tuesday 2 June 2026, 10:00 BST (Europe/London time)",
     "patient": {"first_name": "Pat", "email": "pat@example.com"},
     "doctor_name": "Dr Dana Doctor",
     "appointment_type": "Follow-up",                 # optional: what is booked, never why
     "clinic": {"name": "...", "address": "...", "phone": "..."},
     "manage_url": "https://clinic.example/appointments/42"}
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

VERSION = 1
KIND = "reminder"
REMINDER_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Deliberately loose: the web app validated the address when the account was made;
# this only refuses what cannot be an address (and header injection).
EMAIL_PATTERN = re.compile(r"[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,252}")


class InvalidPayload(ValueError):
    """The message is not a valid reminder. The text names the field, never its value."""


@dataclass(frozen=True)
class Clinic:
    name: str
    address: str
    phone: str


@dataclass(frozen=True)
class ReminderPayload:
    reminder_id: str
    appointment_id: int
    start_at: datetime
    timezone: str
    local_time_text: str
    first_name: str
    email: str
    doctor_name: str
    clinic: Clinic
    manage_url: str
    #: The type of appointment ("Follow-up"); empty in messages sent before types.
    appointment_type: str = ""


def parse(body: str | bytes) -> ReminderPayload:
    """Parse and validate one message body, or raise InvalidPayload."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        raise InvalidPayload("body is not JSON") from None
    return validate(data)


def validate(data: Any) -> ReminderPayload:
    if not isinstance(data, dict):
        raise InvalidPayload("body is not a JSON object")
    version = data.get("version")
    if type(version) is not int:
        raise InvalidPayload("version is missing or not an integer")
    if version != VERSION:
        raise InvalidPayload(f"unsupported version {version}")
    if data.get("kind") != KIND:
        raise InvalidPayload("kind is not 'reminder'")
    reminder_id = _text(data, "reminder_id", 128)
    if not REMINDER_ID_PATTERN.fullmatch(reminder_id):
        raise InvalidPayload("reminder_id has characters outside [A-Za-z0-9._:-]")
    appointment_id = data.get("appointment_id")
    if type(appointment_id) is not int or appointment_id <= 0:
        raise InvalidPayload("appointment_id is missing or not a positive integer")
    patient = _object(data, "patient")
    clinic = _object(data, "clinic")
    email = _text(patient, "email", 254, field="patient.email")
    if not EMAIL_PATTERN.fullmatch(email):
        raise InvalidPayload("patient.email is not an email address")
    manage_url = _text(data, "manage_url", 2000)
    if not manage_url.startswith(("https://", "http://")):
        raise InvalidPayload("manage_url is not an http(s) URL")
    return ReminderPayload(
        reminder_id=reminder_id,
        appointment_id=appointment_id,
        start_at=_instant(data, "start_at"),
        timezone=_text(data, "timezone", 64),
        local_time_text=_text(data, "local_time_text", 200),
        first_name=_text(patient, "first_name", 120, field="patient.first_name"),
        email=email,
        doctor_name=_text(data, "doctor_name", 200),
        clinic=Clinic(name=_text(clinic, "name", 200, field="clinic.name"),
                      address=_text(clinic, "address", 500, field="clinic.address"),
                      phone=_text(clinic, "phone", 64, field="clinic.phone")),
        manage_url=manage_url,
        appointment_type=_text(data, "appointment_type", 80) if "appointment_type" in data else "",
    )


def _object(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise InvalidPayload(f"{key} is missing or not an object")
    return value


def _text(data: dict, key: str, max_length: int, *, field: str | None = None) -> str:
    value = data.get(key)
    name = field or key
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload(f"{name} is missing or not a non-empty string")
    if len(value) > max_length:
        raise InvalidPayload(f"{name} is longer than {max_length} characters")
    if "\r" in value or "\n" in value:
        raise InvalidPayload(f"{name} contains a line break")
    return value.strip()


def _instant(data: dict, key: str) -> datetime:
    raw = _text(data, key, 40)
    try:
        instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidPayload(f"{key} is not an ISO 8601 date-time") from None
    if instant.utcoffset() is None:
        raise InvalidPayload(f"{key} has no UTC offset")
    return instant.astimezone(timezone.utc)
