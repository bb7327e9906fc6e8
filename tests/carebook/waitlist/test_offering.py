"""Freed slots are offered from the outbox, after the commit, to the longest-waiting matching patients."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from carebook import audit, clock
from carebook.services import availability_service, booking_service
from carebook.availability.changes import RemoveTimeOff
from carebook.waitlist.offering import Offering
from models import AuditEntry, OutboxKind, OutboxMessage
from models.waitlist import OfferStatus
from tests.carebook.waitlist.conftest import TUESDAY_10, TUESDAY_11, book, cancel, join, offers, relay
from tests.factories import add_time_off, make_doctor, make_patient


def test_a_cancellation_offers_the_freed_slot_to_the_waiting_patient(app, doctor, booker, waiter):
    appointment = book(doctor, booker)
    join(waiter, doctor)
    cancel(appointment, booker)
    relay(app)
    [offer] = offers()
    assert (offer.entry.patient_id, offer.start_at, offer.status) == (waiter.id, TUESDAY_10, OfferStatus.PENDING)


def test_the_freed_row_is_written_in_the_cancellations_transaction(app, session, doctor, booker, waiter):
    appointment = book(doctor, booker)
    join(waiter, doctor)
    booking_service().cancel(audit.Actor(None, "system"), appointment, enforce_cutoff=False)
    session.rollback()
    assert session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.WAITLIST_SLOT_FREED)).all() == []
    relay(app)
    assert offers() == []


def test_nothing_is_offered_before_the_relay_runs(app, doctor, booker, waiter):
    appointment = book(doctor, booker)
    join(waiter, doctor)
    cancel(appointment, booker)
    assert offers() == []


def test_longest_waiting_patients_are_offered_first_three_at_a_time(app, doctor, booker):
    appointment = book(doctor, booker)
    waiting = []
    for minutes in range(5):
        clock.freeze(clock.utcnow() + timedelta(minutes=1))
        waiting.append(join(make_patient(), doctor))
    cancel(appointment, booker)
    relay(app)
    assert [offer.entry_id for offer in offers()] == [entry.id for entry in waiting[:3]]


def test_the_queue_is_read_page_after_page_until_the_slot_has_its_patients(app, doctor, booker, monkeypatch):
    monkeypatch.setattr(Offering, "candidate_page", 2)
    appointment = book(doctor, booker)
    for n in range(3):  # first in the queue (same instant: the id decides), busy at that time
        patient = make_patient()
        book(make_doctor(name=f"Dr Elsewhere {n}"), patient, start_at=TUESDAY_10)
        join(patient, doctor)
    suits = [join(make_patient(), doctor) for _ in range(4)]
    cancel(appointment, booker)
    relay(app)
    assert [offer.entry_id for offer in offers()] == [entry.id for entry in suits[:3]]


def test_when_nobody_claims_the_slot_goes_to_the_next_ones_after_the_hold(app, doctor, booker):
    appointment = book(doctor, booker)
    waiting = [join(make_patient(), doctor) for _ in range(5)]
    cancel(appointment, booker)
    relay(app)
    clock.freeze(clock.utcnow() + timedelta(minutes=29))
    relay(app)
    assert len(offers()) == 3
    clock.freeze(clock.utcnow() + timedelta(minutes=1))
    relay(app)
    assert [o.entry_id for o in offers(OfferStatus.PENDING)] == [waiting[3].id, waiting[4].id]
    assert {o.round for o in offers(OfferStatus.PENDING)} == {2}
    assert len(offers(OfferStatus.EXPIRED)) == 3


def test_the_hold_never_runs_past_the_slots_minimum_notice(app, doctor, booker, waiter):
    start = clock.utcnow() + timedelta(hours=2, minutes=30)  # Monday 10:30 London
    appointment = book(doctor, booker, start_at=start)
    join(waiter, doctor, first=date(2026, 6, 1), last=date(2026, 6, 1))
    clock.freeze(clock.utcnow() + timedelta(minutes=10))  # the hold would end at 08:40, the notice at 08:30
    cancel(appointment, booker)
    relay(app)
    [offer] = offers()
    assert offer.expires_at == start - timedelta(minutes=120)


def test_a_slot_inside_the_minimum_notice_is_never_offered(app, doctor, booker, waiter):
    start = clock.utcnow() + timedelta(hours=3)  # Monday 11:00 London
    appointment = book(doctor, booker, start_at=start)
    join(waiter, doctor, first=date(2026, 6, 1), last=date(2026, 6, 1))
    clock.freeze(start - timedelta(minutes=90))
    cancel(appointment)
    relay(app)
    assert offers() == []


def test_a_patient_with_an_overlapping_appointment_is_not_offered_the_slot(app, doctor, booker, waiter):
    other_doctor = make_doctor(name="Dr Other")
    appointment = book(doctor, booker)
    book(other_doctor, waiter, start_at=TUESDAY_10)
    join(waiter, doctor)
    cancel(appointment, booker)
    relay(app)
    assert offers() == []


def test_weekdays_times_of_day_and_notice_are_respected(app, doctor, booker):
    appointment = book(doctor, booker)  # Tuesday morning
    wants_afternoons = join(make_patient(), doctor, times_of_day=0b010)
    wants_mondays = join(make_patient(), doctor, first=date(2026, 6, 1), last=date(2026, 6, 5), weekdays=0b1)
    needs_two_days = join(make_patient(), doctor, min_notice_minutes=48 * 60)
    suits = join(make_patient(), doctor)
    cancel(appointment, booker)
    relay(app)
    assert [offer.entry_id for offer in offers()] == [suits.id]
    assert {wants_afternoons.id, wants_mondays.id, needs_two_days.id}.isdisjoint({o.entry_id for o in offers()})


def test_any_doctor_of_a_specialty_is_offered_that_specialtys_slots(app, doctor, booker, waiter):
    appointment = book(doctor, booker)
    join(waiter, specialty="General practice")
    cancel(appointment, booker)
    relay(app)
    [offer] = offers()
    assert offer.doctor_id == doctor.id


def test_a_normal_booking_of_the_slot_closes_the_open_offers(app, doctor, booker, waiter):
    appointment = book(doctor, booker)
    join(waiter, doctor)
    cancel(appointment, booker)
    relay(app)
    book(doctor, make_patient(), start_at=TUESDAY_10)
    assert [offer.status for offer in offers()] == [OfferStatus.TAKEN]


def test_a_booked_slot_is_not_offered_in_the_next_round(app, doctor, booker):
    appointment = book(doctor, booker)
    [join(make_patient(), doctor) for _ in range(4)]
    cancel(appointment, booker)
    relay(app)
    book(doctor, make_patient(), start_at=TUESDAY_10)
    clock.freeze(clock.utcnow() + timedelta(minutes=31))
    relay(app)
    assert offers(OfferStatus.PENDING) == []
    assert len(offers()) == 3


def test_a_pass_run_twice_offers_nothing_twice(app, session, doctor, booker, waiter):
    from carebook import waitlist

    appointment = book(doctor, booker)
    join(waiter, doctor)
    cancel(appointment, booker)
    relay(app)
    waitlist.offering_rules().offer_freed(doctor.id, TUESDAY_10, TUESDAY_11)
    session.commit()
    assert len(offers()) == 1


def test_removing_time_off_offers_the_time_it_opens(app, session, doctor, waiter):
    time_off = add_time_off(doctor, TUESDAY_10, TUESDAY_11)
    session.commit()
    join(waiter, doctor, times_of_day=0b001)
    availability_service().apply(RemoveTimeOff(doctor.id, time_off.id), audit.Actor(doctor.user, "portal"))
    session.commit()
    relay(app)
    [offer] = offers()
    assert TUESDAY_10 <= offer.start_at < TUESDAY_11


def test_each_offer_is_audited_without_health_details(app, session, doctor, booker, waiter):
    appointment = book(doctor, booker)
    join(waiter, doctor)
    cancel(appointment, booker)
    relay(app)
    [row] = session.scalars(select(AuditEntry).where(AuditEntry.action == "waitlist.offered")).all()
    assert row.details["patient_id"] == waiter.id
    assert "reason" not in row.details


def test_an_entry_whose_range_has_passed_expires(app, session, doctor, waiter):
    from models.waitlist import WaitlistStatus

    entry = join(waiter, doctor)
    clock.freeze(clock.utcnow() + timedelta(days=2))
    relay(app)
    session.refresh(entry)
    assert entry.status is WaitlistStatus.EXPIRED



def test_an_erased_patients_entries_end_and_they_are_offered_nothing(app, session, doctor, booker, waiter):
    from carebook.patient_data.erasure import erase_patient
    from models.waitlist import WaitlistStatus

    appointment = book(doctor, booker)
    entry = join(waiter, doctor)
    erase_patient(session, booking_service(), audit.Actor(None, "admin"), waiter)
    session.commit()
    cancel(appointment, booker)
    relay(app)
    session.refresh(entry)
    assert entry.status is WaitlistStatus.WITHDRAWN
    assert offers() == []
