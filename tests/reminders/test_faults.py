"""Faults at AWS never fail or undo a booking; the relay retries until the reminder exists."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carebook import clock
from carebook.extensions import db
from models import Appointment, AppointmentStatus, OutboxKind, OutboxMessage, OutboxStatus
from reminders.relay import relay_once
from tests.reminders.helpers import TUESDAY_10, book_over_api, scheduler_outage


def reminder_row(session):
    session.expire_all()
    return session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SCHEDULE_REMINDER))


def book_during_outage(aws_app, client, session, doctor, patient):
    session.commit()
    client.login(patient.user.email)
    with scheduler_outage(aws_app):
        response = book_over_api(client, doctor.id, TUESDAY_10)
        relay_once(aws_app)
    return response


def test_booking_succeeds_while_the_scheduler_is_unreachable(aws_app, client, session, doctor, patient):
    response = book_during_outage(aws_app, client, session, doctor, patient)
    session.expire_all()
    assert response.status_code == 201
    assert session.scalar(select(Appointment)).status is AppointmentStatus.BOOKED


def test_the_reminder_row_stays_pending_during_the_outage(aws_app, client, session, doctor, patient, frozen_now):
    book_during_outage(aws_app, client, session, doctor, patient)
    row = reminder_row(session)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, 1, "EndpointConnectionError")
    assert row.next_attempt_at > frozen_now


def test_the_confirmation_is_not_held_up_by_the_scheduler_outage(aws_app, client, session, doctor, patient):
    book_during_outage(aws_app, client, session, doctor, patient)
    session.expire_all()
    confirmation = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_CONFIRMATION))
    assert confirmation.status is OutboxStatus.DONE


def test_the_next_relay_run_after_the_outage_schedules_the_reminder(aws_app, stack, client, session, doctor,
                                                                     patient, frozen_now):
    book_during_outage(aws_app, client, session, doctor, patient)
    clock.freeze(frozen_now + timedelta(minutes=1))
    relay_once(aws_app)
    appointment_id = session.scalar(select(Appointment.id))
    assert stack.get_schedule(f"appt-{appointment_id}-reminder")["ScheduleExpression"] == "at(2026-06-01T09:00:00)"
    assert reminder_row(session).status is OutboxStatus.DONE


def test_a_long_outage_falls_back_to_the_short_lead(aws_app, stack, client, session, doctor, patient):
    book_during_outage(aws_app, client, session, doctor, patient)
    clock.freeze(TUESDAY_10 - timedelta(hours=20))  # the 24-hour reminder time has passed
    relay_once(aws_app)
    appointment_id = session.scalar(select(Appointment.id))
    assert stack.get_schedule(f"appt-{appointment_id}-reminder")["ScheduleExpression"] == "at(2026-06-02T07:00:00)"


def test_after_too_many_attempts_the_row_is_dead(aws_app, session, doctor, patient, monkeypatch):
    from tests.reminders.helpers import book

    monkeypatch.setattr("reminders.relay.MAX_ATTEMPTS", 2)
    book(doctor, patient)
    with scheduler_outage(aws_app):
        relay_once(aws_app)
        clock.freeze(clock.utcnow() + timedelta(hours=2))
        relay_once(aws_app)
    row = reminder_row(session)
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 2)
    db.session.rollback()
