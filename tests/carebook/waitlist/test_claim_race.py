"""Several offered patients and a walk-in claim the same freed slot at once: exactly one booking.

On PostgreSQL, where the requests really run in parallel: the booking service's doctor lock and
the exclusion constraints decide, and every loser gets the booking service's clean conflict.
"""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from carebook import audit
from carebook.booking import BookingError
from carebook.extensions import db
from carebook.services import booking_service
from carebook.waitlist import claiming
from carebook.waitlist.errors import WaitlistError
from models import Appointment, AppointmentStatus, Doctor, Patient
from models.waitlist import OfferStatus, WaitlistOffer
from tests.carebook.booking.test_service_race import race
from tests.carebook.waitlist.conftest import TUESDAY_10, book, cancel, join, offers, relay
from tests.factories import make_doctor, make_patient

pytestmark = pytest.mark.postgres_only


def claim_attempt(offer_id: int):
    def attempt():
        offer = db.session.get(WaitlistOffer, offer_id)
        patient = offer.entry.patient
        actor = audit.Actor(patient.user, "portal")
        try:
            claiming.claim(booking_service(), actor, patient, offer)
        except (BookingError, WaitlistError):
            db.session.rollback()
            raise
        db.session.commit()
        return "claimed"
    return attempt


def walk_in_attempt(doctor_id: int, patient_id: int):
    def attempt():
        try:
            booking_service().book(audit.Actor(None, "admin"), doctor=db.session.get(Doctor, doctor_id),
                                   patient=db.session.get(Patient, patient_id), start_at=TUESDAY_10)
        except BookingError:
            db.session.rollback()
            raise
        db.session.commit()
        return "walked in"
    return attempt


def test_offered_patients_and_a_walk_in_racing_for_a_freed_slot_yield_one_booking(app):
    doctor = make_doctor()
    booker, walk_in = make_patient(name="Ann Booker"), make_patient(name="Wally Walkin")
    appointment = book(doctor, booker)
    for n in range(3):
        join(make_patient(name=f"Waiting {n}"), doctor)
    cancel(appointment, booker)
    relay(app)
    offered = offers(OfferStatus.PENDING)
    assert len(offered) == 3
    outcomes = race(app, [claim_attempt(offer.id) for offer in offered] + [walk_in_attempt(doctor.id, walk_in.id)])
    db.session.expire_all()
    booked = db.session.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.status == AppointmentStatus.BOOKED, Appointment.start_at == TUESDAY_10))
    assert booked == 1
    assert sum(outcomes[name] for name in ("claimed", "walked in")) == 1
    assert outcomes["slot_taken"] + outcomes["patient_conflict"] == 3, outcomes
    assert Counter(offer.status for offer in offers())[OfferStatus.CLAIMED] == (1 if outcomes["claimed"] else 0)
