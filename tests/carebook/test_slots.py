"""The slot engine: working hours, exclusions, DST, and properties on random schedules."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zoneinfo import ZoneInfo

from carebook.slots import (
    Availability,
    Slot,
    WeeklyPattern,
    bookable_slots,
    calendar_slots,
    find_slot,
    group_by_local_day,
    within,
    working_intervals,
)

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")

MONDAY = date(2026, 6, 1)  # BST, UTC+1
TUESDAY = MONDAY + timedelta(days=1)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
EVERY_DAY = range(7)


def hours(*pairs: tuple[str, str]) -> list[tuple[time, time]]:
    return [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs]


def availability(ranges=hours(("09:00", "12:00")), *, weekdays=EVERY_DAY, minutes=30, buffer=0,
                 valid_from=date(2026, 1, 1), overrides=None, time_off=()) -> Availability:
    return Availability(
        appointment_minutes=minutes,
        buffer_minutes=buffer,
        patterns=[WeeklyPattern(valid_from, {d: ranges for d in weekdays})],
        overrides=overrides or {},
        time_off=list(time_off),
    )


def slots_on(avail: Availability, first: date, last: date | None = None, *, tz=LONDON,
             now=LONG_AGO, notice=timedelta(0), horizon=timedelta(days=3650),
             busy=()) -> list[Slot]:
    return bookable_slots(avail, first_day=first, last_day=last or first, tz=tz, now=now,
                          minimum_notice=notice, horizon=horizon, busy=busy)


def local_starts(slots: list[Slot], tz=LONDON) -> list[str]:
    return [s.start_at.astimezone(tz).strftime("%H:%M") for s in slots]


def at(day: date, hhmm: str, tz=LONDON) -> datetime:
    """A clinic wall time as a UTC instant (fold=0)."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz).astimezone(UTC)


def find(avail: Availability, start_at: datetime, *, now=LONG_AGO, busy=(), tz=LONDON):
    return find_slot(avail, start_at, tz=tz, now=now, minimum_notice=timedelta(0),
                     horizon=timedelta(days=3650), busy=busy)


# --------------------------------------------------------------------------- working hours


def test_morning_range_gives_six_half_hour_slots():
    slots = slots_on(availability(), MONDAY)
    assert local_starts(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]


def test_slots_are_utc_and_last_appointment_minutes():
    slot = slots_on(availability(), MONDAY)[0]
    assert slot.start_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert slot.start_at.tzinfo is UTC
    assert slot.end_at - slot.start_at == timedelta(minutes=30)


def test_lunch_break_splits_day_into_two_ranges():
    avail = availability(hours(("09:00", "12:00"), ("13:00", "17:00")), minutes=60)
    assert local_starts(slots_on(avail, MONDAY)) == [
        "09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00"]


def test_buffer_spaces_slot_starts_and_last_slot_must_fit():
    avail = availability(minutes=30, buffer=10)
    assert local_starts(slots_on(avail, MONDAY)) == ["09:00", "09:40", "10:20", "11:00"]


def test_override_replaces_weekly_hours_that_day_only():
    avail = availability(overrides={MONDAY: hours(("14:00", "15:00"))})
    assert local_starts(slots_on(avail, MONDAY)) == ["14:00", "14:30"]
    assert len(slots_on(avail, TUESDAY)) == 6


def test_empty_override_closes_the_day():
    avail = availability(overrides={MONDAY: []})
    assert slots_on(avail, MONDAY) == []
    assert len(slots_on(avail, TUESDAY)) == 6


def test_new_pattern_applies_from_its_valid_from():
    later = WeeklyPattern(TUESDAY, {d: hours(("14:00", "15:00")) for d in EVERY_DAY})
    earlier = WeeklyPattern(date(2026, 1, 1), {d: hours(("09:00", "10:00")) for d in EVERY_DAY})
    avail = Availability(appointment_minutes=30, patterns=[later, earlier])  # any order
    assert local_starts(slots_on(avail, MONDAY)) == ["09:00", "09:30"]
    assert local_starts(slots_on(avail, TUESDAY)) == ["14:00", "14:30"]
    assert local_starts(slots_on(avail, TUESDAY + timedelta(days=30))) == ["14:00", "14:30"]


def test_day_before_first_pattern_has_no_slots():
    avail = availability(valid_from=TUESDAY)
    assert slots_on(avail, MONDAY) == []
    assert len(slots_on(avail, TUESDAY)) == 6


def test_weekday_without_ranges_is_not_worked():
    avail = availability(weekdays=[0])  # Mondays only
    assert len(slots_on(avail, MONDAY)) == 6
    assert slots_on(avail, TUESDAY) == []


def test_overlapping_ranges_are_merged_and_yield_no_overlapping_slots():
    avail = availability(hours(("09:00", "10:30"), ("10:00", "11:00"), ("09:15", "09:45")))
    slots = slots_on(avail, MONDAY)
    assert local_starts(slots) == ["09:00", "09:30", "10:00", "10:30"]
    assert working_intervals(avail, MONDAY, LONDON) == [(at(MONDAY, "09:00"), at(MONDAY, "11:00"))]


def test_touching_ranges_form_one_continuous_block():
    avail = availability(hours(("09:00", "10:00"), ("10:00", "11:00")), minutes=30, buffer=10)
    assert local_starts(slots_on(avail, MONDAY)) == ["09:00", "09:40", "10:20"]


def test_range_spanning_several_days_is_listed_day_by_day_in_order():
    slots = slots_on(availability(), MONDAY, MONDAY + timedelta(days=2))
    assert len(slots) == 18
    assert slots == sorted(slots)


def test_empty_day_range_gives_nothing():
    assert slots_on(availability(), TUESDAY, MONDAY) == []


# --------------------------------------------------------------------------- exclusions


def test_slots_inside_minimum_notice_are_excluded():
    now = at(MONDAY, "08:00")
    slots = slots_on(availability(), MONDAY, now=now, notice=timedelta(hours=2))
    # 10:00 is exactly on the notice and stays.
    assert local_starts(slots) == ["10:00", "10:30", "11:00", "11:30"]


def test_past_slots_are_excluded():
    slots = slots_on(availability(), MONDAY, now=at(MONDAY, "10:10"))
    assert local_starts(slots) == ["10:30", "11:00", "11:30"]


def test_slots_beyond_horizon_are_excluded():
    now = at(MONDAY, "08:00")
    slots = slots_on(availability(), MONDAY, TUESDAY, now=now, horizon=timedelta(hours=3))
    # 11:00 is exactly on the horizon and stays.
    assert local_starts(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00"]


def test_part_day_time_off_removes_only_overlapping_slots():
    off = (at(MONDAY, "09:30"), at(MONDAY, "10:45"))
    slots = slots_on(availability(time_off=[off]), MONDAY)
    assert local_starts(slots) == ["09:00", "11:00", "11:30"]  # 09:00-09:30 touches and stays


def test_multi_day_time_off_removes_every_day_it_covers():
    off = (at(MONDAY, "12:00"), at(MONDAY + timedelta(days=2), "10:00"))
    slots = slots_on(availability(time_off=[off]), MONDAY, MONDAY + timedelta(days=3))
    by_day = {d: local_starts(s) for d, s in group_by_local_day(slots, LONDON).items()}
    assert by_day == {
        MONDAY: ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"],
        MONDAY + timedelta(days=2): ["10:00", "10:30", "11:00", "11:30"],
        MONDAY + timedelta(days=3): ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"],
    }


def test_busy_appointment_removes_its_slot():
    busy = [(at(MONDAY, "10:00"), at(MONDAY, "10:30"))]
    assert local_starts(slots_on(availability(), MONDAY, busy=busy)) == [
        "09:00", "09:30", "10:30", "11:00", "11:30"]


def test_off_grid_busy_appointment_of_other_length_removes_every_slot_it_touches():
    busy = [(at(MONDAY, "09:50"), at(MONDAY, "11:05"))]  # 75 minutes, off the 30-minute grid
    assert local_starts(slots_on(availability(), MONDAY, busy=busy)) == ["09:00", "11:30"]


def test_buffer_widens_busy_appointment_on_both_sides():
    avail = availability(minutes=20, buffer=10)  # grid 09:00, 09:30, ... 11:30
    busy = [(at(MONDAY, "10:05"), at(MONDAY, "10:25"))]  # widened to 09:55-10:35
    assert local_starts(slots_on(avail, MONDAY, busy=busy)) == ["09:00", "09:30", "11:00", "11:30"]


def test_unsorted_overlapping_busy_and_time_off_are_all_respected():
    busy = [(at(MONDAY, "11:30"), at(MONDAY, "12:00")), (at(MONDAY, "09:00"), at(MONDAY, "09:40")),
            (at(MONDAY, "09:10"), at(MONDAY, "09:20"))]
    off = [(at(MONDAY, "10:30"), at(MONDAY, "11:00")), (at(MONDAY, "10:00"), at(MONDAY, "10:45"))]
    assert local_starts(slots_on(availability(time_off=off), MONDAY, busy=busy)) == ["11:00"]


def test_long_busy_block_is_skipped_without_losing_the_next_free_slot():
    avail = availability(hours(("09:00", "17:00")), minutes=15, buffer=5)  # grid every 20 minutes
    busy = [(at(MONDAY, "09:05"), at(MONDAY, "15:53"))]  # widened to 09:00-15:58
    assert local_starts(slots_on(avail, MONDAY, busy=busy)) == ["16:00", "16:20", "16:40"]


def test_busy_interval_ending_before_it_starts_blocks_nothing():
    busy = [(at(MONDAY, "10:30"), at(MONDAY, "09:30"))]
    assert len(slots_on(availability(minutes=120, buffer=0), MONDAY, busy=busy)) == 1


def test_busy_given_in_another_zone_is_compared_as_an_instant():
    start = datetime(2026, 6, 1, 5, 0, tzinfo=NEW_YORK)  # 10:00 London
    busy = [(start, start + timedelta(minutes=30))]
    assert "10:00" not in local_starts(slots_on(availability(), MONDAY, busy=busy))


@pytest.mark.parametrize("day", [MONDAY, date(2025, 1, 1)], ids=["working-day", "day-off"])
@pytest.mark.parametrize("bad", ["now", "busy", "time_off"])
def test_naive_datetimes_are_rejected(bad, day):
    naive = datetime(2026, 6, 1, 10, 0)
    aware = at(MONDAY, "10:00")
    avail = availability(time_off=[(naive, aware)] if bad == "time_off" else ())
    with pytest.raises(ValueError):
        slots_on(avail, day, now=naive if bad == "now" else LONG_AGO,
                 busy=[(naive, aware)] if bad == "busy" else ())


# --------------------------------------------------------------------------- find_slot


def test_find_slot_returns_the_slot_at_an_exact_grid_start():
    start = at(MONDAY, "10:30")
    assert find(availability(), start) == Slot(start, start + timedelta(minutes=30))


def test_find_slot_accepts_a_start_in_any_zone():
    start = datetime(2026, 6, 1, 5, 30, tzinfo=NEW_YORK)  # 10:30 London
    slot = find(availability(), start)
    assert slot is not None and slot.start_at == at(MONDAY, "10:30") and slot.start_at.tzinfo is UTC


def test_find_slot_is_none_off_grid():
    assert find(availability(), at(MONDAY, "10:15")) is None


def test_find_slot_is_none_when_taken():
    busy = [(at(MONDAY, "10:30"), at(MONDAY, "11:00"))]
    assert find(availability(), at(MONDAY, "10:30"), busy=busy) is None


def test_find_slot_is_none_in_the_past():
    assert find(availability(), at(MONDAY, "10:30"), now=at(MONDAY, "10:31")) is None


def test_find_slot_is_none_outside_hours():
    assert find(availability(), at(MONDAY, "12:00")) is None
    assert find(availability(), at(MONDAY, "08:30")) is None


def test_find_slot_rejects_a_naive_start():
    with pytest.raises(ValueError):
        find(availability(), datetime(2026, 6, 1, 10, 30))


# --------------------------------------------------------------------------- grouping


def test_group_by_local_day_uses_the_clinic_date():
    avail = availability(hours(("00:00", "01:00")))
    slots = slots_on(avail, MONDAY, TUESDAY, tz=SYDNEY)  # Sydney midnight is the previous UTC day
    grouped = group_by_local_day(slots, SYDNEY)
    assert list(grouped) == [MONDAY, TUESDAY]
    assert [len(v) for v in grouped.values()] == [2, 2]
    assert grouped[MONDAY][0].start_at.date() == MONDAY - timedelta(days=1)


# --------------------------------------------------------------------------- DST

SPRING = date(2026, 3, 29)  # London 01:00 GMT -> 02:00 BST
AUTUMN = date(2026, 10, 25)  # London 02:00 BST -> 01:00 GMT


def relocalises(instant: datetime, tz: ZoneInfo) -> bool:
    """The instant's local wall time, read back with fold=0, is the same instant."""
    wall = instant.astimezone(tz).replace(tzinfo=None)
    return wall.replace(tzinfo=tz).astimezone(UTC) == instant


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_london_dst_day_keeps_nine_to_five_slots(day):
    avail = availability(hours(("09:00", "17:00")))
    days = [day - timedelta(days=1), day, day + timedelta(days=1)]
    expected = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)]
    for d in days:
        assert local_starts(slots_on(avail, d)) == expected


def test_london_spring_gap_range_gives_three_real_hours():
    slots = slots_on(availability(hours(("00:00", "04:00"))), SPRING)
    assert len(slots) == 6
    assert slots[-1].end_at - slots[0].start_at == timedelta(hours=3)
    assert local_starts(slots) == ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]
    assert all(relocalises(s.start_at, LONDON) for s in slots)


def test_london_range_starting_inside_the_gap_starts_at_the_transition():
    slots = slots_on(availability(hours(("01:30", "03:00"))), SPRING)
    assert [s.start_at for s in slots] == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
                                           datetime(2026, 3, 29, 1, 30, tzinfo=UTC)]


def test_london_fall_back_range_gives_five_real_hours():
    slots = slots_on(availability(hours(("00:00", "04:00"))), AUTUMN)
    assert len(slots) == 10
    assert len({s.start_at for s in slots}) == 10
    assert slots[0].start_at == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert slots[-1].end_at == datetime(2026, 10, 25, 4, 0, tzinfo=UTC)
    assert local_starts(slots) == ["00:00", "00:30", "01:00", "01:30", "01:00", "01:30",
                                   "02:00", "02:30", "03:00", "03:30"]


def test_new_york_dst_days_keep_office_hours_and_gap_loses_an_hour():
    avail = availability(hours(("09:00", "17:00")))
    expected = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)]
    for switch in (date(2026, 3, 8), date(2026, 11, 1)):
        for d in (switch - timedelta(days=1), switch, switch + timedelta(days=1)):
            assert local_starts(slots_on(avail, d, tz=NEW_YORK), NEW_YORK) == expected
    night = slots_on(availability(hours(("01:00", "04:00"))), date(2026, 3, 8), tz=NEW_YORK)
    assert local_starts(night, NEW_YORK) == ["01:00", "01:30", "03:00", "03:30"]
    assert all(relocalises(s.start_at, NEW_YORK) for s in night)
    night = slots_on(availability(hours(("00:00", "03:00"))), date(2026, 11, 1), tz=NEW_YORK)
    assert len(night) == 8  # four real hours


# --------------------------------------------------------------------------- properties

ZONES = [ZoneInfo(z)
         for z in ("Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata")]
# Days near DST switches in these zones, so random schedules often cross one.
ANCHORS = [date(2026, 3, 8), date(2026, 3, 29), date(2026, 4, 5), date(2026, 6, 15),
           date(2026, 10, 4), date(2026, 10, 25), date(2026, 11, 1)]
WINDOW_DAYS = 12

wall_minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def time_ranges(draw, max_size=3):
    result = []
    for _ in range(draw(st.integers(0, max_size))):
        a, b = sorted(draw(st.lists(wall_minutes, min_size=2, max_size=2, unique=True)))
        result.append((time(a // 60, a % 60), time(b // 60, b % 60)))
    return result


@st.composite
def instants(draw, base: datetime, spread_minutes: int):
    return base + timedelta(minutes=draw(st.integers(-spread_minutes, spread_minutes)),
                            seconds=draw(st.sampled_from([0, 0, 0, 17])))


@st.composite
def intervals(draw, base: datetime, max_minutes: int, max_size: int):
    result = []
    for _ in range(draw(st.integers(0, max_size))):
        start = draw(instants(base, WINDOW_DAYS * 24 * 60))
        result.append((start, start + timedelta(minutes=draw(st.integers(1, max_minutes)))))
    return result


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(ZONES))
    first_day = draw(st.sampled_from(ANCHORS)) + timedelta(days=draw(st.integers(-3, 3)))
    last_day = first_day + timedelta(days=draw(st.integers(0, WINDOW_DAYS - 1)))
    patterns = [
        WeeklyPattern(first_day + timedelta(days=draw(st.integers(-10, WINDOW_DAYS))),
                      {d: draw(time_ranges()) for d in range(7)})
        for _ in range(draw(st.integers(1, 3)))
    ]
    override_days = draw(st.lists(st.integers(0, WINDOW_DAYS), max_size=4, unique=True))
    overrides = {first_day + timedelta(days=i): draw(time_ranges(max_size=2))
                 for i in override_days}
    base = datetime.combine(first_day, time(12), tzinfo=UTC)
    avail = Availability(
        appointment_minutes=draw(st.integers(5, 60)),
        buffer_minutes=draw(st.integers(0, 15)),
        patterns=patterns,
        overrides=overrides,
        time_off=draw(intervals(base, 3 * 24 * 60, 3)),
    )
    busy = draw(intervals(base, 120, 25))
    if busy and draw(st.booleans()):  # express some appointments in the clinic zone
        busy = [(s.astimezone(tz), e.astimezone(tz)) for s, e in busy]
    return dict(
        availability=avail,
        first_day=first_day,
        last_day=last_day,
        tz=tz,
        now=draw(instants(base - timedelta(days=2), 3 * 24 * 60)),
        # Hypothesis favours small integers; sampled scales keep most windows non-empty.
        minimum_notice=timedelta(minutes=draw(st.sampled_from([0, 0, 30, 120, 24 * 60]))
                                 + draw(st.integers(0, 59))),
        horizon=timedelta(days=draw(st.sampled_from([1, 7, 30, 30, 60])),
                          minutes=draw(st.integers(-720, 720))),
        busy=busy,
    )


def overlaps(a_start, a_end, b_start, b_end) -> bool:
    return a_start < b_end and b_start < a_end


def reference_slots(sc) -> list[Slot]:
    """Every grid point checked against every exclusion: slow, obvious, independent of the walk."""
    avail = sc["availability"]
    length = timedelta(minutes=avail.appointment_minutes)
    step = length + timedelta(minutes=avail.buffer_minutes)
    pad = timedelta(minutes=avail.buffer_minutes)
    earliest, latest = sc["now"] + sc["minimum_notice"], sc["now"] + sc["horizon"]
    blocked = list(avail.time_off) + [(s - pad, e + pad) for s, e in sc["busy"]]
    result = []
    day = sc["first_day"]
    while day <= sc["last_day"]:
        for start, end in working_intervals(avail, day, sc["tz"]):
            s = start
            while s + length <= end:
                free = not any(overlaps(s, s + length, b, e) for b, e in blocked)
                if free and earliest <= s <= latest:
                    result.append(Slot(s, s + length))
                s += step
        day += timedelta(days=1)
    return result


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def run(sc) -> list[Slot]:
    return bookable_slots(sc["availability"], first_day=sc["first_day"], last_day=sc["last_day"],
                          tz=sc["tz"], now=sc["now"], minimum_notice=sc["minimum_notice"],
                          horizon=sc["horizon"], busy=sc["busy"])


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_no_slot_overlaps_busy_or_time_off(sc):
    pad = timedelta(minutes=sc["availability"].buffer_minutes)
    for slot in run(sc):
        for start, end in sc["availability"].time_off:
            assert not overlaps(slot.start_at, slot.end_at, start, end)
        for start, end in sc["busy"]:
            assert not overlaps(slot.start_at, slot.end_at, start - pad, end + pad)


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_every_slot_lies_inside_working_time_of_its_local_day(sc):
    for slot in run(sc):
        day = slot.start_at.astimezone(sc["tz"]).date()
        assert sc["first_day"] <= day <= sc["last_day"]
        assert any(start <= slot.start_at and slot.end_at <= end
                   for start, end in working_intervals(sc["availability"], day, sc["tz"]))


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_slots_respect_notice_and_horizon(sc):
    for slot in run(sc):
        assert sc["now"] + sc["minimum_notice"] <= slot.start_at <= sc["now"] + sc["horizon"]


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_slots_sorted_disjoint_utc_and_of_appointment_length(sc):
    slots = run(sc)
    length = timedelta(minutes=sc["availability"].appointment_minutes)
    assert all(s.start_at.tzinfo is UTC and s.end_at.tzinfo is UTC for s in slots)
    assert all(s.end_at - s.start_at == length for s in slots)
    assert all(a.end_at <= b.start_at for a, b in zip(slots, slots[1:]))


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_every_slot_starts_at_a_real_local_time(sc):
    tz = sc["tz"]
    for slot in run(sc):
        local = slot.start_at.astimezone(tz)
        # Either the fold=0 reading round-trips, or it is the repeated hour's second pass.
        second_pass = local.replace(fold=1).astimezone(UTC) == slot.start_at
        assert relocalises(slot.start_at, tz) or second_pass


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_find_slot_confirms_every_listed_slot(sc):
    kwargs = {k: sc[k] for k in ("tz", "now", "minimum_notice", "horizon", "busy")}
    for slot in run(sc):
        assert find_slot(sc["availability"], slot.start_at, **kwargs) == slot


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_matches_brute_force_reference(sc):
    assert run(sc) == reference_slots(sc)


def first_instant_at_or_after(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """Brute force the DST rule: the first UTC minute whose local wall clock reads >= wall."""
    target = datetime.combine(day, wall)
    instant = (target - timedelta(hours=15)).replace(tzinfo=UTC)
    while instant.astimezone(tz).replace(tzinfo=None) < target:
        instant += timedelta(minutes=1)
    return instant


early_hours = st.integers(min_value=0, max_value=4 * 60)  # where the switches happen


@PROPERTY_SETTINGS
@given(tz=st.sampled_from(ZONES + [NEW_YORK, LONDON]),
       day=st.sampled_from(ANCHORS).flatmap(lambda d: st.sampled_from([d - timedelta(days=1), d])),
       walls=st.lists(st.one_of(early_hours, wall_minutes), min_size=2, max_size=2, unique=True))
def test_property_working_intervals_follow_the_dst_rule(tz, day, walls):
    a, b = (time(m // 60, m % 60) for m in sorted(walls))
    avail = Availability(appointment_minutes=15,
                         patterns=[WeeklyPattern(day, {day.weekday(): [(a, b)]})])
    start, end = first_instant_at_or_after(day, a, tz), first_instant_at_or_after(day, b, tz)
    assert working_intervals(avail, day, tz) == ([(start, end)] if end > start else [])


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_the_calendar_slots_within_notice_and_horizon_are_the_bookable_ones(sc):
    every = calendar_slots(sc["availability"], first_day=sc["first_day"], last_day=sc["last_day"], tz=sc["tz"],
                           busy=sc["busy"])
    assert list(within(every, sc["now"] + sc["minimum_notice"], sc["now"] + sc["horizon"])) == run(sc)
