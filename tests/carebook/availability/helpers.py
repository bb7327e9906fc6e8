"""Shared by the availability tests: London wall-clock times, booking, and reading a change's problems."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from carebook import audit
from carebook.availability import InvalidChange, SetWeeklyHours
from carebook.services import booking_service
from models import Appointment

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
MONDAY, TUESDAY, WEDNESDAY = 0, 1, 2
# Mondays to Fridays 09:00-17:00, as make_doctor() sets them.
NINE_TO_FIVE = {day: [(time(9), time(17))] for day in range(5)}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A London wall-clock time as an aware datetime."""
    return datetime.combine(day, time(hour, minute), LONDON)


def book(doctor, patient, start: datetime, **kwargs) -> Appointment:
    return booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                  start_at=start, **kwargs)


def problems(service, change) -> dict[str, list[str]]:
    with pytest.raises(InvalidChange) as raised:
        service.validate(change)
    found: dict[str, list[str]] = {}
    for problem in raised.value.problems:
        found.setdefault(problem.field, []).append(problem.message)
    return found


def weekly(doctor, valid_from, ranges=None, **changes):
    return SetWeeklyHours(doctor.id, valid_from, {**NINE_TO_FIVE, **(ranges or {}), **changes})
