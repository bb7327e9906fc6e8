"""Weekly hours: their rules, and a new pattern replacing the one that starts on the same date."""
from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from carebook.availability import RemoveWeeklyHours, SetWeeklyHours
from models import AuditEntry, WeeklyHours
from tests.carebook.availability.helpers import MONDAY, TUESDAY, problems, weekly


def test_a_range_must_end_after_it_starts(service, doctor):
    change = weekly(doctor, date(2026, 6, 8), {MONDAY: [(time(12), time(9))]})
    assert problems(service, change) == {"ranges.0.0": ["The end must be after the start."]}


def test_ranges_on_the_same_day_must_not_overlap(service, doctor):
    change = weekly(doctor, date(2026, 6, 8), {TUESDAY: [(time(9), time(12)), (time(11, 30), time(17))]})
    assert problems(service, change) == {"ranges.1.1": ["Overlaps 09:00–12:00 on Tuesday."]}


def test_touching_ranges_and_several_ranges_a_day_are_fine(service, doctor):
    service.validate(weekly(doctor, date(2026, 6, 8), {MONDAY: [(time(9), time(12)), (time(12), time(13)),
                                                                (time(13, 30), time(17))]}))


def test_weekly_hours_cannot_start_in_the_past(service, doctor):
    assert problems(service, weekly(doctor, date(2026, 5, 31))) == {
        "valid_from": ["That date is in the past. Changes can start today (Mon 1 Jun) or later."]}


def test_weekly_hours_may_start_today(service, doctor):
    service.validate(weekly(doctor, date(2026, 6, 1)))


def test_weekly_hours_too_far_ahead_are_refused(service, doctor):
    assert "valid_from" in problems(service, weekly(doctor, date(2030, 1, 1)))


def test_weekly_hours_need_at_least_one_range(service, doctor):
    assert problems(service, SetWeeklyHours(doctor.id, date(2026, 6, 8), {})) == {
        "ranges": ["Enter at least one range of hours. To stop working for a while, add time off instead."]}


def test_setting_hours_from_a_date_that_has_a_pattern_replaces_it(service, doctor, doctor_actor, session):
    service.apply(weekly(doctor, date(2026, 6, 8), {TUESDAY: [(time(13), time(17))]}), doctor_actor)
    service.apply(SetWeeklyHours(doctor.id, date(2026, 6, 8), {MONDAY: [(time(8), time(12))]}), doctor_actor)
    rows = session.scalars(select(WeeklyHours).where(WeeklyHours.valid_from == date(2026, 6, 8))).all()
    assert [(r.weekday, r.start_time, r.end_time) for r in rows] == [(MONDAY, time(8), time(12))]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "availability.weekly_hours_set")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry.details["previous_hours"]["Tuesday"] == ["13:00–17:00"]


@pytest.mark.parametrize("change, sentence", [
    (SetWeeklyHours(1, date(2026, 6, 8), {MONDAY: [(time(13), time(17)), (time(9), time(12))],
                                          2: [(time(10), time(12))], 4: []}),
     "weekly hours from Mon 8 Jun: Mon 09:00–12:00, 13:00–17:00; Wed 10:00–12:00"),
    (RemoveWeeklyHours(1, date(2026, 6, 8)), "the weekly hours planned from Mon 8 Jun removed"),
])
def test_weekly_hours_are_described_in_a_sentence_on_the_hours_page(change, sentence):
    assert (change.describe(), change.section) == (sentence, "hours")
