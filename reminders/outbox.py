"""The booking listener: writes outbox rows inside the booking transaction.

The rows are plain inserts (like the audit log's, carebook/audit.py): the transaction
that writes them never reads them back, so the ORM's unit of work has nothing to do.

Nothing here talks to AWS or sends mail. The rows commit (or roll back) with the
booking itself; the relay acts on them only after the commit.

* booked      -> schedule_reminder + send_confirmation
* rescheduled -> move_reminder     + send_updated_confirmation
* cancelled   -> delete_reminder   + send_cancellation
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import insert
from sqlalchemy.orm import Session

from carebook.clock import utcnow
from models import Appointment, OutboxKind, OutboxMessage
from reminders import emails
from reminders.state import find_state

_INSERT = insert(OutboxMessage.__table__)
EVENT_KINDS = {
    "booked": (OutboxKind.SCHEDULE_REMINDER, OutboxKind.SEND_CONFIRMATION),
    "rescheduled": (OutboxKind.MOVE_REMINDER, OutboxKind.SEND_UPDATED_CONFIRMATION),
    "cancelled": (OutboxKind.DELETE_REMINDER, OutboxKind.SEND_CANCELLATION),
}


def record_booking_event(session: Session, event: str, appointment: Appointment,
                         previous_start_at: datetime | None) -> None:
    """The receiver of ``carebook.booking.signals.appointment_changed`` (sender: the session)."""
    app = current_app._get_current_object()
    if find_state(app) is None:
        return  # an app built without the reminder path
    now = utcnow()
    rows = []
    for kind in EVENT_KINDS.get(event, ()):
        if kind.topic.value == "email":
            payload = emails.snapshot(app, kind, appointment, previous_start_at)
        else:
            # The relay reads the appointment's current row; this is only for people reading the table.
            payload = {"start_at": appointment.start_at.isoformat()}
        rows.append({"kind": kind, "topic": kind.topic, "appointment_id": appointment.id, "payload": payload,
                     "next_attempt_at": now, "created_at": now})
    if rows:
        session.execute(_INSERT, rows)
