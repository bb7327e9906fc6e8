"""Reading doctors' calendars and finding their free slots: the read side of the booking service.

Every slot list, the doctor list and every booking's re-check come through here. The
rows come from one statement per call (:mod:`carebook.booking.queries`); the slot
engine (:mod:`carebook.slots`) turns them into slots; a :class:`~carebook.slot_cache.SlotCache`,
if given, keeps whole lists between requests, checked against each doctor's calendar stamp.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebook import slots
from carebook.booking.queries import (CALENDAR_STAMP, TYPE_CALENDAR_STAMP, booked_between, read_calendars,
                                      stamp_of)
from carebook.clock import utcnow
from carebook.config import BookingPolicy
from carebook.slot_cache import SlotCache
from models import Appointment, Doctor

ONE_DAY = timedelta(days=1)


@dataclass
class SlotFinder:
    """Doctors' availability, busy time and bookable slots, as patients may book them now."""

    session: Session
    timezone: ZoneInfo
    policy: BookingPolicy
    #: Slot lists kept between requests (carebook/slot_cache.py); None computes every list afresh.
    cache: SlotCache | None = None

    def availabilities(self, doctors: Sequence[Doctor], first_day: date, last_day: date
                       ) -> dict[int, slots.Availability]:
        """Each doctor's availability around [first_day, last_day], in one query."""
        return self._calendars(doctors, first_day, last_day)[0]

    def busy(self, doctor_ids: Iterable[int], start: datetime, end: datetime,
             exclude_appointment_id: int | None = None) -> dict[int, list[slots.Interval]]:
        """Booked appointments of these doctors, each to the end of its own buffer, that overlap [start, end)."""
        busy: dict[int, list[slots.Interval]] = defaultdict(list)
        query = select(Appointment.doctor_id, Appointment.start_at, Appointment.buffer_end_at).where(
            *booked_between(list(doctor_ids), start, end, exclude_appointment_id))
        for doctor_id, start_at, end_at in self.session.execute(query):
            busy[doctor_id].append((start_at, end_at))
        return busy

    def free_slots(self, doctor: Doctor, first_day: date, last_day: date,
                   appointment_type_id: int | None = None) -> Sequence[slots.Slot]:
        return self.doctor_free_slots(doctor.id, first_day, last_day, appointment_type_id) or []

    def free_slots_for(self, doctors: Sequence[Doctor], first_day: date, last_day: date
                       ) -> dict[int, list[slots.Slot]]:
        """Bookable slots per doctor, as patients may book them now. One query."""
        result: dict[int, list[slots.Slot]] = {doctor.id: [] for doctor in doctors}
        active = [doctor for doctor in doctors if doctor.is_active]
        if not active:
            return result
        availabilities, busy = self._calendars(active, first_day, last_day,
                                               busy_window=self.utc_window(first_day, last_day))
        now = utcnow()
        for doctor in active:
            result[doctor.id] = self._bookable(availabilities[doctor.id], first_day, last_day, now,
                                               busy[doctor.id])
        return result

    def doctor_free_slots(self, doctor_id: int, first_day: date, last_day: date,
                          appointment_type_id: int | None = None) -> Sequence[slots.Slot] | None:
        """The bookable slots of the active doctor ``doctor_id``, or None if there is no such doctor.

        Slots of ``appointment_type_id`` (None: the doctor's default type, whose terms are the
        doctor's length and buffer): None too if the doctor does not offer that active type.
        The doctor's row comes in the same single query as the calendar. With a cache, a
        list computed earlier is reused if the doctor's calendar stamp still matches
        (one primary-key read instead of the calendar read and the engine).
        """
        if appointment_type_id is not None:
            return self._type_free_slots(doctor_id, appointment_type_id, first_day, last_day)
        key = ("free", doctor_id, None, first_day, last_day)
        kept = self.cache.get(key) if self.cache is not None else None
        if kept is not None:
            stamp = self.session.connection().execute(CALENDAR_STAMP, {"doctor_id": doctor_id}).first()
            if stamp is None:
                return None
            fresh = tuple(stamp) == kept.stamp
            self.cache.count(hit=fresh)
            if fresh:
                return self._still_bookable(kept.slots)
        rows = read_calendars(self.session, [doctor_id], first_day, last_day, self.utc_window(first_day, last_day),
                              busy_window=self.utc_window(first_day, last_day), with_doctors=True)
        if doctor_id not in rows.terms:
            return None
        if first_day > last_day:
            return []
        minutes, buffer = rows.terms[doctor_id]
        availability = rows.availability(doctor_id, minutes, buffer, self.policy.slot_grid)
        if self.cache is None:
            return self._bookable(availability, first_day, last_day, utcnow(), rows.busy[doctor_id])
        every = slots.calendar_slots(availability, first_day=first_day, last_day=last_day, tz=self.timezone,
                                     taken=rows.busy[doctor_id])
        self.cache.put(key, (rows.versions[doctor_id], minutes, buffer), every)
        return self._still_bookable(every)

    def type_terms(self, doctor_id: int, appointment_type_id: int) -> tuple[int, int, int] | None:
        """(calendar_version, length, buffer) of a type the active doctor offers, or None."""
        stamp = self.session.connection().execute(
            TYPE_CALENDAR_STAMP, {"doctor_id": doctor_id, "type_id": appointment_type_id}).first()
        return tuple(stamp) if stamp is not None else None

    def _type_free_slots(self, doctor_id: int, appointment_type_id: int, first_day: date, last_day: date
                         ) -> Sequence[slots.Slot] | None:
        """As doctor_free_slots, for a named type: its terms and stamp in one read, then as for the default."""
        stamp = self.type_terms(doctor_id, appointment_type_id)
        if stamp is None:
            return None
        key = ("free", doctor_id, appointment_type_id, first_day, last_day)
        kept = self.cache.get(key) if self.cache is not None else None
        if kept is not None:
            fresh = kept.stamp == stamp
            self.cache.count(hit=fresh)
            if fresh:
                return self._still_bookable(kept.slots)
        if first_day > last_day:
            return []
        rows = read_calendars(self.session, [doctor_id], first_day, last_day, self.utc_window(first_day, last_day),
                              busy_window=self.utc_window(first_day, last_day))
        _, minutes, buffer = stamp
        availability = rows.availability(doctor_id, minutes, buffer, self.policy.slot_grid)
        if self.cache is None:
            return self._bookable(availability, first_day, last_day, utcnow(), rows.busy[doctor_id])
        every = slots.calendar_slots(availability, first_day=first_day, last_day=last_day, tz=self.timezone,
                                     taken=rows.busy[doctor_id])
        self.cache.put(key, stamp, every)
        return self._still_bookable(every)

    def terms_free_slots(self, doctor_id: int, minutes: int, buffer: int, first_day: date, last_day: date
                         ) -> Sequence[slots.Slot] | None:
        """Bookable slots of ``minutes`` plus ``buffer`` with the active doctor ``doctor_id`` (else None).

        For an appointment whose type the doctor no longer offers (retired, or withdrawn from
        them): it moves on its own length and buffer as booked. Rare, so not kept in the cache.
        """
        rows = read_calendars(self.session, [doctor_id], first_day, last_day, self.utc_window(first_day, last_day),
                              busy_window=self.utc_window(first_day, last_day), with_doctors=True)
        if doctor_id not in rows.terms:
            return None
        if first_day > last_day:
            return []
        availability = rows.availability(doctor_id, minutes, buffer, self.policy.slot_grid)
        return self._bookable(availability, first_day, last_day, utcnow(), rows.busy[doctor_id])

    def next_free_slots(self, doctors: Sequence[Doctor], first_day: date, last_day: date,
                        step_days: int = 7, appointment_type_id: int | None = None) -> dict[int, slots.Slot | None]:
        """Each doctor's first bookable slot in [first_day, last_day], or None.

        One query reads every doctor's hours for the whole range and their bookings for
        the first ``step_days``, where nearly every doctor has a free slot. Only if some
        doctor is booked solid for that long does a second query read those doctors'
        bookings for the rest of the range. The slot engine walks the first week a day at
        a time, then a week at a time, and stops at the first free slot. With a cache, a
        doctor whose calendar stamp is unchanged costs nothing (``doctors`` then need
        ``calendar_version`` besides ``id``, ``is_active``, ``appointment_minutes`` and
        ``buffer_minutes``, read before this call). For a type, pass rows whose
        ``appointment_minutes`` and ``buffer_minutes`` are each doctor's terms for it, and its id
        (kept lists are per type).
        """
        result: dict[int, slots.Slot | None] = {doctor.id: None for doctor in doctors}
        active = [doctor for doctor in doctors if doctor.is_active]
        if not active or first_day > last_day:
            return result
        now = utcnow()
        for doctor in active:
            result[doctor.id] = self._kept_first_free(doctor, first_day, last_day, now, appointment_type_id)
        to_find = [doctor for doctor in active if result[doctor.id] is None]
        if to_find:
            found = self._first_free(to_find, first_day, last_day, now, step_days)
            result.update(found)
            self._keep_first_free(to_find, found, first_day, last_day, appointment_type_id)
        return result

    def bookable_days(self) -> tuple[date, date]:
        """The first and last local dates on which a patient may book today."""
        now = utcnow()
        return (now + self.policy.minimum_notice).astimezone(self.timezone).date(), \
            (now + self.policy.booking_horizon).astimezone(self.timezone).date()

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.timezone).date()

    def utc_window(self, first_day: date, last_day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(first_day, time(0), self.timezone)
        end = datetime.combine(last_day + timedelta(days=1), time(0), self.timezone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    # -- internals -----------------------------------------------------------------------

    def _still_bookable(self, every: Sequence[slots.Slot]) -> Sequence[slots.Slot]:
        """The part of a whole calendar's free slots that patients may book now."""
        now = utcnow()
        return slots.within(every, now + self.policy.minimum_notice, now + self.policy.booking_horizon)

    def _kept_first_free(self, doctor: Doctor, first_day: date, last_day: date, now: datetime,
                         appointment_type_id: int | None = None) -> slots.Slot | None:
        """The first free slot found earlier, if the doctor's calendar is unchanged and it is still bookable.

        It is still the first: any earlier slot was taken or not yet bookable then, and time only
        moves the start of the bookable window forward. (No slot found is not kept: as time passes,
        one may come within the horizon.)
        """
        key = ("first free", doctor.id, appointment_type_id, first_day, last_day)
        kept = self.cache.get(key) if self.cache is not None else None
        if kept is None:
            return None
        fresh = kept.stamp == stamp_of(doctor) and kept.slots[0].start_at >= now + self.policy.minimum_notice
        self.cache.count(hit=fresh)
        return kept.slots[0] if fresh else None

    def _keep_first_free(self, doctors: Sequence[Doctor], found: dict[int, slots.Slot | None],
                         first_day: date, last_day: date, appointment_type_id: int | None = None) -> None:
        if self.cache is None:
            return
        for doctor in doctors:
            if found[doctor.id] is not None:
                self.cache.put(("first free", doctor.id, appointment_type_id, first_day, last_day),
                               stamp_of(doctor), [found[doctor.id]])

    def _first_free(self, active: Sequence[Doctor], first_day: date, last_day: date, now: datetime,
                    step_days: int) -> dict[int, slots.Slot | None]:
        first_week_end = min(first_day + timedelta(days=step_days - 1), last_day)
        # One day more than the week, so buffers around a booking just after it still count.
        availabilities, busy = self._calendars(
            active, first_day, last_day, busy_window=self.utc_window(first_day, first_week_end + ONE_DAY))
        # Day by day: nearly always the first working day has a free slot, and then the
        # engine never looks at the rest of the week.
        result = {doctor.id: self._first_bookable(availabilities[doctor.id], busy[doctor.id], now,
                                                  first_day, first_week_end, step_days=1)
                  for doctor in active}
        pending = [doctor for doctor in active if result[doctor.id] is None]
        if not pending or first_week_end >= last_day:
            return result
        later = self.busy([doctor.id for doctor in pending], *self.utc_window(first_week_end, last_day))
        for doctor in pending:
            result[doctor.id] = self._first_bookable(availabilities[doctor.id], busy[doctor.id] + later[doctor.id],
                                                     now, first_week_end + ONE_DAY, last_day, step_days)
        return result

    def _first_bookable(self, availability: slots.Availability, busy: list[slots.Interval], now: datetime,
                        first_day: date, last_day: date, step_days: int) -> slots.Slot | None:
        """The first bookable slot in [first_day, last_day], asking the engine ``step_days`` at a time."""
        window_start = first_day
        while window_start <= last_day:
            window_end = min(window_start + timedelta(days=step_days - 1), last_day)
            found = self._bookable(availability, window_start, window_end, now, busy)
            if found:
                return found[0]
            window_start = window_end + ONE_DAY
        return None

    def _bookable(self, availability: slots.Availability, first_day: date, last_day: date, now: datetime,
                  busy: Iterable[slots.Interval]) -> list[slots.Slot]:
        return slots.bookable_slots(availability, first_day=first_day, last_day=last_day, tz=self.timezone,
                                    now=now, minimum_notice=self.policy.minimum_notice,
                                    horizon=self.policy.booking_horizon, taken=busy)

    def _calendars(self, doctors: Sequence[Doctor], first_day: date, last_day: date,
                   busy_window: tuple[datetime, datetime] | None = None, exclude_appointment_id: int | None = None,
                   ) -> tuple[dict[int, slots.Availability], dict[int, list[slots.Interval]]]:
        """Availability around [first_day, last_day] and booked time in ``busy_window``, in one query.

        ``doctors`` need ``id``, ``appointment_minutes`` and ``buffer_minutes``: ORM
        objects or plain rows both do.
        """
        rows = read_calendars(self.session, [doctor.id for doctor in doctors], first_day, last_day,
                              self.utc_window(first_day, last_day), busy_window, exclude_appointment_id)
        return {doctor.id: rows.availability(doctor.id, doctor.appointment_minutes, doctor.buffer_minutes,
                                             self.policy.slot_grid)
                for doctor in doctors}, rows.busy
