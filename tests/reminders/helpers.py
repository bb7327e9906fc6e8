"""Helpers of the reminder tests: booking at the edge, reading the mail folder."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from reminders.state import get_state
from tests.reminders.aws_stack import parse_raw

UTC = timezone.utc
#: Tue 2 June 2026, 10:00 in London (BST): 26 hours after the frozen "now".
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
#: Wed 3 June 2026, 15:00 in London.
WEDNESDAY_15 = datetime(2026, 6, 3, 14, 0, tzinfo=UTC)


def book(doctor, patient, start_at=TUESDAY_10, reason="Persistent cough"):
    """Book through the service, as the portal does, and commit at the edge."""
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=start_at, reason=reason)
    db.session.commit()
    return appointment


def cancel(appointment):
    booking_service().cancel(audit.Actor(None, "system"), appointment, enforce_cutoff=False)
    db.session.commit()


def reschedule(appointment, start_at):
    booking_service().reschedule(audit.Actor(None, "system"), appointment, start_at, enforce_cutoff=False)
    db.session.commit()


def mail_folder(app):
    return get_state(app).settings.mail_folder


def folder_emails(app):
    folder = mail_folder(app)
    return [parse_raw(path.read_bytes()) for path in sorted(folder.glob("*.eml"))] if folder.exists() else []


def sms_files(app) -> list[dict[str, str]]:
    """The SMS the embedded mode wrote (instance/sms/), oldest first: {"to", "from", "text"}."""
    from messaging.sms import read_sms_file

    folder = get_state(app).settings.sms_folder
    paths = sorted(folder.glob("*.txt"), key=lambda path: path.stat().st_mtime_ns) if folder.exists() else []
    return [read_sms_file(path) for path in paths]


def deliveries(session, appointment_id=None) -> list[tuple[str, str, str, str]]:
    """(event, channel, outcome, detail) of the delivery records, in the order they happened."""
    from sqlalchemy import select

    from models import NotificationDelivery

    query = select(NotificationDelivery).order_by(NotificationDelivery.occurred_at, NotificationDelivery.id)
    if appointment_id is not None:
        query = query.where(NotificationDelivery.appointment_id == appointment_id)
    return [(row.event, row.channel, row.outcome, row.detail) for row in session.scalars(query)]


def reminder_emails(app):
    return [message for message in folder_emails(app) if message["X-Carebook-Reminder-Id"]]


@contextmanager
def scheduler_outage(app):
    """EventBridge Scheduler unreachable: every call fails as a dropped connection would."""
    from botocore.exceptions import EndpointConnectionError

    client = get_state(app).backend.scheduler

    def unreachable(**kwargs):
        raise EndpointConnectionError(endpoint_url="https://scheduler.eu-west-2.amazonaws.com")

    client.meta.events.register("before-call.scheduler", unreachable, unique_id="test-outage")
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.scheduler", unique_id="test-outage")


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def book_over_api(client, doctor_id: int, start_at: datetime, reason: str = "Persistent cough"):
    return client.api("POST", "/api/appointments", json={"doctor_id": doctor_id, "start_at": iso(start_at),
                                                         "reason": reason})
