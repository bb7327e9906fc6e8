"""Confirmation, updated confirmation and cancellation emails (templates/email/).

The booking transaction stores a snapshot of the event in the outbox row
(:func:`snapshot`); the relay renders and sends it after the commit
(:func:`render`). Each email describes its own event, even if the appointment has
changed again since. No reason for visit or other health details, in the email or in
the calendar file.
"""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

from flask import Flask, render_template
from werkzeug.routing import BuildError

from carebook import calendar_file
from carebook.config import ClinicSettings
from messaging.message import Attachment, build_message
from models import Appointment, OutboxKind
from reminders.planning import local_time_text, manage_url


class InvalidSnapshot(ValueError):
    """An outbox row's snapshot cannot be rendered: retrying will not help."""


TEMPLATES = {
    OutboxKind.SEND_CONFIRMATION: "confirmation",
    OutboxKind.SEND_UPDATED_CONFIRMATION: "updated",
    OutboxKind.SEND_CANCELLATION: "cancellation",
}
SUBJECTS = {
    OutboxKind.SEND_CONFIRMATION: "Your appointment is booked: {when}",
    OutboxKind.SEND_UPDATED_CONFIRMATION: "Your appointment has moved: {when}",
    OutboxKind.SEND_CANCELLATION: "Your appointment is cancelled: {when}",
}


def snapshot(app: Flask, kind: OutboxKind, appointment: Appointment, previous_start_at: datetime | None
             ) -> dict[str, Any]:
    """What the email needs, as it is in this transaction (JSON-ready)."""
    clinic: ClinicSettings = app.config["CLINIC"]
    user = appointment.patient.user
    cancelled = kind is OutboxKind.SEND_CANCELLATION
    by_clinic = cancelled and appointment.cancelled_by_clinic
    return {
        "first_name": user.first_name,
        # A cancellation by the clinic tells the patient why (the reason staff or the doctor gave
        # for the patient to read) and where the doctor's next free times are.
        "cancelled_by_clinic": by_clinic,
        "cancellation_reason": appointment.cancellation_reason if by_clinic else "",
        "doctor_url": _doctor_url(app, appointment.doctor_id) if by_clinic else None,
        "email": user.email,
        "doctor_name": appointment.doctor.name,
        "start_at": appointment.start_at.isoformat(),
        "previous_start_at": previous_start_at.isoformat() if previous_start_at else None,
        "manage_url": manage_url(app, appointment.id),
        "ics": calendar_file.appointment_ics(appointment, clinic, cancelled=cancelled),
    }


def render(app: Flask, kind: OutboxKind, data: dict[str, Any], sender_address: str) -> EmailMessage:
    clinic: ClinicSettings = app.config["CLINIC"]
    try:
        start_at = datetime.fromisoformat(data["start_at"])
        previous = datetime.fromisoformat(data["previous_start_at"]) if data.get("previous_start_at") else None
        recipient, first_name, doctor_name = data["email"], data["first_name"], data["doctor_name"]
        ics, link = data["ics"], data["manage_url"]
        name = TEMPLATES[kind]
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidSnapshot(f"{kind.value}: {type(error).__name__}") from None
    when = local_time_text(start_at, clinic.timezone)
    context = {
        "first_name": first_name,
        "when": when,
        "previous_when": local_time_text(previous, clinic.timezone) if previous else None,
        "doctor_name": doctor_name,
        "clinic": clinic,
        "manage_url": link,
        "book_url": _book_url(app),
        "cancelled_by_clinic": bool(data.get("cancelled_by_clinic")),
        "cancellation_reason": data.get("cancellation_reason") or "",
        "doctor_url": data.get("doctor_url"),
        "subject": SUBJECTS[kind].format(when=when),
    }
    method = "CANCEL" if kind is OutboxKind.SEND_CANCELLATION else "PUBLISH"
    return build_message(
        sender=formataddr((clinic.name, sender_address)),
        recipient=recipient,
        subject=context["subject"],
        text=render_template(f"email/{name}.txt", **context),
        html=render_template(f"email/{name}.html", **context),
        attachments=[Attachment("appointment.ics", ics.encode(), "text", "calendar", {"method": method})],
        headers={"X-Carebook-Email": kind.value},
    )


def _book_url(app: Flask) -> str:
    return _portal_url(app, "patient.doctors", {}, "/doctors")


def _doctor_url(app: Flask, doctor_id: int) -> str:
    return _portal_url(app, "patient.doctor", {"doctor_id": doctor_id}, f"/doctors/{doctor_id}")


def _portal_url(app: Flask, endpoint: str, values: dict[str, Any], fallback: str) -> str:
    """An absolute link into the portal (the fallback path where the portal is not mounted, as in the relay's tests)."""
    base = app.config["BASE_URL"].rstrip("/")
    try:
        return base + app.url_map.bind("localhost").build(endpoint, values)
    except BuildError:
        return base + fallback
