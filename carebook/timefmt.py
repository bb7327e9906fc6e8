"""Showing instants in the clinic's time zone, the way people read them ("Tue 2 Dec, 09:30").

A time that stands alone (a confirmation, an appointment's page, an email) carries the zone's
label: ``zoned=True`` gives "Tue 2 Dec, 09:30 GMT". In lists, where the page says once which zone
its times are in, the label is left out, except on the hour that happens twice when the clocks go
back: "01:00 BST" and "01:00 GMT" are always told apart.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


def is_repeated_hour(moment: datetime) -> bool:
    """Whether this local wall-clock time happens twice that day (the hour the clocks go back)."""
    wall = moment.replace(tzinfo=None)
    return wall.replace(tzinfo=moment.tzinfo, fold=0).utcoffset() != wall.replace(tzinfo=moment.tzinfo, fold=1).utcoffset()


def _clock(moment: datetime, zoned: bool) -> str:
    text = f"{moment:%H:%M}"
    return f"{text} {moment.tzname()}" if zoned or is_repeated_hour(moment) else text


def format_datetime(instant: datetime, tz: ZoneInfo, zoned: bool = False) -> str:
    moment = instant.astimezone(tz)
    return f"{moment:%a} {moment.day} {moment:%b}, {_clock(moment, zoned)}"


def format_date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def format_long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def format_time(instant: datetime, tz: ZoneInfo, zoned: bool = False) -> str:
    return _clock(instant.astimezone(tz), zoned)


def part_of_day(instant: datetime, tz: ZoneInfo) -> str:
    hour = instant.astimezone(tz).hour
    if hour < 12:
        return "Morning"
    if hour < 17:
        return "Afternoon"
    return "Evening"
