"""What the booking service announces: every change it makes to an appointment.

One named signal, sent by :class:`~carebook.booking.service.BookingService` after each
change and its audit row, inside the change's transaction::

    appointment_changed.send(session, event="booked", appointment=appointment, previous_start_at=None)

* sender: the session the change was made in. A receiver writes its own rows there,
  so they commit or roll back with the change (the reminder outbox does just that).
* ``event``: what happened; the audit action without its ``appointment.`` prefix.
  One of :data:`EVENTS`.
* ``appointment``: the appointment after the change, flushed (so it has its id).
* ``previous_start_at``: for "rescheduled", the start it had before; otherwise None.

Receivers run synchronously, and one that raises fails the change. Connect a
module-level function once per process, e.g. from an extension's ``init_app``:
blinker keeps one connection per receiver however often it is connected (so apps
built one after another, as in tests, need no guard), and holds it weakly (so do
not connect a lambda or a nested function without ``weak=False``).
"""
from __future__ import annotations

from blinker import Namespace

EVENTS = ("booked", "rescheduled", "cancelled", "completed", "no_show", "flagged", "attention_cleared")

_signals = Namespace()
appointment_changed = _signals.signal(
    "appointment-changed", doc="An appointment was booked, moved, cancelled, marked or flagged (see the module).")
