"""The patient's waitlist pages: join, ask for an earlier time, see and leave entries, claim an offer."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from carebook.extensions import db
from models import Appointment, AppointmentStatus
from models.waitlist import OfferStatus, WaitlistEntry, WaitlistStatus
from tests.carebook.waitlist.conftest import TUESDAY_10, book, cancel, join, offers, relay
from tests.factories import make_doctor, make_patient
from tests.mailbox import link, path_of, sent

ALL_DAYS = [str(1 << n) for n in range(7)]
ALL_TIMES = ["1", "2", "4"]


@pytest.fixture
def doctor(app):
    return make_doctor(name="Dr Ada Lovelace", specialty="Cardiology")


@pytest.fixture
def patient(app):
    return make_patient(name="Alice Patient", email="alice@example.test")


@pytest.fixture
def signed_in(app, client, doctor, patient):
    db.session.commit()
    client.login(patient.user.email)
    return client


def join_form(**changes):
    data = {"scope": "doctor", "appointment_type": "", "earliest_date": "2026-06-02", "latest_date": "2026-06-12",
            "weekdays": ALL_DAYS, "times_of_day": ALL_TIMES, "min_notice_minutes": "180"}
    data.update(changes)
    return data


def entries_of(patient):
    db.session.expire_all()
    return db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.patient_id == patient.id)).all()


def test_the_doctors_page_links_to_the_waitlist(signed_in, doctor):
    page = signed_in.get(f"/doctors/{doctor.id}").get_data(as_text=True)
    assert f"/waitlist/join/{doctor.id}" in page


def test_a_patient_joins_the_waitlist_for_a_doctor(signed_in, doctor, patient):
    response = signed_in.submit(f"/waitlist/join/{doctor.id}", join_form(weekdays=["1", "4"], times_of_day=["1"]))
    assert response.status_code == 302
    [entry] = entries_of(patient)
    assert (entry.doctor_id, entry.weekdays, entry.times_of_day, entry.min_notice_minutes) == (doctor.id, 5, 1, 180)
    assert (entry.earliest_date, entry.latest_date) == (date(2026, 6, 2), date(2026, 6, 12))


def test_a_patient_joins_for_any_doctor_of_the_specialty(signed_in, doctor, patient):
    signed_in.submit(f"/waitlist/join/{doctor.id}", join_form(scope="specialty"))
    [entry] = entries_of(patient)
    assert (entry.doctor_id, entry.specialty) == (None, "Cardiology")


def test_a_range_in_the_wrong_order_is_refused_at_the_field(signed_in, doctor, patient):
    response = signed_in.submit(f"/waitlist/join/{doctor.id}", join_form(latest_date="2026-06-01"))
    assert response.status_code == 422
    assert "The last day cannot be before the first day." in response.get_data(as_text=True)
    assert entries_of(patient) == []


def test_no_weekday_chosen_is_refused(signed_in, doctor, patient):
    response = signed_in.submit(f"/waitlist/join/{doctor.id}", join_form(weekdays=[]))
    assert response.status_code == 400
    assert "Choose at least one day of the week." in response.get_data(as_text=True)


def test_my_appointments_lists_the_entries_and_leaving_ends_one(signed_in, doctor, patient):
    signed_in.submit(f"/waitlist/join/{doctor.id}", join_form())
    page = signed_in.get("/appointments").get_data(as_text=True)
    assert "Dr Ada Lovelace" in page and "Leave the waitlist" in page
    [entry] = entries_of(patient)
    assert signed_in.submit(f"/waitlist/entries/{entry.id}/leave").status_code == 302
    [entry] = entries_of(patient)
    assert entry.status is WaitlistStatus.WITHDRAWN


def test_an_earlier_time_is_asked_from_an_appointment(signed_in, doctor, patient):
    appointment = book(doctor, patient, start_at=TUESDAY_10.replace(day=5))
    response = signed_in.submit(f"/appointments/{appointment.id}/earlier",
                                {"weekdays": ALL_DAYS, "times_of_day": ALL_TIMES, "min_notice_minutes": "0"})
    assert response.status_code == 302
    [entry] = entries_of(patient)
    assert entry.earlier_than_appointment_id == appointment.id


def test_an_offer_is_emailed_and_claimed_in_one_step_after_sign_in(app, client, doctor, patient):
    other = make_patient(name="Ann Other")
    appointment = book(doctor, other)
    join(patient, doctor)
    cancel(appointment, other)
    [message] = [m for m in sent(app, "alice@example.test") if m["X-Carebook-Email"] == "send_waitlist_offer"]
    claim_link = path_of(link(message, "/waitlist/offers/"))
    assert client.get(claim_link).status_code == 302  # to the sign-in first
    client.login(patient.user.email)
    page = client.get(claim_link)
    assert page.status_code == 200 and "Book Tue 2 Jun, 10:00 with Dr Ada Lovelace" in page.get_data(as_text=True)
    response = client.submit(claim_link + "/claim")
    assert response.status_code == 302
    [mine] = db.session.scalars(select(Appointment).where(Appointment.patient_id == patient.id)).all()
    assert (mine.start_at, mine.status) == (TUESDAY_10, AppointmentStatus.BOOKED)
    assert [offer.status for offer in offers()] == [OfferStatus.CLAIMED]
    [entry] = entries_of(patient)
    assert entry.status is WaitlistStatus.FULFILLED


def test_a_claim_after_someone_else_booked_shows_just_taken_and_the_free_times(app, signed_in, doctor, patient):
    other = make_patient(name="Ann Other")
    appointment = book(doctor, other)
    join(patient, doctor)
    cancel(appointment, other)
    relay(app)
    [offer] = offers()
    book(doctor, make_patient(name="Walk In"), start_at=TUESDAY_10)
    response = signed_in.submit(f"/waitlist/offers/{offer.id}/claim")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Sorry, 10:00 was just taken. Here are the times still free." in page
    assert "10:30" in page  # the day's free times, as after any booking conflict


def test_claiming_an_earlier_time_moves_the_appointment(app, signed_in, doctor, patient):
    other = make_patient(name="Ann Other")
    early = book(doctor, other)
    mine = book(doctor, patient, start_at=TUESDAY_10.replace(day=5))
    signed_in.submit(f"/appointments/{mine.id}/earlier",
                     {"weekdays": ALL_DAYS, "times_of_day": ALL_TIMES, "min_notice_minutes": "0"})
    cancel(early, other)
    relay(app)
    [offer] = offers()
    assert signed_in.submit(f"/waitlist/offers/{offer.id}/claim").status_code == 302
    db.session.expire_all()
    moved = db.session.get(Appointment, mine.id)
    assert (moved.start_at, moved.status) == (TUESDAY_10, AppointmentStatus.BOOKED)
    assert db.session.scalar(select(Appointment).where(Appointment.patient_id == patient.id,
                                                        Appointment.id != mine.id)) is None


def test_an_expired_offer_cannot_be_claimed(app, signed_in, doctor, patient):
    from datetime import timedelta

    from carebook import clock

    other = make_patient(name="Ann Other")
    appointment = book(doctor, other)
    join(patient, doctor)
    cancel(appointment, other)
    relay(app)
    [offer] = offers()
    clock.freeze(clock.utcnow() + timedelta(minutes=31))
    signed_in.log_in_again()
    response = signed_in.submit(f"/waitlist/offers/{offer.id}/claim", follow_redirects=True)
    assert "This offer has ended" in response.get_data(as_text=True)
    assert db.session.scalar(select(Appointment).where(Appointment.patient_id == patient.id)) is None


def test_another_patients_offer_is_not_found(app, signed_in, doctor, patient):
    other = make_patient(name="Ann Other")
    appointment = book(doctor, patient)
    join(other, doctor)
    cancel(appointment, patient)
    relay(app)
    [offer] = offers()
    assert signed_in.get(f"/waitlist/offers/{offer.id}").status_code == 404
    assert signed_in.submit(f"/waitlist/offers/{offer.id}/claim").status_code == 404
