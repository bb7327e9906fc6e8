"""Erasing a patient on the AWS path: their schedule is deleted and the notice sent by the usual relay, then forgotten."""
from __future__ import annotations

from sqlalchemy import select

from carebook import audit
from carebook.extensions import db
from carebook.patient_data import erasure
from carebook.services import booking_service
from models import OutboxKind, OutboxMessage
from models.outbox import ERASED_PAYLOAD
from reminders.relay import relay_once
from tests.factories import make_staff
from tests.reminders.aws_stack import sent_emails
from tests.reminders.helpers import book


def test_erasure_deletes_the_schedule_tells_the_patient_and_forgets_the_address(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    assert stack.schedule_names() == [f"appt-{appointment.id}-reminder"]
    desk = audit.Actor(make_staff(), "admin")
    erasure.erase_patient(db.session, booking_service(), desk, patient)
    db.session.commit()

    relay_once(aws_app)
    assert stack.schedule_names() == []
    cancellation = [message for message in sent_emails() if "cancelled" in message["Subject"]]
    assert [message["To"] for message in cancellation] == ["pat@example.test"]
    db.session.expire_all()
    payloads = db.session.scalars(select(OutboxMessage.payload).where(OutboxMessage.kind.in_(
        [OutboxKind.SEND_CONFIRMATION, OutboxKind.SEND_CANCELLATION]))).all()
    assert payloads == [ERASED_PAYLOAD, ERASED_PAYLOAD]
