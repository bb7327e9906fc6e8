"""Confirmation, updated confirmation and cancellation emails, as the relay sends them."""
from __future__ import annotations

import pytest

from reminders.relay import relay_once
from tests.reminders.aws_stack import body_text
from tests.reminders.helpers import WEDNESDAY_15, book, cancel, folder_emails, reschedule


def email_of_kind(app, kind):
    [message] = [message for message in folder_emails(app) if message["X-Carebook-Email"] == kind]
    return message


@pytest.fixture
def confirmation(app, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    return email_of_kind(app, "send_confirmation")


def test_confirmation_goes_to_the_patient_from_the_clinic(confirmation):
    assert (confirmation["To"], confirmation["From"]) == ("pat@example.test", "Test Clinic <appointments@localhost>")


def test_confirmation_subject_gives_the_local_time_and_zone(confirmation):
    assert confirmation["Subject"] == "Your appointment is booked: Tuesday 2 June 2026, 10:00 BST (Europe/London time)"


def test_confirmation_has_plain_text_and_html(confirmation):
    assert "Dr Dana Doctor" in body_text(confirmation, "plain")
    assert "Dr Dana Doctor" in body_text(confirmation, "html")


def test_confirmation_text_has_name_doctor_clinic_and_link(confirmation):
    text = body_text(confirmation)
    for expected in ("Hello Pat,", "Tuesday 2 June 2026, 10:00 BST (Europe/London time)", "Dr Dana Doctor",
                     "Test Clinic, 12 Riverside Walk", "01234 567890", "http://127.0.0.1:5000/appointments/"):
        assert expected in text


def test_confirmation_carries_a_calendar_file(confirmation):
    [attachment] = list(confirmation.iter_attachments())
    content = attachment.get_content()
    assert (attachment.get_filename(), attachment.get_content_type()) == ("appointment.ics", "text/calendar")
    assert "METHOD:PUBLISH" in content and "DTSTART:20260602T090000Z" in content


def test_confirmation_never_mentions_the_reason_for_visit(confirmation):
    assert "cough" not in confirmation.as_string().lower()


def test_updated_confirmation_gives_the_new_and_the_old_time(app, doctor, patient):
    appointment = book(doctor, patient)
    reschedule(appointment, WEDNESDAY_15)
    relay_once(app)
    text = body_text(email_of_kind(app, "send_updated_confirmation"))
    assert "When:   Wednesday 3 June 2026, 15:00 BST (Europe/London time)" in text
    assert "It was on Tuesday 2 June 2026, 10:00 BST (Europe/London time)" in text


def test_cancellation_email_carries_a_cancelling_calendar_file(app, doctor, patient):
    appointment = book(doctor, patient)
    cancel(appointment)
    relay_once(app)
    message = email_of_kind(app, "send_cancellation")
    [attachment] = list(message.iter_attachments())
    assert "METHOD:CANCEL" in attachment.get_content()
    assert "Your appointment has been cancelled." in body_text(message)


def test_html_escapes_what_people_typed(app, doctor):
    from tests.factories import make_patient

    patient = make_patient(name="<b>Pat</b> Patient", email="pat2@example.test")
    book(doctor, patient)
    relay_once(app)
    html = body_text(email_of_kind(app, "send_confirmation"), "html")
    assert "&lt;b&gt;Pat&lt;/b&gt;" in html and "<b>Pat</b>" not in html


def test_a_cancellation_by_the_clinic_gives_the_reason_and_the_doctors_next_times(app, doctor, patient):
    from carebook import audit
    from carebook.extensions import db
    from carebook.services import booking_service
    from tests.factories import make_staff

    appointment = book(doctor, patient)
    booking_service().cancel(audit.Actor(make_staff(), "admin"), appointment, reason="Dr Doctor is ill that day",
                             enforce_cutoff=False)
    db.session.commit()
    relay_once(app)
    message = email_of_kind(app, "send_cancellation")
    for kind in ("plain", "html"):
        body = body_text(message, kind)
        assert "the clinic has had to cancel it" in body and "Dr Doctor is ill that day" in body
        assert f"http://127.0.0.1:5000/doctors/{doctor.id}" in body


def test_a_cancellation_by_the_patient_gives_no_reason(app, doctor, patient):
    from carebook import audit
    from carebook.extensions import db
    from carebook.services import booking_service

    appointment = book(doctor, patient)
    booking_service().cancel(audit.Actor(patient.user, "portal"), appointment, reason="Cancelled by the patient online")
    db.session.commit()
    relay_once(app)
    text = body_text(email_of_kind(app, "send_cancellation"))
    assert "Your appointment has been cancelled." in text and "Cancelled by the patient online" not in text


def test_the_cancellation_calendar_file_moves_the_sequence_on(app, doctor, patient):
    appointment = book(doctor, patient)
    cancel(appointment)
    relay_once(app)
    [attachment] = list(email_of_kind(app, "send_cancellation").iter_attachments())
    assert "SEQUENCE:1" in attachment.get_content() and "STATUS:CANCELLED" in attachment.get_content()
