"""Wall-clock time ranges, as doctors enter their hours: checking, joining, formatting, looking up by day."""
from __future__ import annotations

from datetime import date
from typing import Iterable, Iterator, Sequence, TypeVar

from carebook import slots
from carebook.availability.errors import Problem

TimeRange = slots.TimeRange
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_Pair = TypeVar("_Pair", bound=tuple)


def format_range(time_range: TimeRange) -> str:
    return f"{time_range[0]:%H:%M}–{time_range[1]:%H:%M}"


def range_problems(ranges: Sequence[TimeRange], prefix: str, day_name: str) -> Iterator[Problem]:
    """End after start, and no two ranges of one day overlapping."""
    checked: list[TimeRange] = []
    for number, (start, end) in enumerate(ranges):
        where = f"{prefix}.{number}"
        if end <= start:
            yield Problem(where, "The end must be after the start.")
            continue
        clash = next((other for other in checked if start < other[1] and other[0] < end), None)
        if clash is not None:
            yield Problem(where, f"Overlaps {format_range(clash)} on {day_name}.")
            continue
        checked.append((start, end))


def merged(pairs: Iterable[_Pair]) -> list[_Pair]:
    """(start, end) pairs sorted, with overlapping or touching ones joined into one."""
    result: list = []
    for start, end in sorted(pairs):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(end, result[-1][1]))
        else:
            result.append((start, end))
    return result


def ranges_on(availability: slots.Availability, day: date) -> tuple[TimeRange, ...]:
    """The wall-clock ranges worked on ``day``: its one-off change, else the weekly pattern then."""
    if day in availability.overrides:
        return tuple(availability.overrides[day])
    in_effect = [p for p in availability.patterns if p.valid_from <= day]
    if not in_effect:
        return ()
    pattern = max(in_effect, key=lambda p: p.valid_from)
    return tuple(pattern.ranges.get(day.weekday(), ()))
