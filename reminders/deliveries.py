"""Delivery records (``notification_deliveries``): what was sent to a patient, on which channel, when.

Written from what actually happened, never inferred: by the booking listener for a
message it decides not to send (no address for the channel), by the relay for the emails
it sends itself, and from the reminder function's receipts (messaging/receipts.py) for
reminders and SMS notices. Nothing here commits: the caller's unit of work does.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from carebook.clock import utcnow
from messaging.receipts import Receipt
from models import NotificationDelivery

_TABLE = NotificationDelivery.__table__


def record(session: Session, *, appointment_id: int | None, message_id: str, event: str, channel: str,
           outcome: str, detail: str = "", provider_message_id: str = "", at: datetime | None = None) -> None:
    now = utcnow()
    session.execute(insert(_TABLE).values(
        receipt_id=uuid.uuid4().hex, appointment_id=appointment_id, message_id=message_id[:128], event=event,
        channel=channel, outcome=outcome, detail=detail[:200], provider_message_id=(provider_message_id or "")[:128],
        occurred_at=at or now, recorded_at=now))


def record_receipts(session: Session, receipts: list[Receipt]) -> int:
    """Write the function's receipts; one already recorded (a redelivered receipt) is skipped. Returns how many."""
    if not receipts:
        return 0
    known = set(session.scalars(select(NotificationDelivery.receipt_id).where(
        NotificationDelivery.receipt_id.in_([receipt.receipt_id for receipt in receipts]))))
    now = utcnow()
    rows, seen = [], set(known)
    for receipt in receipts:
        if receipt.receipt_id in seen:
            continue
        seen.add(receipt.receipt_id)
        rows.append({"receipt_id": receipt.receipt_id[:32], "appointment_id": receipt.appointment_id,
                     "message_id": receipt.message_id[:128], "event": receipt.event[:32], "channel": receipt.channel,
                     "outcome": receipt.outcome, "detail": receipt.detail[:200],
                     "provider_message_id": receipt.provider_message_id[:128],
                     "occurred_at": _instant(receipt.at, now), "recorded_at": now})
    if rows:
        session.execute(insert(_TABLE), rows)
    return len(rows)


def for_appointment(session: Session, appointment_id: int) -> list[NotificationDelivery]:
    return list(session.scalars(select(NotificationDelivery).where(
        NotificationDelivery.appointment_id == appointment_id)
        .order_by(NotificationDelivery.occurred_at, NotificationDelivery.id)))


def _instant(text: str, default: datetime) -> datetime:
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return default
    return instant.astimezone(timezone.utc) if instant.tzinfo else instant.replace(tzinfo=timezone.utc)
