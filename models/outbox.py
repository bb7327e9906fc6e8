"""The reminder path's tables: the transactional outbox, the local scheduler, and delivery records.

* ``reminder_outbox``: written by the booking transaction, drained by the relay after
  the commit. One row per side effect that leaves the process (schedule, move or delete
  a reminder; send a confirmation, an updated confirmation or a cancellation).
* ``local_reminders``: the embedded scheduler used when no AWS is configured. One row
  per live reminder, the counterpart of one EventBridge Scheduler schedule.
* ``reminder_deliveries``: the local idempotency record of the reminder handler
  (DynamoDB plays this part on AWS): a reminder id is sent at most once.

``appointment_id`` is a plain integer on purpose, not a foreign key: a message about an
appointment must outlive that row (deleting a reminder is exactly what is needed then).
It is null on the rows of account emails (a password reset link, a registration email:
reminders/account_mail.py), which belong to no appointment and so to no lane.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from carebook.clock import utcnow
from carebook.extensions import db
from models.types import UTCDateTime


def _enum(enum_class: type[enum.Enum], name: str, length: int) -> Enum:
    return Enum(enum_class, name=name, native_enum=False, create_constraint=True,
                values_callable=lambda members: [m.value for m in members], length=length)


class OutboxTopic(str, enum.Enum):
    """Rows of one appointment and one topic are handled strictly in order."""

    REMINDER = "reminder"
    EMAIL = "email"


class OutboxKind(str, enum.Enum):
    SCHEDULE_REMINDER = "schedule_reminder"
    MOVE_REMINDER = "move_reminder"
    DELETE_REMINDER = "delete_reminder"
    SEND_CONFIRMATION = "send_confirmation"
    SEND_UPDATED_CONFIRMATION = "send_updated_confirmation"
    SEND_CANCELLATION = "send_cancellation"
    #: Account emails, sent after the response so that the answer costs the same whether or not
    #: the address has an account (reminders/account_mail.py).
    SEND_PASSWORD_RESET = "send_password_reset"
    SEND_REGISTRATION_EMAIL = "send_registration_email"
    #: The waitlist (carebook/waitlist/): a booking or availability change freed time of a doctor, so the
    #: relay offers it to waiting patients after the commit; a hold-free window ended, so it offers the
    #: slot to the next ones (a row due at that time); an offer's email.
    WAITLIST_SLOT_FREED = "waitlist_slot_freed"
    WAITLIST_NEXT_ROUND = "waitlist_next_round"
    SEND_WAITLIST_OFFER = "send_waitlist_offer"

    @property
    def topic(self) -> OutboxTopic:
        return OutboxTopic.REMINDER if self.value.endswith("_reminder") else OutboxTopic.EMAIL


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"
    DONE = "done"
    #: Gave up: a permanent error, or too many attempts. Shown by `flask reminders status`.
    DEAD = "dead"


#: In an email row's payload: replace the payload with ERASED_PAYLOAD once sent (or given up), because the
#: patient it is addressed to has been erased and it is the last message to them (the cancellation notice).
ERASE_AFTER_SENDING = "erase_after_sending"
ERASED_PAYLOAD: dict[str, Any] = {"erased": True}


class OutboxMessage(db.Model):
    __tablename__ = "reminder_outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_reminder_outbox_due", "status", "next_attempt_at"),
        Index("ix_reminder_outbox_lane", "appointment_id", "topic", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(_enum(OutboxKind, "outbox_kind", 32))
    topic: Mapped[OutboxTopic] = mapped_column(_enum(OutboxTopic, "outbox_topic", 16))
    #: Null for an account email (no appointment, no lane).
    appointment_id: Mapped[int | None]
    #: What the action needs beyond the appointment's current row (emails: a snapshot of the event).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, "outbox_status", 16),
                                                 default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A relay process owns the row until then (a crashed one's claim simply runs out).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    #: Error class and service code only: never a message that could hold personal data.
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LocalReminderStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    #: Delivery failed too often: the local counterpart of the dead-letter queue.
    FAILED = "failed"


class LocalReminder(db.Model):
    """One reminder of the embedded scheduler. Deleted once delivered, like a one-off schedule."""

    __tablename__ = "local_reminders"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_local_reminders_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    appointment_id: Mapped[int] = mapped_column(index=True)
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Exactly the JSON that EventBridge Scheduler would put on the queue.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[LocalReminderStatus] = mapped_column(_enum(LocalReminderStatus, "local_reminder_status", 16),
                                                        default=LocalReminderStatus.SCHEDULED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReminderDeliveryStatus(str, enum.Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class ReminderDelivery(db.Model):
    """The local idempotency record of the reminder handler, keyed by reminder id."""

    __tablename__ = "reminder_deliveries"

    reminder_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[ReminderDeliveryStatus] = mapped_column(
        _enum(ReminderDeliveryStatus, "reminder_delivery_status", 16))
    #: An in-progress claim older than this was abandoned (a crashed worker) and may be taken over.
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


DELIVERY_CHANNELS = ("email", "sms")
DELIVERY_OUTCOMES = ("sent", "skipped", "failed")


class NotificationDelivery(db.Model):
    """What was sent to a patient, on which channel, when: one row per message per channel per outcome.

    Written from records, never from guesses: the relay writes the emails it sends itself (and
    the skips the booking transaction decides), and the reminder function's delivery receipts
    (messaging/receipts.py) for reminders and SMS notices, drained from the receipts queue on
    AWS, handed over directly in the embedded mode. A failed attempt that a retry then sends
    leaves both rows. No address, phone number or text is kept: ids and codes only.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
        CheckConstraint("outcome IN ('sent', 'skipped', 'failed')", name="outcome_known"),
        Index("ix_notification_deliveries_appointment", "appointment_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: A receipt delivered twice (SQS is at least once) is recorded once.
    receipt_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: Null for a message about no appointment (a staff invitation).
    appointment_id: Mapped[int | None]
    #: The reminder's or notice's id, or the outbox row's ("outbox-12").
    message_id: Mapped[str] = mapped_column(String(128))
    #: "confirmation", "updated", "cancellation", "reminder" or "invitation".
    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(8))
    #: Why it was skipped, or the error code of a failure.
    detail: Mapped[str] = mapped_column(String(200), default="")
    provider_message_id: Mapped[str] = mapped_column(String(128), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
