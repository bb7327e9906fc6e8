"""One-off changes: their rules, extra hours joined with the usual ones, and closed days."""
from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from carebook.availability import RemoveOneOff, SetOneOff
from carebook.services import booking_service
from models import AuditEntry, DateOverride
from tests.carebook.availability.helpers import problems


def test_a_one_off_change_cannot_be_in_the_past(service, doctor):
    assert list(problems(service, SetOneOff(doctor.id, date(2026, 5, 29)))) == ["on_date"]


def test_extra_hours_need_hours(service, doctor):
    assert problems(service, SetOneOff(doctor.id, date(2026, 6, 6), (), adds_to_usual=True)) == {
        "ranges": ["Enter the extra hours."]}


def test_removing_a_one_off_change_that_does_not_exist_says_so(service, doctor):
    assert problems(service, RemoveOneOff(doctor.id, date(2026, 6, 6))) == {
        "on_date": ["There is no one-off change on that date."]}


def test_extra_hours_are_stored_together_with_the_usual_ones(service, doctor, doctor_actor, session):
    service.apply(SetOneOff(doctor.id, date(2026, 6, 4), ((time(17), time(19)),), adds_to_usual=True), doctor_actor)
    rows = session.scalars(select(DateOverride).where(DateOverride.on_date == date(2026, 6, 4))).all()
    assert [(r.start_time, r.end_time) for r in rows] == [(time(9), time(19))]


def test_a_closed_day_is_one_row_without_times_and_removing_it_restores_the_hours(service, doctor, doctor_actor,
                                                                                   session):
    service.apply(SetOneOff(doctor.id, date(2026, 6, 4)), doctor_actor)
    rows = session.scalars(select(DateOverride)).all()
    assert [(r.on_date, r.start_time, r.end_time) for r in rows] == [(date(2026, 6, 4), None, None)]
    assert booking_service().free_slots(doctor, date(2026, 6, 4), date(2026, 6, 4)) == []
    service.apply(RemoveOneOff(doctor.id, date(2026, 6, 4)), doctor_actor)
    assert len(booking_service().free_slots(doctor, date(2026, 6, 4), date(2026, 6, 4))) == 16
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("availability.%"))).all()
    assert actions == ["availability.one_off_set", "availability.one_off_removed"]


@pytest.mark.parametrize("change, sentence", [
    (SetOneOff(1, date(2026, 6, 8), ((time(10), time(12)),)), "Mon 8 Jun: only 10:00–12:00"),
    (SetOneOff(1, date(2026, 6, 8)), "Mon 8 Jun: closed all day"),
    (SetOneOff(1, date(2026, 6, 8), ((time(17), time(19)),), adds_to_usual=True),
     "extra hours on Mon 8 Jun: 17:00–19:00"),
    (RemoveOneOff(1, date(2026, 6, 8)), "the one-off change on Mon 8 Jun removed (usual hours apply)"),
])
def test_one_off_changes_are_described_in_a_sentence_on_their_page(change, sentence):
    assert (change.describe(), change.section) == (sentence, "one_offs")
