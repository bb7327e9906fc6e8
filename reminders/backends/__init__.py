"""Where reminders live: EventBridge Scheduler (``aws``) or a table of the database (``local``).

Both backends offer the same operations, each idempotent, so the relay and the
reconcile command need not know which one runs:

* ``put_reminder(reminder)``: create the reminder, or bring an existing one with the
  same name to exactly this content. Returns "created", "updated" or "unchanged".
* ``delete_reminder(name)``: returns "deleted", or "absent" when there was none
  (already fired, or never made): both count as done.
* ``live_reminders()``: every live reminder, by name, for reconcile.
* ``mailer``: where the relay hands confirmation and cancellation emails.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from messaging.mailers import Mailer
from reminders.planning import Reminder


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
