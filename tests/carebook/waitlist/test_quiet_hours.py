"""Offers made in the clinic's quiet hours (SMS_QUIET_HOURS, 21:00-08:00): no SMS before they end,
and the hold-free window runs from their end, so the queue is not run through while patients sleep."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from carebook import accounts, clock
from carebook.extensions import db
from models import AuditEntry, ContactPreference, OutboxKind, OutboxMessage, Patient
from tests.carebook.waitlist.conftest import book, cancel, join, offers, relay
from tests.factories import make_doctor, make_patient, make_phone_patient

LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc
SUNDAYS = {6: [(time(9), time(17))]}


def london(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def offer_rows() -> dict[str, OutboxMessage]:
    """The send_waitlist_offer rows, by channel."""
    rows = select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_WAITLIST_OFFER)
    return {row.payload.get("channel", "email"): row for row in db.session.scalars(rows)}


def free_at(app, doctor, waiting, slot, when):
    """Someone's appointment at ``slot``, booked that morning, is cancelled at ``when`` while ``waiting``
    waits for ``doctor``; then the relay runs."""
    clock.freeze(when - timedelta(hours=12))
    booker = make_patient(name="Ann Booker", email="ann.booker@example.test")
    appointment = book(doctor, booker, start_at=slot)
    join(waiting, doctor, first=slot.astimezone(LONDON).date(), last=slot.astimezone(LONDON).date())
    clock.freeze(when)
    cancel(appointment, booker)
    relay(app)


def both(session) -> Patient:
    patient = make_patient(name="Ben Both", email="ben@example.test", phone="+447700900456")
    accounts.update_contact(session, patient, contact_by=ContactPreference.BOTH)
    session.commit()
    return patient


def test_a_night_offers_sms_is_due_when_the_quiet_hours_end(app, session, doctor):
    free_at(app, doctor, make_phone_patient(), london(2026, 6, 2, 11), london(2026, 6, 1, 23))
    assert offer_rows()["sms"].next_attempt_at == london(2026, 6, 2, 8)


def test_a_night_offers_email_goes_at_once(app, session, doctor):
    free_at(app, doctor, both(session), london(2026, 6, 2, 11), london(2026, 6, 1, 23))
    rows = offer_rows()
    assert rows["email"].next_attempt_at == london(2026, 6, 1, 23)
    assert rows["sms"].next_attempt_at == london(2026, 6, 2, 8)


def test_a_night_offers_hold_free_window_runs_from_the_end_of_the_quiet_hours(app, session, doctor):
    free_at(app, doctor, make_phone_patient(), london(2026, 6, 2, 11), london(2026, 6, 1, 23))
    [offer] = offers()
    assert offer.expires_at == london(2026, 6, 2, 8, 30)


def test_the_next_round_of_a_night_offer_waits_for_the_end_of_its_window(app, session, doctor):
    free_at(app, doctor, make_phone_patient(), london(2026, 6, 2, 11), london(2026, 6, 1, 23))
    [next_round] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.WAITLIST_NEXT_ROUND))
    assert next_round.next_attempt_at == london(2026, 6, 2, 8, 30)


def test_a_night_window_never_runs_past_the_slots_minimum_notice(app, session, doctor):
    # Tuesday 09:00 can be booked online until 07:00 (2 hours' notice): before the quiet hours end.
    free_at(app, doctor, make_patient(), london(2026, 6, 2, 9), london(2026, 6, 1, 23))
    [offer] = offers()
    assert offer.expires_at == london(2026, 6, 2, 7)


def test_a_patient_reached_only_by_sms_is_not_offered_a_slot_that_closes_before_the_quiet_hours_end(
        app, session, doctor):
    free_at(app, doctor, make_phone_patient(), london(2026, 6, 2, 9), london(2026, 6, 1, 23))
    assert offers() == []


def test_such_a_slot_goes_to_the_next_patient_who_can_be_told_in_time(app, session, doctor):
    join(make_phone_patient(), doctor, first=london(2026, 6, 2, 9).date(), last=london(2026, 6, 2, 9).date())
    by_email = make_patient(name="Eve Email", email="eve@example.test")
    free_at(app, doctor, by_email, london(2026, 6, 2, 9), london(2026, 6, 1, 23))
    assert [offer.entry.patient_id for offer in offers()] == [by_email.id]


def test_a_patient_who_chose_both_gets_only_the_email_when_no_sms_may_go_in_time_and_that_is_on_record(
        app, session, doctor):
    free_at(app, doctor, both(session), london(2026, 6, 2, 9), london(2026, 6, 1, 23))
    [offer] = offers()
    assert offer.channels == "email" and set(offer_rows()) == {"email"}
    skipped = session.scalar(select(AuditEntry).where(AuditEntry.action == "notification.skipped",
                                                      AuditEntry.entity_id == offer.id))
    assert skipped.details == {"channel": "sms", "kind": "waitlist_offer", "reason": "quiet_hours"}


def test_an_offer_made_by_day_texts_at_once_with_the_usual_window(app, session, doctor):
    free_at(app, doctor, make_phone_patient(), london(2026, 6, 2, 15), london(2026, 6, 2, 10))
    [offer] = offers()
    assert offer_rows()["sms"].next_attempt_at == london(2026, 6, 2, 10)
    assert offer.expires_at == london(2026, 6, 2, 10, 30)


def test_without_quiet_hours_a_night_offer_texts_at_once(app, session, doctor, monkeypatch):
    monkeypatch.setitem(app.config, "WAITLIST", replace(app.config["WAITLIST"], quiet_hours=None))
    free_at(app, doctor, make_phone_patient(), london(2026, 6, 2, 11), london(2026, 6, 1, 23))
    [offer] = offers()
    assert offer_rows()["sms"].next_attempt_at == london(2026, 6, 1, 23)
    assert offer.expires_at == london(2026, 6, 1, 23, 30)


def test_the_night_the_clocks_go_back_the_quiet_hours_still_end_at_eight_local(app, session):
    doctor = make_doctor(name="Dr Sunday", weekly=SUNDAYS)
    # Saturday 24 October 2026, 23:00 BST; the quiet hours end on Sunday at 08:00 GMT (08:00 UTC, not 07:00).
    free_at(app, doctor, make_phone_patient(), london(2026, 10, 25, 12), london(2026, 10, 24, 23))
    assert offer_rows()["sms"].next_attempt_at == datetime(2026, 10, 25, 8, tzinfo=UTC)


def test_the_night_the_clocks_go_forward_the_quiet_hours_still_end_at_eight_local(app, session):
    doctor = make_doctor(name="Dr Sunday", weekly=SUNDAYS)
    # Saturday 28 March 2026, 23:00 GMT; the quiet hours end on Sunday at 08:00 BST (07:00 UTC).
    free_at(app, doctor, make_phone_patient(), london(2026, 3, 29, 12), london(2026, 3, 28, 23))
    assert offer_rows()["sms"].next_attempt_at == datetime(2026, 3, 29, 7, tzinfo=UTC)
