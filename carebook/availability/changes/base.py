"""What every availability change is: a small frozen value that knows its own rules.

The service (carebook/availability/service.py) takes a change through the same steps
whatever its type, and asks the change itself at each one:

1. :meth:`Change.problems`: is it allowed? (nothing: it may be applied)
2. :meth:`Change.proposed`: the doctor's availability as it would be, to find the
   booked appointments it would leave outside the doctor's time;
3. :meth:`Change.write`: store it, and say what the audit row (``action``) records.

:meth:`Change.describe` puts it in a sentence for the doctor's pages, and ``section``
names the part of the calendar it edits.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, timedelta
from typing import Any, ClassVar, Iterator

from carebook import slots, timefmt
from carebook.availability.errors import Problem
from carebook.availability.store import CalendarStore
from models import Doctor

#: How far ahead a change may be planned; also keeps date arithmetic far from its limits.
PLANNING_HORIZON = timedelta(days=731)


class Change(ABC):
    """One edit of one doctor's availability. Subclasses are frozen dataclasses."""

    doctor_id: int
    #: The audit log's action for this change ("availability.<what>").
    action: ClassVar[str]
    #: The part of the calendar it edits: "hours", "one_offs" or "time_off" (the doctor's pages are named so).
    section: ClassVar[str]
    #: False for a change that cannot move a booked appointment outside the doctor's time.
    can_affect_appointments: ClassVar[bool] = True

    @abstractmethod
    def problems(self, calendar: CalendarStore) -> Iterator[Problem]:
        """Every rule the change breaks."""

    @abstractmethod
    def proposed(self, current: slots.Availability, calendar: CalendarStore) -> slots.Availability:
        """``current`` as it would be with the change applied (pure; nothing written)."""

    @abstractmethod
    def write(self, doctor: Doctor, calendar: CalendarStore) -> dict[str, Any]:
        """Store the change; return what its audit row should say (never health details)."""

    @abstractmethod
    def describe(self) -> str:
        """The change in a sentence, for flashes and the confirmation page."""


def date_problems(day: date, field_name: str, today: date) -> Iterator[Problem]:
    """A change starts today or later, within the planning horizon."""
    if day < today:
        yield Problem(field_name, f"That date is in the past. Changes can start today "
                                  f"({timefmt.format_date(today)}) or later.")
    elif day > today + PLANNING_HORIZON:
        yield Problem(field_name, "Choose a date within the next two years.")
