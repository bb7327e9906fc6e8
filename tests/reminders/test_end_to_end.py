"""End to end against moto in server mode, with the app over HTTP (the Browser test client).

book (JSON API) -> relay -> the schedule exists in moto with the right time, zone,
target and payload -> its Input is put on the queue as Scheduler would -> the batch is
received and the Lambda handler runs on it -> moto's SES holds exactly one reminder, to
the right patient, with the right content. Cancel -> relay -> no schedule left.
"""
from __future__ import annotations

import json
import socket
import urllib.request
from dataclasses import replace

import pytest
from moto.server import ThreadedMotoServer

import reminders.wiring
from carebook import clock
from lambda_handler.handler import handler, reset_environment_services, services_from_environment
from tests.reminders.aws_stack import GROUP, body_text, create_stack, parse_raw
from tests.reminders.helpers import TUESDAY_10, book_over_api


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def server_stack(moto_server):
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    return create_stack(endpoint_url=moto_server)


def moto_emails(moto_server):
    with urllib.request.urlopen(f"{moto_server}/moto-api/data.json") as response:
        data = json.load(response)
    return [(item["destinations"], parse_raw(item["raw_data"])) for item in data["ses"].get("RawMessage", [])]


@pytest.fixture
def journey(app, client, session, server_stack, moto_server, monkeypatch, doctor, patient):
    """Book over HTTP, run the relay command, and return what the tests look at."""
    reminders.wiring.init_app(app, env=server_stack.app_settings())
    session.commit()
    client.login("pat@example.test")
    response = book_over_api(client, doctor.id, TUESDAY_10, reason="Persistent cough")
    assert response.status_code == 201, response.get_json()
    appointment_id = response.get_json()["appointment"]["id"]
    relay = app.test_cli_runner().invoke(args=["reminders", "relay", "--once"])
    assert relay.exit_code == 0, relay.output
    for name, value in server_stack.lambda_environment().items():
        monkeypatch.setenv(name, value)
    reset_environment_services()
    yield {"app": app, "client": client, "stack": server_stack, "id": appointment_id, "server": moto_server}
    reset_environment_services()


def deliver_and_run_lambda(journey) -> dict:
    stack = journey["stack"]
    stack.deliver_as_scheduler(stack.get_schedule(f"appt-{journey['id']}-reminder"))
    event = stack.receive_batch()
    assert len(event["Records"]) == 1
    # The function's own services, built from its environment; only its clock follows the test's.
    services = replace(services_from_environment(), now=clock.utcnow)
    response = handler(event, None, services=services)
    stack.acknowledge(event, response)
    return response


def test_the_schedule_has_the_right_time_and_zone(journey):
    schedule = journey["stack"].get_schedule(f"appt-{journey['id']}-reminder")
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == \
        ("at(2026-06-01T09:00:00)", "UTC")


def test_the_schedule_targets_the_queue_with_the_payload(journey):
    stack = journey["stack"]
    target = stack.get_schedule(f"appt-{journey['id']}-reminder")["Target"]
    payload = json.loads(target["Input"])
    assert (target["Arn"], target["RoleArn"], target["DeadLetterConfig"]["Arn"]) == \
        (stack.queue_arn, stack.role_arn, stack.dlq_arn)
    assert (payload["version"], payload["appointment_id"], payload["start_at"], payload["patient"]) == \
        (1, journey["id"], "2026-06-02T09:00:00Z", {"first_name": "Pat", "email": "pat@example.test"})


def test_the_handler_reports_no_failures(journey):
    assert deliver_and_run_lambda(journey) == {"batchItemFailures": []}


def test_ses_holds_exactly_one_reminder_to_the_patient(journey):
    deliver_and_run_lambda(journey)
    reminders_sent = [(to, message) for to, message in moto_emails(journey["server"])
                      if message["X-Carebook-Reminder-Id"]]
    assert [to for to, _ in reminders_sent] == [["pat@example.test"]]


def test_the_reminder_says_who_when_where_and_how_to_change_it(journey):
    deliver_and_run_lambda(journey)
    [message] = [message for _, message in moto_emails(journey["server"]) if message["X-Carebook-Reminder-Id"]]
    text = body_text(message)
    assert message["Subject"] == "Reminder: your appointment on Tuesday 2 June 2026, 10:00 BST (Europe/London time)"
    for expected in ("Hello Pat,", "Dr Dana Doctor", "Test Clinic, 12 Riverside Walk", "01234 567890",
                     f"http://127.0.0.1:5000/appointments/{journey['id']}"):
        assert expected in text
    assert "cough" not in message.as_string().lower()


def test_the_reminder_has_plain_text_and_html_parts(journey):
    deliver_and_run_lambda(journey)
    [message] = [message for _, message in moto_emails(journey["server"]) if message["X-Carebook-Reminder-Id"]]
    assert "Dr Dana Doctor" in body_text(message, "html")
    assert message.get_content_type() == "multipart/alternative"


def test_the_confirmation_went_through_ses_too(journey):
    confirmations = [message for _, message in moto_emails(journey["server"])
                     if message["X-Carebook-Email"] == "send_confirmation"]
    assert [message["To"] for message in confirmations] == ["pat@example.test"]


def test_delivering_the_same_reminder_twice_sends_one_email(journey):
    deliver_and_run_lambda(journey)
    deliver_and_run_lambda(journey)
    assert len([1 for _, message in moto_emails(journey["server"]) if message["X-Carebook-Reminder-Id"]]) == 1


def test_cancel_then_relay_leaves_no_schedule(journey):
    client, app, stack = journey["client"], journey["app"], journey["stack"]
    response = client.api("POST", f"/api/appointments/{journey['id']}/cancel", json={})
    assert response.status_code == 200
    app.test_cli_runner().invoke(args=["reminders", "relay", "--once"])
    assert stack.client("scheduler").list_schedules(GroupName=GROUP)["Schedules"] == []
