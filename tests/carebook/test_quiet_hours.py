"""The clinic's quiet hours: one setting (SMS_QUIET_HOURS), read the same way by the reminders and the waitlist."""
from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from carebook.config import ConfigError
from carebook.quiet_hours import QuietHours, QuietWindow, parse, setting

LONDON = ZoneInfo("Europe/London")
NIGHTS = QuietWindow(QuietHours(time(21), time(8)), LONDON)


def london(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(timezone.utc)


def test_quiet_hours_are_read_from_hh_mm_to_hh_mm():
    assert parse("22:30-07:00") == QuietHours(time(22, 30), time(7))


@pytest.mark.parametrize("value", ["off", "None", " OFF "])
def test_quiet_hours_can_be_turned_off(value):
    assert parse(value) is None


@pytest.mark.parametrize("value", ["", "21-8", "21:00-21:00", "24:00-08:00"])
def test_anything_else_is_refused_naming_the_setting(value):
    with pytest.raises(ConfigError, match="SMS_QUIET_HOURS"):
        parse(value)


def test_the_default_is_21_to_8():
    assert setting({}, {}) == QuietHours(time(21), time(8))


def test_a_config_key_wins_over_the_environment():
    assert setting({"SMS_QUIET_HOURS": "off"}, {"SMS_QUIET_HOURS": "22:00-07:00"}) is None


def test_outside_the_quiet_hours_the_next_free_moment_is_now():
    assert NIGHTS.next_free(london(2026, 6, 1, 20, 59)) == london(2026, 6, 1, 20, 59)


def test_inside_them_it_is_their_end_the_next_morning():
    assert NIGHTS.next_free(london(2026, 6, 1, 21)) == london(2026, 6, 2, 8)


def test_after_midnight_it_is_their_end_that_morning():
    assert NIGHTS.next_free(london(2026, 6, 2, 3)) == london(2026, 6, 2, 8)
