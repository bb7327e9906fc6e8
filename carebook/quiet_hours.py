"""The clinic's quiet hours: the nightly window, in clinic time, in which no text message (SMS) goes out.

``SMS_QUIET_HOURS`` (default ``21:00-08:00``, or ``off``) is read by the reminder path
(reminders/planning.py moves an SMS reminder out of the window) and by the waitlist
(carebook/waitlist/offering.py holds an offer's SMS until the window ends). Both read it
with :func:`setting`, and both reason with :class:`QuietWindow`: the clinic's wall clock
decides, so on the nights the clocks change the window is still 21:00-08:00 local.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Mapping
from zoneinfo import ZoneInfo

from carebook.config import ConfigError

DEFAULT = "21:00-08:00"
_PATTERN = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class QuietHours:
    """From ``start`` to ``end`` clinic time, across midnight when ``end`` is earlier (21:00-08:00)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse(text: str) -> QuietHours | None:
    """``HH:MM-HH:MM`` as quiet hours, ``off`` (or ``none``) as None; anything else a ConfigError."""
    text = text.strip().lower()
    if text in ("off", "none"):
        return None
    match = _PATTERN.fullmatch(text)
    if match is None or match.group(1, 2) == match.group(3, 4):
        raise ConfigError(f"SMS_QUIET_HOURS must be HH:MM-HH:MM (e.g. 21:00-08:00) or off, got {text!r}")
    hours = [int(part) for part in match.groups()]
    return QuietHours(time(hours[0], hours[1]), time(hours[2], hours[3]))


def setting(config: Mapping, env: Mapping[str, str]) -> QuietHours | None:
    """``SMS_QUIET_HOURS`` from ``config`` (tests, overrides), else from the environment, else the default."""
    value = config.get("SMS_QUIET_HOURS") if "SMS_QUIET_HOURS" in config else env.get("SMS_QUIET_HOURS")
    return parse(DEFAULT if value is None else str(value))


@dataclass(frozen=True)
class QuietWindow:
    """The quiet hours in the clinic's zone."""

    hours: QuietHours
    zone: ZoneInfo

    def contains(self, instant: datetime) -> bool:
        wall = instant.astimezone(self.zone).time()
        start, end = self.hours.start, self.hours.end
        return (start <= wall or wall < end) if start > end else (start <= wall < end)

    def began(self, instant: datetime) -> datetime:
        """When the quiet hours containing ``instant`` began."""
        local = instant.astimezone(self.zone)
        day = local.date() if local.time() >= self.hours.start else local.date() - timedelta(days=1)
        return datetime.combine(day, self.hours.start, tzinfo=self.zone).astimezone(timezone.utc)

    def ends(self, instant: datetime) -> datetime:
        """When the quiet hours containing ``instant`` end."""
        local = instant.astimezone(self.zone)
        day = local.date() + timedelta(days=1) if local.time() >= self.hours.end else local.date()
        return datetime.combine(day, self.hours.end, tzinfo=self.zone).astimezone(timezone.utc)

    def next_free(self, instant: datetime) -> datetime:
        """``instant`` itself outside the quiet hours, else the moment they end."""
        return self.ends(instant) if self.contains(instant) else instant
