"""The embedded backend: reminders kept in the database, fired by the relay worker.

``local_reminders`` plays EventBridge Scheduler: one row per live reminder, named like
the schedule would be. When a row is due, :func:`deliver` builds the same SQS event
that the queue would hand to Lambda and calls the very same handler
(:func:`lambda_handler.handler.handler`); the email goes to SMTP if configured, else to
the mail folder, and an SMS to a file in the SMS folder (``instance/sms/``). Delivered rows
are deleted, as a one-off schedule deletes itself. SMS notices (confirmation, change,
cancellation) are handed to the same handler at once, as one-record events. The handler's
delivery receipts are written into ``notification_deliveries`` in the caller's session.

Several workers may run at once: a worker claims due rows (``FOR UPDATE SKIP LOCKED``
on PostgreSQL, a conditional UPDATE on SQLite) with a lease before delivering them,
and the handler's idempotency record (``reminder_deliveries``) refuses a second send
of the same reminder even if a claim ran out in the middle.

Nothing here commits the caller's session: the relay worker (:func:`reminders.relay.relay_once`)
commits the claim before the delivery and the outcome after it. Only the idempotency
record commits on its own, on its own connection (see :class:`DatabaseIdempotencyStore`).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from carebook import clock
from carebook.clock import utcnow
from lambda_handler.handler import Services, handler
from lambda_handler.idempotency import Claim
from messaging.mailers import FolderMailer, Mailer, SmtpMailer
from messaging.receipts import ListReceiptSink
from messaging.sms import FolderSmsSender
from models import LocalReminder, ReminderDelivery
from models.outbox import LocalReminderStatus, ReminderDeliveryStatus
from reminders import deliveries
from reminders.backends import LiveReminder, ReceiptBatch
from reminders.planning import Reminder
from reminders.retry import backoff
from reminders.settings import ReminderSettings

#: How long a worker owns the reminders it claimed.
CLAIM_LEASE = timedelta(minutes=5)
#: Like the queue's redrive policy: after this many failed deliveries the reminder is
#: parked as "failed" (the dead-letter queue of the embedded mode).
MAX_DELIVERIES = 5
RETRY_CAP = timedelta(minutes=30)
#: How many due reminders one relay pass hands to the handler (one SQS batch).
BATCH_SIZE = 10
LOCAL_EVENT_SOURCE_ARN = "arn:aws:sqs:local:000000000000:carebook-reminders-local"


def local_mailer(settings: ReminderSettings) -> Mailer:
    if settings.smtp is not None:
        smtp = settings.smtp
        return SmtpMailer(host=smtp.host, port=smtp.port, username=smtp.username, password=smtp.password,
                          starttls=smtp.starttls)
    return FolderMailer(settings.mail_folder)


class NoticeFailed(Exception):
    """The handler reported the SMS notice as failed: the relay retries the row with backoff."""


class LocalBackend:
    name = "local"

    def __init__(self, session: Session, settings: ReminderSettings, clinic_name: str = "Carebook"):
        self.session = session
        self.settings = settings
        self.clinic_name = clinic_name
        self.mailer = local_mailer(settings)

    def send_notice(self, message: dict[str, Any]) -> str:
        services = handler_services(self.session.get_bind(), self.settings, self.clinic_name)
        sink = ListReceiptSink()
        event = {"Records": [_record(str(uuid.uuid4()), json.dumps(message, sort_keys=True, separators=(",", ":")),
                                     1, str(int(utcnow().timestamp() * 1000)))]}
        response = handler(event, None, services=replace(services, receipts=sink))
        # As the AWS backend's receipts drain does: every receipt, those of messages that belong to no
        # appointment too (an invitation, a waitlist offer: found by their message id).
        deliveries.record_receipts(self.session, sink.receipts)
        if response.get("batchItemFailures"):
            raise NoticeFailed("the reminder handler reported the SMS notice as failed")
        return "sent by SMS"

    def receive_receipts(self) -> ReceiptBatch:
        return ReceiptBatch()  # written as they happen (send_notice, deliver)

    def acknowledge_receipts(self, batch: ReceiptBatch) -> None:
        pass

    def put_reminder(self, reminder: Reminder) -> str:
        row = self.session.scalar(select(LocalReminder).where(LocalReminder.name == reminder.name)
                                  .with_for_update())
        if row is None:
            self.session.add(LocalReminder(name=reminder.name, appointment_id=reminder.appointment_id,
                                           fire_at=reminder.fire_at, next_attempt_at=reminder.fire_at,
                                           payload=reminder.payload, status=LocalReminderStatus.SCHEDULED))
            self.session.flush()
            return "created"
        if (row.fire_at == reminder.fire_at and row.payload == reminder.payload
                and row.status is LocalReminderStatus.SCHEDULED):
            return "unchanged"
        # A full replacement, like UpdateSchedule. A worker delivering the old content
        # now finds its claim gone and leaves this row alone.
        row.appointment_id = reminder.appointment_id
        row.fire_at = row.next_attempt_at = reminder.fire_at
        row.payload = reminder.payload
        row.status = LocalReminderStatus.SCHEDULED
        row.attempts = 0
        row.claimed_until = row.claim_token = None
        row.last_error = ""
        self.session.flush()
        return "updated"

    def delete_reminder(self, name: str) -> str:
        result = self.session.execute(delete(LocalReminder).where(LocalReminder.name == name))
        return "deleted" if result.rowcount else "absent"

    def live_reminders(self) -> dict[str, LiveReminder]:
        rows = self.session.scalars(select(LocalReminder).where(
            LocalReminder.status == LocalReminderStatus.SCHEDULED)).all()
        return {row.name: LiveReminder(name=row.name, appointment_id=row.appointment_id, fire_at=row.fire_at,
                                       payload=row.payload) for row in rows}


# -- firing due reminders --------------------------------------------------------------------


@dataclass
class FireResult:
    delivered: int = 0
    failed: int = 0


def handler_services(engine: Engine, settings: ReminderSettings, clinic_name: str) -> Services:
    return Services(mailer=local_mailer(settings), store=DatabaseIdempotencyStore(engine),
                    sender=formataddr((clinic_name, settings.email_sender)), now=clock.utcnow,
                    sms=FolderSmsSender(settings.sms_folder,
                                        sender_id=settings.sms_sender_id or settings.sms_origination_number))


def claim_due(session: Session, limit: int = BATCH_SIZE) -> str:
    """Claim up to ``limit`` due reminders for this worker; return the claim's token.

    The caller commits the claim before delivering, so that other workers skip these rows.
    """
    now = utcnow()
    token = uuid.uuid4().hex
    due = (select(LocalReminder.id)
           .where(LocalReminder.status == LocalReminderStatus.SCHEDULED, LocalReminder.next_attempt_at <= now,
                  or_(LocalReminder.claimed_until.is_(None), LocalReminder.claimed_until < now))
           .order_by(LocalReminder.next_attempt_at, LocalReminder.id)
           .limit(limit)
           .with_for_update(skip_locked=True))
    session.execute(update(LocalReminder).where(LocalReminder.id.in_(due.scalar_subquery()))
                    .values(claimed_until=now + CLAIM_LEASE, claim_token=token)
                    .execution_options(synchronize_session=False))
    return token


def claimed(session: Session, token: str) -> list[LocalReminder]:
    return list(session.scalars(select(LocalReminder).where(LocalReminder.claim_token == token)
                                .order_by(LocalReminder.id)))


def sqs_event(rows: list[LocalReminder]) -> tuple[dict[str, Any], dict[str, LocalReminder]]:
    """The event Lambda would receive from SQS for these reminders, and its message ids."""
    records, by_message_id = [], {}
    sent_ms = str(int(utcnow().timestamp() * 1000))
    for row in rows:
        message_id = str(uuid.uuid4())
        body = json.dumps(row.payload, sort_keys=True, separators=(",", ":"))
        records.append(_record(message_id, body, row.attempts + 1, sent_ms))
        by_message_id[message_id] = row
    return {"Records": records}, by_message_id


def _record(message_id: str, body: str, receive_count: int, sent_ms: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"local-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": sent_ms,
                       "SenderId": "local-scheduler", "ApproximateFirstReceiveTimestamp": sent_ms},
        "messageAttributes": {},
        "md5OfBody": _md5(body),
        "eventSource": "aws:sqs",
        "eventSourceARN": LOCAL_EVENT_SOURCE_ARN,
        "awsRegion": "local",
    }


def deliver(session: Session, rows: list[LocalReminder], services: Services) -> FireResult:
    """Hand claimed reminders to the Lambda handler; delete the delivered ones, back off the others."""
    result = FireResult()
    if not rows:
        return result
    claims = {row.id: row.claim_token for row in rows}
    event, by_message_id = sqs_event(rows)
    sink = ListReceiptSink()
    response = handler(event, None, services=replace(services, receipts=sink))
    deliveries.record_receipts(session, sink.receipts)
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    now = utcnow()
    for message_id, row in by_message_id.items():
        mine = (LocalReminder.id == row.id) & (LocalReminder.claim_token == claims[row.id])
        if message_id not in failed:
            session.execute(delete(LocalReminder).where(mine).execution_options(synchronize_session=False))
            result.delivered += 1
            continue
        result.failed += 1
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "claimed_until": None, "claim_token": None,
                                  "last_error": "the reminder handler reported this message as failed"}
        if attempts >= MAX_DELIVERIES:
            values["status"] = LocalReminderStatus.FAILED
        else:
            values["next_attempt_at"] = now + backoff(attempts, cap=RETRY_CAP)
        session.execute(update(LocalReminder).where(mine).values(**values)
                        .execution_options(synchronize_session=False))
    return result


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


# -- the handler's idempotency record ----------------------------------------------------


class DatabaseIdempotencyStore:
    """The handler's idempotency store on the app's database (DynamoDB's part on AWS).

    Each call is its own short transaction on its own connection: a claim must be
    committed before the email leaves, whatever the caller's session is doing.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.table = ReminderDelivery.__table__

    def _insert(self):
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        return dialect_insert(self.table)

    def begin(self, key: str, now: datetime, lease: timedelta) -> Claim:
        columns = self.table.c
        values = {"reminder_id": key, "status": ReminderDeliveryStatus.IN_PROGRESS, "lease_until": now + lease,
                  "created_at": now}
        with self.engine.begin() as connection:
            # RETURNING rather than rowcount: psycopg reports -1 for INSERT ... ON CONFLICT here.
            statement = self._insert().values(**values).on_conflict_do_nothing().returning(columns.reminder_id)
            if connection.execute(statement).first() is not None:
                return Claim.NEW
            status = connection.scalar(select(columns.status).where(columns.reminder_id == key))
            if status is ReminderDeliveryStatus.COMPLETED:
                return Claim.DONE
            # An abandoned claim (its worker crashed) may be taken over once its lease ran out.
            taken = connection.execute(update(self.table).where(
                columns.reminder_id == key, columns.status == ReminderDeliveryStatus.IN_PROGRESS,
                columns.lease_until < now).values(lease_until=now + lease)).rowcount
            return Claim.NEW if taken == 1 else Claim.BUSY

    def complete(self, key: str, now: datetime) -> None:
        columns = self.table.c
        with self.engine.begin() as connection:
            connection.execute(update(self.table).where(columns.reminder_id == key)
                               .values(status=ReminderDeliveryStatus.COMPLETED, completed_at=now))

    def abandon(self, key: str) -> None:
        columns = self.table.c
        with self.engine.begin() as connection:
            connection.execute(delete(self.table).where(columns.reminder_id == key,
                                                        columns.status == ReminderDeliveryStatus.IN_PROGRESS))
