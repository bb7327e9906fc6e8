"""The handler on SQS batches, with moto's SES and DynamoDB: partial failures, idempotency, bad input."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lambda_handler import handler as handler_module
from lambda_handler.handler import handler
from lambda_handler.idempotency import Claim, MemoryStore
from tests.lambda_handler.conftest import NOW, event, payload, record
from tests.reminders.aws_stack import SENDER, TABLE, body_text, sent_emails


def reminder_for(number: int) -> dict:
    return payload(reminder_id=f"appt-{number}-20260602T090000Z", appointment_id=number,
                   patient={"first_name": f"Patient{number}", "email": f"patient{number}@example.test"})


def test_a_reminder_is_sent_through_ses(services):
    assert handler(event(record(payload())), None, services=services) == {"batchItemFailures": []}
    [message] = sent_emails()
    assert (message["To"], message["From"]) == ("pat@example.test", f"Test Clinic <{SENDER}>")


def test_the_email_has_plain_text_and_html(services):
    handler(event(record(payload())), None, services=services)
    [message] = sent_emails()
    assert "Hello Pat," in body_text(message) and "Hello Pat," in body_text(message, "html")


def test_a_batch_sends_one_email_per_message(services):
    handler(event(*(record(reminder_for(n)) for n in (1, 2, 3))), None, services=services)
    assert sorted(message["To"] for message in sent_emails()) == [f"patient{n}@example.test" for n in (1, 2, 3)]


class FailingFor:
    """SES refusing one recipient (throttled, say) until told to recover."""

    def __init__(self, mailer, recipient):
        self.mailer, self.recipient, self.broken = mailer, recipient, True

    def send(self, message):
        if self.broken and message["To"] == self.recipient:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": f"{self.recipient}"}},
                              "SendEmail")
        self.mailer.send(message)


def test_ses_failing_for_one_message_reports_only_that_message(services):
    services.mailer = FailingFor(services.mailer, "patient2@example.test")
    records = [record(reminder_for(n), message_id=f"m{n}") for n in (1, 2, 3)]
    assert handler(event(*records), None, services=services) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert sorted(message["To"] for message in sent_emails()) == ["patient1@example.test", "patient3@example.test"]


def test_the_failed_message_is_sent_once_when_redelivered(services):
    services.mailer = FailingFor(services.mailer, "patient2@example.test")
    records = [record(reminder_for(n), message_id=f"m{n}") for n in (1, 2, 3)]
    handler(event(*records), None, services=services)
    services.mailer.broken = False
    assert handler(event(records[1]), None, services=services) == {"batchItemFailures": []}
    assert sorted(message["To"] for message in sent_emails()) == [f"patient{n}@example.test" for n in (1, 2, 3)]


def test_the_same_message_delivered_twice_sends_one_email(services):
    message = record(payload())
    handler(event(message), None, services=services)
    assert handler(event(message), None, services=services) == {"batchItemFailures": []}
    assert len(sent_emails()) == 1


def test_the_same_reminder_twice_in_one_batch_sends_one_email(services):
    handler(event(record(payload()), record(payload())), None, services=services)
    assert len(sent_emails()) == 1


def test_the_idempotency_record_is_kept_in_dynamodb(services, stack):
    handler(event(record(payload())), None, services=services)
    item = stack.client("dynamodb").get_item(TableName=TABLE, Key={"id": {"S": "appt-42-20260602T090000Z"}})["Item"]
    assert item["status"]["S"] == "COMPLETED"
    assert int(item["expires_at"]["N"]) > NOW.timestamp()


def test_a_malformed_message_is_reported_failed(services):
    response = handler(event(record("{not json", message_id="bad")), None, services=services)
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}


def test_a_malformed_message_does_not_stop_the_rest_of_the_batch(services):
    records = [record(reminder_for(1)), record({"version": 1}, message_id="bad"), record(reminder_for(2))]
    assert handler(event(*records), None, services=services) == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert len(sent_emails()) == 2


@pytest.mark.parametrize("broken", [None, 42, ["list"], {"messageId": "x"}, {"messageId": "x", "body": None}])
def test_a_broken_record_never_raises(services, broken):
    response = handler(event(broken, record(payload())), None, services=services)
    assert len(sent_emails()) == 1
    assert all(item["itemIdentifier"] == "x" for item in response["batchItemFailures"])


def test_an_event_that_is_not_an_sqs_batch_reports_nothing(services):
    assert handler({"detail-type": "Scheduled Event"}, None, services=services) == {"batchItemFailures": []}


def test_an_unexpected_error_fails_only_its_message(services, monkeypatch):
    calls = []

    def render(payload):
        calls.append(payload)
        if len(calls) == 1:
            raise RuntimeError("template bug")
        from lambda_handler.render import render_reminder
        return render_reminder(payload)

    monkeypatch.setattr(handler_module, "render_reminder", render)
    records = [record(reminder_for(1), message_id="first"), record(reminder_for(2), message_id="second")]
    assert handler(event(*records), None, services=services) == {"batchItemFailures": [{"itemIdentifier": "first"}]}


def test_a_reminder_for_an_appointment_that_has_started_is_dropped(services):
    services.now = lambda: NOW + timedelta(days=2)
    assert handler(event(record(payload())), None, services=services) == {"batchItemFailures": []}
    assert sent_emails() == []


def test_a_reminder_being_sent_elsewhere_is_retried_later(services):
    services.store.begin("appt-42-20260602T090000Z", NOW, timedelta(minutes=2))  # another invocation
    response = handler(event(record(payload(), message_id="busy")), None, services=services)
    assert (response, sent_emails()) == ({"batchItemFailures": [{"itemIdentifier": "busy"}]}, [])


def test_a_claim_of_a_crashed_invocation_runs_out(services):
    services.store.begin("appt-42-20260602T090000Z", NOW - timedelta(minutes=5), timedelta(minutes=2))
    assert handler(event(record(payload())), None, services=services) == {"batchItemFailures": []}
    assert len(sent_emails()) == 1


def test_logs_name_the_outcome_but_no_personal_data(services, caplog):
    caplog.set_level("INFO", logger="reminder_handler")
    handler_module.logger.disabled = False  # alembic's fileConfig in the test run may have disabled it
    handler(event(record(payload(), message_id="m1")), None, services=services)
    [line] = [json.loads(entry.getMessage()) for entry in caplog.records if entry.name == "reminder_handler"]
    assert line == {"event": "reminder_message", "message_id": "m1", "outcome": "sent", "receive_count": 1,
                    "reminder_id": "appt-42-20260602T090000Z"}


def test_the_function_entry_point_builds_its_services_from_the_environment(stack, monkeypatch):
    for name, value in stack.lambda_environment().items():
        monkeypatch.setenv(name, value)
    future = payload(start_at="2999-01-01T09:00:00Z")  # the real clock runs here
    assert handler(event(record(future)), None) == {"batchItemFailures": []}
    assert len(sent_emails()) == 1


def test_the_function_refuses_to_run_without_its_settings(monkeypatch):
    monkeypatch.delenv("EMAIL_SENDER", raising=False)
    with pytest.raises(RuntimeError, match="set EMAIL_SENDER, IDEMPOTENCY_TABLE"):
        handler(event(record(payload())), None)


def test_memory_store_semantics():
    store = MemoryStore()
    assert store.begin("k", NOW, timedelta(minutes=2)) is Claim.NEW
    assert store.begin("k", NOW, timedelta(minutes=2)) is Claim.BUSY
    store.complete("k", NOW)
    assert store.begin("k", NOW, timedelta(minutes=2)) is Claim.DONE


def test_a_reminder_rendered_for_another_zone_is_sent_with_a_warning(services, caplog):
    caplog.set_level("INFO", logger="reminder_handler")
    handler_module.logger.disabled = False
    services.expected_timezone = "Europe/Dublin"
    handler(event(record(payload())), None, services=services)
    events = [json.loads(entry.getMessage())["event"] for entry in caplog.records if entry.name == "reminder_handler"]
    assert (events, len(sent_emails())) == (["timezone_mismatch", "reminder_message"], 1)
