"""Benchmark the slot engine on a realistic clinic load.

20 doctors, Mon-Fri 08:30-12:30 and 13:30-17:30 in Europe/London, 15-minute
slots, a little time off, about 60% of slots already booked; ``bookable_slots``
over 90 days (crossing the spring DST switch) for all of them, repeated.

    .venv/bin/python bench/slot_engine.py [--runs 20]

Then the same clinic with appointment types (issue 12): existing appointments of mixed
lengths (10 to 45 minutes), each with its own buffer (0, 5 or 10 minutes) as the app reads
them (``taken``: to the end of the buffer), and the slots of a 30-minute type with a
5-minute buffer on each grid a clinic may set (``SLOT_GRID_MINUTES``): the default ``duration``,
``duration+buffer`` and a 5-minute grid, with each figure's ratio to today's (the target:
within 1.5x for the default).

Pure in-process timing: no Flask app, no database.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carebook.slots import (GRID_DURATION, GRID_DURATION_PLUS_BUFFER, Availability, Interval,  # noqa: E402
                            WeeklyPattern, bookable_slots, grid_minutes_for)

TZ = ZoneInfo("Europe/London")
DOCTORS = 20
DAYS = 90
FIRST_DAY = date(2026, 3, 2)  # a Monday; the window crosses 2026-03-29
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
NOW = datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc)
NOTICE = timedelta(hours=2)
HORIZON = timedelta(days=120)
BUSY_SHARE = 0.6


def doctor(rng: random.Random) -> Availability:
    ranges = [(time(8, 30), time(12, 30)), (time(13, 30), time(17, 30))]
    holiday = FIRST_DAY + timedelta(days=rng.randrange(DAYS - 7))
    afternoon = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
    time_off: list[Interval] = [
        (_utc(holiday, time(0)), _utc(holiday + timedelta(days=rng.randint(2, 5)), time(0))),
        (_utc(afternoon, time(13, 0)), _utc(afternoon, time(18, 0))),
    ]
    return Availability(
        appointment_minutes=15,
        patterns=[WeeklyPattern(date(2025, 1, 1), {weekday: ranges for weekday in range(5)})],
        time_off=time_off,
    )


def bookings(availability: Availability, rng: random.Random) -> list[Interval]:
    """About BUSY_SHARE of the free grid, mostly on-grid, some 30-minute or off-grid visits."""
    grid = _slots(availability, busy=())
    busy: list[Interval] = []
    for slot in grid:
        if rng.random() >= BUSY_SHARE:
            continue
        start, end = slot.start_at, slot.end_at
        kind = rng.random()
        if kind < 0.1:
            end += timedelta(minutes=15)
        elif kind < 0.15:
            start += timedelta(minutes=5)
            end += timedelta(minutes=5)
        busy.append((start, end))
    rng.shuffle(busy)  # the engine must not rely on the caller's order
    return busy


def _slots(availability: Availability, busy: list[Interval] | tuple = (), taken: list[Interval] | tuple = ()):
    return bookable_slots(availability, first_day=FIRST_DAY, last_day=LAST_DAY, tz=TZ, now=NOW,
                          minimum_notice=NOTICE, horizon=HORIZON, busy=busy, taken=taken)


MIXED_LENGTHS = (10, 15, 20, 30, 45)
MIXED_BUFFERS = (0, 5, 10)


def mixed_bookings(availability: Availability, rng: random.Random) -> list[Interval]:
    """About BUSY_SHARE of the day in appointments of mixed types, each to the end of its own buffer."""
    taken: list[Interval] = []
    for slot in _slots(availability):
        if rng.random() >= BUSY_SHARE or (taken and slot.start_at < max(end for _, end in taken[-3:])):
            continue
        length, buffer = rng.choice(MIXED_LENGTHS), rng.choice(MIXED_BUFFERS)
        taken.append((slot.start_at, slot.start_at + timedelta(minutes=length + buffer)))
    rng.shuffle(taken)
    return taken


def _time(clinic, runs: int, **terms) -> tuple[list[float], int]:
    timings, found = [], 0
    for _ in range(runs):
        started = clock.perf_counter()
        found = sum(len(_slots(replace(availability, **terms), taken=taken)) for availability, taken in clinic)
        timings.append((clock.perf_counter() - started) * 1000)
    return timings, found


def _utc(day: date, wall: time) -> datetime:
    return datetime.combine(day, wall, tzinfo=TZ).astimezone(timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    rng = random.Random(20260301)
    clinic = []
    for _ in range(DOCTORS):
        availability = doctor(rng)
        clinic.append((availability, bookings(availability, rng)))

    timings = []
    found = 0
    for _ in range(args.runs):
        started = clock.perf_counter()
        found = sum(len(_slots(availability, busy)) for availability, busy in clinic)
        timings.append((clock.perf_counter() - started) * 1000)

    booked = sum(len(busy) for _, busy in clinic)
    median, best = statistics.median(timings), min(timings)
    print(f"slot engine: {DOCTORS} doctors x {DAYS} days, {args.runs} runs, {TZ.key}")
    print(f"  existing appointments   {booked:>9}")
    print(f"  bookable slots found    {found:>9}")
    print(f"  {'':22}{'median':>10}{'best':>10}")
    print(f"  {'all doctors (ms)':22}{median:>10.2f}{best:>10.2f}")
    print(f"  {'per doctor (ms)':22}{median / DOCTORS:>10.3f}{best / DOCTORS:>10.3f}")

    rng = random.Random(20261201)
    mixed = [(availability, mixed_bookings(availability, rng)) for availability, _ in clinic]
    print(f"with appointment types: existing appointments of {MIXED_LENGTHS} minutes, buffers {MIXED_BUFFERS}")
    print(f"  existing appointments   {sum(len(taken) for _, taken in mixed):>9}")
    print(f"  {'30 + 5 min type':22}{'median':>10}{'best':>10}{'slots':>9}{'x today':>9}")
    for label, grid in (("duration, default (ms)", GRID_DURATION), ("duration+buffer (ms)", GRID_DURATION_PLUS_BUFFER),
                        ("5-minute grid (ms)", 5)):
        timings, found = _time(mixed, args.runs, appointment_minutes=30, buffer_minutes=5,
                               grid_minutes=grid_minutes_for(grid, 30, 5))
        mixed_median = statistics.median(timings)
        print(f"  {label:22}{mixed_median:>10.2f}{min(timings):>10.2f}{found:>9}{mixed_median / median:>9.2f}")


if __name__ == "__main__":
    main()
