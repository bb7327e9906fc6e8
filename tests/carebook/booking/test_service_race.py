"""Many clients racing for one slot: exactly one wins, the rest get clean conflicts.

These run on PostgreSQL, where requests really run in parallel; the service's row
lock and the exclusion constraints are what is being tested.
"""
from __future__ import annotations

import contextlib
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from carebook import audit
from carebook.booking import BookingError
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, Doctor, Patient
from tests.factories import make_doctor, make_patient

pytestmark = pytest.mark.postgres_only

RACERS = 20
SLOT = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # Tue 10:00 London


def race(app, attempts, *, app_context: bool = True):
    """Run each ``attempt()`` in its own thread (and app context), all released at once."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(attempt):
        # HTTP attempts make their own request context; an outer app context would be shared.
        with app.app_context() if app_context else contextlib.nullcontext():
            barrier.wait()
            try:
                outcome = attempt()
            except Exception as error:  # the test counts anything unexpected
                outcome = getattr(error, "code", repr(error))
            finally:
                if app_context:
                    db.session.remove()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return Counter(outcomes)


def book_attempt(doctor_id: int, patient_id: int, start_at: datetime, *, staff: bool = False):
    def attempt():
        doctor = db.session.get(Doctor, doctor_id)
        patient = db.session.get(Patient, patient_id)
        try:
            booking_service().book(audit.Actor(None, "admin" if staff else "api"), doctor=doctor, patient=patient,
                                   start_at=start_at, allow_outside_hours=staff, override_note="race")
        except BookingError:
            db.session.rollback()
            raise
        db.session.commit()
        return "booked"
    return attempt


def booked_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment)
                             .where(Appointment.status == AppointmentStatus.BOOKED))


def test_twenty_patients_racing_for_one_slot_yield_one_booking(app):
    doctor = make_doctor()
    patients = [make_patient() for _ in range(RACERS)]
    db.session.commit()
    outcomes = race(app, [book_attempt(doctor.id, p.id, SLOT) for p in patients])
    assert outcomes == Counter({"booked": 1, "slot_taken": RACERS - 1})
    assert booked_count() == 1


def test_one_patient_racing_for_overlapping_slots_of_different_lengths_gets_one(app):
    doctors = [make_doctor(minutes=minutes) for minutes in (15, 20, 30, 60)] * 5
    patient = make_patient()
    db.session.commit()
    # 10:00 London with 15, 20, 30 and 60-minute doctors: every pair overlaps.
    outcomes = race(app, [book_attempt(d.id, patient.id, SLOT) for d in doctors])
    assert outcomes["booked"] == 1
    assert set(outcomes) == {"booked", "patient_conflict", "slot_taken"} or set(outcomes) == {"booked", "patient_conflict"}
    assert booked_count() == 1


def test_overlapping_off_grid_bookings_of_one_doctor_race_to_one(app):
    # Staff bookings outside the grid rely on the exclusion constraint alone.
    doctor = make_doctor(minutes=30)
    patients = [make_patient() for _ in range(RACERS)]
    db.session.commit()
    starts = [SLOT + timedelta(minutes=7 * n % 25) for n in range(RACERS)]
    outcomes = race(app, [book_attempt(doctor.id, p.id, s, staff=True) for p, s in zip(patients, starts)])
    assert outcomes == Counter({"booked": 1, "slot_taken": RACERS - 1})
    assert booked_count() == 1


def test_racing_through_the_portal_gives_one_booking_and_clean_conflicts(app):
    doctor = make_doctor()
    patients = [make_patient() for _ in range(RACERS)]
    db.session.commit()
    clients = []
    for patient in patients:
        client = app.test_client()
        client.login(patient.user.email)
        clients.append((client, client.csrf_token()))

    url = f"/doctors/{doctor.id}/book"

    def attempt_for(client, token):
        def attempt():
            response = client.post(url,
                                   data={"csrf_token": token, "start_at": SLOT.isoformat()})
            return response.status_code
        return attempt

    outcomes = race(app, [attempt_for(c, t) for c, t in clients], app_context=False)
    assert outcomes == Counter({302: 1, 409: RACERS - 1})
    assert booked_count() == 1
