"""One MIME email: text and HTML alternatives, attachments, headers."""
from __future__ import annotations

from messaging.message import Attachment, build_message


def a_message(**changes):
    fields = dict(sender="Test Clinic <appointments@clinic.test>", recipient="pat@example.test",
                  subject="Your appointment", text="Hello Pat", html="<p>Hello Pat</p>",
                  attachments=[Attachment("appointment.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                                          "text", "calendar", {"method": "PUBLISH"})])
    return build_message(**{**fields, **changes})


def test_messages_are_multipart_with_text_html_and_attachment():
    message = a_message()
    parts = [part.get_content_type() for part in message.walk()]
    assert parts == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar"]


def test_without_attachments_a_message_is_only_the_two_alternatives():
    parts = [part.get_content_type() for part in a_message(attachments=()).walk()]
    assert parts == ["multipart/alternative", "text/plain", "text/html"]


def test_the_attachment_keeps_its_name_and_parameters():
    [calendar] = [part for part in a_message().walk() if part.get_content_type() == "text/calendar"]
    assert (calendar.get_filename(), calendar.get_param("method")) == ("appointment.ics", "PUBLISH")


def test_extra_headers_are_set():
    assert a_message(headers={"X-Carebook-Email": "send_confirmation"})["X-Carebook-Email"] == "send_confirmation"


def test_the_message_id_is_in_the_senders_domain():
    assert a_message()["Message-ID"].endswith("@clinic.test>")
