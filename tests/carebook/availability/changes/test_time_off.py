"""Time off: its rules, and wall-clock days and times read as the slot engine reads them (DST too)."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from carebook.availability import AddTimeOff, RemoveTimeOff, local_instant
from carebook.extensions import db
from models import AuditEntry, TimeOff
from tests.carebook.availability.helpers import LONDON, UTC, at, problems
from tests.factories import make_doctor


def test_time_off_cannot_end_before_its_first_day(service, doctor):
    assert problems(service, AddTimeOff(doctor.id, date(2026, 6, 10), date(2026, 6, 9))) == {
        "end_date": ["The last day cannot be before the first day."]}


def test_part_of_a_day_off_must_end_after_it_starts(service, doctor):
    change = AddTimeOff(doctor.id, date(2026, 6, 10), date(2026, 6, 10), time(14), time(13))
    assert problems(service, change) == {"end_time": ["Time off must end after it starts."]}


def test_time_off_cannot_start_in_the_past(service, doctor):
    assert list(problems(service, AddTimeOff(doctor.id, date(2026, 5, 1), date(2026, 6, 3)))) == ["start_date"]


def test_time_off_is_at_most_a_year_at_a_time(service, doctor):
    assert list(problems(service, AddTimeOff(doctor.id, date(2026, 6, 10), date(2027, 8, 1)))) == ["end_date"]


def test_past_time_off_cannot_be_removed(service, doctor):
    row = TimeOff(doctor_id=doctor.id, start_at=datetime(2026, 5, 1, tzinfo=UTC), end_at=datetime(2026, 5, 2, tzinfo=UTC))
    db.session.add(row)
    db.session.flush()
    assert problems(service, RemoveTimeOff(doctor.id, row.id)) == {
        "time_off": ["Past time off stays on record and cannot be removed."]}


def test_another_doctors_time_off_cannot_be_removed(service, doctor):
    other = make_doctor(name="Dr Other")
    row = TimeOff(doctor_id=other.id, start_at=at(date(2026, 6, 5), 9), end_at=at(date(2026, 6, 5), 12))
    db.session.add(row)
    db.session.flush()
    assert list(problems(service, RemoveTimeOff(doctor.id, row.id))) == ["time_off"]


def test_whole_days_off_across_the_spring_change_end_at_local_midnight():
    # 28-30 March 2026: the clocks go forward on Sunday 29th, so the last midnight is in BST.
    start, end = AddTimeOff(1, date(2026, 3, 28), date(2026, 3, 30)).interval(LONDON)
    assert start == datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 30, 23, 0, tzinfo=UTC)


def test_a_time_skipped_by_the_spring_change_means_the_change_itself():
    assert local_instant(date(2026, 3, 29), time(1, 30), LONDON) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_a_repeated_autumn_time_means_its_first_pass():
    assert local_instant(date(2026, 10, 25), time(1, 30), LONDON) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_time_off_is_stored_in_utc_and_its_note_stays_out_of_the_audit_log(service, doctor, doctor_actor, session):
    change = AddTimeOff(doctor.id, date(2026, 6, 2), date(2026, 6, 2), time(12), time(14), note="dentist")
    service.apply(change, doctor_actor)
    row = session.scalar(select(TimeOff))
    assert (row.start_at, row.end_at) == (datetime(2026, 6, 2, 11, tzinfo=UTC), datetime(2026, 6, 2, 13, tzinfo=UTC))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "availability.time_off_added"))
    assert "dentist" not in str(entry.details) and entry.details["time_off_id"] == row.id
    service.apply(RemoveTimeOff(doctor.id, row.id), doctor_actor)
    assert session.scalar(select(func.count()).select_from(TimeOff)) == 0


@pytest.mark.parametrize("change, sentence", [
    (AddTimeOff(1, date(2026, 6, 8), date(2026, 6, 8)), "time off on Mon 8 Jun"),
    (AddTimeOff(1, date(2026, 6, 8), date(2026, 6, 8), time(12), time(14)),
     "time off on Mon 8 Jun from 12:00 until 14:00"),
    (AddTimeOff(1, date(2026, 6, 8), date(2026, 6, 8), time(12)),
     "time off on Mon 8 Jun from 12:00 until the end of the day"),
    (AddTimeOff(1, date(2026, 6, 8), date(2026, 6, 8), None, time(9)), "time off on Mon 8 Jun from 00:00 until 09:00"),
    (AddTimeOff(1, date(2026, 6, 8), date(2026, 6, 10)), "time off from Mon 8 Jun until Wed 10 Jun (whole day)"),
    (AddTimeOff(1, date(2026, 6, 8), date(2026, 6, 10), time(12), time(14)),
     "time off from Mon 8 Jun 12:00 until Wed 10 Jun 14:00"),
    (RemoveTimeOff(1, 3), "time off removed"),
])
def test_time_off_is_described_in_a_sentence_on_its_page(change, sentence):
    assert (change.describe(), change.section) == (sentence, "time_off")
