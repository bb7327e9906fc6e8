"""Attaches the reminder path to an app: settings, state, booking listener, CLI.

The package's composition root: it imports the other modules and none of them imports
it, so the package has no import cycle (the app's own composition root calls
:func:`init_app`). What the other modules need of the current app, they find in
:mod:`reminders.state`.
"""
from __future__ import annotations

import os
from typing import Mapping

from flask import Flask

from carebook.booking.signals import appointment_changed
from reminders.cli import reminders_cli
from reminders.outbox import record_booking_event
from reminders.settings import load_settings
from reminders.state import EXTENSION_KEY, ReminderState


def init_app(app: Flask, env: Mapping[str, str] | None = None) -> None:
    """Attach the reminder path to the app (settings check, booking listener, CLI).

    Settings come from ``app.config`` first, then ``env`` (default: the process
    environment). A bad setting raises ConfigError now, not on the first booking.
    Calling it again (tests) replaces the settings.
    """
    settings = load_settings(app.config, os.environ if env is None else env, app.instance_path)
    app.extensions[EXTENSION_KEY] = ReminderState(app=app, settings=settings)
    # One module-level receiver for every app: it finds the current app's settings itself,
    # and blinker connects it once however many apps are created (tests).
    appointment_changed.connect(record_booking_event)
    app.cli.add_command(reminders_cli)
