"""Where reminders live: EventBridge Scheduler (``aws``) or a table of the database (``local``).

Both backends offer the same operations, each idempotent, so the relay and the
reconcile command need not know which one runs:

* ``put_reminder(reminder)``: create the reminder, or bring an existing one with the
  same name to exactly this content. Returns "created", "updated" or "unchanged".
* ``delete_reminder(name)``: returns "deleted", or "absent" when there was none
  (already fired, or never made): both count as done.
* ``live_reminders()``: every live reminder, by name, for reconcile.
* ``mailer``: where the relay hands confirmation and cancellation emails.
* ``send_notice(message)``: hand an SMS notice (reminders/notices.py) to the reminder
  function: on AWS a message on the reminder queue, locally a call of the handler (whose
  receipts it writes into the session). Raises if it could not.
* ``receive_receipts()`` / ``acknowledge_receipts(batch)``: the function's delivery receipts
  waiting on the receipts queue (AWS; always empty locally, where they are written at once).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from messaging.mailers import Mailer
from messaging.receipts import Receipt
from reminders.planning import Reminder


@dataclass
class ReceiptBatch:
    """Receipts received from the queue, and the handles that delete them once recorded."""

    receipts: list[Receipt] = field(default_factory=list)
    #: One per message received, readable or not (an unreadable one is deleted too).
    messages: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class LiveReminder:
    name: str
    appointment_id: int | None
    #: None if the backend holds something we cannot read as a one-off time.
    fire_at: datetime | None
    payload: Any
    #: False if the target, role, time zone, retry or dead-letter settings are not ours.
    settings_match: bool = True


class ReminderBackend(Protocol):
    """What :attr:`reminders.state.ReminderState.backend` gives the relay and reconcile."""

    name: str
    mailer: Mailer

    def put_reminder(self, reminder: Reminder) -> str: ...

    def delete_reminder(self, name: str) -> str: ...

    def live_reminders(self) -> dict[str, LiveReminder]: ...

    def send_notice(self, message: dict[str, Any]) -> str: ...

    def receive_receipts(self) -> ReceiptBatch: ...

    def acknowledge_receipts(self, batch: ReceiptBatch) -> None: ...
