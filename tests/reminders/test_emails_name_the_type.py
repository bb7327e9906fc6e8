"""Emails, their calendar files and the reminder message say what kind of appointment it is, never why."""
from __future__ import annotations

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from reminders.planning import reminder_payload
from reminders.relay import relay_once
from tests.factories import make_type
from tests.reminders.aws_stack import body_text
from tests.reminders.helpers import TUESDAY_10, WEDNESDAY_15, folder_emails, reschedule


def book_follow_up(doctor, patient):
    follow_up = make_type("Follow-up", minutes=30, doctors=[doctor])
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10, reason="Persistent cough", appointment_type=follow_up)
    db.session.commit()
    return appointment


def of_kind(app, kind):
    [message] = [message for message in folder_emails(app) if message["X-Carebook-Email"] == kind]
    return message


def test_the_confirmation_names_the_type_in_text_html_and_calendar_file(app, doctor, patient):
    book_follow_up(doctor, patient)
    relay_once(app)
    confirmation = of_kind(app, "send_confirmation")
    assert "What:   Follow-up" in body_text(confirmation, "plain")
    assert "<td>Follow-up</td>" in body_text(confirmation, "html")
    [attachment] = list(confirmation.iter_attachments())
    assert "SUMMARY:Follow-up with Dr Dana Doctor" in attachment.get_content()
    assert "cough" not in confirmation.as_string().lower()


def test_the_updated_confirmation_names_the_type(app, doctor, patient):
    reschedule(book_follow_up(doctor, patient), WEDNESDAY_15)
    relay_once(app)
    assert "What:   Follow-up" in body_text(of_kind(app, "send_updated_confirmation"), "plain")


def test_the_reminder_message_carries_the_type(app, doctor, patient):
    payload = reminder_payload(app, book_follow_up(doctor, patient))
    assert payload["appointment_type"] == "Follow-up"
    assert "cough" not in str(payload).lower()
