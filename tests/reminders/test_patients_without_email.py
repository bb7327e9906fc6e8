"""A patient who gets no email (no address, or text messages only) gets none: recorded, never retried."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carebook import accounts, clock
from carebook.extensions import db
from models import AuditEntry, ContactPreference, LocalReminder, OutboxKind, OutboxMessage, OutboxStatus
from reminders.relay import relay_once
from tests.factories import make_patient, make_phone_patient
from tests.reminders.helpers import TUESDAY_10, WEDNESDAY_15, book, cancel, folder_emails, reschedule


def skipped(session) -> list[tuple[str, str]]:
    return [(entry.details["kind"], entry.details["reason"]) for entry in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "notification.skipped").order_by(AuditEntry.id))]


def test_a_patient_without_email_is_booked_and_no_email_is_queued(session, doctor):
    appointment = book(doctor, make_phone_patient())
    rows = session.scalars(select(OutboxMessage)).all()
    # The confirmation goes by SMS (its row says so: reminders/notices.py), never by email.
    assert [(row.kind, row.payload.get("channel")) for row in rows] == [
        (OutboxKind.SCHEDULE_REMINDER, None), (OutboxKind.SEND_CONFIRMATION, "sms")]
    assert skipped(session) == [("send_confirmation", "no_email")]
    assert appointment.id is not None


def test_the_relay_sends_nothing_to_a_patient_without_email_and_nothing_stays_pending(app, session, doctor):
    appointment = book(doctor, make_phone_patient())
    reschedule(appointment, WEDNESDAY_15)
    cancel(appointment)
    relay_once(app)
    statuses = {row.status for row in session.scalars(select(OutboxMessage))}
    assert statuses == {OutboxStatus.DONE}
    assert session.scalars(select(LocalReminder)).all() == []
    assert folder_emails(app) == []
    assert [kind for kind, _ in skipped(session)] == ["send_confirmation", "send_updated_confirmation",
                                                      "send_cancellation"]


def test_no_reminder_email_fires_for_a_patient_without_email(app, session, doctor):
    book(doctor, make_phone_patient())
    relay_once(app)
    clock.freeze(TUESDAY_10 - timedelta(hours=1))
    relay_once(app)
    assert folder_emails(app) == []


def test_a_patient_who_chose_sms_only_gets_no_email_either(app, session, doctor):
    patient = make_patient(email="sms.only@example.test")
    accounts.update_contact(session, patient, contact_by=ContactPreference.SMS)
    book(doctor, patient)
    relay_once(app)
    assert skipped(session) == [("send_confirmation", "sms_only")]
    # Their reminder goes by SMS only (tests/reminders/test_sms.py follows it through).
    [reminder] = session.scalars(select(LocalReminder)).all()
    assert (reminder.payload["channels"], "email" in reminder.payload["patient"]) == (["sms"], False)
    assert folder_emails(app) == []


def test_a_patient_who_chose_both_gets_the_confirmation_and_a_reminder(app, session, doctor):
    patient = make_patient(email="both@example.test")
    accounts.update_contact(session, patient, contact_by=ContactPreference.BOTH)
    book(doctor, patient)
    relay_once(app)
    assert skipped(session) == []
    assert len(session.scalars(select(LocalReminder)).all()) == 1
    assert [message["To"] for message in folder_emails(app)] == ["both@example.test"]
