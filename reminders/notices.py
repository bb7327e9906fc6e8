"""The text messages (SMS) of confirmations, changes, cancellations and invitations: "notice" messages.

A patient who hears from the clinic by SMS gets, for each booking event, an outbox row of
the same kind as the email's (``send_confirmation``...) whose payload says ``channel: sms``
and holds the notice as it was in the booking transaction (a snapshot, like an email's).
The relay hands it to the backend (:meth:`send_notice`): on AWS it is put on the reminder
queue, where the reminder function publishes it through SNS (the only part of the system
allowed to); in the embedded mode it goes to the very same handler directly. Its id is
``outbox-<row id>``, so a relay that retries after the queue took it cannot make a second
SMS (the function's idempotency record is keyed by it).

What the SMS says is the function's business (lambda_handler/sms_text.py); this module
only builds the message (lambda_handler/payload.py, kind ``notice``).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Flask

from carebook.config import ClinicSettings
from carebook.timefmt import format_datetime, format_time
from lambda_handler.payload import VERSION
from models import Appointment, OutboxKind, OutboxMessage
from reminders.planning import local_time_text, manage_url, short_time_text

CHANNEL_KEY = "channel"
EVENTS = {
    OutboxKind.SEND_CONFIRMATION: "confirmation",
    OutboxKind.SEND_UPDATED_CONFIRMATION: "updated",
    OutboxKind.SEND_CANCELLATION: "cancellation",
}


def is_sms_row(row: OutboxMessage) -> bool:
    return is_sms_payload(row.payload or {})


def is_sms_payload(payload: dict[str, Any]) -> bool:
    return payload.get(CHANNEL_KEY) == "sms"


def snapshot(app: Flask, kind: OutboxKind, appointment: Appointment) -> dict[str, Any]:
    """The payload of an SMS outbox row: the notice without its id (the row's id gives it)."""
    clinic: ClinicSettings = app.config["CLINIC"]
    patient = appointment.patient
    return {
        CHANNEL_KEY: "sms",
        "version": VERSION,
        "kind": "notice",
        "event": EVENTS[kind],
        "channels": ["sms"],
        "appointment_id": appointment.id,
        "start_at": appointment.start_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": clinic.timezone.key,
        "local_time_text": local_time_text(appointment.start_at, clinic.timezone),
        "short_time_text": short_time_text(appointment.start_at, clinic.timezone),
        "patient": {"first_name": patient.user.first_name, "phone": patient.phone},
        "doctor_name": appointment.doctor.name,
        "clinic": {"name": clinic.name, "address": clinic.address, "phone": clinic.phone},
        "manage_url": manage_url(app, appointment.id),
    }


def notice_id(row: OutboxMessage) -> str:
    return f"outbox-{row.id}"


def message(row: OutboxMessage) -> dict[str, Any]:
    """The queue message of an SMS outbox row."""
    body = {key: value for key, value in (row.payload or {}).items() if key != CHANNEL_KEY}
    return {**body, "notice_id": notice_id(row)}


def invitation_message(app: Flask, *, invitation_id: int, phone: str, url: str, expires_at: datetime
                       ) -> dict[str, Any]:
    """A staff invitation to go online, by SMS (carebook/invitations.py); sent after the commit."""
    clinic: ClinicSettings = app.config["CLINIC"]
    return {
        "version": VERSION,
        "kind": "notice",
        "event": "invitation",
        "notice_id": f"invitation-{invitation_id}",
        "channels": ["sms"],
        "patient": {"phone": phone},
        "clinic": {"name": clinic.name, "phone": clinic.phone},
        "invitation_url": url,
        "expires_at": expires_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_text": format_datetime(expires_at, clinic.timezone, zoned=True),
    }


def waitlist_offer_id(offer_id: int) -> str:
    """The message id of a waitlist offer, on every channel: its delivery records are found by it."""
    return f"waitlist-offer-{int(offer_id)}"


def waitlist_offer_message(app: Flask, data: dict[str, Any], claim_url: str) -> dict[str, Any]:
    """A freed slot offered by SMS (reminders/waitlist_mail.py), from its outbox row's snapshot.

    Raises KeyError/TypeError/ValueError for a snapshot that is not one (the caller's InvalidSnapshot).
    """
    clinic: ClinicSettings = app.config["CLINIC"]
    start_at, expires_at = datetime.fromisoformat(data["start_at"]), datetime.fromisoformat(data["expires_at"])
    return {
        "version": VERSION,
        "kind": "notice",
        "event": "waitlist_offer",
        "notice_id": waitlist_offer_id(data["offer_id"]),
        "channels": ["sms"],
        "timezone": clinic.timezone.key,
        "patient": {"phone": data["phone"]},
        "doctor_name": data["doctor_name"],
        "clinic": {"name": clinic.name, "phone": clinic.phone},
        "short_time_text": short_time_text(start_at, clinic.timezone),
        "claim_url": claim_url,
        "expires_at": expires_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Within the hold-free window (minutes): the time of day is enough, with its zone label.
        "expires_text": format_time(expires_at, clinic.timezone, zoned=True),
    }


def send_invitation(app: Flask, link) -> bool:
    """Send a staff invitation (carebook.invitations.InvitationLink) by SMS, after the request's commit.

    Like the invitation email (reminders/account_mail.py), it is sent once and not retried: the
    link's token is never stored, so the outbox cannot hold it. A failure is logged and reported.
    """
    import logging

    from messaging.errors import describe_error
    from reminders.state import get_state

    message = invitation_message(app, invitation_id=link.invitation_id, phone=link.texted_to, url=link.url,
                                 expires_at=link.expires_at)
    try:
        get_state(app).backend.send_notice(message)
    except Exception as error:
        logging.getLogger("reminders.notices").error("invitation SMS %s not sent: %s", link.invitation_id,
                                                     describe_error(error))
        return False
    return True
