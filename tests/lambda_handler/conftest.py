"""Fixtures of the reminder function: fake AWS credentials always, moto SES + DynamoDB, payloads."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from moto import mock_aws

from lambda_handler.handler import Services, reset_environment_services, services_from_environment
from tests.reminders.aws_stack import create_stack, use_fake_credentials

#: The function's clock in these tests: the day before the appointment below.
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch, tmp_path):
    use_fake_credentials(monkeypatch, tmp_path)
    reset_environment_services()
    yield
    reset_environment_services()


@pytest.fixture
def stack():
    with mock_aws():
        yield create_stack()


@pytest.fixture
def services(stack) -> Services:
    """The function's real services (SES v2 + DynamoDB, in moto), built from its environment."""
    built = services_from_environment(stack.lambda_environment())
    built.now = lambda: NOW
    return built


def payload(**changes) -> dict:
    data = {
        "version": 1, "kind": "reminder", "reminder_id": "appt-42-20260602T090000Z", "appointment_id": 42,
        "start_at": "2026-06-02T09:00:00Z", "timezone": "Europe/London",
        "local_time_text": "Tuesday 2 June 2026, 10:00 BST (Europe/London time)",
        "patient": {"first_name": "Pat", "email": "pat@example.test"}, "doctor_name": "Dr Dana Doctor",
        "clinic": {"name": "Test Clinic", "address": "12 Riverside Walk", "phone": "01234 567890"},
        "manage_url": "https://clinic.example/appointments/42",
    }
    data.update(changes)
    return data


def record(body, message_id: str | None = None) -> dict:
    """One SQS record as Lambda receives it."""
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": text,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1780304400000",
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1780304400000"},
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-2:123456789012:carebook-reminders",
        "awsRegion": "eu-west-2",
    }


def event(*records) -> dict:
    return {"Records": list(records)}
