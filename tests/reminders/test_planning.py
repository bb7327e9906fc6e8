"""The lead-time rule and the reminder's name, id and payload."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from reminders.planning import (
    appointment_id_from_name,
    fire_at,
    local_time_text,
    planned_fire_at,
    schedule_name,
)
from reminders.settings import load_settings

UTC = timezone.utc
START = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
SETTINGS = load_settings({}, {}, "/tmp")


def hours_before(hours: float) -> datetime:
    return START - timedelta(hours=hours)


def test_booked_days_ahead_fires_a_full_lead_before():
    assert planned_fire_at(START, hours_before(72), SETTINGS) == hours_before(24)


def test_booked_just_over_the_lead_ahead_still_gets_the_full_lead():
    assert planned_fire_at(START, hours_before(24) - timedelta(minutes=5), SETTINGS) == hours_before(24)


def test_booked_inside_the_lead_fires_the_short_lead_before():
    assert planned_fire_at(START, hours_before(10), SETTINGS) == hours_before(2)


def test_booked_inside_the_short_lead_gets_no_reminder():
    assert planned_fire_at(START, hours_before(2), SETTINGS) is None


def test_the_short_lead_needs_a_safety_margin_after_booking():
    assert planned_fire_at(START, hours_before(2) - timedelta(minutes=4), SETTINGS) is None


def test_a_relay_on_time_uses_the_planned_time():
    assert fire_at(START, hours_before(72), hours_before(70), SETTINGS) == hours_before(24)


def test_a_late_relay_falls_back_to_the_short_lead():
    assert fire_at(START, hours_before(72), hours_before(23), SETTINGS) == hours_before(2)


def test_a_very_late_relay_schedules_nothing():
    assert fire_at(START, hours_before(72), hours_before(1), SETTINGS) is None


def test_leads_follow_the_settings():
    settings = load_settings({}, {"REMINDER_LEAD_HOURS": "48", "REMINDER_SHORT_LEAD_HOURS": "6"}, "/tmp")
    assert planned_fire_at(START, hours_before(30), settings) == hours_before(6)


def test_schedule_names_are_deterministic_and_valid():
    assert schedule_name(42) == "appt-42-reminder"


@pytest.mark.parametrize("name, expected", [("appt-42-reminder", 42), ("appt-x-reminder", None),
                                            ("other-42-reminder", None)])
def test_schedule_names_map_back_to_appointments(name, expected):
    assert appointment_id_from_name(name) == expected


def test_local_time_text_names_the_zone_in_summer():
    assert local_time_text(START, ZoneInfo("Europe/London")) == "Wednesday 10 June 2026, 10:00 BST (Europe/London time)"


def test_local_time_text_names_the_zone_in_winter():
    winter = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert local_time_text(winter, ZoneInfo("Europe/London")) == \
        "Tuesday 1 December 2026, 09:00 GMT (Europe/London time)"
