"""Reminder and notification delivery: the transactional outbox, its relay, and the scheduler backends.

See docs/reminders.md. In short: the booking transaction writes outbox rows
(:mod:`reminders.outbox`); after the commit, `flask reminders relay`
(:mod:`reminders.relay`) schedules, moves or deletes the appointment's reminder in a
backend (:mod:`reminders.backends`: EventBridge Scheduler, or a table of the database)
and sends confirmation emails; `flask reminders reconcile` proves and repairs that
every booked future appointment has its reminder.

:func:`reminders.wiring.init_app` attaches all this to an app; the current app's
settings and backend are in :mod:`reminders.state`. This module imports nothing, so
importing any part of the package does not import the rest.
"""
