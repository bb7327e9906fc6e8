"""Why an availability change was not applied: it breaks a rule, or it needs the user's confirmation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from models import Appointment


@dataclass(frozen=True)
class Problem:
    """What is wrong with a change. ``field`` names the input: "valid_from", "ranges",
    "ranges.<weekday>.<n>" (n-th range given for that weekday), "ranges.<n>",
    "appointment_minutes", "buffer_minutes", "on_date", "start_date", "end_date",
    "start_time", "end_time", "note", "time_off" or "reason"."""

    field: str
    message: str


class InvalidChange(Exception):
    """The change breaks a rule; nothing was written."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    def messages(self, field_name: str) -> list[str]:
        return [p.message for p in self.problems if p.field == field_name]


class NeedsConfirmation(Exception):
    """The change would leave these booked appointments outside the doctor's time.

    Nothing was written. Show them, then apply with ``confirm_affected=True`` (keep and
    flag them) or call ``cancel_affected``.
    """

    def __init__(self, affected: Sequence[Appointment]):
        super().__init__(f"{len(affected)} booked appointment(s) affected")
        self.affected = list(affected)
