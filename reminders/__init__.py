"""Reminder and notification delivery: the transactional outbox, its relay, and the scheduler backends."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Attach the reminder path to the app (settings check, booking listener, CLI)."""
