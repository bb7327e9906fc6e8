"""Reminder and notification delivery: the transactional outbox, its relay, and the scheduler backends.

See docs/reminders.md. In short: the booking transaction writes outbox rows
(:mod:`reminders.outbox`); after the commit, `flask reminders relay`
(:mod:`reminders.relay`) schedules, moves or deletes the appointment's reminder in a
backend (:mod:`reminders.backends`: EventBridge Scheduler, or a table of the database)
and sends confirmation emails; `flask reminders reconcile` proves and repairs that
every booked future appointment has its reminder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from flask import Flask

from reminders.settings import ReminderSettings, load_settings

__all__ = ["ReminderState", "get_state", "init_app"]


@dataclass
class ReminderState:
    """The reminder path of one app: its settings and (created on first use) its backend."""

    app: Flask
    settings: ReminderSettings
    _aws_backend: object | None = field(default=None, repr=False)

    @property
    def backend(self):
        """The backend for the current app context (the local one works on its session)."""
        if self.settings.backend == "aws":
            if self._aws_backend is None:
                from reminders.backends.aws import AwsBackend

                self._aws_backend = AwsBackend(self.settings.aws)
            return self._aws_backend
        from carebook.extensions import db
        from reminders.backends.local import LocalBackend

        return LocalBackend(db.session, self.settings)

    def handler_services(self):
        """What the Lambda handler gets when the local worker calls it."""
        from carebook.extensions import db
        from reminders.backends.local import handler_services

        return handler_services(db.engine, self.settings, self.app.config["CLINIC"].name)


def get_state(app: Flask) -> ReminderState:
    return app.extensions["reminders"]


def init_app(app: Flask, env: Mapping[str, str] | None = None) -> None:
    """Attach the reminder path to the app (settings check, booking listener, CLI).

    Settings come from ``app.config`` first, then ``env`` (default: the process
    environment). A bad setting raises ConfigError now, not on the first booking.
    Calling it again (tests) replaces the settings.
    """
    from carebook.booking.signals import appointment_changed
    from reminders.cli import reminders_cli
    from reminders.outbox import record_booking_event

    settings = load_settings(app.config, os.environ if env is None else env, app.instance_path)
    app.extensions["reminders"] = ReminderState(app=app, settings=settings)
    # One module-level receiver for every app: it finds the current app's settings itself,
    # and blinker connects it once however many apps are created (tests).
    appointment_changed.connect(record_booking_event)
    app.cli.add_command(reminders_cli)
