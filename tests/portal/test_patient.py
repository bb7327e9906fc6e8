"""The patient's journey through the portal: choose, book, see, move, cancel."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from carebook import clock
from carebook.extensions import db
from models import Appointment, AppointmentStatus, DateOverride
from tests.factories import make_doctor, make_patient

UTC = timezone.utc
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # 10:00 in London


@pytest.fixture
def doctor(app):
    return make_doctor(name="Dr Ada Lovelace", specialty="Cardiology")


@pytest.fixture
def patient(app):
    return make_patient(name="Alice Patient")


@pytest.fixture
def signed_in(app, client, doctor, patient):
    db.session.commit()
    client.login(patient.user.email)
    return client


def book(client, doctor, start_at=TUESDAY_10, **extra):
    value = start_at.isoformat() if isinstance(start_at, datetime) else start_at
    return client.submit(f"/doctors/{doctor.id}/book", {"start_at": value, **extra})


def test_doctor_list_shows_next_available_time(signed_in):
    page = signed_in.get("/doctors").get_data(as_text=True)
    assert "Dr Ada Lovelace" in page and "Next available: <strong>Mon 1 Jun, 10:00</strong>" in page


def test_doctor_list_filters_by_specialty(app, signed_in):
    make_doctor(name="Dr Bob Skin", specialty="Dermatology")
    db.session.commit()
    page = signed_in.get("/doctors?specialty=Dermatology").get_data(as_text=True)
    assert "Dr Bob Skin" in page and "Dr Ada Lovelace" not in page


def test_doctor_page_shows_the_days_free_times_grouped(signed_in, doctor):
    page = signed_in.get(f"/doctors/{doctor.id}?day=2026-06-02").get_data(as_text=True)
    assert "Tuesday 2 June 2026" in page and "Morning" in page and "Afternoon" in page
    assert page.count('name="start_at"') == 16


def test_doctor_page_tolerates_a_malformed_day(signed_in, doctor):
    response = signed_in.get(f"/doctors/{doctor.id}?day=not-a-date")
    assert response.status_code == 200


def test_booking_redirects_to_the_confirmation(signed_in, doctor, patient):
    response = book(signed_in, doctor, reason="Check-up")
    assert response.status_code == 302
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Booked: Tue 2 Jun, 10:00" in page and "Add to calendar" in page


def test_booking_stores_the_appointment_in_utc(signed_in, doctor, patient):
    book(signed_in, doctor)
    appointment = db.session.scalar(select(Appointment))
    assert appointment.start_at == TUESDAY_10 and appointment.patient_id == patient.id


def test_slot_taken_meanwhile_shows_the_error_and_reloaded_slots(app, signed_in, doctor):
    rival = make_patient(name="Rival")
    db.session.commit()
    rival_client = app.test_client()
    rival_client.login(rival.user.email)
    assert book(rival_client, doctor).status_code == 302
    response = book(signed_in, doctor, day="2026-06-02")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Sorry, 10:00 was just taken" in page
    assert "Tuesday 2 June 2026" in page  # the same day stays selected
    assert TUESDAY_10.isoformat() not in page and page.count('name="start_at"') == 15


def test_day_closed_meanwhile_shows_the_changed_availability(signed_in, doctor):
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=TUESDAY_10.date()))
    db.session.commit()
    response = book(signed_in, doctor, day="2026-06-02")
    assert response.status_code == 409
    assert "hours have changed" in response.get_data(as_text=True)


def test_booking_with_a_malformed_time_is_a_form_error(signed_in, doctor):
    response = book(signed_in, doctor, start_at="yesterday-ish")
    assert response.status_code == 400 and "Choose one of the times shown." in response.get_data(as_text=True)


def test_booking_without_a_time_is_a_form_error(signed_in, doctor):
    response = signed_in.submit(f"/doctors/{doctor.id}/book", {})
    assert response.status_code == 400 and "Choose a time." in response.get_data(as_text=True)


def test_booking_an_unknown_doctor_is_404(signed_in):
    assert signed_in.submit("/doctors/9999/book", {"start_at": TUESDAY_10.isoformat()}).status_code == 404


def test_my_appointments_lists_upcoming_with_actions(signed_in, doctor):
    book(signed_in, doctor)
    page = signed_in.get("/appointments").get_data(as_text=True)
    assert "Tue 2 Jun, 10:00" in page and "Reschedule" in page and "Cancel" in page


def test_my_appointments_empty_state_links_to_booking(signed_in):
    page = signed_in.get("/appointments").get_data(as_text=True)
    assert "No upcoming appointments" in page and 'href="/doctors"' in page


def test_cancel_marks_the_appointment_cancelled(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    response = signed_in.submit(f"/appointments/{appointment_id}/cancel")
    assert response.status_code == 302
    assert db.session.get(Appointment, appointment_id).status is AppointmentStatus.CANCELLED


def test_cancel_inside_the_cutoff_is_refused_with_the_phone_number(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    clock.freeze(TUESDAY_10 - timedelta(hours=2))
    signed_in.log_in_again()  # a day later: yesterday's session has timed out
    response = signed_in.submit(f"/appointments/{appointment_id}/cancel", follow_redirects=True)
    assert "Please call the clinic" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Appointment, appointment_id).status is AppointmentStatus.BOOKED


def test_reschedule_moves_to_the_chosen_time(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    new_time = TUESDAY_10 + timedelta(days=1)
    response = signed_in.submit(f"/appointments/{appointment_id}/reschedule", {"start_at": new_time.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, appointment_id).start_at == new_time


def test_reschedule_page_lists_free_times(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    page = signed_in.get(f"/appointments/{appointment_id}/reschedule?day=2026-06-03").get_data(as_text=True)
    assert "Wednesday 3 June 2026" in page and page.count('name="start_at"') == 16


def test_another_patients_appointment_is_404_everywhere(app, signed_in, doctor):
    other = make_patient(name="Other")
    db.session.commit()
    other_client = app.test_client()
    other_client.login(other.user.email)
    book(other_client, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    assert signed_in.get(f"/appointments/{appointment_id}").status_code == 404
    assert signed_in.get(f"/appointments/{appointment_id}/calendar.ics").status_code == 404
    assert signed_in.get(f"/appointments/{appointment_id}/reschedule").status_code == 404
    assert signed_in.submit(f"/appointments/{appointment_id}/cancel").status_code == 404
    db.session.expire_all()
    assert db.session.get(Appointment, appointment_id).status is AppointmentStatus.BOOKED


def test_calendar_file_has_the_utc_times_and_no_reason(signed_in, doctor):
    book(signed_in, doctor, reason="embarrassing rash")
    appointment_id = db.session.scalar(select(Appointment.id))
    response = signed_in.get(f"/appointments/{appointment_id}/calendar.ics")
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    assert "DTSTART:20260602T090000Z" in body and "DTEND:20260602T093000Z" in body
    assert "rash" not in body


# --------------------------------------------------------------------------- no traps (issue 14)


def _staff_cancel(appointment_id, reason):
    from carebook import audit
    from carebook.services import booking_service
    from tests.factories import make_staff

    staff = make_staff()
    booking_service().cancel(audit.Actor(staff, "admin"), db.session.get(Appointment, appointment_id),
                             reason=reason, enforce_cutoff=False)
    db.session.commit()


def test_cancelling_asks_first_on_a_page_that_names_the_appointment(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    response = signed_in.get(f"/appointments/{appointment_id}/cancel")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Cancel your appointment?" in page
    assert "Tue 2 Jun, 10:00 BST" in page and "Dr Ada Lovelace" in page and "No, keep it" in page
    db.session.expire_all()
    assert db.session.get(Appointment, appointment_id).is_booked


def test_the_appointment_lists_offer_no_one_tap_cancel(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    for path in ("/appointments", f"/appointments/{appointment_id}"):
        page = signed_in.get(path).get_data(as_text=True)
        assert f'href="/appointments/{appointment_id}/cancel"' in page
        assert f'action="/appointments/{appointment_id}/cancel"' not in page


def test_the_day_view_marks_times_inside_the_change_cutoff_before_booking(signed_in, doctor):
    soon = signed_in.get(f"/doctors/{doctor.id}?day=2026-06-01").get_data(as_text=True)  # now: Mon 1 Jun, 08:00
    assert 'data-late="1"' in soon and "are less than 24 hours away" in soon
    later = signed_in.get(f"/doctors/{doctor.id}?day=2026-06-03").get_data(as_text=True)
    assert 'data-late="1"' not in later and "are less than 24 hours away" not in later


def test_the_book_button_says_what_it_books(signed_in, doctor):
    response = book(signed_in, doctor, reason="x" * 501)  # refused: the page comes back with the choice kept
    assert response.status_code == 400
    assert "Book Tue 2 Jun, 10:00 with Dr Ada Lovelace" in response.get_data(as_text=True)


def test_the_book_button_warns_when_the_chosen_time_is_inside_the_cutoff(signed_in, doctor):
    monday_11 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    page = book(signed_in, doctor, monday_11, reason="x" * 501).get_data(as_text=True)
    assert 'id="late-warning" role="status" >' in page or 'id="late-warning" role="status">' in page
    assert "This time is less than 24 hours away" in page


def test_an_appointment_inside_the_cutoff_never_shows_a_deadline_in_the_past(signed_in, doctor):
    book(signed_in, doctor, datetime(2026, 6, 1, 10, 0, tzinfo=UTC))  # Mon 1 Jun 11:00 BST, three hours away
    appointment_id = db.session.scalar(select(Appointment.id))
    page = signed_in.get(f"/appointments/{appointment_id}").get_data(as_text=True)
    assert "can no longer be changed online" in page and "01234 567890" in page
    assert "change or cancel online until" not in page and "Sun 31 May" not in page


def test_the_appointment_page_gives_its_times_with_the_zone_label(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    page = signed_in.get(f"/appointments/{appointment_id}?booked=1").get_data(as_text=True)
    assert "Booked: Tue 2 Jun, 10:00 BST" in page and "10:30 BST" in page
    assert "online until Mon 1 Jun, 10:00 BST" in page


def test_the_two_one_oclocks_of_the_night_the_clocks_go_back_are_told_apart(app, client, patient):
    from datetime import date, time

    from carebook import audit
    from carebook.services import booking_service

    night_doctor = make_doctor(name="Dr Night", weekly={6: [(time(0), time(3))]}, valid_from=date(2026, 10, 1))
    db.session.commit()
    clock.freeze(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    client.login(patient.user.email)
    actor = audit.Actor(patient.user, "portal")
    for start in (datetime(2026, 10, 25, 0, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)):
        other = make_patient()
        booking_service().book(actor, doctor=night_doctor, patient=patient if start.hour == 0 else other,
                               start_at=start)
    db.session.commit()
    listing = client.get("/appointments").get_data(as_text=True)
    assert "Sun 25 Oct, 01:00 BST" in listing
    day = client.get(f"/doctors/{night_doctor.id}?day=2026-10-25").get_data(as_text=True)
    assert "01:30 BST" in day and "01:30 GMT" in day


def test_a_clinic_cancellation_tells_the_patient_why_and_links_to_the_doctors_next_times(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    _staff_cancel(appointment_id, "Dr Lovelace is ill that day")
    for path in (f"/appointments/{appointment_id}", "/appointments"):
        page = signed_in.get(path).get_data(as_text=True)
        assert "Dr Lovelace is ill that day" in page and f'href="/doctors/{doctor.id}"' in page
        assert "by the clinic" in page


def test_a_patients_own_cancellation_is_not_put_on_the_clinic(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    signed_in.submit(f"/appointments/{appointment_id}/cancel")
    page = signed_in.get(f"/appointments/{appointment_id}").get_data(as_text=True)
    assert "by the clinic" not in page and "Cancelled by the patient online" not in page


def test_a_cancelled_appointments_calendar_file_takes_the_event_out_of_calendars(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    signed_in.submit(f"/appointments/{appointment_id}/cancel")
    body = signed_in.get(f"/appointments/{appointment_id}/calendar.ics").get_data(as_text=True)
    assert "METHOD:CANCEL" in body and "STATUS:CANCELLED" in body and "SEQUENCE:1" in body
    assert "CONFIRMED" not in body


def test_a_moved_appointments_calendar_file_replaces_the_event(signed_in, doctor):
    book(signed_in, doctor)
    appointment_id = db.session.scalar(select(Appointment.id))
    first = signed_in.get(f"/appointments/{appointment_id}/calendar.ics").get_data(as_text=True)
    signed_in.submit(f"/appointments/{appointment_id}/reschedule", {"start_at": (TUESDAY_10 + timedelta(days=1)).isoformat()})
    moved = signed_in.get(f"/appointments/{appointment_id}/calendar.ics").get_data(as_text=True)
    uid = f"UID:appointment-{appointment_id}@carebook"
    assert uid in first and uid in moved
    assert "SEQUENCE:0" in first and "SEQUENCE:1" in moved and "DTSTART:20260603T090000Z" in moved
    assert "METHOD:PUBLISH" in moved and "STATUS:CONFIRMED" in moved


def test_a_doctor_without_working_hours_is_not_offered_with_a_dead_button(app, signed_in):
    newcomer = make_doctor(name="Dr Noor Newhire", specialty="Dermatology", weekly={})
    db.session.commit()
    page = signed_in.get("/doctors?specialty=Dermatology").get_data(as_text=True)
    assert "Dr Noor Newhire" in page and "No times can be booked online before" in page
    assert f'href="/doctors/{newcomer.id}"' not in page
    own_page = signed_in.get(f"/doctors/{newcomer.id}").get_data(as_text=True)
    assert "has no times that can be booked online" in own_page and 'name="start_at"' not in own_page


def test_the_reason_box_has_no_made_up_autocomplete_value(signed_in, doctor):
    page = signed_in.get(f"/doctors/{doctor.id}?day=2026-06-02").get_data(as_text=True)
    assert 'autocomplete="None"' not in page
