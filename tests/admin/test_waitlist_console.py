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
