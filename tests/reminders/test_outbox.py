"""The booking listener writes outbox rows in the booking transaction, and nothing else."""
from __future__ import annotations

from sqlalchemy import select

from carebook.booking.signals import appointment_changed
from carebook.extensions import db
from models import OutboxKind, OutboxMessage, OutboxStatus
from reminders.outbox import record_booking_event
from tests.reminders.helpers import TUESDAY_10, WEDNESDAY_15, book, cancel, reschedule


def kinds(session):
    return [row.kind for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_booking_writes_schedule_and_confirmation_rows(session, doctor, patient):
    book(doctor, patient)
    assert kinds(session) == [OutboxKind.SCHEDULE_REMINDER, OutboxKind.SEND_CONFIRMATION]


def test_outbox_rows_start_pending_and_due_now(session, doctor, patient, frozen_now):
    book(doctor, patient)
    rows = session.scalars(select(OutboxMessage)).all()
    assert {(row.status, row.attempts, row.next_attempt_at) for row in rows} == {(OutboxStatus.PENDING, 0, frozen_now)}


def test_rolled_back_booking_leaves_no_outbox_rows(session, doctor, patient):
    from carebook import audit
    from carebook.services import booking_service

    booking_service().book(audit.Actor(None, "system"), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    db.session.rollback()
    assert kinds(session) == []


def test_reschedule_writes_move_and_updated_confirmation_rows(session, doctor, patient):
    appointment = book(doctor, patient)
    reschedule(appointment, WEDNESDAY_15)
    assert kinds(session)[2:] == [OutboxKind.MOVE_REMINDER, OutboxKind.SEND_UPDATED_CONFIRMATION]


def test_cancel_writes_delete_and_cancellation_rows(session, doctor, patient):
    appointment = book(doctor, patient)
    cancel(appointment)
    assert kinds(session)[2:] == [OutboxKind.DELETE_REMINDER, OutboxKind.SEND_CANCELLATION]


def test_email_snapshot_has_no_reason_for_visit(session, doctor, patient):
    book(doctor, patient)  # the helper books with reason "Persistent cough"
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_CONFIRMATION))
    assert row.payload["email"] == "pat@example.test"
    assert "cough" not in str(row.payload).lower()


def test_listener_is_registered_once_however_many_apps_are_created(app, database_url, tmp_path):
    from carebook.app import create_app

    create_app(env={"DATABASE_URL": database_url, "CAREBOOK_INSTANCE_PATH": str(tmp_path / "second")})
    create_app(env={"DATABASE_URL": database_url, "CAREBOOK_INSTANCE_PATH": str(tmp_path / "third")})
    assert list(appointment_changed.receivers_for(db.session)).count(record_booking_event) == 1
