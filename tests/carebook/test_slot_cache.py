"""Kept slot lists: reused only while the doctor's calendar is unchanged, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import delete, text, update

from carebook import audit, clock
from carebook.extensions import db
from carebook.slot_cache import SlotCache
from carebook.slots import Slot
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, DateOverride, Doctor, TimeOff, WeeklyHours
from tests.factories import add_time_off, make_doctor, make_patient

UTC = timezone.utc
TUESDAY = date(2026, 6, 2)
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # 10:00 in London


@pytest.fixture
def doctor(app):
    doctor = make_doctor(minutes=30)
    db.session.commit()
    return doctor


def tuesday_starts(doctor_id: int) -> list[datetime]:
    """Tuesday's free starts as a fresh request would see them (a new service, the app's cache)."""
    db.session.rollback()
    return [slot.start_at for slot in booking_service().doctor_free_slots(doctor_id, TUESDAY, TUESDAY)]


def cache():
    from flask import current_app

    return current_app.extensions["slot_cache"]


def test_an_unchanged_calendar_is_answered_from_the_kept_list(doctor):
    first = tuesday_starts(doctor.id)
    hits = cache().hits
    assert tuesday_starts(doctor.id) == first
    assert cache().hits == hits + 1


def test_a_booking_shows_in_the_next_list(doctor):
    assert TUESDAY_10 in tuesday_starts(doctor.id)
    patient = make_patient()
    booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    db.session.commit()
    assert TUESDAY_10 not in tuesday_starts(doctor.id)


def test_a_cancellation_shows_in_the_next_list(doctor):
    patient = make_patient()
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10 + timedelta(days=7))
    db.session.commit()
    next_tuesday = TUESDAY + timedelta(days=7)
    service = booking_service()
    assert TUESDAY_10 + timedelta(days=7) not in [s.start_at for s in service.doctor_free_slots(
        doctor.id, next_tuesday, next_tuesday)]
    service.cancel(audit.Actor(patient.user, "portal"), appointment)
    db.session.commit()
    assert TUESDAY_10 + timedelta(days=7) in [s.start_at for s in booking_service().doctor_free_slots(
        doctor.id, next_tuesday, next_tuesday)]


# Each write goes straight to the table, past every service: the database moves the version on.
CALENDAR_WRITES = {
    "time off added": lambda doctor_id: db.session.add(TimeOff(
        doctor_id=doctor_id, start_at=TUESDAY_10, end_at=TUESDAY_10 + timedelta(hours=1), reason="Away")),
    "day closed by a one-off change": lambda doctor_id: db.session.add(DateOverride(
        doctor_id=doctor_id, on_date=TUESDAY, start_time=None, end_time=None)),
    "weekly hours changed": lambda doctor_id: db.session.execute(
        update(WeeklyHours).where(WeeklyHours.doctor_id == doctor_id).values(start_time=time(11))),
    "weekly hours removed": lambda doctor_id: db.session.execute(
        delete(WeeklyHours).where(WeeklyHours.doctor_id == doctor_id)),
    "appointment length changed": lambda doctor_id: db.session.execute(
        update(Doctor).where(Doctor.id == doctor_id).values(appointment_minutes=45)),
}


@pytest.mark.parametrize("write", CALENDAR_WRITES.values(), ids=CALENDAR_WRITES.keys())
def test_any_change_to_the_calendar_shows_in_the_next_list(doctor, write):
    before = tuesday_starts(doctor.id)
    assert TUESDAY_10 in before
    write(doctor.id)
    db.session.commit()
    assert tuesday_starts(doctor.id) != before
    assert TUESDAY_10 not in tuesday_starts(doctor.id)


def test_a_removed_time_off_shows_in_the_next_list(doctor):
    add_time_off(doctor, TUESDAY_10, TUESDAY_10 + timedelta(hours=1))
    db.session.commit()
    assert TUESDAY_10 not in tuesday_starts(doctor.id)
    db.session.execute(delete(TimeOff).where(TimeOff.doctor_id == doctor.id))
    db.session.commit()
    assert TUESDAY_10 in tuesday_starts(doctor.id)


def test_a_deactivated_doctor_has_no_list_even_when_one_was_kept(doctor):
    tuesday_starts(doctor.id)
    db.session.execute(update(Doctor).where(Doctor.id == doctor.id).values(is_active=False))
    db.session.commit()
    assert booking_service().doctor_free_slots(doctor.id, TUESDAY, TUESDAY) is None


def test_a_kept_list_loses_the_slots_that_come_inside_the_notice_as_time_passes(doctor, frozen_now):
    assert TUESDAY_10 in tuesday_starts(doctor.id)
    # Minimum notice is two hours: at 07:30 UTC, 09:00 UTC is no longer bookable.
    clock.freeze(datetime(2026, 6, 2, 7, 30, tzinfo=UTC))
    starts = tuesday_starts(doctor.id)
    assert TUESDAY_10 not in starts and starts[0] == TUESDAY_10 + timedelta(minutes=30)


def test_every_other_doctor_keeps_their_list_when_one_doctors_calendar_changes(doctor):
    other = make_doctor(minutes=30)
    db.session.commit()
    tuesday_starts(other.id)
    add_time_off(doctor, TUESDAY_10, TUESDAY_10 + timedelta(hours=1))
    db.session.commit()
    hits = cache().hits
    tuesday_starts(other.id)
    assert cache().hits == hits + 1


@pytest.mark.postgres_only
def test_the_version_moves_once_per_doctor_for_a_bulk_insert(doctor):
    patients = [make_patient() for _ in range(3)]
    db.session.commit()
    drawn = db.session.scalar(text("SELECT last_value FROM calendar_versions"))
    db.session.execute(Appointment.__table__.insert().values([
        {"doctor_id": doctor.id, "patient_id": patient.id, "start_at": TUESDAY_10 + timedelta(hours=n),
         "end_at": TUESDAY_10 + timedelta(hours=n, minutes=30), "status": AppointmentStatus.BOOKED}
        for n, patient in enumerate(patients)]))  # one INSERT statement of three rows
    db.session.commit()
    assert db.session.scalar(text("SELECT last_value FROM calendar_versions")) == drawn + 1
    assert version_of(doctor.id) == drawn + 1


def version_of(doctor_id: int) -> int:
    return db.session.scalar(text("SELECT calendar_version FROM doctors WHERE id = :id"), {"id": doctor_id})


def test_a_rolled_back_change_never_gives_its_version_to_a_later_one(doctor):
    before = version_of(doctor.id)
    add_time_off(doctor, TUESDAY_10, TUESDAY_10 + timedelta(hours=1))
    rolled_back = version_of(doctor.id)
    # A list computed inside the transaction (from time off that will never exist) is kept...
    assert TUESDAY_10 not in [s.start_at for s in booking_service().doctor_free_slots(doctor.id, TUESDAY, TUESDAY)]
    db.session.rollback()
    assert version_of(doctor.id) == before
    # ...and a different change committed later gets a new number, so that list is never served.
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=TUESDAY, start_time=time(9), end_time=time(12)))
    db.session.commit()
    assert version_of(doctor.id) not in (before, rolled_back)
    assert TUESDAY_10 in tuesday_starts(doctor.id)


# -- the doctor list's first free slot -------------------------------------------------------------


def first_free(doctor_id: int) -> datetime | None:
    """The doctor's first free slot as a fresh request for the doctor list would see it."""
    db.session.rollback()
    service = booking_service()
    first_day, last_day = service.bookable_days()
    found = service.next_free_slots([db.session.get(Doctor, doctor_id)], first_day, last_day)[doctor_id]
    return found.start_at if found else None


def test_the_doctor_list_keeps_each_first_free_slot_while_the_calendar_is_unchanged(doctor):
    first = first_free(doctor.id)
    hits = cache().hits
    assert first_free(doctor.id) == first == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # 10:00, two hours ahead
    assert cache().hits == hits + 1


def test_booking_the_first_free_slot_moves_the_doctor_lists_answer_on(doctor):
    first = first_free(doctor.id)
    patient = make_patient()
    booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient, start_at=first)
    db.session.commit()
    assert first_free(doctor.id) == first + timedelta(minutes=30)


def test_a_kept_first_free_slot_that_comes_inside_the_notice_is_found_again(doctor):
    first = first_free(doctor.id)
    clock.freeze(first - timedelta(minutes=90))  # the notice is two hours
    assert first_free(doctor.id) == first + timedelta(minutes=30)


# -- the cache itself ------------------------------------------------------------------------------


def some_slots() -> list[Slot]:
    return [Slot(TUESDAY_10, TUESDAY_10 + timedelta(minutes=30))]


def test_an_entry_older_than_the_max_age_is_gone():
    now = [100.0]
    kept = SlotCache(max_age=60, clock=lambda: now[0])
    kept.put(("free", 1, TUESDAY, TUESDAY), (3, 30, 0), some_slots())
    now[0] += 59
    assert kept.get(("free", 1, TUESDAY, TUESDAY)).stamp == (3, 30, 0)
    now[0] += 2
    assert kept.get(("free", 1, TUESDAY, TUESDAY)) is None


def test_the_least_recently_used_entry_goes_first_when_full():
    kept = SlotCache(max_entries=2)
    kept.put(("free", 1, TUESDAY, TUESDAY), (0, 30, 0), some_slots())
    kept.put(("free", 2, TUESDAY, TUESDAY), (0, 30, 0), some_slots())
    kept.get(("free", 1, TUESDAY, TUESDAY))
    kept.put(("free", 3, TUESDAY, TUESDAY), (0, 30, 0), some_slots())
    assert kept.get(("free", 2, TUESDAY, TUESDAY)) is None
    assert kept.get(("free", 1, TUESDAY, TUESDAY)) is not None and len(kept) == 2
