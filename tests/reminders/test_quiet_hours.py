"""Quiet hours: an SMS reminder never fires between 21:00 and 08:00 clinic time, and never in the past."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from carebook.config import ConfigError
from reminders.planning import Quiet, acceptable_fire_times, fire_at, planned_fire_at
from reminders.settings import QuietHours, load_settings

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
SETTINGS = load_settings({}, {}, "/tmp")
QUIET = Quiet(SETTINGS.quiet_hours, LONDON)


def london(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def test_the_default_quiet_hours_are_21_to_8():
    assert SETTINGS.quiet_hours == QuietHours(time(21), time(8))


@pytest.mark.parametrize("value", ["21-8", "25:00-08:00", "21:00-21:00", "night"])
def test_bad_quiet_hours_are_refused_naming_the_setting(value):
    with pytest.raises(ConfigError, match="SMS_QUIET_HOURS"):
        load_settings({"SMS_QUIET_HOURS": value}, {}, "/tmp")


def test_quiet_hours_can_be_turned_off():
    assert load_settings({"SMS_QUIET_HOURS": "off"}, {}, "/tmp").quiet_hours is None


def test_a_reminder_outside_quiet_hours_keeps_its_time():
    start = london(2026, 6, 10, 14)
    assert planned_fire_at(start, start - timedelta(days=3), SETTINGS, QUIET) == london(2026, 6, 9, 14)


def test_a_reminder_due_at_night_moves_to_2055_the_evening_before():
    start = london(2026, 6, 10, 7, 30)  # 24 h before is 07:30: quiet
    assert planned_fire_at(start, start - timedelta(days=3), SETTINGS, QUIET) == london(2026, 6, 8, 20, 55)


def test_a_reminder_due_just_after_21_moves_to_2055_that_evening():
    start = london(2026, 6, 10, 22)  # an evening clinic
    assert planned_fire_at(start, start - timedelta(days=3), SETTINGS, QUIET) == london(2026, 6, 9, 20, 55)


def test_an_email_only_reminder_ignores_quiet_hours():
    start = london(2026, 6, 10, 7, 30)
    assert planned_fire_at(start, start - timedelta(days=3), SETTINGS) == london(2026, 6, 9, 7, 30)


def test_when_earlier_would_be_in_the_past_it_moves_to_0800_if_still_before_the_appointment():
    start = london(2026, 6, 10, 9)
    booked = london(2026, 6, 9, 22)  # 24 h lead: before booking; 2 h lead: 07:00, quiet; 20:55: past
    assert planned_fire_at(start, booked, SETTINGS, QUIET) == london(2026, 6, 10, 8)


def test_no_reminder_when_neither_earlier_nor_later_works():
    start = london(2026, 6, 10, 8)
    booked = london(2026, 6, 9, 23)  # 2 h lead: 06:00 quiet; 20:55 past; 08:00 is the appointment itself
    assert planned_fire_at(start, booked, SETTINGS, QUIET) is None


def test_never_into_the_past_when_the_relay_acts_late():
    start = london(2026, 6, 10, 7, 30)
    booked = start - timedelta(days=3)
    late = london(2026, 6, 8, 21, 30)  # the 20:55 reminder was missed; the short lead (05:30) is quiet too
    assert fire_at(start, booked, late, SETTINGS, QUIET) == london(2026, 6, 9, 20, 55)
    later = london(2026, 6, 9, 21, 30)  # that one missed too: 20:55 is past, 08:00 after the start: none
    assert fire_at(start, booked, later, SETTINGS, QUIET) is None
    start = london(2026, 6, 10, 11)  # short lead 09:00: outside quiet hours
    assert fire_at(start, start - timedelta(days=3), london(2026, 6, 9, 11, 30), SETTINGS, QUIET) == \
        london(2026, 6, 10, 9)


@pytest.mark.parametrize(("start", "expected"), [
    # Clocks go forward at 01:00 GMT on Sun 29 Mar 2026: quiet hours stay 21:00-08:00 on the wall clock.
    (london(2026, 3, 30, 7), london(2026, 3, 28, 20, 55)),
    (london(2026, 3, 29, 23), london(2026, 3, 28, 20, 55)),
    # Clocks go back at 02:00 BST on Sun 25 Oct 2026.
    (london(2026, 10, 26, 7), london(2026, 10, 24, 20, 55)),
    (london(2026, 10, 25, 22), london(2026, 10, 24, 20, 55)),
])
def test_quiet_hours_follow_the_clinic_clock_across_a_daylight_saving_change(start, expected):
    fired = planned_fire_at(start, start - timedelta(days=5), SETTINGS, QUIET)
    assert fired == expected
    assert fired.astimezone(LONDON).time() == time(20, 55)


def test_reconcile_accepts_the_moved_times():
    start = london(2026, 6, 10, 7, 30)
    booked = start - timedelta(days=3)
    accepted = acceptable_fire_times(start, booked, SETTINGS, QUIET)
    assert london(2026, 6, 8, 20, 55) in accepted  # the planned one
    assert london(2026, 6, 9, 20, 55) in accepted  # the short lead (05:30) moved earlier
    assert not any(QUIET.contains(instant) for instant in accepted)
