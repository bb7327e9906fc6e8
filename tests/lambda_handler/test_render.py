"""The reminder email's content: only the whitelisted fields, escaped in HTML."""
from __future__ import annotations

from lambda_handler.payload import validate
from lambda_handler.render import render_reminder
from tests.lambda_handler.conftest import payload


def test_text_has_first_name_time_doctor_clinic_and_link():
    email = render_reminder(validate(payload()))
    for expected in ("Hello Pat,", "Tuesday 2 June 2026, 10:00 BST (Europe/London time)", "Dr Dana Doctor",
                     "Test Clinic, 12 Riverside Walk", "01234 567890", "https://clinic.example/appointments/42"):
        assert expected in email.text


def test_subject_names_the_time_and_zone():
    assert render_reminder(validate(payload())).subject == \
        "Reminder: your appointment on Tuesday 2 June 2026, 10:00 BST (Europe/London time)"


def test_html_links_to_the_manage_page():
    assert '<a href="https://clinic.example/appointments/42">' in render_reminder(validate(payload())).html


def test_html_escapes_the_fields():
    email = render_reminder(validate(payload(doctor_name="Dr <script>x</script>")))
    assert "&lt;script&gt;" in email.html and "<script>" not in email.html


def test_health_details_in_the_message_are_never_rendered():
    email = render_reminder(validate(payload(reason="Persistent cough", notes="asthma")))
    everything = email.subject + email.text + email.html
    assert "cough" not in everything and "asthma" not in everything


def test_the_type_of_appointment_is_said_when_the_message_has_one():
    email = render_reminder(validate(payload(appointment_type="Follow-up <b>")))
    assert "  What:   Follow-up <b>\n  Doctor: Dr Dana Doctor" in email.text
    assert "<td>Follow-up &lt;b&gt;</td>" in email.html


def test_a_message_from_before_types_is_rendered_without_a_type_line():
    email = render_reminder(validate(payload()))
    assert "What:" not in email.text and ">What<" not in email.html
