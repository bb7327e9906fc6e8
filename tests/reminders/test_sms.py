"""SMS on the reminder path, in the embedded mode and against moto: notices, reminders, delivery records."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from carebook import accounts, clock
from lambda_handler.handler import handler, reset_environment_services, services_from_environment
from messaging.sms import FolderSmsSender
from models import ContactPreference, LocalReminder, OutboxMessage, OutboxStatus
from reminders import state as reminder_state
from reminders.reconcile import reconcile
from reminders.relay import relay_once
from tests.factories import make_patient, make_phone_patient
from tests.reminders.aws_stack import sent_emails, sms_published
from tests.reminders.helpers import (TUESDAY_10, WEDNESDAY_15, book, cancel, deliveries, folder_emails,
                                     reminder_emails, reschedule, sms_files)

PHONE = "+447700900321"  # make_phone_patient's


def fire_reminders(app, at=TUESDAY_10 - timedelta(hours=24)):
    clock.freeze(at)
    return relay_once(app)


# -- embedded mode ---------------------------------------------------------------------------------


def test_a_phone_only_patient_gets_an_sms_confirmation(app, session, doctor):
    appointment = book(doctor, make_phone_patient())
    relay_once(app)
    [confirmation] = sms_files(app)
    assert confirmation["to"] == PHONE
    assert confirmation["text"].startswith("Booked: Tue 2 Jun, 10:00 BST with Dr Dana Doctor, Test Clinic.")
    assert f"/appointments/{appointment.id}" in confirmation["text"]
    assert "cough" not in confirmation["text"].lower()


def test_a_phone_only_patient_gets_an_sms_reminder_at_the_reminder_time(app, session, doctor):
    book(doctor, make_phone_patient())
    relay_once(app)
    [reminder] = session.scalars(select(LocalReminder)).all()
    assert (reminder.fire_at, reminder.payload["channels"]) == (TUESDAY_10 - timedelta(hours=24), ["sms"])
    fire_reminders(app, TUESDAY_10 - timedelta(hours=24, minutes=1))
    assert len(sms_files(app)) == 1  # not yet
    fire_reminders(app)
    texts = [sms["text"] for sms in sms_files(app)]
    assert texts[1].startswith("Reminder: Tue 2 Jun, 10:00 BST with Dr Dana Doctor")
    assert folder_emails(app) == []


def test_the_delivery_records_say_what_went_on_which_channel(app, session, doctor):
    appointment = book(doctor, make_phone_patient())
    relay_once(app)
    fire_reminders(app)
    assert deliveries(session, appointment.id) == [
        ("confirmation", "email", "skipped", "no_email"),
        ("confirmation", "sms", "sent", ""),
        ("reminder", "sms", "sent", ""),
    ]


def test_a_patient_who_chose_both_gets_every_message_both_ways(app, session, doctor):
    patient = make_patient(email="both@example.test", phone="07700 900654")
    accounts.update_contact(session, patient, contact_by=ContactPreference.BOTH)
    appointment = book(doctor, patient)
    relay_once(app)
    reschedule(appointment, WEDNESDAY_15)
    relay_once(app)
    fire_reminders(app, WEDNESDAY_15 - timedelta(hours=24))
    cancel_at = WEDNESDAY_15 - timedelta(hours=20)
    clock.freeze(cancel_at)
    cancel(appointment)
    relay_once(app)
    assert [sms["text"].split(":")[0] for sms in sms_files(app)] == ["Booked", "Moved to Wed 3 Jun, 15", "Reminder",
                                                                    "Cancelled"]
    assert len(folder_emails(app)) == 4 and len(reminder_emails(app)) == 1
    assert [(event, channel) for event, channel, outcome, _ in deliveries(session, appointment.id)] == [
        ("confirmation", "sms"), ("confirmation", "email"), ("updated", "sms"), ("updated", "email"),
        ("reminder", "email"), ("reminder", "sms"), ("cancellation", "sms"), ("cancellation", "email")]


def test_an_email_only_patient_gets_no_sms(app, session, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    fire_reminders(app)
    assert sms_files(app) == [] and len(folder_emails(app)) == 2


def test_a_patient_who_switched_sms_off_gets_none(app, session, doctor):
    patient = make_patient(email="off@example.test")
    accounts.update_contact(session, patient, contact_by=ContactPreference.BOTH)
    accounts.update_contact(session, patient, contact_by=ContactPreference.EMAIL)
    book(doctor, patient)
    relay_once(app)
    fire_reminders(app)
    assert sms_files(app) == []


def test_an_opted_out_number_gets_no_sms_and_nothing_is_retried(app, session, doctor, monkeypatch):
    from reminders.backends import local

    original = local.handler_services

    def opted_out(*args, **kwargs):
        services = original(*args, **kwargs)
        return replace(services, sms=FolderSmsSender(services.sms.folder, opted_out=frozenset({PHONE})))

    monkeypatch.setattr(local, "handler_services", opted_out)  # SMS notices
    monkeypatch.setattr(reminder_state, "handler_services", opted_out)  # reminders
    appointment = book(doctor, make_phone_patient())
    relay_once(app)
    fire_reminders(app)
    assert sms_files(app) == []
    assert {row.status for row in session.scalars(select(OutboxMessage))} == {OutboxStatus.DONE}
    assert session.scalars(select(LocalReminder)).all() == []
    assert [(event, outcome, detail) for event, channel, outcome, detail in deliveries(session, appointment.id)
            if channel == "sms"] == [("confirmation", "skipped", "opted_out"), ("reminder", "skipped", "opted_out")]


def test_a_landline_only_patient_is_recorded_as_unreachable_by_sms(app, session, doctor):
    appointment = book(doctor, make_phone_patient(phone="020 7946 0000"))
    relay_once(app)
    assert sms_files(app) == []
    assert ("confirmation", "sms", "skipped", "no_mobile") in deliveries(session, appointment.id)


def test_an_sms_reminder_due_at_night_fires_at_2055_the_evening_before(app, session, doctor):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from tests.factories import make_doctor

    early = make_doctor(name="Dr Early Bird", weekly={weekday: [(time(7), time(12))] for weekday in range(5)})
    start = datetime(2026, 6, 3, 7, 30, tzinfo=ZoneInfo("Europe/London"))
    book(early, make_phone_patient(), start_at=start)
    relay_once(app)
    [reminder] = session.scalars(select(LocalReminder)).all()
    assert reminder.fire_at == datetime(2026, 6, 1, 20, 55, tzinfo=ZoneInfo("Europe/London"))
    assert reconcile(app).findings == []


def test_reconcile_finds_an_sms_reminder_current(app, session, doctor):
    book(doctor, make_phone_patient())
    relay_once(app)
    report = reconcile(app)
    assert (report.findings, report.live_reminders) == ([], 1)


# -- AWS (moto, in process) --------------------------------------------------------------------------


@pytest.fixture
def lambda_services(stack, monkeypatch):
    for name, value in stack.lambda_environment().items():
        monkeypatch.setenv(name, value)
    reset_environment_services()
    yield replace(services_from_environment(), now=clock.utcnow)
    reset_environment_services()


def run_function(stack, services) -> dict:
    event = stack.receive_batch()
    response = handler(event, None, services=services)
    stack.acknowledge(event, response)
    return response


def test_on_aws_the_sms_confirmation_goes_through_the_queue_and_sns(aws_app, session, doctor, stack,
                                                                    lambda_services):
    appointment = book(doctor, make_phone_patient())
    relay_once(aws_app)
    [message] = [json.loads(record["body"]) for record in stack.receive_batch()["Records"]]
    assert (message["kind"], message["event"], message["notice_id"]) == ("notice", "confirmation", "outbox-2")
    assert appointment.id == message["appointment_id"]


def test_on_aws_the_patient_gets_both_sms_and_the_records_come_back(aws_app, session, doctor, stack,
                                                                    lambda_services):
    appointment = book(doctor, make_phone_patient())
    relay_once(aws_app)
    assert run_function(stack, lambda_services) == {"batchItemFailures": []}
    stack.deliver_as_scheduler(stack.get_schedule(f"appt-{appointment.id}-reminder"))
    clock.freeze(TUESDAY_10 - timedelta(hours=24))
    run_function(stack, lambda_services)
    assert [phone for phone, _ in sms_published()] == [PHONE, PHONE]
    assert [text.split(":")[0] for _, text in sms_published()] == ["Booked", "Reminder"]
    assert sent_emails() == []
    relay_once(aws_app)  # drains the receipts
    assert deliveries(session, appointment.id) == [
        ("confirmation", "email", "skipped", "no_email"),
        ("confirmation", "sms", "sent", ""),
        ("reminder", "sms", "sent", ""),
    ]


def test_on_aws_a_receipt_delivered_twice_is_recorded_once(aws_app, session, doctor, stack, lambda_services):
    appointment = book(doctor, make_phone_patient())
    relay_once(aws_app)
    run_function(stack, lambda_services)
    sqs = stack.client("sqs")
    [receipt] = sqs.receive_message(QueueUrl=stack.receipts_url)["Messages"]
    sqs.send_message(QueueUrl=stack.receipts_url, MessageBody=receipt["Body"])
    sqs.change_message_visibility(QueueUrl=stack.receipts_url, ReceiptHandle=receipt["ReceiptHandle"],
                                  VisibilityTimeout=0)
    relay_once(aws_app)
    assert [row for row in deliveries(session, appointment.id) if row[1] == "sms"] == [
        ("confirmation", "sms", "sent", "")]


def test_on_aws_the_schedule_of_an_sms_patient_carries_the_phone(aws_app, session, doctor, stack):
    appointment = book(doctor, make_phone_patient())
    relay_once(aws_app)
    payload = json.loads(stack.get_schedule(f"appt-{appointment.id}-reminder")["Target"]["Input"])
    assert (payload["channels"], payload["patient"], payload["short_time_text"]) == (
        ["sms"], {"first_name": "Phil", "phone": PHONE}, "Tue 2 Jun, 10:00 BST")
