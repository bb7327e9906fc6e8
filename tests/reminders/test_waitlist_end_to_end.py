"""The waitlist end to end on moto: a cancellation -> outbox -> relay -> the offer sent directly through
SES; the claim over HTTP -> outbox -> relay -> the confirmation through SES and the reminder's schedule ->
Scheduler's delivery to SQS -> the Lambda handler -> the reminder through SES."""
from __future__ import annotations

import re
from dataclasses import replace

from carebook import clock
from carebook.extensions import db
from lambda_handler.handler import handler, reset_environment_services, services_from_environment
from models import Appointment
from reminders.relay import relay_once
from tests.carebook.waitlist.conftest import join
from tests.mailbox import path_of
from tests.reminders.aws_stack import body_text, sent_emails
from tests.reminders.helpers import TUESDAY_10, book, cancel
from tests.factories import make_patient


def test_an_offer_and_its_claim_travel_through_ses_and_the_reminder_path(aws_app, stack, client, monkeypatch,
                                                                         doctor, patient):
    booker = make_patient(name="Ann Booker", email="ann@example.test")
    appointment = book(doctor, booker, reason="Persistent cough")
    join(patient, doctor)
    cancel(appointment)
    relay_once(aws_app)

    [offer_email] = [m for m in sent_emails() if m["X-Carebook-Email"] == "send_waitlist_offer"]
    text = body_text(offer_email)
    assert offer_email["To"] == "pat@example.test"
    assert "Dr Dana Doctor" in text and "Tuesday 2 June 2026, 10:00 BST" in text
    assert "cough" not in text.lower()
    claim_link = re.search(r"(http\S+/waitlist/offers/\d+)", text).group(1)

    client.login("pat@example.test")
    assert client.get(path_of(claim_link)).status_code == 200
    assert client.submit(path_of(claim_link) + "/claim").status_code == 302
    db.session.expire_all()
    mine = db.session.query(Appointment).filter_by(patient_id=patient.id).one()
    assert mine.start_at == TUESDAY_10
    relay_once(aws_app)

    [confirmation] = [m for m in sent_emails() if m["X-Carebook-Email"] == "send_confirmation"
                      and m["To"] == "pat@example.test"]
    assert "10:00" in body_text(confirmation)
    stack.deliver_as_scheduler(stack.get_schedule(f"appt-{mine.id}-reminder"))
    for name, value in stack.lambda_environment().items():
        monkeypatch.setenv(name, value)
    reset_environment_services()
    try:
        event = stack.receive_batch()
        response = handler(event, None, services=replace(services_from_environment(), now=clock.utcnow))
    finally:
        reset_environment_services()
    assert response == {"batchItemFailures": []}
    reminders = [m for m in sent_emails() if m["To"] == "pat@example.test" and m["X-Carebook-Reminder-Id"]]
    assert len(reminders) == 1
