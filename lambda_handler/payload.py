"""The messages on the reminder queue: version 1 of the JSON the function reads.

Two kinds. A ``reminder`` is what EventBridge Scheduler puts on the queue at the reminder
time (built by ``reminders.planning.reminder_payload``). A ``notice`` is put on the queue
directly by the relay: the text message (SMS) of a confirmation, a change, a cancellation
or a staff invitation (``reminders.notices``); the relay sends the emails of those events
itself. This module is the one that says what a valid message is. A message carries
everything the email or SMS needs, so the function never reads the database; it carries no
reason for visit and no health details.

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
     "manage_url": "https://clinic.example/appointments/42",
     # Added for SMS (readers that ignore them send the email as before: deploy the function first):
     "channels": ["email", "sms"],                    # absent: ["email"]
     "short_time_text": "Tue 2 Jun, 10:00 BST"}       # required with "sms"; and patient.phone (E.164)

``patient.email`` is required only when "email" is in ``channels``, ``patient.phone`` only
when "sms" is. A notice has ``notice_id`` instead of ``reminder_id``, ``event``
("confirmation", "updated", "cancellation", "invitation" or "waitlist_offer") and ``channels:
["sms"]``; an invitation has no appointment (``invitation_url`` and ``expires_text`` instead of
the appointment's fields, see :func:`validate_invitation`), nor has a waitlist offer (the
doctor, ``short_time_text``, ``claim_url``, ``expires_at`` and ``expires_text``, see
:func:`validate_waitlist_offer`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

VERSION = 1
KIND = "reminder"
NOTICE = "notice"
CHANNELS = ("email", "sms")
NOTICE_EVENTS = ("confirmation", "updated", "cancellation", "invitation", "waitlist_offer")
PHONE_PATTERN = re.compile(r"\+[1-9][0-9]{6,14}")
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
    #: The message's id: ``reminder_id`` of a reminder, ``notice_id`` of a notice.
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
    kind: str = KIND
    #: "reminder" for a reminder; the notice's event otherwise.
    event: str = "reminder"
    channels: tuple[str, ...] = ("email",)
    phone: str = ""
    short_time_text: str = ""
    #: An invitation's link and when it stops working (notices of event "invitation" only).
    invitation_url: str = ""
    expires_text: str = ""

    @property
    def message_id(self) -> str:
        return self.reminder_id


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
    kind = data.get("kind")
    if kind not in (KIND, NOTICE):
        raise InvalidPayload("kind is not 'reminder' or 'notice'")
    id_field = "reminder_id" if kind == KIND else "notice_id"
    reminder_id = _text(data, id_field, 120)
    if not REMINDER_ID_PATTERN.fullmatch(reminder_id):
        raise InvalidPayload(f"{id_field} has characters outside [A-Za-z0-9._:-]")
    event = KIND
    if kind == NOTICE:
        event = data.get("event")
        if event not in NOTICE_EVENTS:
            raise InvalidPayload(f"event is not one of {', '.join(NOTICE_EVENTS)}")
    channels = _channels(data)
    if kind == NOTICE and channels != ("sms",):
        raise InvalidPayload("a notice goes by SMS only (channels must be ['sms'])")
    if event == "invitation":
        return validate_invitation(data, reminder_id)
    if event == "waitlist_offer":
        return validate_waitlist_offer(data, reminder_id)
    appointment_id = data.get("appointment_id")
    if type(appointment_id) is not int or appointment_id <= 0:
        raise InvalidPayload("appointment_id is missing or not a positive integer")
    patient = _object(data, "patient")
    clinic = _object(data, "clinic")
    email = ""
    if "email" in channels:
        email = _text(patient, "email", 254, field="patient.email")
        if not EMAIL_PATTERN.fullmatch(email):
            raise InvalidPayload("patient.email is not an email address")
    phone, short_time_text = "", ""
    if "sms" in channels:
        phone = _phone(patient)
        short_time_text = _text(data, "short_time_text", 60)
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
        kind=kind,
        event=event,
        channels=channels,
        phone=phone,
        short_time_text=short_time_text,
    )


def validate_invitation(data: dict, notice_id: str) -> ReminderPayload:
    """A staff invitation to go online, by SMS: ``invitation_url``, ``expires_text``, the clinic, the phone."""
    patient = _object(data, "patient")
    clinic = _object(data, "clinic")
    url = _text(data, "invitation_url", 500)
    if not url.startswith(("https://", "http://")):
        raise InvalidPayload("invitation_url is not an http(s) URL")
    expires_text = _text(data, "expires_text", 60)
    return ReminderPayload(
        reminder_id=notice_id, appointment_id=0, start_at=_instant(data, "expires_at"), timezone="",
        local_time_text=expires_text, first_name="", email="", doctor_name="",
        clinic=Clinic(name=_text(clinic, "name", 200, field="clinic.name"), address="",
                      phone=_text(clinic, "phone", 64, field="clinic.phone")),
        manage_url=url, kind=NOTICE, event="invitation", channels=("sms",), phone=_phone(patient),
        invitation_url=url, expires_text=expires_text)


def validate_waitlist_offer(data: dict, notice_id: str) -> ReminderPayload:
    """A freed slot offered to a waiting patient, by SMS: the doctor, the time, the claim link and until when
    it is held (``expires_at``: after it the message is stale, like a reminder after its appointment)."""
    patient = _object(data, "patient")
    clinic = _object(data, "clinic")
    url = _text(data, "claim_url", 2000)
    if not url.startswith(("https://", "http://")):
        raise InvalidPayload("claim_url is not an http(s) URL")
    return ReminderPayload(
        reminder_id=notice_id, appointment_id=0, start_at=_instant(data, "expires_at"),
        timezone=_text(data, "timezone", 64), local_time_text=_text(data, "short_time_text", 60), first_name="",
        email="", doctor_name=_text(data, "doctor_name", 200),
        clinic=Clinic(name=_text(clinic, "name", 200, field="clinic.name"), address="",
                      phone=_text(clinic, "phone", 64, field="clinic.phone")),
        manage_url=url, kind=NOTICE, event="waitlist_offer", channels=("sms",), phone=_phone(patient),
        short_time_text=_text(data, "short_time_text", 60), expires_text=_text(data, "expires_text", 60))


def _channels(data: dict) -> tuple[str, ...]:
    """``channels``, in a fixed order; absent in messages written before SMS: email only."""
    if "channels" not in data:
        return ("email",)
    value = data["channels"]
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or not all(channel in CHANNELS for channel in value)):
        raise InvalidPayload(f"channels must be a non-empty list of distinct {', '.join(CHANNELS)}")
    return tuple(channel for channel in CHANNELS if channel in value)


def _phone(patient: dict) -> str:
    phone = _text(patient, "phone", 16, field="patient.phone")
    if not PHONE_PATTERN.fullmatch(phone):
        raise InvalidPayload("patient.phone is not an E.164 number")
    return phone


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
