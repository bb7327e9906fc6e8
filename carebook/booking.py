"""The booking service: the one place where appointments are made, moved and cancelled.

Every entry point (portal, JSON API, staff console, CLI) goes through
:class:`BookingService`. It works inside the caller's transaction: it takes the
doctor's row lock, re-checks the request against the availability as it is now,
writes the appointment and its audit row, and calls the registered listeners
(the reminder outbox hooks in there) in the same transaction. It flushes but never
commits; the edge commits once. The database's overlap constraints are the last
word, and a violation comes back as the same clean conflict as the service's own check.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, DateTime, Integer, Time, bindparam, cast, literal_column, null, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from carebook import audit, slots
from carebook.clock import utcnow
from carebook.config import BookingPolicy
from carebook.slot_cache import SlotCache
from models import (
    DOCTOR_OVERLAP_CONSTRAINT,
    PATIENT_OVERLAP_CONSTRAINT,
    Appointment,
    AppointmentStatus,
    DateOverride,
    Doctor,
    Patient,
    TimeOff,
    WeeklyHours,
)
from models.types import UTCDateTime


class BookingError(Exception):
    """A booking request that cannot be carried out. ``code`` is stable, for API clients."""

    code = "booking_error"
    #: "conflict": the calendar changed under the request (show fresh slots);
    #: "rule": the request breaks a rule and will not succeed if retried.
    kind = "rule"
    message = "This booking cannot be made."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message


class SlotTaken(BookingError):
    code, kind, message = "slot_taken", "conflict", "Sorry, that time was just taken. Please choose another."


class OutsideAvailability(BookingError):
    code, kind, message = ("outside_availability", "conflict",
                           "That time is no longer available: the doctor's hours have changed.")


class PatientBusy(BookingError):
    code, kind, message = "patient_conflict", "conflict", "You already have an appointment at that time."


class DoctorInactive(BookingError):
    code, kind, message = "doctor_inactive", "conflict", "This doctor is not taking bookings."


class InThePast(BookingError):
    code, message = "in_the_past", "That time has already passed."


class OutsideBookingWindow(BookingError):
    code, message = "outside_booking_window", "That time is too soon or too far ahead to book online."


class CancellationTooLate(BookingError):
    code, message = "cancellation_too_late", "This appointment is too close to change online. Please call the clinic."


class NotBooked(BookingError):
    code, message = "not_booked", "This appointment is no longer booked."


class NotStartedYet(BookingError):
    code, message = "not_started_yet", "An appointment can be marked completed or no-show only once it has started."


#: Signature of a listener: (session, event, appointment, previous_start_at or None).
#: Events: "booked", "rescheduled", "cancelled". The reminder outbox registers here.
Listener = Callable[[Session, str, Appointment, "datetime | None"], None]
listeners: list[Listener] = []


@dataclass
class BookingService:
    session: Session
    timezone: ZoneInfo
    policy: BookingPolicy
    #: Slot lists kept between requests (carebook/slot_cache.py); None computes every list afresh.
    cache: SlotCache | None = None
    # (transaction, doctor ids) locked in it by lock_doctor(), so book() does not lock them again.
    _locked: tuple[object, set[int]] | None = field(default=None, init=False, repr=False, compare=False)

    # -- reading availability ------------------------------------------------------------
    #
    # Reading is the hot path (every slot list, the doctor list, every booking's re-check),
    # so it reads plain rows (no ORM objects) and gets everything the slot engine needs in
    # one statement: weekly hours, one-off changes, time off and booked appointments as
    # one UNION ALL. One round trip instead of four; the query count never depends on the
    # number of doctors, days or appointments.

    def availabilities(self, doctors: Sequence[Doctor], first_day: date, last_day: date
                       ) -> dict[int, slots.Availability]:
        """Each doctor's availability around [first_day, last_day], in one query."""
        return self._calendars(doctors, first_day, last_day)[0]

    def busy(self, doctor_ids: Iterable[int], start: datetime, end: datetime,
             exclude_appointment_id: int | None = None) -> dict[int, list[slots.Interval]]:
        """Booked appointments of these doctors that overlap [start, end)."""
        busy: dict[int, list[slots.Interval]] = defaultdict(list)
        query = select(Appointment.doctor_id, Appointment.start_at, Appointment.end_at).where(
            *_booked_between(list(doctor_ids), start, end, exclude_appointment_id))
        for doctor_id, start_at, end_at in self.session.execute(query):
            busy[doctor_id].append((start_at, end_at))
        return busy

    def free_slots(self, doctor: Doctor, first_day: date, last_day: date) -> Sequence[slots.Slot]:
        return self.doctor_free_slots(doctor.id, first_day, last_day) or []

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

    def doctor_free_slots(self, doctor_id: int, first_day: date, last_day: date) -> Sequence[slots.Slot] | None:
        """The bookable slots of the active doctor ``doctor_id``, or None if there is no such doctor.

        The doctor's row comes in the same single query as the calendar. With a cache, a
        list computed earlier is reused if the doctor's calendar stamp still matches
        (one primary-key read instead of the calendar read and the engine).
        """
        key = ("free", doctor_id, first_day, last_day)
        kept = self.cache.get(key) if self.cache is not None else None
        if kept is not None:
            stamp = self.session.connection().execute(_CALENDAR_STAMP, {"doctor_id": doctor_id}).first()
            if stamp is None:
                return None
            fresh = tuple(stamp) == kept.stamp
            self.cache.count(hit=fresh)
            if fresh:
                return self._still_bookable(kept.slots)
        rows = self._calendar_rows([doctor_id], first_day, last_day, self.utc_window(first_day, last_day),
                                   with_doctors=True)
        if doctor_id not in rows.terms:
            return None
        if first_day > last_day:
            return []
        minutes, buffer = rows.terms[doctor_id]
        availability = rows.availability(doctor_id, minutes, buffer)
        if self.cache is None:
            return self._bookable(availability, first_day, last_day, utcnow(), rows.busy[doctor_id])
        every = slots.calendar_slots(availability, first_day=first_day, last_day=last_day, tz=self.timezone,
                                     busy=rows.busy[doctor_id])
        self.cache.put(key, (rows.versions[doctor_id], minutes, buffer), every)
        return self._still_bookable(every)

    def _still_bookable(self, every: Sequence[slots.Slot]) -> Sequence[slots.Slot]:
        """The part of a whole calendar's free slots that patients may book now."""
        now = utcnow()
        return slots.within(every, now + self.policy.minimum_notice, now + self.policy.booking_horizon)

    def next_free_slots(self, doctors: Sequence[Doctor], first_day: date, last_day: date,
                        step_days: int = 7) -> dict[int, slots.Slot | None]:
        """Each doctor's first bookable slot in [first_day, last_day], or None.

        One query reads every doctor's hours for the whole range and their bookings for
        the first ``step_days``, where nearly every doctor has a free slot. Only if some
        doctor is booked solid for that long does a second query read those doctors'
        bookings for the rest of the range. The slot engine walks the first week a day at
        a time, then a week at a time, and stops at the first free slot. With a cache, a
        doctor whose calendar stamp is unchanged costs nothing (``doctors`` then need
        ``calendar_version`` besides ``id``, ``is_active``, ``appointment_minutes`` and
        ``buffer_minutes``, read before this call).
        """
        result: dict[int, slots.Slot | None] = {doctor.id: None for doctor in doctors}
        active = [doctor for doctor in doctors if doctor.is_active]
        if not active or first_day > last_day:
            return result
        now = utcnow()
        to_find = []
        for doctor in active:
            result[doctor.id] = kept = self._kept_first_free(doctor, first_day, last_day, now)
            if kept is None:
                to_find.append(doctor)
        if to_find:
            found = self._first_free(to_find, first_day, last_day, now, step_days)
            for doctor in to_find:
                result[doctor.id] = found[doctor.id]
                if self.cache is not None and found[doctor.id] is not None:
                    self.cache.put(("first free", doctor.id, first_day, last_day), _stamp_of(doctor),
                                   [found[doctor.id]])
        return result

    def _kept_first_free(self, doctor: Doctor, first_day: date, last_day: date, now: datetime) -> slots.Slot | None:
        """The first free slot found earlier, if the doctor's calendar is unchanged and it is still bookable.

        It is still the first: any earlier slot was taken or not yet bookable then, and time only
        moves the start of the bookable window forward. (No slot found is not kept: as time passes,
        one may come within the horizon.)
        """
        kept = self.cache.get(("first free", doctor.id, first_day, last_day)) if self.cache is not None else None
        if kept is None:
            return None
        fresh = kept.stamp == _stamp_of(doctor) and kept.slots[0].start_at >= now + self.policy.minimum_notice
        self.cache.count(hit=fresh)
        return kept.slots[0] if fresh else None

    def _first_free(self, active: Sequence[Doctor], first_day: date, last_day: date, now: datetime,
                    step_days: int) -> dict[int, slots.Slot | None]:
        result: dict[int, slots.Slot | None] = {doctor.id: None for doctor in active}
        first_week_end = min(first_day + timedelta(days=step_days - 1), last_day)
        # One day more than the week, so buffers around a booking just after it still count.
        availabilities, busy = self._calendars(
            active, first_day, last_day, busy_window=self.utc_window(first_day, first_week_end + _ONE_DAY))
        pending = []
        for doctor in active:
            # Day by day: nearly always the first working day has a free slot, and then the
            # engine never looks at the rest of the week.
            day = first_day
            while day <= first_week_end and result[doctor.id] is None:
                found = self._bookable(availabilities[doctor.id], day, day, now, busy[doctor.id])
                result[doctor.id] = found[0] if found else None
                day += _ONE_DAY
            if result[doctor.id] is None:
                pending.append(doctor)
        if not pending or first_week_end >= last_day:
            return result
        later = self.busy([doctor.id for doctor in pending], *self.utc_window(first_week_end, last_day))
        for doctor in pending:
            known = busy[doctor.id] + later[doctor.id]
            window_start = first_week_end + _ONE_DAY
            while window_start <= last_day and result[doctor.id] is None:
                window_end = min(window_start + timedelta(days=step_days - 1), last_day)
                found = self._bookable(availabilities[doctor.id], window_start, window_end, now, known)
                result[doctor.id] = found[0] if found else None
                window_start = window_end + _ONE_DAY
        return result

    def _bookable(self, availability: slots.Availability, first_day: date, last_day: date, now: datetime,
                  busy: Iterable[slots.Interval]) -> list[slots.Slot]:
        return slots.bookable_slots(availability, first_day=first_day, last_day=last_day, tz=self.timezone,
                                    now=now, minimum_notice=self.policy.minimum_notice,
                                    horizon=self.policy.booking_horizon, busy=busy)

    def _calendars(self, doctors: Sequence[Doctor], first_day: date, last_day: date,
                   busy_window: tuple[datetime, datetime] | None = None, exclude_appointment_id: int | None = None,
                   ) -> tuple[dict[int, slots.Availability], dict[int, list[slots.Interval]]]:
        """Availability around [first_day, last_day] and booked time in ``busy_window``, in one query.

        ``doctors`` need ``id``, ``appointment_minutes`` and ``buffer_minutes``: ORM
        objects or plain rows both do.
        """
        rows = self._calendar_rows([doctor.id for doctor in doctors], first_day, last_day, busy_window,
                                   exclude_appointment_id)
        return {doctor.id: rows.availability(doctor.id, doctor.appointment_minutes, doctor.buffer_minutes)
                for doctor in doctors}, rows.busy

    def _calendar_rows(self, doctor_ids: list[int], first_day: date, last_day: date,
                       busy_window: tuple[datetime, datetime] | None, exclude_appointment_id: int | None = None,
                       with_doctors: bool = False) -> _CalendarRows:
        window_start, window_end = self.utc_window(first_day, last_day)
        params = {"doctor_ids": doctor_ids, "first_day": first_day, "last_day": last_day,
                  "window_start": window_start, "window_end": window_end}
        if busy_window is not None:
            params.update(busy_start=busy_window[0], busy_end=busy_window[1],
                          busy_earliest_start=busy_window[0] - MAX_APPOINTMENT_LENGTH)
        if exclude_appointment_id is not None:
            params["exclude_id"] = exclude_appointment_id
        statement = _calendar_statement(with_doctors, busy_window is not None, exclude_appointment_id is not None)
        return _CalendarRows(self.session.execute(statement, params))

    def bookable_days(self) -> tuple[date, date]:
        """The first and last local dates on which a patient may book today."""
        now = utcnow()
        return (now + self.policy.minimum_notice).astimezone(self.timezone).date(), \
            (now + self.policy.booking_horizon).astimezone(self.timezone).date()

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.timezone).date()

    # -- changing appointments -----------------------------------------------------------

    def book(self, actor: audit.Actor, *, doctor: Doctor, patient: Patient, start_at: datetime,
             reason: str = "", allow_outside_hours: bool = False, override_note: str = "") -> Appointment:
        """Book ``patient`` with ``doctor`` at ``start_at``, or raise a BookingError.

        ``allow_outside_hours`` (staff only, with ``override_note`` for the audit log)
        books a time outside the doctor's hours; it never allows an overlap.
        """
        start_at = _as_utc(start_at)
        self._lock_doctor(doctor)
        end_at = self._check_bookable(doctor, start_at, allow_outside_hours=allow_outside_hours)
        appointment = Appointment(doctor=doctor, patient=patient, start_at=start_at, end_at=end_at,
                                  reason=reason.strip(), created_by_id=actor.user_id,
                                  status=AppointmentStatus.BOOKED)
        self.session.add(appointment)
        self._flush_checking_overlaps()
        audit.record(self.session, actor, "appointment.booked", "appointment", appointment.id,
                     doctor_id=doctor.id, patient_id=patient.id, start_at=start_at.isoformat(),
                     end_at=end_at.isoformat(), **({"outside_hours_note": override_note} if allow_outside_hours else {}))
        self._notify("booked", appointment, None)
        return appointment

    def reschedule(self, actor: audit.Actor, appointment: Appointment, new_start_at: datetime, *,
                   enforce_cutoff: bool = True, allow_outside_hours: bool = False,
                   override_note: str = "", reason: str = "") -> Appointment:
        """Move a booked appointment to a new time of the same doctor, atomically.

        The appointment keeps its id; its old time is free again in the same
        transaction, so either the move happens whole or nothing changes.
        """
        new_start_at = _as_utc(new_start_at)
        self._check_changeable(appointment, enforce_cutoff)
        self._lock_doctor(appointment.doctor)
        self.session.refresh(appointment)
        self._check_changeable(appointment, enforce_cutoff)
        previous_start_at = appointment.start_at
        end_at = self._check_bookable(appointment.doctor, new_start_at, allow_outside_hours=allow_outside_hours,
                                      exclude_appointment_id=appointment.id)
        appointment.start_at, appointment.end_at = new_start_at, end_at
        appointment.needs_attention = False
        self._flush_checking_overlaps()
        audit.record(self.session, actor, "appointment.rescheduled", "appointment", appointment.id,
                     previous_start_at=previous_start_at.isoformat(), start_at=new_start_at.isoformat(),
                     end_at=end_at.isoformat(), **({"note": reason.strip()} if reason.strip() else {}),
                     **({"outside_hours_note": override_note} if allow_outside_hours else {}))
        self._notify("rescheduled", appointment, previous_start_at)
        return appointment

    def cancel(self, actor: audit.Actor, appointment: Appointment, *, reason: str = "",
               enforce_cutoff: bool = True) -> Appointment:
        self._check_changeable(appointment, enforce_cutoff)
        # Every change to a doctor's appointments takes the doctor's lock first, so the database's
        # own write to the doctor's row (calendar_version, migration 0004) never waits in the
        # opposite order to a booking's.
        self._lock_doctor(appointment.doctor)
        self.session.refresh(appointment)
        self._check_changeable(appointment, enforce_cutoff)
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancelled_at = utcnow()
        appointment.cancelled_by_id = actor.user_id
        appointment.cancellation_reason = reason.strip()
        self.session.flush()
        audit.record(self.session, actor, "appointment.cancelled", "appointment", appointment.id,
                     start_at=appointment.start_at.isoformat())
        self._notify("cancelled", appointment, None)
        return appointment

    def mark_outcome(self, actor: audit.Actor, appointment: Appointment, status: AppointmentStatus) -> Appointment:
        """Record that a booked appointment happened (completed) or the patient did not come (no-show).

        Only once it has started; a wrongly marked outcome may be corrected the same way.
        """
        if status not in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW):
            raise ValueError(f"not an outcome: {status}")
        self._lock_doctor(appointment.doctor)
        if appointment.status is AppointmentStatus.CANCELLED:
            raise NotBooked()
        if appointment.start_at > utcnow():
            raise NotStartedYet()
        previous = appointment.status
        appointment.status = status
        appointment.needs_attention = False
        self.session.flush()
        audit.record(self.session, actor, f"appointment.{status.value}", "appointment", appointment.id,
                     previous_status=previous.value)
        return appointment

    def clear_attention(self, actor: audit.Actor, appointment: Appointment, note: str) -> Appointment:
        """Staff have dealt with a flagged appointment (e.g. called the patient) and keep it as it is."""
        if not appointment.needs_attention:
            return appointment
        self._lock_doctor(appointment.doctor)
        appointment.needs_attention = False
        self.session.flush()
        audit.record(self.session, actor, "appointment.attention_cleared", "appointment", appointment.id,
                     note=note.strip())
        return appointment

    def cancellation_deadline(self, appointment: Appointment) -> datetime:
        """Until when a patient may cancel or move this appointment online."""
        return appointment.start_at - self.policy.cancellation_cutoff

    # -- internals -----------------------------------------------------------------------

    def lock_doctor(self, doctor_id: int) -> Doctor | None:
        """Lock the doctor's row for this transaction and load it as it is now (None if there is none).

        For callers that start from an id: booking that doctor later in the same
        transaction then needs no second round trip for the lock.
        """
        doctor = self.session.scalar(
            select(Doctor).where(Doctor.id == doctor_id).with_for_update(of=Doctor)
            .execution_options(populate_existing=True))
        if doctor is not None:
            transaction = self._transaction()
            if self._locked is None or self._locked[0] is not transaction:
                self._locked = (transaction, set())
            self._locked[1].add(doctor.id)
        return doctor

    def _lock_doctor(self, doctor: Doctor) -> None:
        # Serialises bookings per doctor, so the availability check below cannot race
        # another booking of the same doctor. (SQLite serialises all writers anyway.)
        # The same statement reloads the row, so the check sees the doctor as of the lock.
        if self._locked is not None and self._locked[0] is self._transaction() and doctor.id in self._locked[1]:
            return
        self.lock_doctor(doctor.id)

    def _transaction(self):
        """The session's current (outermost) transaction: row locks last exactly as long as it."""
        session = self.session() if isinstance(self.session, scoped_session) else self.session
        return session.get_transaction()

    def _check_bookable(self, doctor: Doctor, start_at: datetime, *, allow_outside_hours: bool,
                        exclude_appointment_id: int | None = None) -> datetime:
        """The end of the appointment that may start at ``start_at``, or raise why not."""
        now = utcnow()
        if not doctor.is_active:
            raise DoctorInactive()
        if start_at <= now:
            raise InThePast()
        length = timedelta(minutes=doctor.appointment_minutes)
        day = self.local_day(start_at)
        busy_window = (start_at - _ONE_DAY, start_at + _ONE_DAY)
        if allow_outside_hours:
            busy = self.busy([doctor.id], *busy_window, exclude_appointment_id)[doctor.id]
            if any(start < start_at + length and start_at < end for start, end in busy):
                raise SlotTaken()
            return start_at + length
        if not (now + self.policy.minimum_notice <= start_at <= now + self.policy.booking_horizon):
            raise OutsideBookingWindow()
        availabilities, busy_by_doctor = self._calendars([doctor], day - _ONE_DAY, day + _ONE_DAY,
                                                         busy_window=busy_window,
                                                         exclude_appointment_id=exclude_appointment_id)
        availability, busy = availabilities[doctor.id], busy_by_doctor[doctor.id]
        window = dict(tz=self.timezone, now=now, minimum_notice=self.policy.minimum_notice,
                      horizon=self.policy.booking_horizon)
        slot = slots.find_slot(availability, start_at, busy=busy, **window)
        if slot is not None:
            return slot.end_at
        if slots.find_slot(availability, start_at, busy=(), **window) is not None:
            raise SlotTaken()
        raise OutsideAvailability()

    def _check_changeable(self, appointment: Appointment, enforce_cutoff: bool) -> None:
        if appointment.status is not AppointmentStatus.BOOKED:
            raise NotBooked()
        if appointment.start_at <= utcnow():
            raise InThePast("This appointment has already started.")
        if enforce_cutoff and utcnow() > self.cancellation_deadline(appointment):
            raise CancellationTooLate()

    def _flush_checking_overlaps(self) -> None:
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as error:
            constraint = _violated_constraint(error)
            if constraint == DOCTOR_OVERLAP_CONSTRAINT:
                raise SlotTaken() from None
            if constraint == PATIENT_OVERLAP_CONSTRAINT:
                raise PatientBusy() from None
            raise

    def _notify(self, event: str, appointment: Appointment, previous_start_at: datetime | None) -> None:
        for listener in listeners:
            listener(self.session, event, appointment, previous_start_at)

    def utc_window(self, first_day: date, last_day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(first_day, time(0), self.timezone)
        end = datetime.combine(last_day + timedelta(days=1), time(0), self.timezone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


_ONE_DAY = timedelta(days=1)
#: Longer than any appointment (a doctor's length is at most 240 minutes). It gives the
#: busy query a lower bound on start_at, so it reads one range of ix_appointments_doctor_start
#: instead of the doctor's whole history.
MAX_APPOINTMENT_LENGTH = timedelta(days=1)

# --------------------------------------------------------------------------- the calendar read
#
# One UNION ALL brings a doctor's whole calendar in one round trip. Each row is
# (kind, doctor_id, day, number, other_number, start_time, end_time, start_at, end_at, version):
#   doctor    id's appointment_minutes (number), buffer_minutes (other_number) and
#             calendar_version (version), if active
#   weekly    valid_from (day), weekday (number), start_time, end_time
#   override  on_date (day), start_time, end_time (both NULL: closed that day)
#   time off  start_at, end_at
#   busy      a booked appointment's start_at, end_at
# The statements are built once, with bound parameters, so SQLAlchemy finds them compiled
# in its cache; only the values change from call to call.

_DOCTOR, _WEEKLY, _OVERRIDE, _TIME_OFF, _BUSY = 0, 1, 2, 3, 4
_NO_DATE, _NO_NUMBER, _NO_TIME = cast(null(), Date), cast(null(), Integer), cast(null(), Time)
_NO_VERSION = cast(null(), BigInteger)
# PostgreSQL hands instants back aware, in the session's time zone, which the engine options
# pin to UTC (carebook/database.py); converting each of them again would cost more than the
# rest of reading the row. SQLite stores naive UTC text, which UTCDateTime makes aware.
_INSTANT = UTCDateTime().with_variant(DateTime(timezone=True), "postgresql")
_NO_INSTANT = cast(null(), _INSTANT)


# What a kept slot list is checked against (carebook/slot_cache.py). Plain Core on the table:
# it runs on every slot request, and needs none of the ORM's work.
_doctors = Doctor.__table__.c
_CALENDAR_STAMP = (select(_doctors.calendar_version, _doctors.appointment_minutes, _doctors.buffer_minutes)
                   .where(_doctors.id == bindparam("doctor_id"), _doctors.is_active))


def _stamp_of(doctor) -> tuple[int, int, int]:
    """A doctor's calendar stamp (carebook/slot_cache.py), from a row or object read before the calendar."""
    return doctor.calendar_version, doctor.appointment_minutes, doctor.buffer_minutes


def _kind(kind: int):
    return literal_column(str(kind), Integer)


@lru_cache(maxsize=None)
def _calendar_statement(with_doctors: bool, with_busy: bool, excluding: bool):
    ids = bindparam("doctor_ids", expanding=True)
    window_start, window_end = bindparam("window_start", type_=UTCDateTime), bindparam("window_end", type_=UTCDateTime)
    parts = [
        select(_kind(_WEEKLY), WeeklyHours.doctor_id, WeeklyHours.valid_from, WeeklyHours.weekday, _NO_NUMBER,
               WeeklyHours.start_time, WeeklyHours.end_time, _NO_INSTANT, _NO_INSTANT, _NO_VERSION)
        .where(WeeklyHours.doctor_id.in_(ids)),
        select(_kind(_OVERRIDE), DateOverride.doctor_id, DateOverride.on_date, _NO_NUMBER, _NO_NUMBER,
               DateOverride.start_time, DateOverride.end_time, _NO_INSTANT, _NO_INSTANT, _NO_VERSION)
        .where(DateOverride.doctor_id.in_(ids),
               DateOverride.on_date.between(bindparam("first_day", type_=Date), bindparam("last_day", type_=Date))),
        select(_kind(_TIME_OFF), TimeOff.doctor_id, _NO_DATE, _NO_NUMBER, _NO_NUMBER, _NO_TIME, _NO_TIME,
               TimeOff.start_at, TimeOff.end_at, _NO_VERSION)
        .where(TimeOff.doctor_id.in_(ids), TimeOff.end_at > window_start, TimeOff.start_at < window_end),
    ]
    if with_doctors:
        parts.append(select(_kind(_DOCTOR), Doctor.id, _NO_DATE, Doctor.appointment_minutes, Doctor.buffer_minutes,
                            _NO_TIME, _NO_TIME, _NO_INSTANT, _NO_INSTANT, Doctor.calendar_version)
                     .where(Doctor.id.in_(ids), Doctor.is_active))
    if with_busy:
        start = bindparam("busy_start", type_=UTCDateTime)
        busy = (select(_kind(_BUSY), Appointment.doctor_id, _NO_DATE, _NO_NUMBER, _NO_NUMBER, _NO_TIME, _NO_TIME,
                       Appointment.start_at, Appointment.end_at, _NO_VERSION)
                .where(Appointment.doctor_id.in_(ids), Appointment.status == AppointmentStatus.BOOKED,
                       Appointment.start_at > bindparam("busy_earliest_start", type_=UTCDateTime),
                       Appointment.start_at < bindparam("busy_end", type_=UTCDateTime), Appointment.end_at > start))
        if excluding:
            busy = busy.where(Appointment.id != bindparam("exclude_id", type_=Integer))
        parts.append(busy)
    return union_all(*parts)


class _CalendarRows:
    """The calendar read's rows, decoded by kind."""

    def __init__(self, rows: Iterable) -> None:
        self.terms: dict[int, tuple[int, int]] = {}
        self.versions: dict[int, int] = {}
        self.patterns: dict[int, dict[date, dict[int, list[tuple[time, time]]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list)))
        self.overrides: dict[int, dict[date, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
        self.time_off: dict[int, list[slots.Interval]] = defaultdict(list)
        self.busy: dict[int, list[slots.Interval]] = defaultdict(list)
        for kind, doctor_id, day, number, other_number, start_time, end_time, start_at, end_at, version in rows:
            if kind == _BUSY:
                self.busy[doctor_id].append((start_at, end_at))
            elif kind == _WEEKLY:
                self.patterns[doctor_id][day][number].append((start_time, end_time))
            elif kind == _OVERRIDE:
                ranges = self.overrides[doctor_id][day]  # a closed day is present, with no ranges
                if start_time is not None:
                    ranges.append((start_time, end_time))
            elif kind == _TIME_OFF:
                self.time_off[doctor_id].append((start_at, end_at))
            else:
                self.terms[doctor_id] = (number, other_number)
                self.versions[doctor_id] = version

    def availability(self, doctor_id: int, appointment_minutes: int, buffer_minutes: int) -> slots.Availability:
        return slots.Availability(
            appointment_minutes=appointment_minutes,
            buffer_minutes=buffer_minutes,
            patterns=[slots.WeeklyPattern(valid_from=valid_from, ranges=dict(by_weekday))
                      for valid_from, by_weekday in sorted(self.patterns[doctor_id].items())],
            overrides=dict(self.overrides[doctor_id]),
            time_off=self.time_off[doctor_id],
        )


def _booked_between(doctor_ids: list[int], start: datetime, end: datetime,
                    exclude_appointment_id: int | None = None) -> list:
    """WHERE terms: booked appointments of these doctors overlapping [start, end)."""
    terms = [
        Appointment.doctor_id.in_(doctor_ids),
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.start_at > start - MAX_APPOINTMENT_LENGTH, Appointment.start_at < end,
        Appointment.end_at > start,
    ]
    if exclude_appointment_id is not None:
        terms.append(Appointment.id != exclude_appointment_id)
    return terms


def _as_utc(instant: datetime) -> datetime:
    if instant.utcoffset() is None:
        raise ValueError("booking times must be timezone-aware")
    return instant.astimezone(timezone.utc)


def _violated_constraint(error: IntegrityError) -> str | None:
    """Which overlap constraint an IntegrityError came from, on PostgreSQL or SQLite."""
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    text = str(error.orig)
    for constraint in (DOCTOR_OVERLAP_CONSTRAINT, PATIENT_OVERLAP_CONSTRAINT):
        if constraint in text:
            return constraint
    return None
