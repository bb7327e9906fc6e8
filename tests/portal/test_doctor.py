"""The doctor's calendar through HTTP: pages, editing hours, confirming, access, outcomes."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from carebook import audit, clock
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, AuditEntry, DateOverride, TimeOff, WeeklyHours
from tests.factories import add_time_off, make_doctor, make_patient, make_staff

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


@pytest.fixture
def doctor(app):
    return make_doctor(name="Dr Ada Lovelace")


@pytest.fixture
def patient(app):
    return make_patient(name="Alice Patient")


@pytest.fixture
def as_doctor(app, client, doctor, patient):
    db.session.commit()
    assert client.login(doctor.user.email).status_code == 302
    return client


def book(doctor, patient, start_at: datetime, reason: str = "Check-up") -> Appointment:
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=start_at, reason=reason)
    db.session.commit()
    return appointment


def hours_form(valid_from: str, ranges: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """The weekly hours form as a browser posts it: four range rows per day, empty ones blank."""
    data = {"valid_from": valid_from}
    for day in WEEKDAYS:
        rows = ranges.get(day, [])
        for number in range(4):
            start, end = rows[number] if number < len(rows) else ("", "")
            data[f"{day}-{number}-start"], data[f"{day}-{number}-end"] = start, end
    return data


NINE_TO_FIVE = {day: [("09:00", "17:00")] for day in WEEKDAYS[:5]}


def text(response) -> str:
    return response.get_data(as_text=True)


def week_columns(page: str) -> dict[str, list[str]]:
    """The week page's day columns: day -> the classes of its pieces after "piece", top to bottom."""
    sections = re.findall(r'<section class="week-day[^"]*" aria-labelledby="day-([0-9-]+)">(.*?)</section>',
                          page, re.S)
    return {day: re.findall(r'<li class="piece ([^"]+)"', body) for day, body in sections}


def month_cell(page: str, day: str) -> str:
    """What the month overview's link for ``day`` is named (read out), with the words it shows after a "|"."""
    cell = re.search(rf'<a aria-label="([^"]*)" href="/doctor/week\?week={day}">(.*?)</a>', page, re.S)
    return html.unescape(cell.group(1)) + " | " + " ".join(re.sub(r"<[^>]+>", " ", cell.group(2)).split())


def section_of(page: str, day: str) -> str:
    """The week page's day column of ``day``, as HTML."""
    return re.search(rf'<section class="week-day[^"]*" aria-labelledby="day-{day}">(.*?)</section>', page, re.S).group(1)


def set_length(client, minutes: int) -> None:
    response = client.submit("/doctor/hours/length", {"length-appointment_minutes": str(minutes),
                                                      "length-buffer_minutes": "0"})
    assert response.status_code == 302


def confirmation_token(page: str) -> str:
    return re.search(r'name="change" type="hidden" value="([^"]+)"', page).group(1)


# --------------------------------------------------------------------------- pages render


@pytest.mark.parametrize("url", ["/doctor/", "/doctor/?day=2026-06-02", "/doctor/week", "/doctor/week?week=2026-03-25",
                                 "/doctor/hours", "/doctor/one-off", "/doctor/time-off"])
def test_each_page_renders_for_the_doctor(as_doctor, url):
    response = as_doctor.get(url)
    assert response.status_code == 200
    page = text(response)
    assert "Times in Europe/London" in page and page.count("Europe/London") == 1
    assert "doctor.css" in page


@pytest.mark.parametrize("query", ["?week=garbage", "?week=99999-01-01", "?week=0001-01-01", "?day=2026-02-30"])
def test_malformed_dates_in_the_address_fall_back_to_today(as_doctor, query):
    path = "/doctor/week" if "week" in query else "/doctor/"
    assert as_doctor.get(path + query).status_code == 200


def test_the_day_list_shows_the_appointments_with_name_and_reason(as_doctor, doctor, patient):
    book(doctor, patient, at(date(2026, 6, 1), 11), reason="Sore knee")
    page = text(as_doctor.get("/doctor/"))
    assert "Monday 1 June 2026" in page and "Alice Patient" in page and "Sore knee" in page
    assert "11:00–11:30" in page and "Hours 09:00–17:00" in page


def test_the_day_list_says_what_to_do_when_empty(as_doctor):
    assert "No appointments on this day" in text(as_doctor.get("/doctor/?day=2026-06-06"))


def test_the_week_shows_hours_time_off_one_off_changes_and_appointments(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10), reason="Annual review")
    add_time_off(doctor, at(date(2026, 6, 3), 12), at(date(2026, 6, 3), 14))
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=date(2026, 6, 4), start_time=time(10), end_time=time(13)))
    db.session.commit()
    page = text(as_doctor.get("/doctor/week"))
    assert "Week of Monday 1 June 2026" in page
    assert f'href="/doctor/appointments/{appointment.id}"' in page
    assert "10:00–10:30" in page and "Alice Patient" in page and "Annual review" in page
    assert "Time off 12:00–14:00 (Away)" in page
    assert "One-off hours 10:00–13:00" in page
    # Each day column from 08:00 to 18:00 in 5-minute units (u12 = an hour), top to bottom.
    columns = week_columns(page)
    assert columns["2026-06-02"] == ["u12 closed", "u12 working", "u6 appointments", "u48 working", "u30 working",
                                     "u12 closed"]
    assert columns["2026-06-03"] == ["u12 closed", "u36 working", "u24 time-off", "u36 working", "u12 closed"]
    assert columns["2026-06-04"] == ["u24 closed", "u36 one-off", "u48 closed", "u12 closed"]
    assert 'href="/doctor/week?week=2026-05-25"' in page and 'href="/doctor/week?week=2026-06-08"' in page


def test_the_month_overview_counts_appointments_per_day_and_links_to_the_week(as_doctor, doctor, patient):
    book(doctor, patient, at(date(2026, 6, 10), 10))
    book(doctor, make_patient(), at(date(2026, 6, 10), 11))
    page = text(as_doctor.get("/doctor/week"))
    assert "June 2026" in page
    cell = re.search(r'href="/doctor/week\?week=2026-06-10">\s*<span class="month-day">10</span>.*?</a>', page, re.S)
    assert cell and 'class="month-count">2<' in cell.group(0)


def test_the_week_is_shown_in_clinic_time_across_the_clock_change(as_doctor, doctor, patient):
    clock.freeze(datetime(2026, 3, 16, 8, 0, tzinfo=UTC))
    book(doctor, patient, datetime(2026, 3, 30, 8, 0, tzinfo=UTC))  # 09:00 BST
    page = text(as_doctor.get("/doctor/week?week=2026-03-30"))
    assert "09:00–09:30" in page and "Hours 09:00–17:00" in page


def test_a_15_minute_appointment_shows_its_time_and_patient_in_a_block_of_its_own(as_doctor, doctor, patient):
    set_length(as_doctor, 15)
    first = book(doctor, patient, at(date(2026, 6, 2), 9), reason="Sore knee")
    book(doctor, make_patient(name="Maximilian Featherstonehaugh-Smythe"), at(date(2026, 6, 2), 9, 15))
    page = text(as_doctor.get("/doctor/week"))
    assert 'class="week-grid hours-10"' in page
    assert week_columns(page)["2026-06-02"][:4] == ["u12 closed", "u3 appointments compact", "u3 appointments compact",
                                                   "u48 working"]
    blocks = re.findall(r'<li class="piece u3 appointments compact">(.*?)</li>', page, re.S)
    assert f'href="/doctor/appointments/{first.id}"' in blocks[0]
    assert '<span class="appointment-time">09:00–09:15</span>' in blocks[0]
    assert '<span class="appointment-patient">Alice Patient</span>' in blocks[0]
    assert '<span class="appointment-reason">Sore knee</span>' in blocks[0]  # read out; shown on phones
    assert '<span class="appointment-patient">Maximilian Featherstonehaugh-Smythe</span>' in blocks[1]


def test_the_month_says_which_days_are_off_part_off_or_have_one_off_hours(as_doctor, doctor, patient):
    book(doctor, patient, at(date(2026, 6, 2), 10))
    add_time_off(doctor, at(date(2026, 6, 3), 12), at(date(2026, 6, 3), 14))
    add_time_off(doctor, at(date(2026, 6, 15), 0), at(date(2026, 6, 20), 0))
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=date(2026, 6, 4), start_time=time(10), end_time=time(13)))
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=date(2026, 6, 12)))
    db.session.commit()
    page = text(as_doctor.get("/doctor/week"))
    assert month_cell(page, "2026-06-01") == "1 June: no appointments | 1"
    assert month_cell(page, "2026-06-02") == "2 June: 1 appointment | 2 1"
    assert month_cell(page, "2026-06-03") == "3 June: no appointments, Part off: time off 12:00–14:00 | 3 Part off"
    assert month_cell(page, "2026-06-04") == "4 June: no appointments, One-off: hours 10:00–13:00 | 4 One-off"
    assert month_cell(page, "2026-06-06") == "6 June: no appointments, Off: not working | 6 Off"
    assert month_cell(page, "2026-06-12") == ("12 June: no appointments, Off: not working, One-off: closed all day"
                                                 " | 12 Off One-off")
    assert month_cell(page, "2026-06-16") == "16 June: no appointments, Off: time off all day | 16 Off"
    # The words show, each marked for its kind; a key explains them; the link's name gives the detail.
    assert '<span class="month-mark part-off">Part off</span>' in page
    assert re.search(r'class="month-legend.*Off</span> not working.*Part off</span> time off for part of the hours'
                     r'.*One-off</span> hours changed for that date', page, re.S)


def test_the_week_the_clocks_go_back_has_the_repeated_hour_twice_with_its_short_appointments(
        as_doctor, doctor, patient):
    set_length(as_doctor, 15)
    clock.freeze(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))
    as_doctor.log_in_again()
    sunday = date(2026, 10, 25)  # 02:00 BST becomes 01:00 GMT
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=sunday, start_time=time(0), end_time=time(3)))
    db.session.commit()
    for start_at in (datetime(2026, 10, 24, 23, 45, tzinfo=UTC), datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
                     datetime(2026, 10, 25, 0, 45, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
                     datetime(2026, 10, 25, 1, 15, tzinfo=UTC)):
        book(doctor, patient, start_at)
    page = text(as_doctor.get("/doctor/week?week=2026-10-25"))
    assert "Week of Monday 19 October 2026" in page and 'class="week-grid hours-19"' in page
    hours = re.findall(r'<span class="hour-label">([^<]+)</span>', page)
    assert hours[:4] == ["00:00", "01:00 BST", "01:00 GMT", "02:00"] and hours[-1] == "17:00"
    columns = week_columns(page)
    assert columns["2026-10-25"] == ["u9 one-off", "u3 appointments compact", "u3 appointments compact", "u6 one-off",
                                     "u3 appointments compact", "u3 appointments compact", "u3 appointments compact",
                                     "u18 one-off", "u48 closed", "u48 closed", "u48 closed", "u36 closed"]
    assert columns["2026-10-19"][:3] == ["u24 closed", "u12 no-such-time", "u48 closed"]
    sunday_column = section_of(page, "2026-10-25")
    assert re.findall(r'<span class="appointment-time">([^<]+)</span>', sunday_column) == [
        "00:45–01:00 BST", "01:00 BST–01:15 BST", "01:45 BST–01:00 GMT", "01:00 GMT–01:15 GMT", "01:15 GMT–01:30 GMT"]
    assert sunday_column.count('<span class="appointment-patient">Alice Patient</span>') == 5
    assert "Clocks go back: 01:00–02:00 happens twice" in sunday_column
    assert "clocks change" in page  # the key explains the time not on a day's clock
    assert month_cell(page, "2026-10-25") == "25 October: 5 appointments, One-off: hours 00:00–03:00 | 25 5 One-off"


def test_the_appointment_detail_shows_the_patient(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10), reason="Sore knee")
    page = text(as_doctor.get(f"/doctor/appointments/{appointment.id}"))
    assert "Alice Patient" in page and "Sore knee" in page and patient.phone in page


# --------------------------------------------------------------------------- editing hours


def test_editing_hours_changes_the_patients_slot_list_at_once(app, as_doctor, doctor, patient):
    patient_client = app.test_client()
    patient_client.login(patient.user.email)
    before = text(patient_client.get(f"/doctors/{doctor.id}?day=2026-06-02"))
    assert before.count('name="start_at"') == 16
    response = as_doctor.submit("/doctor/hours", hours_form("2026-06-01", {**NINE_TO_FIVE, "tuesday": [("13:00", "17:00")]}))
    assert response.status_code == 302 and response.headers["Location"] == "/doctor/hours"
    after = text(patient_client.get(f"/doctors/{doctor.id}?day=2026-06-02"))
    assert after.count('name="start_at"') == 8 and "13:00" in after and ">09:00<" not in after


def test_saving_hours_flashes_what_was_saved_and_audits_it(as_doctor, doctor):
    as_doctor.submit("/doctor/hours", hours_form("2026-06-08", {"monday": [("08:00", "12:00"), ("13:30", "17:00")]}))
    page = text(as_doctor.get("/doctor/hours"))
    assert "Saved: weekly hours from Mon 8 Jun: Mon 08:00–12:00, 13:30–17:00" in page
    assert "Planned" in page
    db.session.expire_all()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "availability.weekly_hours_set"))
    assert entry.actor_id == doctor.user.id and entry.details["hours"] == {"Monday": ["08:00–12:00", "13:30–17:00"]}


def test_the_hours_form_is_filled_in_with_the_current_hours(as_doctor):
    page = text(as_doctor.get("/doctor/hours"))
    assert 'name="monday-0-start" type="time" value="09:00"' in page
    assert 'name="saturday-0-start" type="time" value=""' in page


@pytest.mark.parametrize("form, field, message", [
    (hours_form("2026-06-08", {"monday": [("12:00", "09:00")]}), "monday-0-end", "The end must be after the start."),
    (hours_form("2026-06-08", {"monday": [("09:00", "12:00"), ("11:00", "13:00")]}), "monday-1-end",
     "Overlaps 09:00–12:00 on Monday."),
    (hours_form("2026-05-01", NINE_TO_FIVE), "valid_from", "That date is in the past."),
    (hours_form("2026-06-08", {"monday": [("09:00", "")]}), "monday-0-end", "Enter when this range ends."),
    (hours_form("2026-06-08", {"monday": [("nine", "17:00")]}), "monday-0-start", "Not a valid time value."),
    (hours_form("", NINE_TO_FIVE), "valid_from", "Enter a date as YYYY-MM-DD."),
])
def test_hours_validation_errors_are_shown_next_to_the_field_with_400(as_doctor, doctor, form, field, message):
    response = as_doctor.submit("/doctor/hours", form)
    assert response.status_code == 400
    page = text(response)
    error = re.search(rf'id="{field}"[^>]*>.*?<div class="invalid-feedback d-block"[^>]*>([^<]*)', page, re.S)
    assert error and message in error.group(1)
    db.session.expire_all()
    assert db.session.scalar(select(WeeklyHours).where(WeeklyHours.valid_from != date(2026, 1, 1))) is None


def test_hours_without_any_range_are_refused_with_a_message(as_doctor):
    response = as_doctor.submit("/doctor/hours", hours_form("2026-06-08", {}))
    assert response.status_code == 400 and "Enter at least one range of hours" in text(response)


def test_appointment_length_is_saved_and_validated(as_doctor, doctor):
    response = as_doctor.submit("/doctor/hours/length", {"length-appointment_minutes": "3", "length-buffer_minutes": "0"})
    assert response.status_code == 400
    assert "Appointment length must be between 5 and 240 minutes." in text(response)
    response = as_doctor.submit("/doctor/hours/length", {"length-appointment_minutes": "20", "length-buffer_minutes": "5"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (db.session.get(type(doctor), doctor.id).appointment_minutes, doctor.buffer_minutes) == (20, 5)


def test_a_planned_pattern_can_be_removed(as_doctor, doctor):
    as_doctor.submit("/doctor/hours", hours_form("2026-07-01", {"monday": [("10:00", "12:00")]}))
    response = as_doctor.submit("/doctor/hours/2026-07-01/remove")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(WeeklyHours).where(WeeklyHours.valid_from == date(2026, 7, 1))) is None


def test_the_pattern_that_started_in_the_past_cannot_be_removed(as_doctor, doctor):
    response = as_doctor.submit("/doctor/hours/2026-01-01/remove", follow_redirects=True)
    assert "That date is in the past." in text(response)
    db.session.expire_all()
    assert db.session.scalar(select(WeeklyHours).where(WeeklyHours.valid_from == date(2026, 1, 1))) is not None


# --------------------------------------------------------------------------- affected appointments


def test_a_change_hitting_appointments_shows_them_before_saving(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10), reason="Sore knee")
    response = as_doctor.submit("/doctor/hours", hours_form("2026-06-01", {**NINE_TO_FIVE, "tuesday": [("13:00", "17:00")]}))
    assert response.status_code == 200
    page = text(response)
    assert "This change affects booked appointments" in page
    assert "Tue 2 Jun, 10:00–10:30" in page and "Alice Patient" in page and "Sore knee" in page
    assert "Save and flag for staff" in page and "Save and cancel 1 appointment" in page
    db.session.expire_all()
    assert db.session.scalar(select(WeeklyHours).where(WeeklyHours.valid_from == date(2026, 6, 1))) is None
    assert db.session.get(Appointment, appointment.id).needs_attention is False


def test_confirming_keeps_the_appointments_booked_and_flags_them(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10))
    page = text(as_doctor.submit("/doctor/hours", hours_form("2026-06-01", {**NINE_TO_FIVE, "tuesday": []})))
    response = as_doctor.submit("/doctor/changes/confirm", {"change": confirmation_token(page), "choice": "keep"})
    assert response.status_code == 302 and response.headers["Location"] == "/doctor/hours"
    db.session.expire_all()
    kept = db.session.get(Appointment, appointment.id)
    assert kept.status is AppointmentStatus.BOOKED and kept.needs_attention is True
    assert db.session.scalar(select(WeeklyHours).where(WeeklyHours.valid_from == date(2026, 6, 1))) is not None
    flashed = text(as_doctor.get("/doctor/hours"))
    assert "1 appointment kept and flagged for the clinic&#39;s staff" in flashed
    week = text(as_doctor.get("/doctor/week"))
    assert "(needs attention)" in week


def test_cancelling_instead_cancels_through_the_booking_service(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10))
    page = text(as_doctor.submit("/doctor/one-off", {"on_date": "2026-06-02", "kind": "closed"}))
    assert "Tue 2 Jun, 10:00–10:30" in page
    response = as_doctor.submit("/doctor/changes/confirm", {"change": confirmation_token(page), "choice": "cancel", "confirm_cancel": "y",
                                                             "reason": "Dr Lovelace is away."})
    assert response.status_code == 302 and response.headers["Location"] == "/doctor/one-off"
    db.session.expire_all()
    cancelled = db.session.get(Appointment, appointment.id)
    assert cancelled.status is AppointmentStatus.CANCELLED
    assert cancelled.cancellation_reason == "Dr Lovelace is away." and cancelled.cancelled_by_id == doctor.user.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.cancelled"))
    assert entry.entity_id == appointment.id and entry.actor_id == doctor.user.id
    assert db.session.scalar(select(DateOverride).where(DateOverride.on_date == date(2026, 6, 2))) is not None


def test_cancelling_asks_for_the_box_to_be_ticked_first_and_cancels_nothing_until_it_is(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10))
    page = text(as_doctor.submit("/doctor/one-off", {"on_date": "2026-06-02", "kind": "closed"}))
    response = as_doctor.submit("/doctor/changes/confirm", {"change": confirmation_token(page), "choice": "cancel",
                                                             "reason": "Dr Lovelace is away."})
    assert response.status_code == 400
    assert re.search(r'id="confirm_cancel-errors">Tick the box to confirm', text(response))
    assert "Alice Patient" in text(response)
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).is_booked
    assert db.session.scalar(select(DateOverride).where(DateOverride.on_date == date(2026, 6, 2))) is None


def test_cancelling_without_a_reason_shows_the_error_next_to_it(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10))
    page = text(as_doctor.submit("/doctor/one-off", {"on_date": "2026-06-02", "kind": "closed"}))
    response = as_doctor.submit("/doctor/changes/confirm", {"change": confirmation_token(page), "choice": "cancel", "confirm_cancel": "y",
                                                             "reason": ""})
    assert response.status_code == 400
    assert re.search(r'id="reason-errors">Give a reason for cancelling.', text(response))
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).is_booked


def test_an_appointment_booked_meanwhile_is_shown_again_before_saving(as_doctor, doctor, patient):
    book(doctor, patient, at(date(2026, 6, 2), 10))
    page = text(as_doctor.submit("/doctor/hours", hours_form("2026-06-01", {**NINE_TO_FIVE, "tuesday": []})))
    book(doctor, make_patient(name="Bob Latecomer"), at(date(2026, 6, 9), 10))
    response = as_doctor.submit("/doctor/changes/confirm", {"change": confirmation_token(page), "choice": "keep"})
    assert response.status_code == 409
    assert "Bob Latecomer" in text(response) and "have changed since you looked" in text(response)
    db.session.expire_all()
    assert db.session.scalar(select(WeeklyHours).where(WeeklyHours.valid_from == date(2026, 6, 1))) is None


def test_a_tampered_confirmation_changes_nothing(as_doctor, doctor, patient):
    book(doctor, patient, at(date(2026, 6, 2), 10))
    page = text(as_doctor.submit("/doctor/hours", hours_form("2026-06-01", {**NINE_TO_FIVE, "tuesday": []})))
    response = as_doctor.submit("/doctor/changes/confirm", {"change": confirmation_token(page) + "x", "choice": "keep"},
                                follow_redirects=True)
    assert "This confirmation has expired" in text(response)
    db.session.expire_all()
    assert db.session.scalar(select(WeeklyHours).where(WeeklyHours.valid_from == date(2026, 6, 1))) is None


# --------------------------------------------------------------------------- one-off changes and time off


def test_one_off_changes_are_added_listed_and_removed(as_doctor, doctor):
    response = as_doctor.submit("/doctor/one-off", {"on_date": "2026-06-06", "kind": "hours",
                                                    "ranges-0-start": "10:00", "ranges-0-end": "12:00"})
    assert response.status_code == 302
    page = text(as_doctor.get("/doctor/one-off"))
    assert "Saturday 6 June 2026" in page and "10:00–12:00" in page
    assert as_doctor.submit("/doctor/one-off/2026-06-06/remove").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(DateOverride)) is None


def test_different_hours_need_hours(as_doctor):
    response = as_doctor.submit("/doctor/one-off", {"on_date": "2026-06-06", "kind": "hours"})
    assert response.status_code == 400 and "Enter the hours for that date" in text(response)


def test_a_one_off_change_in_the_past_is_refused_next_to_the_date(as_doctor):
    response = as_doctor.submit("/doctor/one-off", {"on_date": "2026-05-06", "kind": "closed"})
    assert response.status_code == 400
    assert re.search(r'id="on_date-errors">That date is in the past', text(response))


def test_time_off_is_added_in_clinic_time_listed_and_removed(as_doctor, doctor):
    response = as_doctor.submit("/doctor/time-off", {"start_date": "2026-06-03", "start_time": "12:00",
                                                     "end_time": "14:00", "note": "Conference"})
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.scalar(select(TimeOff))
    assert (row.start_at, row.end_at) == (datetime(2026, 6, 3, 11, tzinfo=UTC), datetime(2026, 6, 3, 13, tzinfo=UTC))
    page = text(as_doctor.get("/doctor/time-off"))
    assert "Wed 3 Jun, 12:00" in page and "Conference" in page
    assert as_doctor.submit(f"/doctor/time-off/{row.id}/remove").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(TimeOff)) is None


def test_a_holiday_covers_whole_days(as_doctor, doctor):
    as_doctor.submit("/doctor/time-off", {"start_date": "2026-06-08", "end_date": "2026-06-12"})
    db.session.expire_all()
    row = db.session.scalar(select(TimeOff))
    assert (row.start_at, row.end_at) == (datetime(2026, 6, 7, 23, tzinfo=UTC), datetime(2026, 6, 12, 23, tzinfo=UTC))


def test_time_off_errors_are_shown_next_to_the_fields(as_doctor):
    response = as_doctor.submit("/doctor/time-off", {"start_date": "2026-06-10", "end_date": "2026-06-09"})
    assert response.status_code == 400
    assert re.search(r'id="end_date-errors">The last day cannot be before the first day.', text(response))


def test_time_off_over_an_appointment_asks_first(as_doctor, doctor, patient):
    book(doctor, patient, at(date(2026, 6, 3), 13))
    response = as_doctor.submit("/doctor/time-off", {"start_date": "2026-06-03"})
    assert response.status_code == 200 and "Wed 3 Jun, 13:00–13:30" in text(response)
    db.session.expire_all()
    assert db.session.scalar(select(TimeOff)) is None


# --------------------------------------------------------------------------- outcomes


def test_an_outcome_cannot_be_marked_before_the_start(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 1), 11))
    assert "Outcome once started" in text(as_doctor.get("/doctor/"))
    response = as_doctor.submit(f"/doctor/appointments/{appointment.id}/outcome", {"outcome": "completed"},
                                follow_redirects=True)
    assert "only once it has started" in text(response)
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status is AppointmentStatus.BOOKED


def test_completed_and_no_show_are_marked_once_started(as_doctor, doctor, patient):
    first = book(doctor, patient, at(date(2026, 6, 1), 11))
    second = book(doctor, make_patient(name="Bob"), at(date(2026, 6, 1), 11, 30))
    clock.freeze(at(date(2026, 6, 1), 11, 40))
    as_doctor.log_in_again()  # the morning's session has been idle for hours
    page = text(as_doctor.get("/doctor/"))
    assert page.count('value="completed"') == 2
    response = as_doctor.submit(f"/doctor/appointments/{first.id}/outcome", {"outcome": "completed"})
    assert response.status_code == 302 and response.headers["Location"] == "/doctor/?day=2026-06-01"
    as_doctor.submit(f"/doctor/appointments/{second.id}/outcome", {"outcome": "no_show", "back": "appointment"})
    db.session.expire_all()
    assert db.session.get(Appointment, first.id).status is AppointmentStatus.COMPLETED
    assert db.session.get(Appointment, second.id).status is AppointmentStatus.NO_SHOW


def test_an_unknown_outcome_is_a_bad_request(as_doctor, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 1), 11))
    assert as_doctor.submit(f"/doctor/appointments/{appointment.id}/outcome", {"outcome": "cancelled"}).status_code == 400


# --------------------------------------------------------------------------- access


@pytest.fixture
def other_doctor(app):
    other = make_doctor(name="Dr Other")
    db.session.commit()
    return other


def other_doctors_urls(other, appointment_id):
    return [f"/doctor/{other.id}/", f"/doctor/{other.id}/week", f"/doctor/{other.id}/hours",
            f"/doctor/{other.id}/one-off", f"/doctor/{other.id}/time-off",
            f"/doctor/appointments/{appointment_id}"]


def test_a_doctor_gets_404_for_another_doctors_calendar_and_appointments(as_doctor, other_doctor, patient):
    theirs = book(other_doctor, patient, at(date(2026, 6, 2), 10))
    for url in other_doctors_urls(other_doctor, theirs.id):
        assert as_doctor.get(url).status_code == 404, url
    posts = [(f"/doctor/{other_doctor.id}/hours", hours_form("2026-06-08", NINE_TO_FIVE)),
             (f"/doctor/{other_doctor.id}/one-off", {"on_date": "2026-06-06", "kind": "closed"}),
             (f"/doctor/{other_doctor.id}/time-off", {"start_date": "2026-06-03"}),
             (f"/doctor/appointments/{theirs.id}/outcome", {"outcome": "completed"})]
    for url, data in posts:
        assert as_doctor.submit(url, data).status_code == 404, url
    db.session.expire_all()
    assert db.session.scalar(select(DateOverride)) is None and db.session.scalar(select(TimeOff)) is None


def test_a_doctors_own_id_in_the_address_works(as_doctor, doctor):
    assert as_doctor.get(f"/doctor/{doctor.id}/week").status_code == 200


def test_staff_can_open_and_edit_any_doctors_calendar(app, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10))
    staff = make_staff(name="Sam Staff")
    db.session.commit()
    client = app.test_client()
    client.login(staff.email)
    for url in other_doctors_urls(doctor, appointment.id):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Dr Ada Lovelace" in text(response)
    assert f'href="/doctor/{doctor.id}/hours"' in text(client.get(f"/doctor/{doctor.id}/week"))
    response = client.submit(f"/doctor/{doctor.id}/one-off", {"on_date": "2026-06-06", "kind": "closed"})
    assert response.status_code == 302 and response.headers["Location"] == f"/doctor/{doctor.id}/one-off"
    db.session.expire_all()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "availability.one_off_set"))
    assert entry.actor_id == staff.id and entry.entity_id == doctor.id


def test_staff_first_choose_a_doctor(app, doctor):
    staff = make_staff()
    db.session.commit()
    client = app.test_client()
    client.login(staff.email)
    page = text(client.get("/doctor/"))
    assert "Doctors' calendars" in page and f'href="/doctor/{doctor.id}/week"' in page
    assert client.get("/doctor/week").headers["Location"] == "/doctor/"
    assert client.get("/doctor/99999/week").status_code == 404


def test_patients_are_refused_every_doctor_page(app, doctor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10))
    client = app.test_client()
    client.login(patient.user.email)
    for url in ["/doctor/", "/doctor/week", "/doctor/hours", "/doctor/one-off", "/doctor/time-off",
                *other_doctors_urls(doctor, appointment.id)]:
        assert client.get(url).status_code == 403, url
    assert client.submit(f"/doctor/{doctor.id}/one-off", {"on_date": "2026-06-06", "kind": "closed"}).status_code == 403
    assert client.submit(f"/doctor/appointments/{appointment.id}/outcome", {"outcome": "no_show"}).status_code == 403


def test_state_changes_need_the_csrf_token(as_doctor):
    response = as_doctor.post("/doctor/one-off", data={"on_date": "2026-06-06", "kind": "closed"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(DateOverride)) is None
