"""The AWS backend against moto in-process: schedules, idempotent creates, deletes, SES confirmations."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from carebook import clock
from reminders.backends.aws import ScheduleTooSoon
from reminders.planning import Reminder
from reminders.relay import relay_once
from reminders.state import get_state
from tests.reminders.aws_stack import GROUP, body_text, sent_emails
from tests.reminders.helpers import TUESDAY_10, WEDNESDAY_15, book, cancel, reschedule


@pytest.fixture
def scheduler_backend(aws_app):
    return get_state(aws_app).backend


def a_reminder(fire_at=TUESDAY_10 - timedelta(hours=24), payload=None) -> Reminder:
    return Reminder(name="appt-7-reminder", appointment_id=7, fire_at=fire_at,
                    payload=payload or {"version": 1, "kind": "reminder", "reminder_id": "appt-7-x"})


def test_booking_then_relay_creates_a_one_off_schedule_in_the_group(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    schedule = stack.get_schedule(f"appt-{appointment.id}-reminder")
    assert schedule["GroupName"] == GROUP
    assert schedule["ScheduleExpression"] == "at(2026-06-01T09:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"


def test_schedule_has_no_flexible_window_and_deletes_itself(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    schedule = stack.get_schedule(f"appt-{appointment.id}-reminder")
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"


def test_schedule_targets_the_queue_through_the_role_with_retries_and_dead_letters(aws_app, stack, doctor,
                                                                                    patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    target = stack.get_schedule(f"appt-{appointment.id}-reminder")["Target"]
    assert (target["Arn"], target["RoleArn"]) == (stack.queue_arn, stack.role_arn)
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 20}
    assert target["DeadLetterConfig"] == {"Arn": stack.dlq_arn}


def test_schedule_input_is_the_versioned_payload_without_the_reason(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    payload = json.loads(stack.get_schedule(f"appt-{appointment.id}-reminder")["Target"]["Input"])
    assert payload == {
        "version": 1, "kind": "reminder", "reminder_id": f"appt-{appointment.id}-20260602T090000Z",
        "appointment_id": appointment.id, "start_at": "2026-06-02T09:00:00Z", "timezone": "Europe/London",
        "local_time_text": "Tuesday 2 June 2026, 10:00 BST (Europe/London time)",
        "patient": {"first_name": "Pat", "email": "pat@example.test"}, "doctor_name": "Dr Dana Doctor",
        "appointment_type": "Appointment (30 min)",
        "clinic": {"name": "Test Clinic", "address": "12 Riverside Walk, Exampleton EX1 2AB",
                   "phone": "01234 567890"},
        "manage_url": f"http://127.0.0.1:5000/appointments/{appointment.id}",
    }


def test_reschedule_moves_the_schedule(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    reschedule(appointment, WEDNESDAY_15)
    relay_once(aws_app)
    schedule = stack.get_schedule(f"appt-{appointment.id}-reminder")
    assert schedule["ScheduleExpression"] == "at(2026-06-02T14:00:00)"
    assert json.loads(schedule["Target"]["Input"])["start_at"] == "2026-06-03T14:00:00Z"


def test_cancel_deletes_the_schedule(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    cancel(appointment)
    relay_once(aws_app)
    assert stack.schedule_names() == []


def test_create_of_an_identical_existing_schedule_counts_as_done(scheduler_backend, stack):
    scheduler_backend.put_reminder(a_reminder())
    assert scheduler_backend.put_reminder(a_reminder()) == "unchanged"


def test_create_of_a_different_existing_schedule_replaces_it(scheduler_backend, stack):
    scheduler_backend.put_reminder(a_reminder())
    later = TUESDAY_10 - timedelta(hours=2)
    assert scheduler_backend.put_reminder(a_reminder(fire_at=later)) == "updated"
    schedule = stack.get_schedule("appt-7-reminder")
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == \
        ("at(2026-06-02T07:00:00)", "UTC")
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": stack.dlq_arn}


def test_update_keeps_the_whole_target_not_just_the_changed_field(scheduler_backend, stack):
    scheduler_backend.put_reminder(a_reminder())
    scheduler_backend.put_reminder(a_reminder(payload={"version": 1, "kind": "reminder", "reminder_id": "appt-7-y"}))
    target = stack.get_schedule("appt-7-reminder")["Target"]
    assert json.loads(target["Input"])["reminder_id"] == "appt-7-y"
    assert target["RoleArn"] == stack.role_arn


def test_deleting_a_missing_schedule_counts_as_done(scheduler_backend, stack):
    assert scheduler_backend.delete_reminder("appt-404-reminder") == "absent"


def test_a_schedule_in_the_past_is_refused(scheduler_backend, frozen_now):
    with pytest.raises(ScheduleTooSoon):
        scheduler_backend.put_reminder(a_reminder(fire_at=frozen_now - timedelta(minutes=1)))


def test_a_schedule_within_two_minutes_of_now_is_refused(scheduler_backend, frozen_now):
    with pytest.raises(ScheduleTooSoon):
        scheduler_backend.put_reminder(a_reminder(fire_at=frozen_now + timedelta(seconds=90)))


def test_an_invalid_schedule_name_is_refused_before_calling_aws(scheduler_backend):
    with pytest.raises(ValueError):
        scheduler_backend.put_reminder(replace(a_reminder(), name="appt:7"))


def test_booking_too_close_for_any_reminder_creates_no_schedule(aws_app, stack, doctor, patient, frozen_now):
    clock.freeze(TUESDAY_10 - timedelta(hours=2))  # the minimum notice: exactly 2 hours ahead
    book(doctor, patient)
    relay_once(aws_app)
    assert stack.schedule_names() == []


def test_booking_inside_the_lead_uses_the_short_lead(aws_app, stack, doctor, patient):
    clock.freeze(TUESDAY_10 - timedelta(hours=10))
    appointment = book(doctor, patient)
    relay_once(aws_app)
    assert stack.get_schedule(f"appt-{appointment.id}-reminder")["ScheduleExpression"] == "at(2026-06-02T07:00:00)"


def test_confirmation_is_sent_with_ses_and_carries_the_calendar_file(aws_app, stack, doctor, patient):
    book(doctor, patient)
    relay_once(aws_app)
    [message] = sent_emails()
    attachment = next(message.iter_attachments())
    assert message["To"] == "pat@example.test"
    assert attachment.get_filename() == "appointment.ics"
    assert "DTSTART:20260602T090000Z" in attachment.get_content()


def test_cancellation_email_is_sent_with_ses(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    cancel(appointment)
    relay_once(aws_app)
    subjects = [message["Subject"] for message in sent_emails()]
    assert subjects[-1] == "Your appointment is cancelled: Tuesday 2 June 2026, 10:00 BST (Europe/London time)"
    assert "cancelled" in body_text(sent_emails()[-1])
