"""The waitlist's settings, read once at start-up like every other (carebook/config.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping

from flask import current_app

from carebook.config import int_setting
from carebook.quiet_hours import QuietHours, setting as quiet_hours_setting

DEFAULT_OFFER_BATCH = 3
DEFAULT_HOLD_MINUTES = 30


@dataclass(frozen=True)
class WaitlistSettings:
    #: How many waiting patients one freed slot is offered to at a time (WAITLIST_OFFER_BATCH).
    offer_batch: int = DEFAULT_OFFER_BATCH
    #: The hold-free window: how long those patients have before the next ones are offered it
    #: (WAITLIST_HOLD_MINUTES); never past the slot's own minimum notice.
    hold: timedelta = timedelta(minutes=DEFAULT_HOLD_MINUTES)
    #: The clinic's quiet hours (SMS_QUIET_HOURS): an offer's SMS waits for their end, and so does
    #: the hold-free window of an offer made in them. None: no quiet hours.
    quiet_hours: QuietHours | None = None


def settings(env: Mapping[str, str], config: Mapping | None = None) -> dict:
    """``WAITLIST_OFFER_BATCH`` (at least 1) and ``WAITLIST_HOLD_MINUTES`` (at least 1), checked, and the
    clinic's ``SMS_QUIET_HOURS`` (a key of ``config`` wins over the environment, as for the reminders)."""
    return {"WAITLIST": WaitlistSettings(
        offer_batch=int_setting(env, "WAITLIST_OFFER_BATCH", DEFAULT_OFFER_BATCH, minimum=1, unit="patients"),
        hold=timedelta(minutes=int_setting(env, "WAITLIST_HOLD_MINUTES", DEFAULT_HOLD_MINUTES, minimum=1,
                                           unit="minutes")),
        quiet_hours=quiet_hours_setting(config or {}, env))}


def current_settings() -> WaitlistSettings:
    """The current app's settings (the defaults for an app built without them)."""
    return current_app.config.get("WAITLIST") or WaitlistSettings()
