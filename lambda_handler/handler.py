"""The Lambda entry point: one SQS batch of reminder messages in, partial batch failures out.

Each record is handled on its own: a malformed message, an SES error or a claim held
by a concurrent invocation marks only that record as failed (SQS redelivers it, and
after the queue's redrive limit moves it to the dead-letter queue); nothing a single
message does can fail the whole batch. The event source mapping must have
``FunctionResponseTypes: [ReportBatchItemFailures]``.

Configuration (environment): ``EMAIL_SENDER`` (a verified SES identity),
``EMAIL_SENDER_NAME`` (optional display name), ``IDEMPOTENCY_TABLE`` (DynamoDB),
``CLINIC_TIMEZONE`` (optional: warn when the app rendered a reminder for another zone),
``AWS_ENDPOINT_URL`` (optional, for a local AWS emulator).

The embedded (no-AWS) mode of the web app calls this same :func:`handler` with an
SQS-shaped event and its own ``services`` (SMTP or a mail folder, a database-backed
idempotency store).
"""
from __future__ import annotations

import enum
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import formataddr
from typing import Any, Callable

from lambda_handler.idempotency import Claim, IdempotencyStore
from lambda_handler.payload import InvalidPayload, ReminderPayload, parse
from lambda_handler.render import render_reminder
from messaging.errors import describe_error
from messaging.mailers import Mailer, SesMailer
from messaging.message import build_message

logger = logging.getLogger("reminder_handler")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    mailer: Mailer
    store: IdempotencyStore
    #: The From header, e.g. ``Riverside Clinic <appointments@clinic.example>``.
    sender: str
    now: Callable[[], datetime] = _utcnow
    #: How long a claim blocks other deliveries of the same reminder. Longer than one
    #: send can take, shorter than the queue's visibility timeout (so a crashed
    #: invocation's redelivery is not blocked).
    lease: timedelta = field(default=timedelta(minutes=2))
    #: The stack's ClinicTimezone: a reminder rendered for another zone is sent, with a warning.
    expected_timezone: str | None = None


class Outcome(enum.Enum):
    SENT = "sent"
    DUPLICATE = "duplicate"      # sent before: acknowledged without sending
    STALE = "stale"              # the appointment has started: a reminder is pointless now
    INVALID = "invalid"          # malformed: fails until it reaches the dead-letter queue
    BUSY = "busy"                # another delivery of the same reminder is in flight
    SEND_FAILED = "send_failed"  # SES/SMTP refused: retried by SQS
    ERROR = "error"              # anything unexpected

    @property
    def failed(self) -> bool:
        return self in (Outcome.INVALID, Outcome.BUSY, Outcome.SEND_FAILED, Outcome.ERROR)


def handler(event: Any, context: Any, services: Services | None = None) -> dict:
    """Process an SQS batch; return the ids of the records to retry."""
    services = services or services_from_environment()
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        _log(logging.ERROR, "event_not_sqs_batch")
        return {"batchItemFailures": []}
    failures = []
    for record in records:
        message_id = record.get("messageId") if isinstance(record, dict) else None
        try:
            outcome, reminder_id, detail = process_record(record, services)
        except Exception as error:  # one message must never sink the batch
            outcome, reminder_id, detail = Outcome.ERROR, None, describe_error(error)
        _log(logging.WARNING if outcome.failed else logging.INFO, "reminder_message",
             outcome=outcome.value, message_id=message_id, reminder_id=reminder_id, detail=detail,
             receive_count=_receive_count(record))
        if outcome.failed and isinstance(message_id, str) and message_id:
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def process_record(record: Any, services: Services) -> tuple[Outcome, str | None, str | None]:
    """Handle one record: (outcome, reminder id if known, error detail without personal data)."""
    if not isinstance(record, dict):
        return Outcome.INVALID, None, "record is not an object"
    try:
        payload = parse(record.get("body"))
    except InvalidPayload as error:
        return Outcome.INVALID, None, str(error)
    if services.expected_timezone and payload.timezone != services.expected_timezone:
        _log(logging.WARNING, "timezone_mismatch", reminder_id=payload.reminder_id, payload_timezone=payload.timezone,
             stack_timezone=services.expected_timezone)
    now = services.now()
    if payload.start_at <= now:
        return Outcome.STALE, payload.reminder_id, None
    claim = services.store.begin(payload.reminder_id, now, services.lease)
    if claim is Claim.DONE:
        return Outcome.DUPLICATE, payload.reminder_id, None
    if claim is Claim.BUSY:
        return Outcome.BUSY, payload.reminder_id, None
    try:
        services.mailer.send(reminder_message(payload, services.sender))
    except Exception as error:
        try:
            services.store.abandon(payload.reminder_id)
        except Exception as abandon_error:  # the lease will run out instead
            _log(logging.ERROR, "idempotency_abandon_failed", reminder_id=payload.reminder_id,
                 detail=describe_error(abandon_error))
        return Outcome.SEND_FAILED, payload.reminder_id, describe_error(error)
    try:
        services.store.complete(payload.reminder_id, services.now())
    except Exception as error:
        # The email went: report success so SQS does not redeliver. The claim's lease
        # still blocks an immediate duplicate.
        _log(logging.ERROR, "idempotency_complete_failed", reminder_id=payload.reminder_id,
             detail=describe_error(error))
    return Outcome.SENT, payload.reminder_id, None


def reminder_message(payload: ReminderPayload, sender: str):
    email = render_reminder(payload)
    return build_message(sender=sender, recipient=payload.email, subject=email.subject, text=email.text,
                         html=email.html, headers={"X-Carebook-Reminder-Id": payload.reminder_id})


def _receive_count(record: Any) -> int | None:
    try:
        return int(record["attributes"]["ApproximateReceiveCount"])
    except (KeyError, TypeError, ValueError):
        return None


def _log(level: int, event: str, **fields: Any) -> None:
    """One JSON object per line (CloudWatch Logs Insights can query the fields)."""
    logger.log(level, json.dumps({"event": event, **{k: v for k, v in fields.items() if v is not None}},
                                 sort_keys=True))


_environment_services: Services | None = None


def services_from_environment(environ: dict[str, str] | None = None) -> Services:
    """Build (once per container) SES + DynamoDB services from the function's environment."""
    global _environment_services
    if environ is None and _environment_services is not None:
        return _environment_services
    env = os.environ if environ is None else environ
    missing = [name for name in ("EMAIL_SENDER", "IDEMPOTENCY_TABLE") if not env.get(name)]
    if missing:
        raise RuntimeError(f"reminder function misconfigured: set {', '.join(missing)}")
    import boto3  # provided by the Lambda runtime
    from botocore.config import Config

    from lambda_handler.idempotency import DynamoDBStore

    options: dict[str, Any] = {"config": Config(retries={"mode": "standard", "max_attempts": 3},
                                                connect_timeout=5, read_timeout=10)}
    if env.get("AWS_REGION"):
        options["region_name"] = env["AWS_REGION"]
    if env.get("AWS_ENDPOINT_URL"):
        options["endpoint_url"] = env["AWS_ENDPOINT_URL"]
    sender = env["EMAIL_SENDER"]
    if env.get("EMAIL_SENDER_NAME"):
        sender = formataddr((env["EMAIL_SENDER_NAME"], sender))
    services = Services(mailer=SesMailer(boto3.client("sesv2", **options)),
                        store=DynamoDBStore(boto3.client("dynamodb", **options), env["IDEMPOTENCY_TABLE"]),
                        sender=sender, expected_timezone=env.get("CLINIC_TIMEZONE") or None)
    if environ is None:
        _environment_services = services
    return services


def reset_environment_services() -> None:
    """Forget the cached services (tests that change the environment)."""
    global _environment_services
    _environment_services = None
