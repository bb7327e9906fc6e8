"""The SMS texts: who, when, where, a link and the phone; never health details; one segment where possible."""
from __future__ import annotations

import pytest

from lambda_handler.payload import validate
from lambda_handler.sms_text import TEMPLATES, render_sms
from messaging import sms
from tests.lambda_handler.conftest import payload

EVENTS = [*TEMPLATES]
LONG_DOCTOR = "Dr Maximiliana Alessandra Bartholomea Konstantinopoulou-Wolfeschlegelsteinhausen"
LONG_CLINIC = "The Riverside Family Medical Practice and Community Health Centre of Greater Little Snoring"
#: A real clinic's link: an https origin of a realistic length and a six-digit appointment id.
LONG_LINK = "https://book.riverside-clinic.example/appointments/123456"


def message(event: str, **changes) -> dict:
    data = payload(channels=["sms"], short_time_text="Tue 22 Dec, 10:30 GMT",
                   patient={"first_name": "Pat", "phone": "+447700900123"}, **changes)
    if event != "reminder":
        data = {**{k: v for k, v in data.items() if k != "reminder_id"}, "kind": "notice", "event": event,
                "notice_id": "outbox-7"}
    return data


def text_of(event: str, **changes) -> str:
    return render_sms(validate(message(event, **changes)))


@pytest.mark.parametrize("event", EVENTS)
def test_every_text_says_when_who_where_and_how_to_change_it(event):
    text = text_of(event)
    for part in ("Tue 22 Dec, 10:30 GMT", "Dr Dana Doctor", "Test Clinic", "01234 567890",
                 "https://clinic.example/appointments/42"):
        assert part in text


@pytest.mark.parametrize("event", EVENTS)
def test_no_text_holds_the_type_or_the_patients_name(event):
    text = text_of(event, appointment_type="Smear test")
    assert "Smear" not in text and "Pat" not in text


@pytest.mark.parametrize("event", EVENTS)
def test_every_text_with_ordinary_names_is_one_segment_unshortened(event):
    text = text_of(event, doctor_name="Dr Dana Doctor", clinic={"name": "Riverside Family Clinic",
                                                              "address": "1 Road", "phone": "01234 567890"})
    assert sms.fits_one_segment(text) and sms.encoding(text) == "GSM-7"
    assert "Dr Dana Doctor" in text and "Riverside Family Clinic" in text


@pytest.mark.parametrize("event", EVENTS)
def test_every_text_with_very_long_names_stays_in_one_gsm7_segment(event):
    text = text_of(event, doctor_name=LONG_DOCTOR, manage_url=LONG_LINK,
                   clinic={"name": LONG_CLINIC, "address": "1 Road", "phone": "+44 1234 567890"})
    assert sms.encoding(text) == "GSM-7" and sms.length(text) <= 160, (sms.length(text), text)
    # Time, link and phone are never cut; the names are, from the doctor's first names on.
    for part in ("Tue 22 Dec, 10:30 GMT", LONG_LINK, "+44 1234 567890", "Dr "):
        assert part in text


def test_the_doctors_first_names_go_first():
    text = text_of("reminder", doctor_name="Dr Dana Doctor",
                   clinic={"name": "A" * 33, "address": "1 Road", "phone": "01234 567890"})
    assert "Dr D. Doctor" in text and "A" * 33 in text


@pytest.mark.parametrize("event", EVENTS)
def test_a_polish_name_is_spelt_in_gsm7_and_stays_in_one_segment(event):
    text = text_of(event, doctor_name="Dr Łucja Wałęsa-Żółkiewska")
    assert sms.encoding(text) == "GSM-7" and sms.fits_one_segment(text)
    assert "Walesa-Zolkiewska" in text


@pytest.mark.parametrize("event", EVENTS)
def test_a_name_gsm7_cannot_spell_goes_as_ucs2_in_at_most_three_segments(event):
    text = text_of(event, doctor_name="Др Дмитрий Константинович Ковалевский-Богданов", manage_url=LONG_LINK,
                   clinic={"name": LONG_CLINIC, "address": "1 Road", "phone": "01234 567890"})
    assert sms.encoding(text) == "UCS-2" and sms.segments(text) <= 3
    assert LONG_LINK in text


def test_the_invitation_text_has_the_link_and_the_expiry():
    data = {"version": 1, "kind": "notice", "event": "invitation", "notice_id": "invitation-3", "channels": ["sms"],
            "patient": {"phone": "+447700900123"}, "clinic": {"name": "Test Clinic", "phone": "01234 567890"},
            "invitation_url": "https://clinic.example/invitation?token=" + "x" * 43,
            "expires_at": "2026-06-08T09:00:00Z", "expires_text": "Mon 8 Jun, 10:00 BST"}
    text = render_sms(validate(data))
    assert data["invitation_url"] in text and "Mon 8 Jun, 10:00 BST" in text and sms.segments(text) <= 2


def offer_message(**changes) -> dict:
    data = {"version": 1, "kind": "notice", "event": "waitlist_offer", "notice_id": "waitlist-offer-9",
            "channels": ["sms"], "timezone": "Europe/London", "patient": {"phone": "+447700900123"},
            "doctor_name": "Dr Dana Doctor", "clinic": {"name": "Test Clinic", "phone": "01234 567890"},
            "short_time_text": "Tue 22 Dec, 10:30 GMT", "claim_url": "https://clinic.example/o/9",
            "expires_at": "2026-12-22T09:00:00Z", "expires_text": "09:00 GMT"}
    return {**data, **changes}


def test_the_waitlist_offer_text_says_when_who_where_until_when_and_the_claim_link():
    text = render_sms(validate(offer_message()))
    for part in ("Tue 22 Dec, 10:30 GMT", "Dr Dana Doctor", "Test Clinic", "by 09:00 GMT",
                 "https://clinic.example/o/9", "01234 567890"):
        assert part in text
    assert sms.fits_one_segment(text) and sms.encoding(text) == "GSM-7"


def test_the_waitlist_offer_text_with_very_long_names_stays_in_one_gsm7_segment():
    long_claim = "https://book.riverside-clinic.example/o/123456"
    text = render_sms(validate(offer_message(doctor_name=LONG_DOCTOR, claim_url=long_claim, clinic={
        "name": LONG_CLINIC, "phone": "+44 1234 567890"})))
    assert sms.encoding(text) == "GSM-7" and sms.length(text) <= 160, (sms.length(text), text)
    for part in ("Tue 22 Dec, 10:30 GMT", "09:00 GMT", long_claim, "+44 1234 567890", "Dr "):
        assert part in text


def test_a_waitlist_offer_after_its_hold_is_stale_like_a_reminder_after_its_appointment():
    assert validate(offer_message()).start_at.isoformat() == "2026-12-22T09:00:00+00:00"
