"""The JSON API and appointment types: listing them, slots per type, booking and moving with ``type_id``.

Frozen at Mon 2026-06-01 07:00 UTC; doctors work Mon-Fri 09:00-17:00 London (08:00-16:00 UTC).
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from models import Appointment, Audience
from tests.factories import make_doctor, make_patient, make_type
from tests.portal.test_api import book, iso, log_in

UTC = timezone.utc
TUESDAY = date(2026, 6, 2)


def utc(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(TUESDAY, time(hour, minute), UTC)


@pytest.fixture
def patient(session):
    patient = make_patient(name="Pat Patient", email="pat@example.test")
    session.commit()
    return patient


@pytest.fixture
def doctor(session):
    doctor = make_doctor(name="Dr Dana Doctor")
    session.commit()
    return doctor


@pytest.fixture
def signed_in(client, patient):
    assert log_in(client, "pat@example.test").status_code == 200
    return client


def slots(client, doctor_id, **params):
    return client.get(f"/api/doctors/{doctor_id}/slots", query_string={"from": "2026-06-02", "to": "2026-06-02",
                                                                        **params})


def test_the_type_list_shows_online_types_with_their_doctors_and_lengths(signed_in, session, doctor):
    first_visit = make_type("First visit", minutes=30, buffer_minutes=10, doctors=[doctor], own_minutes=40,
                            audience=Audience.NEW_PATIENTS, description="For your first time with us.")
    make_type("Minor surgery", doctors=[doctor], bookable_online=False)
    make_type("Retired", doctors=[doctor]).is_active = False
    session.commit()
    listed = signed_in.get("/api/appointment-types").get_json()
    assert [t["name"] for t in listed] == ["Appointment (30 min)", "First visit"]
    assert listed[1] == {
        "id": first_visit.id, "name": "First visit", "description": "For your first time with us.",
        "duration_minutes": 30, "buffer_minutes": 10, "colour": "#146c43", "audience": "new_patients",
        "doctors": [{"doctor_id": doctor.id, "duration_minutes": 40, "is_default": False}],
    }
    assert listed[0]["doctors"] == [{"doctor_id": doctor.id, "duration_minutes": 30, "is_default": True}]


def test_slots_take_a_type_id_and_fit_its_length(signed_in, session, doctor):
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    session.commit()
    response = slots(signed_in, doctor.id, type_id=long_visit.id)
    assert response.status_code == 200
    body = response.get_json()
    assert body["type_id"] == long_visit.id
    assert [(s["start_at"], s["end_at"]) for s in body["slots"]][:2] == [
        ("2026-06-02T08:00:00Z", "2026-06-02T09:00:00Z"), ("2026-06-02T09:00:00Z", "2026-06-02T10:00:00Z")]
    assert len(body["slots"]) == 8


def test_slots_without_a_type_are_the_doctors_default_types(signed_in, doctor):
    body = slots(signed_in, doctor.id).get_json()
    assert body["type_id"] is None and len(body["slots"]) == 16


@pytest.mark.parametrize("kind", ["not offered", "staff only", "unknown"])
def test_slots_of_a_type_the_doctor_does_not_offer_online_are_422_on_type_id(signed_in, session, doctor, kind):
    if kind == "unknown":
        type_id = 999_999
    else:
        other = make_type("Elsewhere", doctors=[make_doctor()] if kind == "not offered" else [doctor],
                          bookable_online=kind != "staff only")
        type_id = other.id
    session.commit()
    response = slots(signed_in, doctor.id, type_id=type_id)
    assert response.status_code == 422
    assert "type_id" in response.get_json()["error"]["fields"]


def test_booking_with_a_type_id_books_that_type(signed_in, session, doctor):
    follow_up = make_type("Follow-up", minutes=15, buffer_minutes=5, doctors=[doctor])
    session.commit()
    response = book(signed_in, doctor.id, utc(9), type_id=follow_up.id)
    assert response.status_code == 201, response.get_json()
    appointment = response.get_json()["appointment"]
    assert appointment["type"] == {"id": follow_up.id, "name": "Follow-up", "colour": "#146c43"}
    assert appointment["end_at"] == iso(utc(9, 15))


def test_booking_without_a_type_id_books_the_doctors_default_type(signed_in, session, doctor):
    response = book(signed_in, doctor.id, utc(9))
    assert response.status_code == 201
    assert session.get(Appointment, response.get_json()["appointment"]["id"]).appointment_type_id == \
        doctor.default_appointment_type_id


def test_booking_a_staff_only_type_through_the_api_is_422_and_books_nothing(signed_in, session, doctor):
    staff_only = make_type("Minor surgery", minutes=30, doctors=[doctor], bookable_online=False)
    session.commit()
    response = book(signed_in, doctor.id, utc(9), type_id=staff_only.id)
    assert response.status_code == 422
    assert "type_id" in response.get_json()["error"]["fields"]
    assert session.query(Appointment).count() == 0


@pytest.mark.parametrize("audience, code", [(Audience.RETURNING_PATIENTS, "returning_patients_only")])
def test_a_type_for_another_audience_is_422_with_its_code(signed_in, session, doctor, audience, code):
    follow_up = make_type("Follow-up", minutes=30, doctors=[doctor], audience=audience)
    session.commit()
    response = book(signed_in, doctor.id, utc(9), type_id=follow_up.id)
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, code)


def test_a_type_the_doctor_does_not_offer_is_422_type_not_offered(signed_in, session, doctor):
    elsewhere = make_type("Vaccination", minutes=10, doctors=[make_doctor()])
    session.commit()
    response = book(signed_in, doctor.id, utc(9), type_id=elsewhere.id)
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "type_not_offered")


def test_a_conflict_lists_the_free_slots_of_the_type_asked_for(signed_in, session, doctor):
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    session.commit()
    assert book(signed_in, doctor.id, utc(9, 30)).status_code == 201
    response = book(signed_in, doctor.id, utc(9), type_id=long_visit.id)
    assert response.status_code == 409
    listed = response.get_json()["error"]["slots"]
    assert listed and all(s["end_at"][11:13] != s["start_at"][11:13] for s in listed)  # an hour each


def test_reschedule_with_a_type_id_changes_the_type(signed_in, session, doctor):
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    session.commit()
    appointment_id = book(signed_in, doctor.id, utc(9)).get_json()["appointment"]["id"]
    response = signed_in.api("POST", f"/api/appointments/{appointment_id}/reschedule",
                             json={"start_at": iso(utc(12)), "type_id": long_visit.id})
    assert response.status_code == 200, response.get_json()
    moved = response.get_json()["appointment"]
    assert (moved["type"]["id"], moved["end_at"]) == (long_visit.id, iso(utc(13)))


def test_the_doctor_list_for_a_type_shows_who_offers_it_and_their_first_free_time_for_it(signed_in, session, doctor):
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    make_doctor(name="Dr Other")  # does not offer it
    session.commit()
    # 10:00-10:30 London taken: the first free 30 minutes are 10:30, the first free hour 11:00.
    assert book(signed_in, doctor.id, datetime(2026, 6, 1, 9, 0, tzinfo=UTC)).status_code == 201
    everyone = signed_in.get("/api/doctors").get_json()
    assert len(everyone) == 2
    [listed] = signed_in.get("/api/doctors", query_string={"type_id": long_visit.id}).get_json()
    assert (listed["id"], listed["appointment_minutes"], listed["next_available"]) == (
        doctor.id, 60, "2026-06-01T10:00:00Z")
    mine = next(d for d in everyone if d["id"] == doctor.id)
    assert mine["next_available"] == "2026-06-01T09:30:00Z"


def test_the_doctor_list_for_a_staff_only_type_is_422(signed_in, session, doctor):
    staff_only = make_type("Minor surgery", doctors=[doctor], bookable_online=False)
    session.commit()
    assert signed_in.get("/api/doctors", query_string={"type_id": staff_only.id}).status_code == 422
