"""The Lambda entry point: one SQS batch of reminder messages in, partial batch failures out.

A message goes by each channel it names (``channels``: email, SMS or both; see
:mod:`lambda_handler.payload`), each exactly once: the idempotency record is per message
per channel (the email's key is the message id, as before SMS; the SMS's is
``<message id>:sms``). A record whose SMS failed while its email went is reported failed;
its redelivery finds the email done (no second email) and tries the SMS again. A number
on SNS's opted-out list gets no SMS: the skip is recorded and the message acknowledged.
Every outcome per channel (sent, skipped, failed) is reported as a delivery receipt
(:mod:`messaging.receipts`) for the web app's ``notification_deliveries``.

Each record is handled on its own: a malformed message, an SES error or a claim held
by a concurrent invocation marks only that record as failed (SQS redelivers it, and
after the queue's redrive limit moves it to the dead-letter queue); nothing a single
message does can fail the whole batch. The event source mapping must have
``FunctionResponseTypes: [ReportBatchItemFailures]``.

Configuration (environment): ``EMAIL_SENDER`` (a verified SES identity),
``EMAIL_SENDER_NAME`` (optional display name), ``IDEMPOTENCY_TABLE`` (DynamoDB),
``RECEIPTS_QUEUE_URL`` (the delivery receipts queue), ``SMS_SENDER_ID`` and
``SMS_ORIGINATION_NUMBER`` (optional: the SMS's origination identity),
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
from lambda_handler.sms_text import render_sms
from messaging.errors import describe_error
from messaging.mailers import Mailer, SesMailer
from messaging.message import build_message
from messaging.receipts import NoReceiptSink, Receipt, ReceiptSink, SqsReceiptSink
from messaging.sms import SmsSender, SnsSmsSender

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
    #: Where SMS go (SNS, or a folder in the embedded mode); None: a message naming "sms" fails.
    sms: SmsSender | None = None
    #: Where the outcome of each message on each channel is reported (delivery records).
    receipts: ReceiptSink = field(default_factory=NoReceiptSink)


class Outcome(enum.Enum):
    SENT = "sent"
    DUPLICATE = "duplicate"      # sent before: acknowledged without sending
    STALE = "stale"              # the appointment has started: a reminder is pointless now
    INVALID = "invalid"          # malformed: fails until it reaches the dead-letter queue
    BUSY = "busy"                # another delivery of the same reminder is in flight
    SEND_FAILED = "send_failed"  # SES/SMTP/SNS refused: retried by SQS
    OPTED_OUT = "opted_out"      # the number is on SNS's opted-out list: no SMS, acknowledged
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
        # The appointment has started (an invitation: its link has expired): pointless now.
        for channel in payload.channels:
            _report(services, payload, channel, "skipped", detail="stale")
        return Outcome.STALE, payload.reminder_id, None
    outcomes = [deliver_channel(payload, channel, services) for channel in payload.channels]
    failed = [(outcome, detail) for outcome, detail in outcomes if outcome.failed]
    if failed:
        return failed[0][0], payload.reminder_id, "; ".join(detail for _, detail in failed if detail) or None
    for wanted in (Outcome.SENT, Outcome.OPTED_OUT):
        if any(outcome is wanted for outcome, _ in outcomes):
            return wanted, payload.reminder_id, None
    return Outcome.DUPLICATE, payload.reminder_id, None


def idempotency_key(payload: ReminderPayload, channel: str) -> str:
    """Per message per channel. The email keeps the bare message id, as before SMS existed: a message
    redelivered across the deployment that added SMS still finds its email done."""
    return payload.reminder_id if channel == "email" else f"{payload.reminder_id}:{channel}"


def deliver_channel(payload: ReminderPayload, channel: str, services: Services) -> tuple[Outcome, str | None]:
    """Send the message by one channel, at most once; report the outcome as a receipt."""
    key = idempotency_key(payload, channel)
    claim = services.store.begin(key, services.now(), services.lease)
    if claim is Claim.DONE:
        return Outcome.DUPLICATE, None
    if claim is Claim.BUSY:
        return Outcome.BUSY, None
    outcome, provider_id = Outcome.SENT, None
    try:
        if channel == "sms":
            if services.sms is None:
                raise RuntimeError("no SMS sender configured")
            if services.sms.is_opted_out(payload.phone):
                outcome = Outcome.OPTED_OUT
            else:
                provider_id = services.sms.send(payload.phone, render_sms(payload))
        else:
            provider_id = services.mailer.send(reminder_message(payload, services.sender))
    except Exception as error:
        detail = describe_error(error)
        try:
            services.store.abandon(key)
        except Exception as abandon_error:  # the lease will run out instead
            _log(logging.ERROR, "idempotency_abandon_failed", reminder_id=payload.reminder_id, channel=channel,
                 detail=describe_error(abandon_error))
        _report(services, payload, channel, "failed", detail=detail)
        return Outcome.SEND_FAILED, f"{channel}: {detail}"
    try:
        services.store.complete(key, services.now())
    except Exception as error:
        # Sent (or skipped for good): report success so SQS does not redeliver. The claim's
        # lease still blocks an immediate duplicate.
        _log(logging.ERROR, "idempotency_complete_failed", reminder_id=payload.reminder_id, channel=channel,
             detail=describe_error(error))
    if outcome is Outcome.OPTED_OUT:
        _report(services, payload, channel, "skipped", detail="opted_out")
    else:
        _report(services, payload, channel, "sent", provider_message_id=str(provider_id or ""))
    return outcome, None


def _report(services: Services, payload: ReminderPayload, channel: str, outcome: str, **fields: str) -> None:
    """One receipt; a sink that fails is logged, never a reason to send again."""
    receipt = Receipt(message_id=payload.reminder_id, appointment_id=payload.appointment_id or None,
                      event=payload.event, channel=channel, outcome=outcome,
                      at=services.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **fields)
    try:
        services.receipts.record(receipt)
    except Exception as error:
        _log(logging.ERROR, "receipt_failed", reminder_id=payload.reminder_id, channel=channel, outcome=outcome,
             detail=describe_error(error))


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
    receipts: ReceiptSink = NoReceiptSink()
    if env.get("RECEIPTS_QUEUE_URL"):
        receipts = SqsReceiptSink(boto3.client("sqs", **options), env["RECEIPTS_QUEUE_URL"])
    services = Services(mailer=SesMailer(boto3.client("sesv2", **options)),
                        store=DynamoDBStore(boto3.client("dynamodb", **options), env["IDEMPOTENCY_TABLE"]),
                        sender=sender, expected_timezone=env.get("CLINIC_TIMEZONE") or None,
                        sms=SnsSmsSender(boto3.client("sns", **options), sender_id=env.get("SMS_SENDER_ID", ""),
                                         origination_number=env.get("SMS_ORIGINATION_NUMBER", "")),
                        receipts=receipts)
    if environ is None:
        _environment_services = services
    return services


def reset_environment_services() -> None:
    """Forget the cached services (tests that change the environment)."""
    global _environment_services
    _environment_services = None
