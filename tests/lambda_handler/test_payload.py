"""Validation of the version 1 reminder message."""
from __future__ import annotations

import json
import re

import pytest

from lambda_handler.payload import InvalidPayload, parse
from tests.lambda_handler.conftest import payload


def test_a_valid_message_parses():
    parsed = parse(json.dumps(payload()))
    assert (parsed.reminder_id, parsed.email, parsed.start_at.isoformat()) == \
        ("appt-42-20260602T090000Z", "pat@example.test", "2026-06-02T09:00:00+00:00")


def test_extra_fields_are_ignored():
    assert parse(json.dumps(payload(reason="never shown"))).first_name == "Pat"


@pytest.mark.parametrize("body, problem", [
    ("not json", "body is not JSON"),
    ("[1, 2]", "body is not a JSON object"),
    (json.dumps({k: v for k, v in payload().items() if k != "version"}), "version is missing"),
    (json.dumps(payload(version="1")), "version is missing or not an integer"),
    (json.dumps(payload(version=True)), "version is missing or not an integer"),
    (json.dumps(payload(version=2)), "unsupported version 2"),
    (json.dumps(payload(kind="confirmation")), "kind is not 'reminder'"),
    (json.dumps(payload(reminder_id="appt 42")), "reminder_id has characters"),
    (json.dumps(payload(appointment_id="42")), "appointment_id is missing"),
    (json.dumps(payload(appointment_id=0)), "appointment_id is missing"),
    (json.dumps(payload(start_at="tomorrow")), "start_at is not an ISO 8601"),
    (json.dumps(payload(start_at="2026-06-02T09:00:00")), "start_at has no UTC offset"),
    (json.dumps(payload(patient={"first_name": "Pat"})), "patient.email is missing"),
    (json.dumps(payload(patient={"first_name": "Pat", "email": "pat"})), "patient.email is not an email"),
    (json.dumps(payload(patient={"first_name": "Pat", "email": "a@b.test\nBcc: x@y.test"})),
     "patient.email contains a line break"),
    (json.dumps(payload(patient={"first_name": "Pat", "email": "a@b.test, x@y.test"})),
     "patient.email is not an email"),
    (json.dumps(payload(patient="Pat")), "patient is missing or not an object"),
    (json.dumps(payload(doctor_name="")), "doctor_name is missing"),
    (json.dumps(payload(doctor_name="x" * 201)), "doctor_name is longer than 200"),
    (json.dumps(payload(clinic={"name": "C", "address": "A"})), "clinic.phone is missing"),
    (json.dumps(payload(manage_url="javascript:alert(1)")), "manage_url is not an http(s) URL"),
    (json.dumps(payload(local_time_text="10:00\r\nBcc: x@y.test")), "local_time_text contains a line break"),
])
def test_a_malformed_message_is_refused_with_the_field_named(body, problem):
    with pytest.raises(InvalidPayload, match=re.escape(problem)):
        parse(body)


def test_the_error_never_quotes_the_value():
    with pytest.raises(InvalidPayload) as error:
        parse(json.dumps(payload(patient={"first_name": "Pat", "email": "secret-address"})))
    assert "secret-address" not in str(error.value)


def test_the_type_of_appointment_is_optional_and_read_when_present():
    assert parse(json.dumps(payload())).appointment_type == ""
    assert parse(json.dumps(payload(appointment_type="Follow-up"))).appointment_type == "Follow-up"


@pytest.mark.parametrize("bad", ["", "x" * 81, "two\nlines", 3])
def test_a_bad_type_of_appointment_is_refused(bad):
    with pytest.raises(InvalidPayload, match="appointment_type"):
        parse(json.dumps(payload(appointment_type=bad)))


@pytest.mark.parametrize("changes, problem", [
    ({"claim_url": "javascript:alert(1)"}, "claim_url is not an http(s) URL"),
    ({"patient": {"phone": "07700 900123"}}, "patient.phone is not an E.164 number"),
    ({"expires_at": "soon"}, "expires_at is not an ISO 8601"),
    ({"expires_text": ""}, "expires_text is missing"),
    ({"channels": ["email", "sms"]}, "a notice goes by SMS only"),
])
def test_a_malformed_waitlist_offer_is_refused_with_the_field_named(changes, problem):
    from tests.lambda_handler.test_sms_text import offer_message

    with pytest.raises(InvalidPayload, match=re.escape(problem)):
        parse(json.dumps(offer_message(**changes)))
