"""The booking listener: writes outbox rows inside the booking transaction.

The rows are plain inserts (like the audit log's, carebook/audit.py): the transaction
that writes them never reads them back, so the ORM's unit of work has nothing to do.

Nothing here talks to AWS or sends mail. The rows commit (or roll back) with the
booking itself; the relay acts on them only after the commit.

* booked      -> schedule_reminder + send_confirmation
* rescheduled -> move_reminder     + send_updated_confirmation
* cancelled   -> delete_reminder   + send_cancellation

Each event goes by the patient's channels (reminders.planning.channels_of): an email row
for email, and a second row of the same kind with ``channel: sms`` in its payload for SMS
(reminders/notices.py). A channel the patient chose but cannot be reached by (no email
address; no mobile number for SMS), or did not choose, gets no row: the skip is recorded in
the audit log (``notification.skipped``, channel and reason, never the address) and, for
staff reading the appointment, in ``notification_deliveries``. Nothing is tried and failed.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import insert
from sqlalchemy.orm import Session

from carebook import audit
from carebook.clock import utcnow
from models import Appointment, OutboxKind, OutboxMessage
from reminders import deliveries, emails, notices
from reminders.planning import channels_of
from reminders.state import find_state

_INSERT = insert(OutboxMessage.__table__)
EVENT_KINDS = {
    "booked": (OutboxKind.SCHEDULE_REMINDER, OutboxKind.SEND_CONFIRMATION),
    "rescheduled": (OutboxKind.MOVE_REMINDER, OutboxKind.SEND_UPDATED_CONFIRMATION),
    "cancelled": (OutboxKind.DELETE_REMINDER, OutboxKind.SEND_CANCELLATION),
}


def email_refusal(appointment: Appointment) -> str | None:
    """Why this appointment's patient gets no email ("no_email" or "sms_only"), or None if they do."""
    patient = appointment.patient
    if not patient.user.email:
        return "no_email"
    if not patient.contact_preference.by_email:
        return "sms_only"
    return None


def sms_refusal(appointment: Appointment) -> str | None:
    """Why this appointment's patient, who chose SMS, gets none ("no_mobile"), or None (they get it, or chose email)."""
    patient = appointment.patient
    if patient.contact_preference.by_sms and "sms" not in channels_of(patient):
        return "no_mobile"
    return None


def record_booking_event(session: Session, event: str, appointment: Appointment,
                         previous_start_at: datetime | None) -> None:
    """The receiver of ``carebook.booking.signals.appointment_changed`` (sender: the session)."""
    app = current_app._get_current_object()
    if find_state(app) is None:
        return  # an app built without the reminder path
    now = utcnow()
    rows = []
    no_email = email_refusal(appointment)
    by_sms = "sms" in channels_of(appointment.patient)
    no_sms = sms_refusal(appointment)
    for kind in EVENT_KINDS.get(event, ()):
        if kind.topic.value == "email":
            if by_sms:
                rows.append({"kind": kind, "topic": kind.topic, "appointment_id": appointment.id,
                             "payload": notices.snapshot(app, kind, appointment), "next_attempt_at": now,
                             "created_at": now})
            elif no_sms is not None:
                _skipped(session, appointment, kind, "sms", no_sms)
            if no_email is not None:
                _skipped(session, appointment, kind, "email", no_email)
                continue
            payload = emails.snapshot(app, kind, appointment, previous_start_at)
        else:
            # The relay reads the appointment's current row; this is only for people reading the table.
            payload = {"start_at": appointment.start_at.isoformat()}
        rows.append({"kind": kind, "topic": kind.topic, "appointment_id": appointment.id, "payload": payload,
                     "next_attempt_at": now, "created_at": now})
    if rows:
        session.execute(_INSERT, rows)


def _skipped(session: Session, appointment: Appointment, kind: OutboxKind, channel: str, reason: str) -> None:
    audit.write_row(session, None, "system", "notification.skipped", "appointment", appointment.id,
                    {"channel": channel, "kind": kind.value, "reason": reason})
    deliveries.record(session, appointment_id=appointment.id, message_id=f"{kind.value}-{appointment.id}",
                      event=notices.EVENTS[kind], channel=channel, outcome="skipped", detail=reason)
