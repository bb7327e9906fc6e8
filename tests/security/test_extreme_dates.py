"""Dates at the ends of the calendar (9999-12-31, 0001-01-01) at every door: a clear answer, never a 500.

A booking or a move to such a time is the same 422 as any time beyond the booking
window; a page or a slot query asked for such a day answers as for any other far day;
an availability change for one is refused next to its field. Nothing is written.
"""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, DateOverride, TimeOff, WeeklyHours
from tests.factories import make_doctor, make_patient, make_staff

TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in London
#: The issue's example, and times that leave the calendar once in UTC or in the clinic's zone.
FAR_INSTANTS = ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59+00:00", "9999-12-31T12:00:00-12:00",
                "9999-12-31T23:59:59+14:00", "9999-12-30T23:00:00Z"]
PAST_INSTANTS = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-12:00"]
FAR_DAYS = ["9999-12-31", "9999-12-30", "0001-01-01", "0001-01-02"]


@pytest.fixture
def people(app):
    doctor = make_doctor(name="Dr Ada Lovelace")
    patient = make_patient()
    staff = make_staff()
    db.session.commit()
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10)
    db.session.commit()
    return doctor, patient, staff, appointment


def _signed_in(app, email):
    client = app.test_client()
    assert client.login(email).status_code == 302
    return client


@pytest.fixture
def patient_client(app, people):
    return _signed_in(app, people[1].user.email)


@pytest.fixture
def staff_client(app, people):
    return _signed_in(app, people[2].email)


@pytest.fixture
def doctor_client(app, people):
    return _signed_in(app, people[0].user.email)


def _appointments() -> list[tuple]:
    db.session.expire_all()
    return db.session.execute(select(Appointment.id, Appointment.start_at).order_by(Appointment.id)).all()


# -- the patient's pages and the JSON API --------------------------------------------------------


@pytest.mark.parametrize("start_at", FAR_INSTANTS)
def test_a_far_booking_on_the_web_is_the_booking_windows_422(patient_client, people, start_at):
    doctor, _patient, _staff, _appointment = people
    before = _appointments()
    response = patient_client.submit(f"/doctors/{doctor.id}/book", {"start_at": start_at, "day": start_at[:10]})
    assert response.status_code == 422 and b"too far ahead" in response.data
    assert _appointments() == before


@pytest.mark.parametrize("start_at", FAR_INSTANTS)
def test_a_far_move_on_the_web_is_the_booking_windows_422(patient_client, people, start_at):
    appointment = people[3]
    before = _appointments()
    response = patient_client.submit(f"/appointments/{appointment.id}/reschedule", {"start_at": start_at})
    assert response.status_code == 422 and b"too far ahead" in response.data
    assert _appointments() == before


@pytest.mark.parametrize("start_at", PAST_INSTANTS)
def test_a_booking_before_the_calendar_begins_is_in_the_past(patient_client, people, start_at):
    doctor = people[0]
    response = patient_client.submit(f"/doctors/{doctor.id}/book", {"start_at": start_at})
    assert response.status_code == 422 and b"already passed" in response.data


@pytest.mark.parametrize("start_at", ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59+14:00", "9999-12-30T23:00:00Z"])
def test_a_far_booking_or_move_in_the_api_is_outside_the_booking_window(patient_client, people, start_at):
    doctor, _patient, _staff, appointment = people
    before = _appointments()
    booked = patient_client.api("POST", "/api/appointments", json={"doctor_id": doctor.id, "start_at": start_at})
    moved = patient_client.api("POST", f"/api/appointments/{appointment.id}/reschedule", json={"start_at": start_at})
    for response in (booked, moved):
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "outside_booking_window"
    assert _appointments() == before


def test_a_time_that_is_not_on_the_calendar_in_utc_is_an_invalid_field_in_the_api(patient_client, people):
    doctor = people[0]
    response = patient_client.api("POST", "/api/appointments",
                                  json={"doctor_id": doctor.id, "start_at": "9999-12-31T12:00:00-12:00"})
    assert response.status_code == 422 and "start_at" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("query", ["from=9999-12-31", "to=0001-01-01", "from=9999-12-30&to=9999-12-31",
                                   "from=0001-01-01&to=0001-01-02", "from=0001-01-01"])
def test_slot_queries_for_far_days_answer_with_no_slots(patient_client, people, query):
    response = patient_client.get(f"/api/doctors/{people[0].id}/slots?{query}")
    assert response.status_code == 200 and response.get_json()["slots"] == []


@pytest.mark.parametrize("day", FAR_DAYS)
def test_the_day_strip_of_a_far_day_shows_the_coming_days(patient_client, people, day):
    doctor, _patient, _staff, appointment = people
    for path in (f"/doctors/{doctor.id}?day={day}", f"/appointments/{appointment.id}/reschedule?day={day}"):
        assert patient_client.get(path).status_code == 200


# -- the staff console -----------------------------------------------------------------------------


@pytest.mark.parametrize("start_at", FAR_INSTANTS)
def test_a_far_booking_in_the_console_is_the_booking_windows_422(staff_client, people, start_at):
    doctor, patient, _staff, _appointment = people
    before = _appointments()
    response = staff_client.submit("/admin/appointments/book/", {
        "patient_id": patient.id, "doctor_id": doctor.id, "start_at": start_at})
    assert response.status_code in (400, 422), response.status_code
    if start_at != "9999-12-31T12:00:00-12:00":  # that one is not a time in UTC at all: a form error
        assert response.status_code == 422 and b"too soon or too far ahead" in response.data
    assert _appointments() == before


@pytest.mark.parametrize("start_at", FAR_INSTANTS)
def test_a_far_move_in_the_console_is_the_booking_windows_422(staff_client, people, start_at):
    appointment = people[3]
    before = _appointments()
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/",
                                   {"start_at": start_at, "move_reason": "asked by phone"})
    assert response.status_code in (400, 422), response.status_code
    if start_at != "9999-12-31T12:00:00-12:00":
        assert response.status_code == 422 and b"too soon or too far ahead" in response.data
    assert _appointments() == before


@pytest.mark.parametrize("day", FAR_DAYS)
@pytest.mark.parametrize("wall", ["00:00", "23:59"])
def test_a_time_outside_hours_on_a_far_day_books_nothing(staff_client, people, day, wall):
    doctor, patient, _staff, appointment = people
    before = _appointments()
    outside = {"day": day, "outside_time": wall, "confirm_outside": "y", "outside_reason": "by arrangement"}
    booked = staff_client.submit("/admin/appointments/book/",
                                 {"patient_id": patient.id, "doctor_id": doctor.id, **outside})
    moved = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/",
                                {**outside, "move_reason": "asked by phone"})
    for response in (booked, moved):
        assert response.status_code == 400 and b"Choose the day again" in response.data
    assert _appointments() == before


@pytest.mark.parametrize("value", FAR_DAYS + FAR_INSTANTS)
def test_console_pages_asked_for_a_far_day_show_their_usual_day(staff_client, people, value):
    doctor, patient, _staff, appointment = people
    for path in (f"/admin/schedule/?day={quote(value)}",
                 f"/admin/appointments/book/?patient_id={patient.id}&doctor_id={doctor.id}&day={quote(value)}",
                 f"/admin/appointments/book/?patient_id={patient.id}&doctor_id={doctor.id}"
                 f"&start_at={quote(value)}",
                 f"/admin/appointments/{appointment.id}/reschedule/?day={quote(value)}",
                 f"/admin/appointments/{appointment.id}/reschedule/?start_at={quote(value)}"):
        assert staff_client.get(path).status_code == 200, path


@pytest.mark.parametrize("view", ["appointments", "audit"])
@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "9999-12-30 to 9999-12-31",
                                   "0001-01-01 to 0001-01-02", "0001-01-01 to 9999-12-31"])
def test_console_list_filters_with_far_dates_are_left_out(app, staff_client, people, view, value):
    [console] = app.extensions["admin"]
    [list_view] = [candidate for candidate in console._views if candidate.endpoint == view]
    date_filters = [key for key in list_view._filter_args if "date" in key or "when" in key]
    assert len(date_filters) == 4  # between, on, from, until
    for key in date_filters:
        response = staff_client.get(f"/admin/{view}/?flt0_{key}={quote(value)}")
        assert response.status_code == 200, (view, key)
        assert b"Invalid Filter Value" in response.data or b"invalid" in response.data.lower(), (view, key)


# -- the doctor's calendar and availability changes -------------------------------------------------


@pytest.mark.parametrize("day", FAR_DAYS)
def test_calendar_pages_asked_for_a_far_day_show_today(doctor_client, people, day):
    for path in (f"/doctor/?day={day}", f"/doctor/week?week={day}", f"/doctor/hours?from={day}"):
        assert doctor_client.get(path).status_code == 200, path


@pytest.mark.parametrize("day", FAR_DAYS)
def test_availability_changes_for_far_days_are_refused_and_write_nothing(doctor_client, people, day):
    counts = {model: _count(model) for model in (WeeklyHours, DateOverride, TimeOff)}
    responses = [
        doctor_client.submit("/doctor/hours", {"valid_from": day, "monday-0-start": "09:00", "monday-0-end": "17:00"}),
        doctor_client.submit("/doctor/one-off", {"on_date": day, "kind": "extra", "ranges-0-start": "00:00",
                                                 "ranges-0-end": "23:59"}),
        doctor_client.submit("/doctor/one-off", {"on_date": day, "kind": "closed"}),
        doctor_client.submit("/doctor/time-off", {"start_date": day, "end_date": day, "start_time": "23:00"}),
        doctor_client.submit("/doctor/time-off", {"start_date": "2026-06-02", "end_date": day}),
    ]
    assert [response.status_code for response in responses] == [400] * len(responses)
    for path in (f"/doctor/hours/{day}/remove", f"/doctor/one-off/{day}/remove"):
        assert doctor_client.submit(path).status_code == 302
    assert {model: _count(model) for model in counts} == counts


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))
