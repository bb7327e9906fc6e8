"""The timing of an offer (carebook/waitlist/matching.py, pure): its hold-free window and when its SMS may go."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from carebook.quiet_hours import QuietHours, QuietWindow
from carebook.waitlist.matching import OfferTiming, offer_timing

LONDON = ZoneInfo("Europe/London")
NIGHTS = QuietWindow(QuietHours(time(21), time(8)), LONDON)
HOLD, NOTICE = timedelta(minutes=30), timedelta(hours=2)


def london(day, hour, minute=0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=LONDON).astimezone(timezone.utc)


def test_by_day_the_window_is_the_hold_and_the_sms_goes_at_once():
    timing = offer_timing(london(2, 15), london(2, 10), HOLD, NOTICE, NIGHTS)
    assert timing == OfferTiming(expires_at=london(2, 10, 30), sms_at=london(2, 10))


def test_the_window_never_runs_past_the_slots_minimum_notice():
    assert offer_timing(london(2, 12, 15), london(2, 10), HOLD, NOTICE, NIGHTS).expires_at == london(2, 10, 15)


def test_a_slot_inside_the_minimum_notice_has_no_timing():
    assert offer_timing(london(2, 11), london(2, 10), HOLD, NOTICE, NIGHTS) is None


def test_at_night_the_window_and_the_sms_start_when_the_quiet_hours_end():
    timing = offer_timing(london(2, 11), london(1, 23), HOLD, NOTICE, NIGHTS)
    assert timing == OfferTiming(expires_at=london(2, 8, 30), sms_at=london(2, 8))


def test_at_night_no_sms_goes_for_a_slot_that_closes_when_the_quiet_hours_end():
    timing = offer_timing(london(2, 10), london(1, 23), HOLD, NOTICE, NIGHTS)
    assert timing == OfferTiming(expires_at=london(2, 8), sms_at=None)


def test_without_quiet_hours_the_night_is_like_the_day():
    timing = offer_timing(london(2, 11), london(1, 23), HOLD, NOTICE)
    assert timing == OfferTiming(expires_at=london(1, 23, 30), sms_at=london(1, 23))
