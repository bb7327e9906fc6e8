"""Reconcile: every booked future appointment has its live reminder, and nothing else has one."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from carebook import clock
from models import LocalReminder
from reminders.planning import Reminder
from reminders.reconcile import reconcile
from reminders.relay import relay_once
from reminders.state import get_state
from tests.reminders.aws_stack import GROUP
from tests.reminders.helpers import TUESDAY_10, book, cancel


def problems(report):
    return [(finding.problem, finding.name) for finding in report.findings]


def test_everything_in_order_reports_nothing(aws_app, stack, doctor, patient):
    book(doctor, patient)
    relay_once(aws_app)
    report = reconcile(aws_app)
    assert (report.findings, report.appointments_checked, report.live_reminders) == ([], 1, 1)


def test_a_deleted_schedule_is_reported_missing(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    stack.client("scheduler").delete_schedule(Name=f"appt-{appointment.id}-reminder", GroupName=GROUP)
    assert problems(reconcile(aws_app)) == [("missing", f"appt-{appointment.id}-reminder")]


def test_repair_recreates_a_deleted_schedule(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    stack.client("scheduler").delete_schedule(Name=f"appt-{appointment.id}-reminder", GroupName=GROUP)
    reconcile(aws_app, repair=True)
    assert stack.get_schedule(f"appt-{appointment.id}-reminder")["ScheduleExpression"] == "at(2026-06-01T09:00:00)"
    assert reconcile(aws_app).findings == []


def test_a_schedule_with_the_wrong_time_is_stale_and_repaired(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    name = f"appt-{appointment.id}-reminder"
    schedule = stack.get_schedule(name)
    stack.client("scheduler").update_schedule(
        Name=name, GroupName=GROUP, ScheduleExpression="at(2026-06-01T12:00:00)", ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"}, Target=schedule["Target"])
    assert problems(reconcile(aws_app)) == [("stale", name)]
    reconcile(aws_app, repair=True)
    assert stack.get_schedule(name)["ScheduleExpression"] == "at(2026-06-01T09:00:00)"


def test_a_schedule_with_a_wrong_payload_is_stale(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    name = f"appt-{appointment.id}-reminder"
    schedule = stack.get_schedule(name)
    payload = json.loads(schedule["Target"]["Input"])
    payload["doctor_name"] = "Someone Else"
    target = {**schedule["Target"], "Input": json.dumps(payload)}
    stack.client("scheduler").update_schedule(
        Name=name, GroupName=GROUP, ScheduleExpression=schedule["ScheduleExpression"],
        ScheduleExpressionTimezone="UTC", FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    [finding] = reconcile(aws_app).findings
    assert (finding.problem, finding.detail) == ("stale", "wrong payload")


def test_a_schedule_of_a_cancelled_appointment_is_orphaned_and_deleted(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    name = f"appt-{appointment.id}-reminder"
    schedule = stack.get_schedule(name)
    cancel(appointment)
    relay_once(aws_app)
    stack.client("scheduler").create_schedule(  # as if a late retry had recreated it
        Name=name, GroupName=GROUP, ScheduleExpression=schedule["ScheduleExpression"],
        ScheduleExpressionTimezone="UTC", FlexibleTimeWindow={"Mode": "OFF"}, Target=schedule["Target"])
    assert problems(reconcile(aws_app, repair=True)) == [("orphaned", name)]
    assert stack.schedule_names() == []


def test_a_schedule_of_a_missing_appointment_is_orphaned(aws_app, stack):
    get_state(aws_app).backend.put_reminder(Reminder("appt-999-reminder", 999, TUESDAY_10, {"version": 1}))
    [finding] = reconcile(aws_app).findings
    assert (finding.problem, finding.detail) == ("orphaned", "no such appointment")


def test_schedules_outside_our_naming_are_left_alone(aws_app, stack):
    stack.client("scheduler").create_schedule(
        Name="someone-elses", GroupName=GROUP, ScheduleExpression="at(2026-06-05T09:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": stack.queue_arn, "RoleArn": stack.role_arn})
    assert reconcile(aws_app, repair=True).findings == []
    assert stack.schedule_names() == ["someone-elses"]


def test_appointments_still_in_the_outbox_are_not_judged(aws_app, stack, doctor, patient):
    book(doctor, patient)
    report = reconcile(aws_app)
    assert (report.findings, report.in_flight) == ([], 1)


def test_a_reminder_whose_time_has_passed_is_presumed_sent(aws_app, stack, doctor, patient):
    appointment = book(doctor, patient)
    relay_once(aws_app)
    # Scheduler fired it and deleted it (ActionAfterCompletion=DELETE).
    stack.client("scheduler").delete_schedule(Name=f"appt-{appointment.id}-reminder", GroupName=GROUP)
    clock.freeze(TUESDAY_10 - timedelta(hours=20))
    assert reconcile(aws_app).findings == []


def test_local_backend_reconcile_finds_and_repairs_a_missing_reminder(app, session, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    session.query(LocalReminder).delete()
    session.commit()
    report = reconcile(app, repair=True)
    assert [finding.problem for finding in report.findings] == ["missing"]
    assert session.scalar(select(LocalReminder)).fire_at == TUESDAY_10 - timedelta(hours=24)


def test_reconcile_leaves_the_commit_of_its_repair_to_the_caller(app, session, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    session.query(LocalReminder).delete()
    session.commit()
    reconcile(app, repair=True)
    session.rollback()
    assert session.scalars(select(LocalReminder)).all() == []


def test_reconcile_command_prints_a_summary_and_fails_when_problems_remain(app, session, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    session.query(LocalReminder).delete()
    session.commit()
    result = app.test_cli_runner().invoke(args=["reminders", "reconcile"])
    assert result.exit_code == 1
    assert "1 missing, 0 stale, 0 orphaned" in result.output


def test_reconcile_command_with_repair_succeeds(app, session, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    session.query(LocalReminder).delete()
    session.commit()
    result = app.test_cli_runner().invoke(args=["reminders", "reconcile", "--repair"])
    assert (result.exit_code, result.output.splitlines()[-1]) == (0, "Repaired 1.")


def test_reconcile_command_commits_its_repair(app, session, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    session.query(LocalReminder).delete()
    session.commit()
    app.test_cli_runner().invoke(args=["reminders", "reconcile", "--repair"])
    session.rollback()
    assert session.scalar(select(LocalReminder)).fire_at == TUESDAY_10 - timedelta(hours=24)
