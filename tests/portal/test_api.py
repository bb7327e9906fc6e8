"""The JSON API under /api: accounts, doctors and slots, booking, idempotency, changes, CSRF.

Time is frozen at Mon 2026-06-01 07:00 UTC (08:00 in London, BST). Doctors work
Mon-Fri 09:00-17:00 London in 30-minute slots; minimum notice is 2 hours, so the
first bookable slot is Monday 10:00 London = 09:00 UTC.
"""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, IdempotencyRecord, Patient, User
from portal import api
from tests import mailbox
from tests.factories import PASSWORD, SYSTEM, current_code, make_doctor, make_patient

UTC = timezone.utc
MONDAY = date(2026, 6, 1)
TUESDAY = date(2026, 6, 2)
WEDNESDAY = date(2026, 6, 3)


# --------------------------------------------------------------------------- helpers


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_in(client, email: str, password: str = PASSWORD):
    return client.api("POST", "/api/session", json={"email": email, "password": password})


def book(client, doctor_id: int, start_at: datetime | str, headers: dict | None = None, **fields):
    start = start_at if isinstance(start_at, str) else iso(start_at)
    return client.api("POST", "/api/appointments", json={"doctor_id": doctor_id, "start_at": start, **fields},
                      headers=headers)


def slot_starts(client, doctor_id: int, **params) -> list[str]:
    response = client.get(f"/api/doctors/{doctor_id}/slots", query_string=params)
    assert response.status_code == 200, response.get_json()
    return [slot["start_at"] for slot in response.get_json()["slots"]]


def appointment_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Appointment))


def book_directly(doctor, patient, start_at: datetime) -> Appointment:
    """A booking made elsewhere (another patient, the front desk), committed."""
    appointment = booking_service().book(SYSTEM, doctor=doctor, patient=patient, start_at=start_at)
    db.session.commit()
    return appointment


def add_row(doctor, patient, start_at: datetime, status=AppointmentStatus.BOOKED) -> Appointment:
    """An appointment row as history left it (past or cancelled), bypassing today's rules."""
    appointment = Appointment(doctor=doctor, patient=patient, start_at=start_at,
                              end_at=start_at + timedelta(minutes=30), status=status, reason="")
    db.session.add(appointment)
    db.session.commit()
    return appointment


@pytest.fixture
def patient(session):
    patient = make_patient(name="Pat Patient", email="pat@example.test")
    session.commit()
    return patient


@pytest.fixture
def doctor(session):
    doctor = make_doctor(name="Dr Dana Doctor", specialty="General practice")
    session.commit()
    return doctor


@pytest.fixture
def signed_in(client, patient):
    """The client, signed in as ``patient``."""
    assert log_in(client, "pat@example.test").status_code == 200
    return client


# --------------------------------------------------------------------------- accounts and sessions

REGISTRATION = {"full_name": "Nia Newcomer", "email": "Nia@Example.com", "date_of_birth": "1991-02-03",
                "phone": "07700 900123", "password": "a long and unusual passphrase"}


def test_register_is_accepted_and_the_emailed_link_makes_the_patient(app, client, session):
    response = client.api("POST", "/api/patients", json=REGISTRATION)

    assert response.status_code == 202
    assert response.get_json() == {"status": "check_your_email", "message": api.REGISTRATION_ACCEPTED_MESSAGE}
    assert client.get("/api/appointments").status_code == 401  # nobody is signed in yet
    assert mailbox.finish_registration(app, app.test_client(), "nia@example.com").status_code == 302
    signed_in = log_in(client, "nia@example.com", REGISTRATION["password"])
    assert signed_in.status_code == 200
    assert signed_in.get_json()["user"]["full_name"] == "Nia Newcomer"
    patient = session.scalar(select(Patient).join(Patient.user).where(User.email == "nia@example.com"))
    assert (patient.date_of_birth, patient.phone) == (date(1991, 2, 3), "+447700900123")


def test_register_with_an_email_already_registered_is_the_same_202_and_mails_its_owner(app, client, session):
    make_patient(name="Tess Taken", email="taken@example.com")
    session.commit()
    response = client.api("POST", "/api/patients", json={**REGISTRATION, "email": "TAKEN@example.com"})

    assert response.status_code == 202
    assert response.get_json() == {"status": "check_your_email", "message": api.REGISTRATION_ACCEPTED_MESSAGE}
    [notice] = mailbox.sent(app, "taken@example.com")
    assert notice["X-Carebook-Email"] == "account_exists"
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_register_with_a_common_password_is_422_on_the_password_field(client, session):
    response = client.api("POST", "/api/patients", json={**REGISTRATION, "password": "password1"})

    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["password"]


def test_register_reports_every_invalid_field(client, session):
    response = client.api("POST", "/api/patients", json={
        "full_name": "   ", "email": "not-an-email", "date_of_birth": "03/02/1991", "phone": "call me",
        "password": "short"})

    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"full_name", "email", "date_of_birth", "phone",
                                                           "password"}


def test_login_returns_the_user_and_a_fresh_csrf_token_that_works(client, patient):
    response = log_in(client, "pat@example.test")

    assert response.status_code == 200
    body = response.get_json()
    assert body["user"] == {"id": patient.user.id, "email": "pat@example.test", "full_name": "Pat Patient",
                            "role": "patient"}
    # The login cleared the session; the token it returned is the one for the new session.
    cancel = client.post("/api/appointments/999/cancel", json={}, headers={"X-CSRFToken": body["csrf_token"]})
    assert cancel.status_code == 404


def test_wrong_password_and_unknown_email_get_identical_401_answers(client, patient):
    wrong_password = log_in(client, "pat@example.test", "not the right passphrase")
    unknown_email = log_in(client, "nobody@example.test", "not the right passphrase")

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json()
    assert wrong_password.get_json()["error"]["code"] == "invalid_credentials"


def test_logout_revokes_the_session_so_a_copied_cookie_stops_working(app, signed_in):
    copy = app.test_client()
    copy.set_cookie("session", signed_in.get_cookie("session").value)
    assert copy.get("/api/appointments").status_code == 200

    assert signed_in.api("DELETE", "/api/session").status_code == 204

    assert copy.get("/api/appointments").status_code == 401
    assert signed_in.get("/api/appointments").status_code == 401


def test_logout_when_not_signed_in_is_401(client):
    assert client.api("DELETE", "/api/session").status_code == 401


def test_anonymous_request_to_a_patient_route_is_401_json(client):
    response = client.get("/api/appointments")

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_doctor_is_refused_patient_routes_with_403(client, doctor):
    # Doctors sign in with two-factor: the API takes the authenticator code as `code`.
    response = client.api("POST", "/api/session", json={"email": doctor.user.email, "password": PASSWORD,
                                                        "code": current_code()})
    assert response.status_code == 200

    response = client.get("/api/doctors")

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_post_without_csrf_header_is_400_csrf_failed(client, patient):
    response = client.post("/api/session", json={"email": "pat@example.test", "password": PASSWORD})

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"


# --------------------------------------------------------------------------- doctors and slots


def test_doctors_list_shows_each_active_doctors_next_available_slot(signed_in, session):
    weekday = make_doctor(name="Dr Weekday", specialty="Cardiology")
    wednesdays = make_doctor(name="Dr Wednesday", specialty="Dermatology", weekly={2: [(time(14), time(16))]})
    never = make_doctor(name="Dr Never", specialty="Dermatology", weekly={})
    retired = make_doctor(name="Dr Retired", specialty="Cardiology")
    retired.is_active = False
    session.commit()

    response = signed_in.get("/api/doctors")

    assert response.status_code == 200
    assert response.get_json() == [
        {"id": weekday.id, "name": "Dr Weekday", "specialty": "Cardiology", "appointment_minutes": 30,
         "next_available": "2026-06-01T09:00:00Z"},  # 10:00 London: two hours' notice from 08:00
        {"id": wednesdays.id, "name": "Dr Wednesday", "specialty": "Dermatology", "appointment_minutes": 30,
         "next_available": "2026-06-03T13:00:00Z"},
        {"id": never.id, "name": "Dr Never", "specialty": "Dermatology", "appointment_minutes": 30,
         "next_available": None},
    ]


def test_doctors_list_filters_by_specialty(signed_in, session):
    make_doctor(name="Dr Heart", specialty="Cardiology")
    skin = make_doctor(name="Dr Skin", specialty="Dermatology")
    session.commit()

    response = signed_in.get("/api/doctors", query_string={"specialty": "Dermatology"})

    assert [d["id"] for d in response.get_json()] == [skin.id]


def test_doctors_list_runs_the_same_number_of_queries_for_one_or_many_doctors(signed_in, session):
    make_doctor()
    session.commit()

    def queries_for_list() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert signed_in.get("/api/doctors").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    with_one = queries_for_list()
    for n in range(4):
        make_doctor(name=f"Dr Extra {n}")
    session.commit()

    assert queries_for_list() == with_one


def test_slots_of_a_day_are_the_clinic_local_hours_in_utc(signed_in, doctor):
    response = signed_in.get(f"/api/doctors/{doctor.id}/slots", query_string={"from": "2026-06-02",
                                                                               "to": "2026-06-02"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["doctor_id"] == doctor.id
    assert body["timezone"] == "Europe/London"
    # 09:00-17:00 London in June is 08:00-16:00 UTC: sixteen 30-minute slots.
    assert len(body["slots"]) == 16
    assert body["slots"][0] == {"start_at": "2026-06-02T08:00:00Z", "end_at": "2026-06-02T08:30:00Z"}
    assert body["slots"][-1] == {"start_at": "2026-06-02T15:30:00Z", "end_at": "2026-06-02T16:00:00Z"}


def test_slots_today_respect_the_minimum_notice(signed_in, doctor):
    starts = slot_starts(signed_in, doctor.id, **{"from": "2026-06-01", "to": "2026-06-01"})

    # Now is 08:00 London; two hours' notice makes 10:00 London (09:00 UTC) the first.
    assert starts[0] == "2026-06-01T09:00:00Z"
    assert len(starts) == 14


def test_slots_default_to_fourteen_days_from_the_first_bookable_day(signed_in, doctor):
    starts = slot_starts(signed_in, doctor.id)

    days = sorted({s[:10] for s in starts})
    assert days[0] == "2026-06-01"
    assert days[-1] == "2026-06-12"  # Fri; Sat 13 and Sun 14 are days off, Mon 15 is day 15
    assert len(starts) == 14 + 9 * 16


def test_slots_range_is_clamped_to_the_bookable_window(signed_in, doctor):
    past_to_today = slot_starts(signed_in, doctor.id, **{"from": "2026-05-25", "to": "2026-06-01"})
    around_horizon = slot_starts(signed_in, doctor.id, **{"from": "2026-07-29", "to": "2026-08-07"})

    assert past_to_today[0] == "2026-06-01T09:00:00Z" and len(past_to_today) == 14
    horizon = datetime(2026, 7, 31, 7, 0, tzinfo=UTC)  # now + 60 days
    assert around_horizon and all(datetime.fromisoformat(s) <= horizon for s in around_horizon)
    assert {s[:10] for s in around_horizon} == {"2026-07-29", "2026-07-30"}


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-06-10", "to": "2026-06-09"}, "to"),
    ({"from": "2026-06-01", "to": "2026-08-02"}, "to"),  # 63 days
    ({"from": "2026-13-01"}, "from"),
    ({"from": "tomorrow"}, "from"),
    ({"from": "1780000000"}, "from"),
    ({"to": "2026-06-02T00:00:00"}, "to"),
], ids=["from-after-to", "longer-than-62-days", "no-such-month", "words", "timestamp", "datetime"])
def test_invalid_slot_range_is_422_naming_the_parameter(signed_in, doctor, params, field):
    response = signed_in.get(f"/api/doctors/{doctor.id}/slots", query_string=params)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert list(error["fields"]) == [field]


def test_slots_of_62_days_are_allowed(signed_in, doctor):
    response = signed_in.get(f"/api/doctors/{doctor.id}/slots", query_string={"from": "2026-06-01",
                                                                               "to": "2026-08-01"})
    assert response.status_code == 200


def test_slots_of_an_unknown_or_inactive_doctor_are_404(signed_in, doctor, session):
    doctor.is_active = False
    session.commit()

    assert signed_in.get(f"/api/doctors/{doctor.id}/slots").status_code == 404
    assert signed_in.get("/api/doctors/99999/slots").status_code == 404
    assert signed_in.get("/api/doctors/99999999999999999999999/slots").status_code == 404
    assert signed_in.get("/api/doctors/abc/slots").status_code == 404


# --------------------------------------------------------------------------- booking


def test_booking_a_free_slot_is_201_and_the_slot_disappears(signed_in, doctor, session):
    response = book(signed_in, doctor.id, utc(TUESDAY, 8), reason="  Sore throat  ")

    assert response.status_code == 201
    appointment = response.get_json()["appointment"]
    assert appointment == {
        "id": appointment["id"],
        "doctor": {"id": doctor.id, "name": "Dr Dana Doctor", "specialty": "General practice"},
        "type": {"id": doctor.default_appointment_type_id, "name": "Appointment (30 min)", "colour": "#0a58ca"},
        "start_at": "2026-06-02T08:00:00Z", "end_at": "2026-06-02T08:30:00Z", "status": "booked",
        "reason": "Sore throat", "can_change_until": "2026-06-01T08:00:00Z",
    }
    assert appointment_count(session) == 1
    assert "2026-06-02T08:00:00Z" not in slot_starts(signed_in, doctor.id, **{"from": "2026-06-02",
                                                                              "to": "2026-06-02"})


def test_booking_accepts_any_utc_offset(signed_in, doctor):
    response = book(signed_in, doctor.id, "2026-06-02T09:00:00+01:00")

    assert response.status_code == 201
    assert response.get_json()["appointment"]["start_at"] == "2026-06-02T08:00:00Z"


def test_booking_a_taken_slot_is_409_slot_taken_with_the_fresh_slots_of_that_day(signed_in, doctor, session):
    other = make_patient(name="Other Patient")
    session.commit()
    book_directly(doctor, other, utc(TUESDAY, 8))

    response = book(signed_in, doctor.id, utc(TUESDAY, 8))

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "slot_taken"
    starts = [slot["start_at"] for slot in error["slots"]]
    assert "2026-06-02T08:00:00Z" not in starts
    assert starts[0] == "2026-06-02T08:30:00Z" and len(starts) == 15
    assert appointment_count(session) == 1


@pytest.mark.parametrize("start_at", [utc(TUESDAY, 8, 10), utc(TUESDAY, 16), utc(date(2026, 6, 6), 9)],
                         ids=["off-the-grid", "after-hours", "saturday"])
def test_booking_outside_the_doctors_slots_is_409_outside_availability(signed_in, doctor, start_at, session):
    response = book(signed_in, doctor.id, start_at)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "outside_availability"
    assert appointment_count(session) == 0


def test_booking_too_soon_is_422_outside_booking_window(signed_in, doctor):
    response = book(signed_in, doctor.id, utc(MONDAY, 8))  # 09:00 London, one hour away

    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "outside_booking_window",
                                            "message": response.get_json()["error"]["message"]}


def test_booking_with_a_naive_start_at_is_422(signed_in, doctor, session):
    response = book(signed_in, doctor.id, "2026-06-02T08:00:00")

    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["start_at"]
    assert appointment_count(session) == 0


def test_booking_with_an_unexpected_field_is_422_naming_it(signed_in, doctor):
    response = book(signed_in, doctor.id, utc(TUESDAY, 8), patient_id=1)

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"patient_id": ["Unexpected field."]}


def test_booking_with_wrong_types_or_oversize_text_is_422_per_field(signed_in, doctor):
    response = signed_in.api("POST", "/api/appointments", json={
        "doctor_id": str(doctor.id), "start_at": 1780387200, "reason": "x" * 501})

    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"doctor_id", "start_at", "reason"}


def test_booking_an_unknown_doctor_is_422_on_doctor_id(signed_in):
    response = book(signed_in, 424242, utc(TUESDAY, 8))

    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["doctor_id"]


@pytest.mark.parametrize("data, content_type", [
    ("doctor_id=1", "application/x-www-form-urlencoded"),
    ("hello", "text/plain"),
    ("{not json", "application/json"),
    ("[" * 30_000 + "]" * 30_000, "application/json"),
    ('{"doctor_id": 1' + "0" * 5000 + "}", "application/json"),
], ids=["form", "text", "malformed", "deeply-nested", "huge-number"])
def test_a_body_that_is_not_json_is_400(signed_in, doctor, data, content_type):
    response = signed_in.post("/api/appointments", data=data, content_type=content_type,
                              headers={"X-CSRFToken": signed_in.csrf_token()})

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("body", [
    "[]", '"text"', "null", '{"doctor_id": 1e400, "start_at": "2026-06-02T08:00:00Z"}',
    '{"doctor_id": 99999999999999999999, "start_at": "2026-06-02T08:00:00Z"}',
    '{"doctor_id": 1, "start_at": "9999-12-31T23:59:59-23:59"}',
    '{"doctor_id": 1, "start_at": "0001-01-01T00:00:00+01:00"}',
    '{"doctor_id": 1, "start_at": "2026-06-02T08:00:00Z", "reason": "\\u0000"}',
    '{"doctor_id": 1, "start_at": "2026-06-02T08:00:00Z", "reason": "\\ud800"}',
    '{"doctor_id": 1, "start_at": ["2026-06-02T08:00:00Z"]}',
], ids=["array", "string", "null", "infinite-id", "huge-id", "overflow-late", "overflow-early", "nul",
        "lone-surrogate", "list-for-time"])
def test_odd_json_bodies_are_422_not_500(signed_in, doctor, body):
    response = signed_in.post("/api/appointments", data=body, content_type="application/json",
                              headers={"X-CSRFToken": signed_in.csrf_token()})

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_request"


def test_a_body_over_64_kib_is_413(signed_in, doctor):
    response = book(signed_in, doctor.id, utc(TUESDAY, 8), reason="x" * 70_000)

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


# --------------------------------------------------------------------------- idempotency


def test_a_retry_with_the_same_idempotency_key_replays_the_answer_and_books_once(signed_in, doctor, session):
    key = {"Idempotency-Key": "7f8e2c1a-retry"}
    first = book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key)
    retry = book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key)

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert appointment_count(session) == 1
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_the_idempotency_record_is_stored_with_the_booking(signed_in, doctor, session):
    response = book(signed_in, doctor.id, utc(TUESDAY, 8), headers={"Idempotency-Key": "abc"})

    record = session.scalars(select(IdempotencyRecord)).one()
    assert (record.key, record.status_code, record.response_body) == ("abc", 201, response.get_json())
    assert len(record.request_fingerprint) == 64


def test_a_refused_booking_is_replayed_too(signed_in, doctor, session):
    key = {"Idempotency-Key": "refused"}
    first = book(signed_in, doctor.id, utc(TUESDAY, 8, 10), headers=key)
    retry = book(signed_in, doctor.id, utc(TUESDAY, 8, 10), headers=key)

    assert first.status_code == retry.status_code == 409
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_the_same_idempotency_key_with_a_different_body_is_422(signed_in, doctor, session):
    key = {"Idempotency-Key": "reused"}
    assert book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key).status_code == 201

    response = book(signed_in, doctor.id, utc(TUESDAY, 9), headers=key)

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert appointment_count(session) == 1


def test_idempotency_keys_belong_to_one_user(app, signed_in, doctor, session):
    make_patient(email="second@example.test")
    session.commit()
    key = {"Idempotency-Key": "shared"}
    assert book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key).status_code == 201
    second = app.test_client()
    assert log_in(second, "second@example.test").status_code == 200

    response = book(second, doctor.id, utc(TUESDAY, 9), headers=key)

    assert response.status_code == 201
    assert appointment_count(session) == 2


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\tinside", "caf\u00e9"], ids=["empty", "too-long", "tab",
                                                                                 "non-ascii"])
def test_an_invalid_idempotency_key_is_422(signed_in, doctor, session, key):
    response = book(signed_in, doctor.id, utc(TUESDAY, 8), headers={"Idempotency-Key": key})

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_idempotency_key"
    assert appointment_count(session) == 0


def test_a_concurrent_duplicate_gets_the_first_requests_answer(signed_in, doctor, session, monkeypatch):
    key = {"Idempotency-Key": "race"}
    first = book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key)
    # The duplicate looked for the key before the first request had committed,
    # so it goes on to book, and only the unique key stops it when it stores its answer.
    real_lookup, lookups = api.find_idempotency_record, []

    def not_yet_committed(user_id, key):
        lookups.append(key)
        return None if len(lookups) == 1 else real_lookup(user_id, key)

    monkeypatch.setattr(api, "find_idempotency_record", not_yet_committed)

    duplicate = book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key)

    assert duplicate.status_code == 201
    assert duplicate.get_json() == first.get_json()
    assert duplicate.headers["Idempotent-Replayed"] == "true"
    assert appointment_count(session) == 1


def test_a_concurrent_duplicate_whose_first_is_not_visible_yet_is_409_in_progress(signed_in, doctor, session,
                                                                                 monkeypatch):
    key = {"Idempotency-Key": "race"}
    assert book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key).status_code == 201
    monkeypatch.setattr(api, "find_idempotency_record", lambda user_id, key: None)

    duplicate = book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key)

    assert duplicate.status_code == 409
    assert duplicate.get_json()["error"]["code"] == "idempotency_in_progress"
    assert appointment_count(session) == 1


@pytest.mark.postgres_only
def test_parallel_retries_with_one_idempotency_key_all_get_the_one_booking(app, signed_in, doctor, session):
    token = signed_in.csrf_token()
    cookie = signed_in.get_cookie("session").value
    body = {"doctor_id": doctor.id, "start_at": iso(utc(TUESDAY, 8))}
    headers = {"X-CSRFToken": token, "Idempotency-Key": "parallel"}
    clients = []
    for _ in range(8):
        copy = app.test_client()
        copy.set_cookie("session", cookie)
        clients.append(copy)
    barrier, results, lock = threading.Barrier(len(clients)), [], threading.Lock()

    def send(copy):
        barrier.wait()
        response = copy.post("/api/appointments", json=body, headers=headers)
        with lock:
            results.append((response.status_code, json.dumps(response.get_json(), sort_keys=True)))

    threads = [threading.Thread(target=send, args=(copy,)) for copy in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _ in results] == [201] * len(clients)
    assert len({answer for _, answer in results}) == 1
    assert appointment_count(session) == 1


# --------------------------------------------------------------------------- my appointments


def test_my_appointments_list_upcoming_soonest_first_then_the_rest_latest_first(signed_in, patient, doctor,
                                                                                session):
    later = add_row(doctor, patient, utc(date(2026, 6, 4), 8))
    sooner = add_row(doctor, patient, utc(TUESDAY, 8))
    cancelled = add_row(doctor, patient, utc(WEDNESDAY, 8), AppointmentStatus.CANCELLED)
    last_week = add_row(doctor, patient, utc(date(2026, 5, 29), 8), AppointmentStatus.COMPLETED)
    long_ago = add_row(doctor, patient, utc(date(2026, 5, 1), 8))
    someone_elses = add_row(doctor, make_patient(name="Other"), utc(date(2026, 6, 5), 8))

    response = signed_in.get("/api/appointments")

    assert response.status_code == 200
    body = response.get_json()
    assert [a["id"] for a in body] == [sooner.id, later.id, cancelled.id, last_week.id, long_ago.id]
    assert someone_elses.id not in [a["id"] for a in body]
    assert body[0]["can_change_until"] == "2026-06-01T08:00:00Z"
    assert body[2]["status"] == "cancelled" and body[2]["can_change_until"] is None


# --------------------------------------------------------------------------- cancel and reschedule


def test_cancelling_my_appointment_frees_its_slot(signed_in, patient, doctor, session):
    appointment = book_directly(doctor, patient, utc(TUESDAY, 8))

    response = signed_in.api("POST", f"/api/appointments/{appointment.id}/cancel", json={"reason": "Better"})

    assert response.status_code == 200
    assert response.get_json()["appointment"]["status"] == "cancelled"
    session.refresh(appointment)
    assert appointment.status is AppointmentStatus.CANCELLED
    assert appointment.cancellation_reason == "Better"
    assert "2026-06-02T08:00:00Z" in slot_starts(signed_in, doctor.id, **{"from": "2026-06-02",
                                                                          "to": "2026-06-02"})


def test_cancelling_without_a_body_is_allowed(signed_in, patient, doctor):
    appointment = book_directly(doctor, patient, utc(TUESDAY, 8))

    response = signed_in.api("POST", f"/api/appointments/{appointment.id}/cancel")

    assert response.status_code == 200


def test_cancelling_within_24_hours_is_422_cancellation_too_late(signed_in, patient, doctor, session):
    appointment = book_directly(doctor, patient, utc(MONDAY, 12))

    response = signed_in.api("POST", f"/api/appointments/{appointment.id}/cancel", json={})

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "cancellation_too_late"
    session.refresh(appointment)
    assert appointment.status is AppointmentStatus.BOOKED


def test_cancelling_twice_is_422_not_booked(signed_in, patient, doctor):
    appointment = book_directly(doctor, patient, utc(TUESDAY, 8))
    assert signed_in.api("POST", f"/api/appointments/{appointment.id}/cancel").status_code == 200

    response = signed_in.api("POST", f"/api/appointments/{appointment.id}/cancel")

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "not_booked"


def test_rescheduling_moves_my_appointment_and_frees_the_old_slot(signed_in, patient, doctor):
    appointment = book_directly(doctor, patient, utc(TUESDAY, 8))

    response = signed_in.api("POST", f"/api/appointments/{appointment.id}/reschedule",
                             json={"start_at": iso(utc(WEDNESDAY, 13))})

    assert response.status_code == 200
    moved = response.get_json()["appointment"]
    assert (moved["id"], moved["start_at"], moved["status"]) == (appointment.id, "2026-06-03T13:00:00Z",
                                                                 "booked")
    assert "2026-06-02T08:00:00Z" in slot_starts(signed_in, doctor.id, **{"from": "2026-06-02",
                                                                          "to": "2026-06-02"})


def test_rescheduling_to_a_taken_slot_is_409_with_the_fresh_slots_of_that_day(signed_in, patient, doctor,
                                                                             session):
    appointment = book_directly(doctor, patient, utc(TUESDAY, 8))
    book_directly(doctor, make_patient(name="Other"), utc(WEDNESDAY, 13))

    response = signed_in.api("POST", f"/api/appointments/{appointment.id}/reschedule",
                             json={"start_at": iso(utc(WEDNESDAY, 13))})

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "slot_taken"
    starts = [slot["start_at"] for slot in error["slots"]]
    assert len(starts) == 15 and "2026-06-03T13:00:00Z" not in starts
    session.refresh(appointment)
    assert appointment.start_at == utc(TUESDAY, 8)


def test_rescheduling_needs_an_aware_start_at(signed_in, patient, doctor):
    appointment = book_directly(doctor, patient, utc(TUESDAY, 8))

    response = signed_in.api("POST", f"/api/appointments/{appointment.id}/reschedule",
                             json={"start_at": "2026-06-03T13:00:00"})

    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["start_at"]


@pytest.mark.parametrize("action, body", [("cancel", {}), ("reschedule", {"start_at": "2026-06-03T13:00:00Z"})])
def test_another_patients_appointment_is_404_like_a_missing_one(signed_in, doctor, session, action, body):
    theirs = book_directly(doctor, make_patient(name="Other"), utc(TUESDAY, 8))

    response = signed_in.api("POST", f"/api/appointments/{theirs.id}/{action}", json=body)
    missing = signed_in.api("POST", f"/api/appointments/{theirs.id + 1000}/{action}", json=body)

    assert response.status_code == missing.status_code == 404
    assert response.get_json() == missing.get_json()
    session.refresh(theirs)
    assert theirs.status is AppointmentStatus.BOOKED and theirs.start_at == utc(TUESDAY, 8)


def test_an_appointment_id_too_large_for_the_database_is_404(signed_in):
    response = signed_in.api("POST", "/api/appointments/99999999999999999999999/cancel", json={})

    assert response.status_code == 404


def test_api_login_failures_are_throttled_per_account_and_address(client):
    patient = make_patient()
    db.session.commit()
    for _ in range(5):
        assert client.api("POST", "/api/session", json={"email": patient.user.email,
                                                         "password": "wrong wrong wrong"}).status_code == 401
    response = client.api("POST", "/api/session", json={"email": patient.user.email, "password": PASSWORD})
    assert response.status_code == 429 and response.get_json()["error"]["code"] == "too_many_requests"


def test_a_signed_in_operation_called_without_a_sign_in_is_401_even_without_a_csrf_token(client):
    for method, path in (("POST", "/api/contact"), ("POST", "/api/appointments")):
        response = client.open(path, method=method, json={})
        assert response.status_code == 401, path
