"""Showing instants in the clinic's time zone, the way people read them ("Tue 2 Dec, 09:30")."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


def format_datetime(instant: datetime, tz: ZoneInfo) -> str:
    moment = instant.astimezone(tz)
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M}"


def format_date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def format_long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def format_time(instant: datetime, tz: ZoneInfo) -> str:
    return f"{instant.astimezone(tz):%H:%M}"


def part_of_day(instant: datetime, tz: ZoneInfo) -> str:
    hour = instant.astimezone(tz).hour
    if hour < 12:
        return "Morning"
    if hour < 17:
        return "Afternoon"
    return "Evening"
