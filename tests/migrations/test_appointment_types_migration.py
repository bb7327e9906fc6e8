"""Migration 0011 on a database filled by the old schema: every doctor gets a type, every appointment points at it."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import Boolean, Date, Integer, String, column, insert, select, table, text
from sqlalchemy.exc import IntegrityError

from carebook.extensions import db
from models import Appointment
from models.types import UTCDateTime

T = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)
users = table("users", column("id", Integer), column("email", String), column("full_name", String),
              column("role", String), column("is_active", Boolean), column("created_at", UTCDateTime))
doctors = table("doctors", column("id", Integer), column("user_id", Integer), column("specialty", String),
                column("appointment_minutes", Integer), column("buffer_minutes", Integer),
                column("is_active", Boolean))
patients = table("patients", column("id", Integer), column("user_id", Integer), column("date_of_birth", Date),
                 column("phone", String))
appointments = table("appointments", column("id", Integer), column("doctor_id", Integer),
                     column("patient_id", Integer), column("start_at", UTCDateTime), column("end_at", UTCDateTime),
                     column("status", String), column("reason", String), column("needs_attention", Boolean),
                     column("cancellation_reason", String), column("created_at", UTCDateTime),
                     column("updated_at", UTCDateTime))


def at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


def _old_rows(connection) -> None:
    for user_id, role in ((1, "doctor"), (2, "doctor"), (3, "patient"), (4, "patient")):
        connection.execute(insert(users).values(id=user_id, email=f"u{user_id}@old.test", full_name=f"User {user_id}",
                                                role=role, is_active=True, created_at=T))
    connection.execute(insert(doctors).values(id=1, user_id=1, specialty="GP", appointment_minutes=30,
                                              buffer_minutes=10, is_active=True))
    connection.execute(insert(doctors).values(id=2, user_id=2, specialty="Skin", appointment_minutes=15,
                                              buffer_minutes=0, is_active=True))
    for patient_id in (1, 2):
        connection.execute(insert(patients).values(id=patient_id, user_id=patient_id + 2,
                                                   date_of_birth=date(1990, 1, 1), phone="0"))
    rows = [  # (id, doctor, patient, start, end, status)
        (1, 1, 1, at(0), at(30), "booked"),
        (2, 1, 2, at(30), at(60), "booked"),  # booked back to back, before a buffer was set
        (3, 1, 1, at(120), at(150), "cancelled"),
        (4, 2, 2, at(-1440), at(-1425), "completed"),
    ]
    for appointment_id, doctor_id, patient_id, start, end, status in rows:
        connection.execute(insert(appointments).values(
            id=appointment_id, doctor_id=doctor_id, patient_id=patient_id, start_at=start, end_at=end,
            status=status, reason="", needs_attention=False, cancellation_reason="", created_at=T, updated_at=T))


@pytest.fixture
def migrated(app):
    downgrade(revision="base")
    upgrade(revision="0006")
    with db.engine.begin() as connection:
        _old_rows(connection)
    upgrade()
    return db.engine  # at head again; the rows are emptied after the test like any other test's


def test_each_doctor_gets_one_type_from_their_length_and_buffer(migrated):
    with migrated.connect() as connection:
        found = connection.execute(text(
            "SELECT d.id, t.name, t.duration_minutes, t.buffer_minutes, t.bookable_online, t.audience, t.is_active, "
            "o.duration_minutes, o.doctor_may_change_duration FROM doctors d "
            "JOIN appointment_types t ON t.id = d.default_appointment_type_id "
            "JOIN doctor_appointment_types o ON o.doctor_id = d.id AND o.appointment_type_id = t.id "
            "ORDER BY d.id")).all()
        count = connection.scalar(text("SELECT count(*) FROM appointment_types"))
    assert [tuple(row) for row in found] == [
        (1, "Appointment (30 min)", 30, 10, True, "anyone", True, None, True),
        (2, "Appointment (15 min)", 15, 0, True, "anyone", True, None, True),
    ]
    assert count == 2


def test_every_appointment_points_at_its_doctors_type_and_keeps_its_buffer(migrated):
    with migrated.connect() as connection:
        rows = connection.execute(select(
            column("id", Integer), column("appointment_type_id", Integer), column("buffer_end_at", UTCDateTime),
        ).select_from(table("appointments")).order_by(column("id"))).all()
        types = dict(connection.execute(text("SELECT id, default_appointment_type_id FROM doctors")).all())
    assert [(row.id, row.appointment_type_id) for row in rows] == [
        (1, types[1]), (2, types[1]), (3, types[1]), (4, types[2])]
    assert [row.buffer_end_at for row in rows] == [
        at(30),  # the buffer is cut short where the next booking already starts
        at(70), at(160), at(-1425)]


def test_the_migrated_doctor_guard_refuses_a_booking_inside_a_buffer(migrated):
    with pytest.raises(IntegrityError, match="ex_appointments_doctor_overlap"):
        with migrated.begin() as connection:
            # Through the model's table: its column defaults name the doctor's type, as the app's writes do.
            connection.execute(insert(Appointment).values(
                id=5, doctor_id=1, patient_id=1, start_at=at(65), end_at=at(95), status="booked", reason="",
                needs_attention=False, cancellation_reason="", created_at=T, updated_at=T))


def test_calendar_versions_still_move_after_the_migration(migrated):
    with migrated.begin() as connection:
        before = connection.scalar(text("SELECT calendar_version FROM doctors WHERE id = 2"))
        connection.execute(text("UPDATE appointments SET reason = 'moved' WHERE id = 4"))
        after = connection.scalar(text("SELECT calendar_version FROM doctors WHERE id = 2"))
    assert after != before


def test_downgrade_to_the_old_schema_keeps_the_appointments(migrated):
    downgrade(revision="0006")
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM appointments")) == 4
        assert "appointment_types" not in db.inspect(connection).get_table_names()
    upgrade()
