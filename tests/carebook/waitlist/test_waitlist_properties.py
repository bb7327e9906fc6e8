"""Property tests: random sequences of bookings, cancellations, availability changes, waitlist joins,
relay passes, claims and the clock moving on, against the real services and database.

After every step: no two booked appointments of the doctor overlap (with their buffers), nor two of
one patient; every offer made in a relay pass points at a slot the slot engine had free at that
moment, to a patient with no appointment overlapping it; and every entry is fulfilled at most once
(exactly one claimed offer for a fulfilled entry, none for the others).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, time, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from carebook import audit, clock
from carebook.availability.changes import AddTimeOff, RemoveTimeOff
from carebook.availability.errors import InvalidChange
from carebook.booking import BookingError
from carebook.extensions import db
from carebook.services import availability_service, booking_service
from carebook.waitlist import claiming, entries
from carebook.waitlist.errors import WaitlistError
from models import Appointment, AppointmentStatus, TimeOff
from models.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer, WaitlistStatus
from reminders.relay import relay_once
from tests.conftest import DEFAULT_NOW
from tests.factories import make_doctor, make_patient

DAYS = (date(2026, 6, 2), date(2026, 6, 3))  # Tuesday, Wednesday
HOURS = (9, 10, 11)  # three hours a morning: six 30-minute slots a day
PATIENTS = 4

slot_index = st.integers(0, len(DAYS) * len(HOURS) * 2 - 1)
patient_index = st.integers(0, PATIENTS - 1)
step = st.one_of(
    st.tuples(st.just("book"), patient_index, slot_index),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
    st.tuples(st.just("join"), patient_index, st.sampled_from([0b1, 0b11, 0b111]), st.booleans()),
    st.tuples(st.just("join_earlier"), patient_index),
    st.tuples(st.just("time_off"), slot_index),
    st.tuples(st.just("remove_time_off"), st.integers(0, 3)),
    st.tuples(st.just("relay"),),
    st.tuples(st.just("claim"), st.integers(0, 5)),
    st.tuples(st.just("relay_and_claim"), st.integers(0, 5)),
    st.tuples(st.just("cancel_relay_claim"), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("cancel_relay_claim"), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("tick"),),
)
#: Where every history starts: two bookings on Tuesday morning, and two patients waiting for it.
PRELUDE = [("book", 0, 0), ("book", 1, 1), ("join", 2, 0b1, False), ("join", 3, 0b111, True)]


def slot_start(index: int):
    from flask import current_app

    tz = current_app.config["CLINIC"].timezone
    day = DAYS[index // (len(HOURS) * 2)]
    minutes = (index % (len(HOURS) * 2)) * 30
    return day, time(HOURS[0] + minutes // 60, minutes % 60), tz


class World:
    def __init__(self):
        self.doctor = make_doctor(name="Dr Prop", weekly={d: [(time(9), time(12))] for d in range(5)})
        self.patients = [make_patient(name=f"Patient {n}") for n in range(PATIENTS)]
        db.session.commit()

    def booked(self):
        return db.session.scalars(select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED)
                                  .order_by(Appointment.id)).all()

    def act(self, operation):
        name, *args = operation
        getattr(self, name)(*args)

    def book(self, who: int, index: int):
        day, wall, tz = slot_start(index)
        from datetime import datetime

        start_at = datetime.combine(day, wall, tz)
        patient = self.patients[who]
        try:
            booking_service().book(audit.Actor(patient.user, "portal"), doctor=self.doctor, patient=patient,
                                   start_at=start_at)
        except BookingError:
            db.session.rollback()
        else:
            db.session.commit()

    def cancel(self, which: int):
        booked = self.booked()
        if booked:
            booking_service().cancel(audit.Actor(None, "system"), booked[which % len(booked)], enforce_cutoff=False)
            db.session.commit()

    def join(self, who: int, parts: int, both_days: bool):
        patient = self.patients[who]
        try:
            entries.join(db.session, audit.Actor(patient.user, "portal"), patient,
                         entries.Wish(earliest_date=DAYS[0], latest_date=DAYS[1] if both_days else DAYS[0],
                                      doctor=self.doctor, times_of_day=parts), _tz())
        except WaitlistError:
            db.session.rollback()
        else:
            db.session.commit()

    def join_earlier(self, who: int):
        patient = self.patients[who]
        mine = [a for a in self.booked() if a.patient_id == patient.id]
        if not mine:
            return
        try:
            entries.join_earlier(db.session, audit.Actor(patient.user, "portal"), patient, mine[-1], _tz())
        except WaitlistError:
            db.session.rollback()
        else:
            db.session.commit()

    def time_off(self, index: int):
        day, wall, _ = slot_start(index)
        end = (time(wall.hour + 1, wall.minute))
        try:
            availability_service().apply(AddTimeOff(self.doctor.id, day, day, wall, end), audit.Actor(None, "system"),
                                         confirm_affected=True)
        except InvalidChange:
            db.session.rollback()
        else:
            db.session.commit()

    def remove_time_off(self, which: int):
        rows = db.session.scalars(select(TimeOff).order_by(TimeOff.id)).all()
        if rows:
            availability_service().apply(RemoveTimeOff(self.doctor.id, rows[which % len(rows)].id),
                                         audit.Actor(None, "system"), confirm_affected=True)
            db.session.commit()

    def relay(self):
        from flask import current_app

        before = db.session.scalar(select(func.max(WaitlistOffer.id))) or 0
        relay_once(current_app._get_current_object())
        db.session.expire_all()
        fresh = db.session.scalars(select(WaitlistOffer).where(WaitlistOffer.id > before)).all()
        if not fresh:
            return
        service = booking_service()
        free = {slot.start_at for slot in service.doctor_free_slots(self.doctor.id, DAYS[0], DAYS[1]) or []}
        for offer in fresh:
            # Free when offered: still free now, right after the pass, since nothing else ran since.
            assert offer.start_at in free, f"offer {offer.id} at {offer.start_at} points at a slot that is not free"
            patient_id = offer.entry.patient_id
            for appointment in self.booked():
                if appointment.patient_id == patient_id and appointment.id != offer.entry.earlier_than_appointment_id:
                    assert not (appointment.start_at < offer.end_at and offer.start_at < appointment.end_at), \
                        f"offer {offer.id} overlaps an appointment of its patient"

    def claim(self, which: int):
        pending = db.session.scalars(select(WaitlistOffer).where(WaitlistOffer.status == OfferStatus.PENDING)
                                     .order_by(WaitlistOffer.id)).all()
        if not pending:
            return
        offer = pending[which % len(pending)]
        patient = offer.entry.patient
        actor = audit.Actor(patient.user, "portal")
        try:
            claiming.claim(booking_service(), actor, patient, offer)
        except BookingError as error:
            db.session.rollback()
            claiming.record_taken(db.session, actor, offer, error.code)
            db.session.commit()
        except WaitlistError:
            db.session.rollback()
        else:
            db.session.commit()

    def relay_and_claim(self, which: int):
        self.relay()
        self.check()
        self.claim(which)

    def cancel_relay_claim(self, which: int, offer: int):
        self.cancel(which)
        self.check()
        self.relay_and_claim(offer)

    def tick(self):
        clock.freeze(clock.utcnow() + timedelta(minutes=31))

    def check(self):
        db.session.expire_all()
        booked = self.booked()
        for a in booked:
            for b in booked:
                if a.id < b.id:
                    if a.doctor_id == b.doctor_id:
                        assert not (a.start_at < b.buffer_end_at and b.start_at < a.buffer_end_at), "doctor overlap"
                    if a.patient_id == b.patient_id:
                        assert not (a.start_at < b.end_at and b.start_at < a.end_at), "patient overlap"
        claimed = Counter(db.session.scalars(select(WaitlistOffer.entry_id).where(
            WaitlistOffer.status == OfferStatus.CLAIMED)))
        assert all(count == 1 for count in claimed.values()), "an entry fulfilled twice"
        for entry in db.session.scalars(select(WaitlistEntry)):
            assert (entry.status is WaitlistStatus.FULFILLED) == (entry.id in claimed)


def _tz():
    from flask import current_app

    return current_app.config["CLINIC"].timezone


@pytest.fixture
def fresh_world(app, test_database):
    def make():
        db.session.remove()
        test_database.janitor.empty_written_tables()
        clock.freeze(DEFAULT_NOW)
        return World()
    return make


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=4, max_size=14))
def test_random_histories_keep_the_waitlist_invariants(fresh_world, steps):
    world = fresh_world()
    for operation in PRELUDE + steps:
        world.act(operation)
        world.check()
    world.relay()
    world.check()
    made = db.session.scalars(select(WaitlistOffer.status)).all()
    event(f"offers made: {'some' if made else 'none'}; claimed: {'some' if OfferStatus.CLAIMED in made else 'none'}")
