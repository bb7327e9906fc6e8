"""Free-slot lists kept between requests, never staler than the database.

The slot list of one doctor over a range of days is the hot read of the whole app (a
booking rush is hundreds of patients reloading the same few doctors' slots). Computing
it means reading the doctor's calendar and running the slot engine; both give the same
answer for as long as the calendar is unchanged, except for "now", which only trims the
list at its ends (:func:`carebook.slots.within`).

The doctor list shows each doctor's first free slot, kept the same way (it stays the first
while the calendar is unchanged and it is still far enough ahead to book).

So each process keeps, per (doctor, appointment type, first day, last day), the engine's whole list
(:func:`carebook.slots.calendar_slots`) with the stamp it was computed at: the doctor's
``calendar_version`` (moved on by database triggers whenever an appointment, weekly
hours, a one-off change or time off of the doctor changes; migration 0004), and the type's
length (the doctor's own, if set) and buffer. A request reads the stamp (one primary-key lookup) and uses the kept
list only if the stamp is unchanged, so the answer is what a fresh computation would
give at that moment, in every process at once: a booking in another worker or another
container is seen by the very next request.

The stamp is read before the calendar, or in the same statement, never after: a list
can then only be newer than its stamp, which costs at worst one recomputation.

Entries also expire after ``max_age`` (default 60 s): a safety net for a database
restored to an earlier point, whose versions go back to numbers already seen.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from time import monotonic
from typing import Callable

from carebook.slots import Slot

#: What decides a doctor's slot grid besides the rows: (calendar_version, appointment minutes, buffer minutes),
#: the minutes and buffer being those of the appointment type the list is for.
Stamp = tuple[int, int, int]
#: (what is kept, doctor id, appointment type id, first day, last day): "free" for every free slot, "first
#: free" for the first; the type id None for the doctor's default type (their own length and buffer).
Key = tuple[str, int, int | None, date, date]


@dataclass(frozen=True, slots=True)
class Entry:
    stamp: Stamp
    slots: tuple[Slot, ...]
    stored_at: float


class SlotCache:
    """A bounded, thread-safe map of (what, doctor id, type id, first day, last day) to the last computed slots."""

    def __init__(self, max_entries: int = 2048, max_age: float = 60.0,
                 clock: Callable[[], float] = monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Key) -> Entry | None:
        """The entry for ``key`` if it is young enough; its stamp is for the caller to check."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry.stored_at > self.max_age:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Key, stamp: Stamp, slots: list[Slot]) -> None:
        with self._lock:
            self._entries[key] = Entry(stamp, tuple(slots), self._clock())
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def count(self, hit: bool) -> None:
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    def __len__(self) -> int:
        return len(self._entries)
