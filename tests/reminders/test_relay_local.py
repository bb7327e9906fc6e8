"""The relay on the embedded backend: local reminders, emails to the mail folder, retries."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from carebook import clock
from messaging.mailers import FolderMailer
from models import LocalReminder, OutboxKind, OutboxMessage, OutboxStatus
from reminders.relay import relay_once
from reminders.state import get_state
from tests.reminders.helpers import TUESDAY_10, WEDNESDAY_15, book, cancel, folder_emails, reminder_emails, reschedule


def test_relay_schedules_a_local_reminder_24_hours_ahead(app, session, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(app)
    reminder = session.scalar(select(LocalReminder))
    assert (reminder.name, reminder.fire_at) == (f"appt-{appointment.id}-reminder", TUESDAY_10 - timedelta(hours=24))


def test_relay_marks_its_rows_done(app, session, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    assert {row.status for row in session.scalars(select(OutboxMessage))} == {OutboxStatus.DONE}


def test_relay_sends_the_confirmation_to_the_mail_folder(app, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    [message] = folder_emails(app)
    assert message["To"] == "pat@example.test"
    assert message["X-Carebook-Email"] == "send_confirmation"


def test_moving_an_appointment_moves_its_local_reminder(app, session, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(app)
    reschedule(appointment, WEDNESDAY_15)
    relay_once(app)
    [reminder] = session.scalars(select(LocalReminder)).all()
    assert reminder.fire_at == WEDNESDAY_15 - timedelta(hours=24)
    assert reminder.payload["start_at"] == "2026-06-03T14:00:00Z"


def test_cancelling_removes_the_local_reminder(app, session, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(app)
    cancel(appointment)
    relay_once(app)
    assert session.scalars(select(LocalReminder)).all() == []


def test_cancelled_before_the_relay_ran_never_gets_a_reminder(app, session, doctor, patient):
    appointment = book(doctor, patient)
    cancel(appointment)
    relay_once(app)
    clock.freeze(TUESDAY_10 - timedelta(hours=1))
    relay_once(app)
    assert session.scalars(select(LocalReminder)).all() == []
    assert reminder_emails(app) == []


def test_a_due_local_reminder_is_delivered_through_the_handler(app, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    clock.freeze(TUESDAY_10 - timedelta(hours=24) + timedelta(minutes=1))
    result = relay_once(app)
    [message] = reminder_emails(app)
    assert result.reminders_delivered == 1
    assert message["To"] == "pat@example.test"
    assert message["Subject"] == "Reminder: your appointment on Tuesday 2 June 2026, 10:00 BST (Europe/London time)"


def test_a_delivered_local_reminder_is_deleted_like_a_one_off_schedule(app, session, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    clock.freeze(TUESDAY_10 - timedelta(hours=23))
    relay_once(app)
    relay_once(app)
    assert session.scalars(select(LocalReminder)).all() == []
    assert len(reminder_emails(app)) == 1


def test_a_reminder_is_not_fired_before_its_time(app, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    clock.freeze(TUESDAY_10 - timedelta(hours=24, minutes=1))
    relay_once(app)
    assert reminder_emails(app) == []


class BrokenMailer:
    def send(self, message):
        raise ConnectionRefusedError("smtp.example.test refused pat@example.test")


@pytest.fixture
def broken_mail(monkeypatch):
    monkeypatch.setattr("reminders.backends.local.local_mailer", lambda settings: BrokenMailer())


def test_a_failed_email_stays_pending_with_backoff(app, session, doctor, patient, broken_mail, frozen_now):
    book(doctor, patient)
    relay_once(app)
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_CONFIRMATION))
    assert (row.status, row.attempts, row.claim_token) == (OutboxStatus.PENDING, 1, None)
    assert frozen_now + timedelta(seconds=15) <= row.next_attempt_at <= frozen_now + timedelta(seconds=30)


def test_the_last_error_names_the_error_but_no_personal_data(app, session, doctor, patient, broken_mail):
    book(doctor, patient)
    relay_once(app)
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_CONFIRMATION))
    assert row.last_error == "ConnectionRefusedError"


def test_a_failed_row_is_not_retried_before_its_backoff(app, session, doctor, patient, broken_mail):
    book(doctor, patient)
    relay_once(app)
    relay_once(app)
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_CONFIRMATION))
    assert row.attempts == 1


def test_a_failed_row_is_sent_by_a_later_pass(app, session, doctor, patient, monkeypatch, frozen_now):
    book(doctor, patient)
    monkeypatch.setattr("reminders.backends.local.local_mailer", lambda settings: BrokenMailer())
    relay_once(app)
    monkeypatch.undo()
    clock.freeze(frozen_now + timedelta(minutes=1))
    relay_once(app)
    assert len(folder_emails(app)) == 1
    assert {row.status for row in session.scalars(select(OutboxMessage))} == {OutboxStatus.DONE}


def test_rows_of_one_appointment_wait_behind_a_failing_earlier_row(app, session, doctor, patient, broken_mail):
    appointment = book(doctor, patient)
    cancel(appointment)
    relay_once(app)
    cancellation = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_CANCELLATION))
    assert (cancellation.status, cancellation.attempts) == (OutboxStatus.PENDING, 0)


def test_a_row_that_no_retry_can_fix_is_dead_at_once(app, session, doctor, patient):
    book(doctor, patient)
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_CONFIRMATION))
    row.payload = {"email": "pat@example.test"}
    session.commit()
    relay_once(app)
    session.refresh(row)
    assert (row.status, row.last_error) == (OutboxStatus.DEAD, "InvalidSnapshot")


def test_a_failing_row_does_not_undo_the_rows_relayed_before_it(app, session, doctor, patient, broken_mail):
    book(doctor, patient)
    relay_once(app)
    session.rollback()
    statuses = {row.kind: row.status for row in session.scalars(select(OutboxMessage))}
    assert statuses == {OutboxKind.SCHEDULE_REMINDER: OutboxStatus.DONE,
                        OutboxKind.SEND_CONFIRMATION: OutboxStatus.PENDING}
    assert len(session.scalars(select(LocalReminder)).all()) == 1


def test_a_row_whose_claim_ran_out_before_its_turn_is_left_alone(app, session, doctor, patient, monkeypatch):
    from sqlalchemy import update

    from carebook.extensions import db
    from reminders import relay

    book(doctor, patient)
    confirmation_id = session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.kind == OutboxKind.SEND_CONFIRMATION))
    real_act = relay.act

    def slow_act(app, row):
        # While the first row acts, the second row's lease runs out and another worker takes it.
        with db.engine.begin() as connection:
            connection.execute(update(OutboxMessage.__table__).where(OutboxMessage.id == confirmation_id)
                               .values(claim_token="another-worker"))
        return real_act(app, row)

    monkeypatch.setattr(relay, "act", slow_act)
    assert relay_once(app).done == 1
    session.expire_all()
    confirmation = session.get(OutboxMessage, confirmation_id)
    assert (confirmation.status, confirmation.claim_token) == (OutboxStatus.PENDING, "another-worker")
    assert folder_emails(app) == []


def test_a_row_claimed_by_another_worker_is_skipped(app, session, doctor, patient, frozen_now):
    book(doctor, patient)
    for row in session.scalars(select(OutboxMessage)):
        row.claimed_until, row.claim_token = frozen_now + timedelta(minutes=5), "another-worker"
    session.commit()
    assert relay_once(app).done == 0


def test_a_crashed_workers_claim_runs_out(app, session, doctor, patient, frozen_now):
    book(doctor, patient)
    for row in session.scalars(select(OutboxMessage)):
        row.claimed_until, row.claim_token = frozen_now - timedelta(seconds=1), "crashed-worker"
    session.commit()
    assert relay_once(app).done == 2


def test_mail_folder_is_in_the_instance_folder_by_default(app):
    assert get_state(app).settings.mail_folder == Path(app.instance_path) / "mail"


def test_folder_mailer_writes_one_eml_per_message(tmp_path):
    from messaging.message import build_message

    mailer = FolderMailer(tmp_path / "mail")
    for number in range(2):
        mailer.send(build_message(sender="a@clinic.test", recipient="b@example.test", subject=f"n{number}",
                                  text="t", html="<p>t</p>"))
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2
