"""Invariants the database holds by itself, whatever code writes to it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from carebook.extensions import db
from models import Appointment, AppointmentStatus, User
from tests.factories import make_doctor, make_patient

START = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)


def raw_appointment(doctor, patient, start, minutes=30, status=AppointmentStatus.BOOKED):
    """Insert past the booking service, as a buggy script or a second app would."""
    db.session.execute(insert(Appointment).values(
        doctor_id=doctor.id, patient_id=patient.id, start_at=start, end_at=start + timedelta(minutes=minutes),
        status=status, reason="", needs_attention=False, cancellation_reason="",
        created_at=START, updated_at=START))


@pytest.fixture
def doctor(app):
    return make_doctor()


def test_database_refuses_overlapping_bookings_of_one_doctor(doctor):
    raw_appointment(doctor, make_patient(), START, minutes=30)
    with pytest.raises(IntegrityError, match="ex_appointments_doctor_overlap"):
        raw_appointment(doctor, make_patient(), START + timedelta(minutes=20), minutes=60)


def test_database_refuses_overlapping_bookings_of_one_patient(doctor):
    patient = make_patient()
    raw_appointment(doctor, patient, START, minutes=30)
    with pytest.raises(IntegrityError, match="ex_appointments_patient_overlap"):
        raw_appointment(make_doctor(), patient, START + timedelta(minutes=29), minutes=10)


def test_back_to_back_appointments_do_not_overlap(doctor):
    raw_appointment(doctor, make_patient(), START, minutes=30)
    raw_appointment(doctor, make_patient(), START + timedelta(minutes=30), minutes=30)


def test_cancelled_appointments_do_not_block_the_time(doctor):
    raw_appointment(doctor, make_patient(), START, status=AppointmentStatus.CANCELLED)
    raw_appointment(doctor, make_patient(), START)


def test_moving_a_booking_onto_another_is_refused(doctor):
    raw_appointment(doctor, make_patient(), START)
    raw_appointment(doctor, make_patient(), START + timedelta(hours=1))
    with pytest.raises(IntegrityError, match="ex_appointments_doctor_overlap"):
        db.session.execute(Appointment.__table__.update()
                           .where(Appointment.start_at == START + timedelta(hours=1))
                           .values(start_at=START + timedelta(minutes=15), end_at=START + timedelta(minutes=45)))


def test_appointment_must_end_after_it_starts(doctor):
    with pytest.raises(IntegrityError):
        raw_appointment(doctor, make_patient(), START, minutes=0)


def test_email_must_be_stored_lowercase(app):
    with pytest.raises(IntegrityError):
        db.session.execute(insert(User).values(email="Upper@Example.test", full_name="X", role="staff",
                                               is_active=True, created_at=START))


def test_naive_datetimes_are_refused_before_reaching_the_database(doctor):
    with pytest.raises(Exception, match="naive datetime"):
        raw_appointment(doctor, make_patient(), START.replace(tzinfo=None))


def test_instants_come_back_as_aware_utc(doctor):
    raw_appointment(doctor, make_patient(), START.astimezone(timezone(timedelta(hours=2))))
    start_at = db.session.scalar(db.select(Appointment.start_at))
    assert start_at == START and start_at.tzinfo == timezone.utc


def test_database_refuses_a_booking_inside_another_ones_buffer(doctor):
    # The doctor's range runs to buffer_end_at: 09:00-09:30 plus a 10-minute buffer.
    db.session.execute(insert(Appointment).values(
        doctor_id=doctor.id, patient_id=make_patient().id, start_at=START, end_at=START + timedelta(minutes=30),
        buffer_end_at=START + timedelta(minutes=40), status=AppointmentStatus.BOOKED, reason="",
        needs_attention=False, cancellation_reason="", created_at=START, updated_at=START))
    with pytest.raises(IntegrityError, match="ex_appointments_doctor_overlap"):
        raw_appointment(doctor, make_patient(), START + timedelta(minutes=35), minutes=30)


def test_a_patients_own_range_ends_with_the_appointment_not_the_buffer(doctor):
    patient = make_patient()
    db.session.execute(insert(Appointment).values(
        doctor_id=doctor.id, patient_id=patient.id, start_at=START, end_at=START + timedelta(minutes=30),
        buffer_end_at=START + timedelta(minutes=40), status=AppointmentStatus.BOOKED, reason="",
        needs_attention=False, cancellation_reason="", created_at=START, updated_at=START))
    raw_appointment(make_doctor(), patient, START + timedelta(minutes=30), minutes=30)


def test_an_appointment_written_without_a_type_gets_its_doctors_default_type(doctor):
    raw_appointment(doctor, make_patient(), START)
    appointment = db.session.scalar(select(Appointment))
    assert appointment.appointment_type_id == doctor.default_appointment_type_id
    assert appointment.buffer_end_at == appointment.end_at
