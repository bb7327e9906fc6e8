"""The reminder path of one app: its settings and its backend, kept in ``app.extensions``.

Every module of the package (and the account emails) reaches the current app's
reminder settings through here; :mod:`reminders.wiring` creates the state when it
attaches the reminder path to an app.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask

from carebook.extensions import db
from lambda_handler.handler import Services
from reminders.backends import ReminderBackend
from reminders.backends.aws import AwsBackend
from reminders.backends.local import LocalBackend, handler_services
from reminders.settings import ReminderSettings

EXTENSION_KEY = "reminders"


@dataclass
class ReminderState:
    """The reminder path of one app: its settings and (created on first use) its backend."""

    app: Flask
    settings: ReminderSettings
    _aws_backend: AwsBackend | None = field(default=None, repr=False)

    @property
    def backend(self) -> ReminderBackend:
        """The backend for the current app context (the local one works on its session)."""
        if self.settings.backend == "aws":
            if self._aws_backend is None:
                self._aws_backend = AwsBackend(self.settings.aws)
            return self._aws_backend
        return LocalBackend(db.session, self.settings, self.app.config["CLINIC"].name)

    def handler_services(self) -> Services:
        """What the Lambda handler gets when the local worker calls it."""
        return handler_services(db.engine, self.settings, self.app.config["CLINIC"].name)


def get_state(app: Flask) -> ReminderState:
    return app.extensions[EXTENSION_KEY]


def find_state(app: Flask) -> ReminderState | None:
    """The app's reminder state, or None for an app built without the reminder path."""
    return app.extensions.get(EXTENSION_KEY)
