"""The waitlist in the staff console: per doctor with waits and offers, add a caller, offer by hand, dashboard."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carebook import clock
from carebook.extensions import db
from models import NotificationDelivery
from models.waitlist import OfferStatus, WaitlistEntry
from tests.carebook.waitlist.conftest import TUESDAY_10, book, cancel, claim, join, offers, relay
from tests.factories import make_doctor, make_patient, make_phone_patient

ALL_DAYS = [str(1 << n) for n in range(7)]


def test_the_waitlist_shows_each_patient_with_how_long_they_waited_and_their_offers(app, staff_client):
    doctor = make_doctor(name="Dr Ada Okafor")
    booker, waiter = make_patient(name="Ann Booker"), make_patient(name="Ben Waiter")
    appointment = book(doctor, booker)
    join(waiter, doctor)
    clock.freeze(clock.utcnow() + timedelta(hours=3))
    cancel(appointment, booker)
    relay(app)
    staff_client.log_in_again()
    page = staff_client.get(f"/admin/waitlist/?doctor_id={doctor.id}").get_data(as_text=True)
    assert "Ben Waiter" in page and "3 hours" in page
    assert "Tue 2 Jun, 10:00 (Dr Ada Okafor): pending" in page


def test_staff_add_a_phone_caller_to_the_waitlist(app, staff, staff_client):
    doctor = make_doctor()
    caller = make_phone_patient(name="Phil Caller")
    db.session.commit()
    response = staff_client.submit("/admin/waitlist/add", {
        "doctor_id": doctor.id, "patient_id": caller.id, "scope": "doctor", "appointment_type": "",
        "earliest_date": "2026-06-02", "latest_date": "2026-06-30", "weekdays": ALL_DAYS, "times_of_day": ["1", "2", "4"],
        "min_notice_minutes": "0"})
    assert response.status_code == 302
    [entry] = db.session.scalars(select(WaitlistEntry)).all()
    assert (entry.patient_id, entry.doctor_id, entry.created_by_id) == (caller.id, doctor.id, staff.id)


def test_an_sms_only_caller_is_offered_by_sms_and_the_console_says_so(app, session, staff_client):
    doctor = make_doctor()
    booker, caller = make_patient(), make_phone_patient(name="Phil Caller")
    appointment = book(doctor, booker)
    join(caller, doctor)
    cancel(appointment, booker)
    relay(app)
    [offer] = offers()
    assert offer.channels == "sms"
    [record] = session.scalars(select(NotificationDelivery).where(
        NotificationDelivery.message_id == f"waitlist-offer-{offer.id}")).all()
    assert (record.channel, record.outcome) == ("sms", "sent")
    page = staff_client.get(f"/admin/waitlist/?doctor_id={doctor.id}").get_data(as_text=True)
    assert "Tue 2 Jun, 10:00 (Dr Dana Doctor): pending, by text message" in page


def test_staff_offer_a_free_slot_by_hand(app, staff, staff_client):
    doctor = make_doctor()
    waiter = make_patient(name="Ben Waiter")
    entry = join(waiter, doctor)
    page = staff_client.get(f"/admin/waitlist/offer?entry_id={entry.id}").get_data(as_text=True)
    assert "Tue 2 Jun, 10:00" in page
    response = staff_client.submit("/admin/waitlist/offer", {"entry_id": entry.id, "doctor_id": doctor.id,
                                                             "start_at": TUESDAY_10.isoformat()})
    assert response.status_code == 302
    [offer] = offers()
    assert (offer.start_at, offer.offered_by_id, offer.status) == (TUESDAY_10, staff.id,
                                                                   OfferStatus.PENDING)


def test_a_taken_time_cannot_be_offered_by_hand(app, staff_client):
    doctor = make_doctor()
    waiter = make_patient()
    entry = join(waiter, doctor)
    book(doctor, make_patient(), start_at=TUESDAY_10)
    response = staff_client.submit("/admin/waitlist/offer", {"entry_id": entry.id, "doctor_id": doctor.id,
                                                             "start_at": TUESDAY_10.isoformat()})
    assert response.status_code in (400, 409)
    assert offers() == []


def test_the_dashboard_counts_slots_refilled_from_the_waitlist_this_week(app, staff_client):
    doctor = make_doctor()
    booker, waiter = make_patient(), make_patient()
    appointment = book(doctor, booker)
    join(waiter, doctor)
    cancel(appointment, booker)
    relay(app)
    claim(offers()[0], waiter)
    page = staff_client.get("/admin/").get_data(as_text=True)
    assert "<strong>1</strong> freed slot refilled from the waitlist this week" in page


def test_staff_take_a_patient_off_the_waitlist(app, staff_client):
    doctor = make_doctor()
    entry = join(make_patient(), doctor)
    assert staff_client.submit("/admin/waitlist/leave", {"entry_id": entry.id}).status_code == 302
    db.session.expire_all()
    assert not db.session.get(WaitlistEntry, entry.id).is_active


def test_an_entry_for_any_doctor_of_a_specialty_asks_staff_to_choose_the_doctor(app, staff_client):
    first, second = make_doctor(name="Dr Ada Okafor"), make_doctor(name="Dr Bea Brown")
    make_doctor(name="Dr Cy Skin", specialty="Dermatology")
    entry = join(make_patient(name="Ben Waiter"), specialty="General practice")
    response = staff_client.get(f"/admin/waitlist/offer?entry_id={entry.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "choose whose free times to see" in page
    assert first.name in page and second.name in page and "Dr Cy Skin" not in page
    assert "Offer this time" not in page  # no times before a doctor is chosen


def test_staff_offer_a_specialty_entry_the_time_of_the_doctor_they_chose(app, staff, staff_client):
    make_doctor(name="Dr Ada Okafor")
    chosen = make_doctor(name="Dr Bea Brown")
    entry = join(make_patient(name="Ben Waiter"), specialty="General practice")
    page = staff_client.get(f"/admin/waitlist/offer?entry_id={entry.id}&doctor_id={chosen.id}").get_data(as_text=True)
    assert "Free times with Dr Bea Brown" in page and "Tue 2 Jun, 10:00" in page
    response = staff_client.submit("/admin/waitlist/offer", {"entry_id": entry.id, "doctor_id": chosen.id,
                                                             "start_at": TUESDAY_10.isoformat()})
    assert response.status_code == 302
    [offer] = offers()
    assert (offer.doctor_id, offer.start_at, offer.offered_by_id) == (chosen.id, TUESDAY_10, staff.id)


def test_the_only_doctor_of_the_specialty_is_chosen_for_staff(app, staff_client):
    doctor = make_doctor(name="Dr Ada Okafor")
    entry = join(make_patient(), specialty="General practice")
    page = staff_client.get(f"/admin/waitlist/offer?entry_id={entry.id}").get_data(as_text=True)
    assert f"Free times with {doctor.name}" in page


def test_a_doctor_the_entry_does_not_wait_for_is_refused(app, staff_client):
    doctor = make_doctor()
    other = make_doctor(name="Dr Cy Skin", specialty="Dermatology")
    for entry in (join(make_patient(), doctor), join(make_patient(), specialty="General practice")):
        assert staff_client.get(f"/admin/waitlist/offer?entry_id={entry.id}&doctor_id={other.id}").status_code == 404
        response = staff_client.submit("/admin/waitlist/offer", {"entry_id": entry.id, "doctor_id": other.id,
                                                                 "start_at": TUESDAY_10.isoformat()})
        assert response.status_code == 404
    assert offers() == []


def test_a_specialty_nobody_practises_any_more_says_so(app, staff_client):
    doctor = make_doctor(specialty="Dermatology")
    entry = join(make_patient(), specialty="Dermatology")
    doctor.is_active = False
    db.session.commit()
    response = staff_client.get(f"/admin/waitlist/offer?entry_id={entry.id}")
    assert response.status_code == 200
    assert "No active Dermatology doctor is taking bookings" in response.get_data(as_text=True)
