"""The slot engine with appointment types: mixed lengths, each appointment with its own buffer, a start grid."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zoneinfo import ZoneInfo

from carebook.slots import (GRID_DURATION, GRID_DURATION_PLUS_BUFFER, Availability, WeeklyPattern, bookable_slots,
                            grid_minutes_for, working_intervals)

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 6, 1)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
SPRING_FORWARD = date(2026, 3, 29)  # 01:00 GMT becomes 02:00 BST
FALL_BACK = date(2026, 10, 25)  # 02:00 BST becomes 01:00 GMT
HOURS = [(time(8), time(18))]


def availability(minutes: int, buffer: int = 0, grid: int | str | None = None) -> Availability:
    """A type's availability on a grid of so many minutes, a clinic's named grid, or the engine's own (None)."""
    grid_minutes = grid_minutes_for(grid, minutes, buffer) if isinstance(grid, str) else grid
    return Availability(appointment_minutes=minutes, buffer_minutes=buffer, grid_minutes=grid_minutes,
                        patterns=[WeeklyPattern(date(2026, 1, 1), {d: HOURS for d in range(7)})])


def grid_step(grid: int | str | None, minutes: int, buffer: int) -> timedelta:
    """What each grid means, written out apart from the engine's reading of it."""
    if grid is None or grid == "duration+buffer":
        return timedelta(minutes=minutes + buffer)
    if grid == "duration":
        return timedelta(minutes=minutes)
    return timedelta(minutes=grid)


def at(day: date, wall: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(wall), LONDON).astimezone(UTC)


def slots_on(avail: Availability, day: date, taken=()) -> list:
    return bookable_slots(avail, first_day=day, last_day=day, tz=LONDON, now=LONG_AGO,
                          minimum_notice=timedelta(0), horizon=timedelta(days=3650), taken=taken)


def local_starts(found) -> list[str]:
    return [slot.start_at.astimezone(LONDON).strftime("%H:%M") for slot in found]


def test_a_thirty_minute_type_fits_only_where_thirty_minutes_and_its_buffer_are_free():
    # 08:00-08:10 is taken by a 10-minute appointment with a 5-minute buffer; 09:00-10:00 by an hour.
    taken = [(at(MONDAY, "08:00"), at(MONDAY, "08:15")), (at(MONDAY, "09:00"), at(MONDAY, "10:00"))]
    found = slots_on(availability(30, buffer=10, grid=5), MONDAY, taken)
    starts = local_starts(found)
    assert starts[:5] == ["08:15", "08:20", "10:00", "10:05", "10:10"]  # 08:15 + 30 + 10 ends at 08:55
    assert "08:25" not in starts  # 08:25 + 30 + 10 runs into 09:00


def test_without_a_grid_setting_slots_step_by_the_length_plus_buffer_as_before():
    assert local_starts(slots_on(availability(30, buffer=10), MONDAY))[:3] == ["08:00", "08:40", "09:20"]


def test_the_duration_grid_steps_by_the_types_own_length_whatever_its_buffer():
    assert local_starts(slots_on(availability(30, buffer=10, grid=GRID_DURATION), MONDAY))[:4] == \
        ["08:00", "08:30", "09:00", "09:30"]


def test_on_the_duration_grid_a_booking_and_its_buffer_take_the_next_start_too():
    taken = [(at(MONDAY, "08:00"), at(MONDAY, "08:40"))]  # a 30-minute visit with its 10-minute buffer
    assert local_starts(slots_on(availability(30, buffer=10, grid=GRID_DURATION), MONDAY, taken))[:3] == \
        ["09:00", "09:30", "10:00"]


def test_the_duration_plus_buffer_grid_packs_a_buffered_type_back_to_back():
    assert local_starts(slots_on(availability(30, buffer=10, grid=GRID_DURATION_PLUS_BUFFER), MONDAY))[:3] == \
        ["08:00", "08:40", "09:20"]


@pytest.mark.parametrize("grid, expected", [("duration", 40), ("duration+buffer", 45), (15, 15)])
def test_a_clinic_grid_gives_the_minutes_between_starts_for_a_type(grid, expected):
    assert grid_minutes_for(grid, 40, 5) == expected


@pytest.mark.parametrize("grid", ["buffer", "", None, True])
def test_an_unknown_grid_is_refused(grid):
    with pytest.raises(ValueError):
        grid_minutes_for(grid, 30, 0)


def test_a_grid_finer_than_the_length_lists_each_free_start():
    assert local_starts(slots_on(availability(30, grid=15), MONDAY))[:4] == ["08:00", "08:15", "08:30", "08:45"]


def test_a_short_type_fits_in_the_gap_a_long_one_does_not():
    taken = [(at(MONDAY, "08:00"), at(MONDAY, "08:45")), (at(MONDAY, "09:00"), at(MONDAY, "18:00"))]
    assert local_starts(slots_on(availability(10, grid=5), MONDAY, taken)) == ["08:45", "08:50"]
    assert slots_on(availability(30, grid=5), MONDAY, taken) == []


def test_a_grid_must_be_positive():
    with pytest.raises(ValueError):
        slots_on(availability(30, grid=0), MONDAY)


# ------------------------------------------------------------------------------ properties

DURATIONS = [5, 10, 15, 20, 30, 40, 45, 60]
BUFFERS = [0, 5, 10, 15]
#: Every grid a clinic may set (SLOT_GRID_MINUTES: the named ones and numbers), and the engine's own.
GRIDS = [GRID_DURATION, GRID_DURATION_PLUS_BUFFER, 5, 10, 15, 30, None]


@st.composite
def calendars(draw, day: date = MONDAY):
    """Existing appointments of mixed lengths and buffers, on 5-minute wall times, and a type to book."""
    taken_wall = []
    minute = draw(st.integers(0, 60)) * 5  # from 08:00
    while minute < 600:
        length, buffer = draw(st.sampled_from(DURATIONS)), draw(st.sampled_from(BUFFERS))
        taken_wall.append((minute, minute + length + buffer))
        minute += length + buffer + draw(st.integers(0, 16)) * 5
    return {
        "taken_wall": taken_wall,
        "minutes": draw(st.sampled_from(DURATIONS)),
        "buffer": draw(st.sampled_from(BUFFERS)),
    }


def taken_on(day: date, taken_wall) -> list:
    opening = at(day, "08:00")
    return [(opening + timedelta(minutes=a), opening + timedelta(minutes=b)) for a, b in taken_wall]


# Each property runs for every grid, with more examples per grid than one shared draw gave each.
PROPERTIES = settings(max_examples=100, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow])
EVERY_GRID = pytest.mark.parametrize("grid", GRIDS, ids=str)


@EVERY_GRID
@PROPERTIES
@given(calendar=calendars())
def test_property_no_listed_slot_overlaps_an_appointment_or_either_buffer(grid, calendar):
    avail = availability(calendar["minutes"], calendar["buffer"], grid)
    taken = taken_on(MONDAY, calendar["taken_wall"])
    buffer = timedelta(minutes=calendar["buffer"])
    (open_at, close_at), = working_intervals(avail, MONDAY, LONDON)
    for slot in slots_on(avail, MONDAY, taken):
        assert open_at <= slot.start_at and slot.end_at <= close_at
        assert slot.end_at - slot.start_at == timedelta(minutes=calendar["minutes"])
        for start, buffer_end in taken:
            # The slot plus its own buffer, against the appointment plus its own buffer.
            assert slot.end_at + buffer <= start or buffer_end <= slot.start_at


@EVERY_GRID
@PROPERTIES
@given(calendar=calendars())
def test_property_every_free_gap_long_enough_holds_at_least_one_slot(grid, calendar):
    avail = availability(calendar["minutes"], calendar["buffer"], grid)
    taken = taken_on(MONDAY, calendar["taken_wall"])
    length = timedelta(minutes=calendar["minutes"])
    buffer = timedelta(minutes=calendar["buffer"])
    step = grid_step(grid, calendar["minutes"], calendar["buffer"])
    (open_at, close_at), = working_intervals(avail, MONDAY, LONDON)
    found = [slot.start_at for slot in slots_on(avail, MONDAY, taken)]
    # Free gaps: the working day less each appointment, widened before it by the new type's buffer.
    gaps, cursor = [], open_at
    for start, buffer_end in sorted(taken):
        if start - buffer > cursor:
            gaps.append((cursor, min(start - buffer, close_at)))
        cursor = max(cursor, buffer_end)
    if cursor < close_at:
        gaps.append((cursor, close_at))
    for gap_start, gap_end in gaps:
        grid_fits = [open_at + i * step for i in range(0, 600 // 5 + 1)
                     if gap_start <= open_at + i * step and open_at + i * step + length <= gap_end]
        if grid_fits:
            assert any(gap_start <= s and s + length <= gap_end for s in found), (gap_start, gap_end)
            assert grid_fits[0] in found  # the first start that fits is never skipped


@EVERY_GRID
@PROPERTIES
@given(calendar=calendars(), change_day=st.sampled_from([SPRING_FORWARD, FALL_BACK]))
def test_property_same_slots_across_a_daylight_saving_change(grid, calendar, change_day):
    avail = availability(calendar["minutes"], calendar["buffer"], grid)
    week_before = change_day - timedelta(days=7)
    on_change = slots_on(avail, change_day, taken_on(change_day, calendar["taken_wall"]))
    before = slots_on(avail, week_before, taken_on(week_before, calendar["taken_wall"]))
    assert local_starts(on_change) == local_starts(before)
    assert [s.end_at - s.start_at for s in on_change] == [s.end_at - s.start_at for s in before]
