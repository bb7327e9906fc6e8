"""Malformed and hostile input to the forms and the API: a clear refusal, never a 500, nothing half written."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from carebook.extensions import db
from models import Appointment, AuditEntry, OutboxMessage, Patient, RegistrationRequest, TimeOff, User
from tests.factories import PASSWORD, make_doctor, make_patient

TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in London


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def patient_client(app):
    patient = make_patient()
    make_doctor(name="Dr Ada Lovelace")
    db.session.commit()
    client = app.test_client()
    client.login(patient.user.email)
    return client


@pytest.mark.parametrize("start_at, message", [
    ("2026-06-02T10:00:00+25:00", b"Choose one of the times shown"),     # no such offset
    ("2026-06-02T10:00:00", b"Choose one of the times shown"),           # no time zone at all
    ("2026-02-30T10:00:00+00:00", b"Choose one of the times shown"),     # no such day
    ("tomorrow at ten", b"Choose one of the times shown"),
    ("9" * 5000, b"Choose one of the times shown"),
])
def test_a_booking_form_with_a_bad_time_is_a_form_error_and_books_nothing(app, patient_client, start_at,
                                                                          message):
    doctor_id = db.session.scalar(select(func.min(TimeOff.doctor_id))) or 1
    response = patient_client.submit(f"/doctors/{doctor_id}/book", {"start_at": start_at})
    assert response.status_code == 400 and message in response.data
    assert _count(Appointment) == 0


def test_an_oversize_reason_is_refused_next_to_the_field_and_books_nothing(app, patient_client):
    response = patient_client.submit("/doctors/1/book", {"start_at": TUESDAY_10.isoformat(), "reason": "x" * 501})
    assert response.status_code == 400 and b"500 characters" in response.data
    assert _count(Appointment) == 0


@pytest.mark.parametrize("path", ["/appointments/abc", "/appointments/-1", "/appointments/1.5",
                                  "/appointments/99999999999999999999", "/doctors/99999999999999999999",
                                  "/appointments/99999999999/calendar.ics"])
def test_ids_of_the_wrong_type_or_size_are_404(patient_client, path):
    assert patient_client.get(path).status_code == 404


def test_huge_ids_on_the_doctor_pages_are_404(app):
    doctor = make_doctor()
    db.session.commit()
    client = app.test_client()
    client.login(doctor.user.email)
    for path in ("/doctor/99999999999999999999/", "/doctor/appointments/99999999999999999999"):
        assert client.get(path).status_code == 404, path
    assert client.submit("/doctor/time-off/99999999999999999999/remove").status_code == 404


@pytest.mark.parametrize("field, value", [
    ("full_name", "Nora\x00New"), ("phone", "07700\x00900111"), ("email", "nora\x00@example.com"),
])
def test_a_nul_character_in_a_form_is_refused_without_writing(client, field, value):
    data = {"full_name": "Nora New", "email": "nora@example.com", "date_of_birth": "1991-02-03",
            "phone": "07700 900111", "password": "a long enough passphrase", field: value}
    response = client.submit("/register", data)
    assert response.status_code == 400
    assert _count(User) == 0 and _count(Patient) == 0
    assert _count(RegistrationRequest) == 0 and _count(OutboxMessage) == 0


def test_a_nul_character_in_a_query_string_is_refused(patient_client):
    assert patient_client.get("/doctors?specialty=%00").status_code == 400


def test_a_nul_character_in_a_login_is_a_plain_refusal(app, client):
    response = client.submit("/login", {"email": "a\x00@example.com", "password": PASSWORD})
    assert response.status_code == 400
    api = client.api("POST", "/api/session", json={"email": "a\x00@example.com", "password": PASSWORD})
    assert api.status_code == 422 and "NUL" in str(api.get_json()["error"]["fields"])


@pytest.mark.parametrize("date_of_birth", ["1991-02-30", "03/02/1991", "", "1991-13-01", "99999-01-01"])
def test_registration_with_a_bad_date_is_refused_next_to_the_field(client, date_of_birth):
    response = client.submit("/register", {
        "full_name": "Nora New", "email": "nora@example.com", "date_of_birth": date_of_birth,
        "phone": "07700 900111", "password": "a long enough passphrase"})
    assert response.status_code == 400 and b"date_of_birth-errors" in response.data
    assert _count(User) == 0 and _count(RegistrationRequest) == 0 and _count(OutboxMessage) == 0


@pytest.mark.parametrize("body, field", [
    ({"doctor_id": 1, "start_at": "2026-06-02T10:00:00+25:00"}, "start_at"),     # bad offset
    ({"doctor_id": 1, "start_at": "2026-06-02T10:00:00 Europe/Nowhere"}, "start_at"),
    ({"doctor_id": 1, "start_at": "2026-06-02T10:00:00"}, "start_at"),           # naive
    ({"doctor_id": "1", "start_at": "2026-06-02T09:00:00Z"}, "doctor_id"),      # id as a string
    ({"doctor_id": 1.0, "start_at": "2026-06-02T09:00:00Z"}, "doctor_id"),
    ({"doctor_id": True, "start_at": "2026-06-02T09:00:00Z"}, "doctor_id"),
    ({"doctor_id": 1, "start_at": "2026-06-02T09:00:00Z", "patient_id": 2}, "patient_id"),  # unexpected
    ({"doctor_id": 1, "start_at": "2026-06-02T09:00:00Z", "reason": "x" * 501}, "reason"),
])
def test_the_api_names_the_bad_field_and_books_nothing(patient_client, body, field):
    response = patient_client.api("POST", "/api/appointments", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert _count(Appointment) == 0


def test_an_oversize_time_off_note_writes_nothing(app):
    doctor = make_doctor()
    db.session.commit()
    client = app.test_client()
    client.login(doctor.user.email)
    response = client.submit("/doctor/time-off", {"start_date": "2026-06-10", "note": "x" * 5000})
    assert response.status_code == 400
    assert _count(TimeOff) == 0


def test_account_forms_refuse_oversize_input(app, patient_client):
    before = _count(AuditEntry)
    response = patient_client.submit("/account/email", {"email": "a" * 300 + "@example.com",
                                                         "current_password": PASSWORD})
    assert response.status_code == 400
    response = patient_client.submit("/account/password", {"current_password": PASSWORD, "password": "p" * 200,
                                                            "confirm": "p" * 200})
    assert response.status_code == 400
    assert _count(AuditEntry) == before
