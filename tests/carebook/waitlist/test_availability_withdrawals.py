"""An availability change that removes bookable time withdraws the open offers of that time, in its transaction."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
from sqlalchemy import select

from carebook import audit, waitlist
from carebook.availability.changes import AddTimeOff, RemoveOneOff, RemoveWeeklyHours, SetOneOff, SetWeeklyHours
from carebook.services import availability_service
from models import AuditEntry
from models.waitlist import OfferStatus
from tests.carebook.waitlist.conftest import TUESDAY, TUESDAY_10, book, cancel, join, offers, relay

MORNING, AFTERNOON = (time(9), time(12)), (time(13), time(17))
WEEKDAYS_AFTERNOONS = {weekday: [AFTERNOON] for weekday in range(5)}


@pytest.fixture
def offer(app, doctor, booker, waiter):
    """Ben waits for Dr Doctor on Tuesday and has an open offer of Tuesday 10:00 (Ann cancelled it)."""
    appointment = book(doctor, booker)
    join(waiter, doctor)
    cancel(appointment, booker)
    relay(app)
    [made] = offers()
    assert (made.start_at, made.status) == (TUESDAY_10, OfferStatus.PENDING)
    return made


def apply(change, session):
    availability_service().apply(change, audit.Actor(None, "admin"))
    session.commit()


def status_of(offer) -> OfferStatus:
    [current] = [o for o in offers() if o.id == offer.id]
    return current.status


def test_fewer_weekly_hours_withdraw_the_offer_of_the_time_removed(app, session, doctor, offer):
    apply(SetWeeklyHours(doctor.id, TUESDAY, WEEKDAYS_AFTERNOONS), session)
    assert status_of(offer) is OfferStatus.WITHDRAWN
    [row] = session.scalars(select(AuditEntry).where(AuditEntry.action == "waitlist.offer_withdrawn")).all()
    assert (row.entity_id, row.details) == (offer.id, {"reason": "availability.weekly_hours_set"})


def test_removing_planned_weekly_hours_withdraws_offers_only_they_made_bookable(app, session, doctor, offer):
    apply(SetWeeklyHours(doctor.id, date(2026, 6, 3), WEEKDAYS_AFTERNOONS), session)
    assert status_of(offer) is OfferStatus.PENDING  # Tuesday still has the old hours
    apply(SetWeeklyHours(doctor.id, TUESDAY, WEEKDAYS_AFTERNOONS), session)
    assert status_of(offer) is OfferStatus.WITHDRAWN
    apply(RemoveWeeklyHours(doctor.id, TUESDAY), session)
    assert status_of(offer) is OfferStatus.WITHDRAWN  # a withdrawn offer stays withdrawn


def test_a_one_off_change_that_shortens_the_day_withdraws_the_offer(app, session, doctor, offer):
    apply(SetOneOff(doctor.id, TUESDAY, (AFTERNOON,)), session)
    assert status_of(offer) is OfferStatus.WITHDRAWN


def test_a_day_closed_by_a_one_off_change_withdraws_the_offer(app, session, doctor, offer):
    apply(SetOneOff(doctor.id, TUESDAY, ()), session)
    assert status_of(offer) is OfferStatus.WITHDRAWN


def test_removing_a_one_off_change_that_gave_extra_hours_withdraws_offers_of_them(app, session, doctor, waiter):
    saturday = date(2026, 6, 6)
    apply(SetOneOff(doctor.id, saturday, (MORNING,)), session)
    join(waiter, doctor, first=saturday, last=saturday)
    waitlist.offering_rules().offer_freed(doctor.id, datetime(2026, 6, 6, 8, tzinfo=timezone.utc),
                                    datetime(2026, 6, 6, 11, tzinfo=timezone.utc))
    session.commit()
    [offer] = offers(OfferStatus.PENDING)
    apply(RemoveOneOff(doctor.id, saturday), session)
    assert status_of(offer) is OfferStatus.WITHDRAWN


def test_a_change_that_keeps_the_offered_time_leaves_the_offer_open(app, session, doctor, offer):
    apply(SetOneOff(doctor.id, TUESDAY, (MORNING,)), session)
    apply(SetWeeklyHours(doctor.id, TUESDAY, {weekday: [MORNING, AFTERNOON] for weekday in range(5)}), session)
    assert status_of(offer) is OfferStatus.PENDING
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "waitlist.offer_withdrawn")).all() == []


def test_time_off_still_withdraws_the_offer(app, session, doctor, offer):
    apply(AddTimeOff(doctor.id, TUESDAY, TUESDAY, time(10), time(11)), session)
    assert status_of(offer) is OfferStatus.WITHDRAWN


def test_the_withdrawal_is_part_of_the_changes_transaction(app, session, doctor, offer):
    availability_service().apply(SetOneOff(doctor.id, TUESDAY, ()), audit.Actor(None, "admin"))
    session.rollback()
    assert status_of(offer) is OfferStatus.PENDING


def test_cancelling_the_affected_appointments_withdraws_the_offer_too(app, session, doctor, offer):
    availability_service().cancel_affected(SetOneOff(doctor.id, TUESDAY, ()), audit.Actor(None, "admin"),
                                           reason="Closed")
    session.commit()
    assert status_of(offer) is OfferStatus.WITHDRAWN
