"""Times as people read them, in the clinic's zone; the hour that happens twice is always told apart."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from carebook import timefmt

LONDON = ZoneInfo("Europe/London")
# 25 October 2026: the clocks go back at 02:00 BST, so 01:00-01:59 happens twice.
FIRST_ONE_AM = datetime(2026, 10, 25, 0, 0, tzinfo=timezone.utc)   # 01:00 BST
SECOND_ONE_AM = datetime(2026, 10, 25, 1, 0, tzinfo=timezone.utc)  # 01:00 GMT


def test_a_time_in_a_list_has_no_zone_label():
    assert timefmt.format_datetime(datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc), LONDON) == "Thu 3 Dec, 09:30"


def test_a_time_that_stands_alone_carries_the_zone_label_of_that_day():
    assert timefmt.format_datetime(datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc), LONDON, zoned=True) == "Thu 3 Dec, 09:30 GMT"
    assert timefmt.format_time(datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc), LONDON, zoned=True) == "10:00 BST"


def test_the_two_one_oclocks_of_the_night_the_clocks_go_back_are_told_apart_even_in_lists():
    assert timefmt.format_time(FIRST_ONE_AM, LONDON) == "01:00 BST"
    assert timefmt.format_time(SECOND_ONE_AM, LONDON) == "01:00 GMT"
    assert timefmt.format_datetime(FIRST_ONE_AM, LONDON) != timefmt.format_datetime(SECOND_ONE_AM, LONDON)


def test_the_hours_around_the_repeated_one_have_no_label_in_lists():
    assert timefmt.format_time(datetime(2026, 10, 24, 23, 30, tzinfo=timezone.utc), LONDON) == "00:30"
    assert timefmt.format_time(datetime(2026, 10, 25, 2, 0, tzinfo=timezone.utc), LONDON) == "02:00"
