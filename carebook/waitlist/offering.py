"""Offering freed slots to the patients who wait for them (run by the relay after the commit that freed them).

One pass for a span of one doctor's freed time (:meth:`Offering.offer_freed`):

1. Lock the doctor's row, as a booking does: two relay processes never offer the same
   doctor's time at once, and the slots read below are the doctor's free slots as of the lock.
2. Close the open offers whose hold-free window has run out.
3. Read the active entries that could want this doctor (theirs, or any doctor of their
   specialty), whose date range meets the span, and that have no open offer, oldest first:
   the place in the queue is ``created_at``.
4. For each type they want, ask the real slot engine (carebook/booking/free_slots.py) for the
   doctor's free slots in the span, as patients may book them now (hours, time off, bookings
   and buffers, the clinic's minimum notice and horizon).
5. Slot by slot, offer it to the ``WAITLIST_OFFER_BATCH`` longest-waiting entries it suits
   (carebook/waitlist/matching.py: their days, parts of the day, notice, "earlier than",
   no appointment of theirs at that time), skipping any slot that overlaps an open offer or
   one made in this pass, and pairs of slot and entry offered before. Each offer is held
   free of the next patients for ``WAITLIST_HOLD_MINUTES`` (from the end of the clinic's
   quiet hours, for an offer made in them), never past the slot's own minimum notice, and a
   ``waitlist_next_round`` outbox row is due when that window ends (matching.offer_timing).
   A patient reached only by SMS is passed over for a slot that closes before an SMS may go.
6. Each offer's messages are written to the outbox in the same unit of work
   (carebook/waitlist/delivery.py), so an offer is sent once it is committed, and only then;
   an SMS is due when the quiet hours end.

Everything here is written in the relay's unit of work for the outbox row: if the pass fails,
nothing of it is kept and the row is retried; a pass run twice finds the slots already
offered (unique per slot and entry) and offers nothing twice.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Iterator

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebook import audit
from carebook.booking import BookingService
from carebook.clock import utcnow
from carebook.quiet_hours import QuietWindow
from carebook.waitlist import delivery
from carebook.waitlist.errors import EntryEnded, SlotNotFree
from carebook.waitlist.delivery import Recipient
from carebook.waitlist.matching import Interval, Wish, offer_timing, part_of_day_bit, suits, weekday_bit
from carebook.waitlist.settings import WaitlistSettings
from models import Appointment, AppointmentStatus, Doctor, OutboxKind, OutboxMessage, Patient, User
from models.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer, WaitlistStatus

_INSERT_OUTBOX = insert(OutboxMessage.__table__)
SYSTEM = audit.Actor(None, "system")


@dataclass
class Offering:
    """The offering rules, in the caller's transaction (the relay's unit of work, or a staff request)."""

    booking: BookingService
    settings: WaitlistSettings
    #: Entries read per query, in queue order; the next page is read only if these did not fill the slots.
    candidate_page: ClassVar[int] = 25

    @property
    def session(self) -> Session:
        return self.booking.session

    @property
    def quiet(self) -> QuietWindow | None:
        """The clinic's quiet hours in its zone (None: none), which hold back offers' SMS."""
        hours = self.settings.quiet_hours
        return QuietWindow(hours, self.booking.timezone) if hours is not None else None

    # -- the relay's entry points ------------------------------------------------------

    def handle(self, kind: OutboxKind, payload: dict[str, Any]) -> list[WaitlistOffer]:
        """Act on a ``waitlist_slot_freed`` or ``waitlist_next_round`` row's payload."""
        doctor_id = int(payload["doctor_id"])
        start_at, end_at = datetime.fromisoformat(payload["start_at"]), datetime.fromisoformat(payload["end_at"])
        if kind is OutboxKind.WAITLIST_NEXT_ROUND:
            return self.offer_freed(doctor_id, start_at, end_at, only_start=start_at,
                                    round_number=int(payload.get("round", 2)))
        return self.offer_freed(doctor_id, start_at, end_at)

    def offer_freed(self, doctor_id: int, window_start: datetime, window_end: datetime, *,
                    only_start: datetime | None = None, round_number: int = 1) -> list[WaitlistOffer]:
        """Offer the doctor's free slots overlapping [window_start, window_end) to waiting patients (see the module)."""
        now = utcnow()
        doctor = self.booking.lock_doctor(doctor_id)
        if doctor is None or not doctor.is_active:
            return []
        expire_stale_offers(self.session, now)
        first_day, last_day = self.booking.bookable_days()
        first_day = max(first_day, self.booking.local_day(max(window_start, now)))
        last_day = min(last_day, self.booking.local_day(window_end))
        if first_day > last_day:
            return []
        open_slots = self._free_slots(doctor, first_day, last_day, window_start, window_end, only_start, now)
        if not open_slots:
            return []
        window = (min(slot.start_at for slot in open_slots), max(slot.end_at for slot in open_slots))
        offered_before = self._offered_before(doctor.id, window)
        busy = self._patients_busy(doctor, window)
        for wish, recipient, type_id in self._candidates(doctor, open_slots, now):
            patient_busy = [interval for appointment_id, interval in busy.get(wish.patient_id, ())
                            if appointment_id != wish.earlier_than_id]
            # The longest-waiting patients choose first: each takes the earliest open slot that suits them.
            for slot in open_slots:
                if slot.type_id != type_id or slot.full(self.settings.offer_batch) or slot.blocked \
                        or (wish.entry_id, slot.start_at) in offered_before:
                    continue
                if slot.sms_at is None and delivery.offer_channels(recipient) == (delivery.SMS,):
                    continue  # reached by SMS only, and no SMS may go before this slot closes
                if suits(wish, slot.start_at, slot.end_at, self.booking.timezone, now, patient_busy):
                    slot.chosen.append((wish, recipient))
                    for other in open_slots:  # an offered slot is not offered to others in overlapping shape
                        if other is not slot and other.start_at < slot.end_at and slot.start_at < other.end_at \
                                and not other.chosen:
                            other.blocked = True
                    break
            if all(slot.full(self.settings.offer_batch) or slot.blocked for slot in open_slots):
                break
        made: list[WaitlistOffer] = []
        for slot in open_slots:
            if not slot.chosen:
                continue
            offers = self._offer_slot(doctor, slot, round_number, now)
            if offers:
                made.extend(offers)
                schedule_next_round(self.session, doctor.id, slot, slot.type_id, slot.expires_at, round_number + 1)
        return made

    def _free_slots(self, doctor: Doctor, first_day, last_day, window_start: datetime, window_end: datetime,
                    only_start: datetime | None, now: datetime) -> list[OpenSlot]:
        """The slots the engine has free in the window, per type someone waits for, not under an open offer."""
        effective_type = func.coalesce(WaitlistEntry.appointment_type_id, doctor.default_appointment_type_id)
        type_ids = self.session.scalars(select(effective_type).distinct().where(
            *self._waiting_for(doctor), WaitlistEntry.earliest_date <= last_day,
            WaitlistEntry.latest_date >= first_day)).all()
        if not type_ids:
            return []
        blocked = self._open_offer_intervals(doctor.id, (window_start, window_end + timedelta(days=1)))
        quiet = self.quiet
        found: list[OpenSlot] = []
        for type_id in sorted(type_ids):
            asked = None if type_id == doctor.default_appointment_type_id else type_id
            for slot in self.booking.doctor_free_slots(doctor.id, first_day, last_day, asked) or []:
                if not (slot.start_at < window_end and slot.end_at > window_start):
                    continue
                if only_start is not None and slot.start_at != only_start:
                    continue
                if any(start < slot.end_at and slot.start_at < end for start, end in blocked):
                    continue
                timing = offer_timing(slot.start_at, now, self.settings.hold, self.booking.policy.minimum_notice,
                                      quiet)
                if timing is not None:
                    found.append(OpenSlot(slot.start_at, slot.end_at, type_id, timing.expires_at, timing.sms_at))
        found.sort(key=lambda slot: (slot.start_at, slot.end_at, slot.type_id))
        return found

    # -- staff --------------------------------------------------------------------------

    def offer_by_hand(self, actor: audit.Actor, entry: WaitlistEntry, doctor: Doctor,
                      start_at: datetime) -> WaitlistOffer:
        """Staff offer one free slot of ``doctor`` to ``entry`` (a patient on the phone, a judgement call).

        The slot must be one of the doctor's free slots for the entry's type now, and suit no
        appointment of the patient; the entry's open offer, if any, is withdrawn for it.
        """
        now = utcnow()
        if not entry.is_active:
            raise EntryEnded()
        doctor = self.booking.lock_doctor(doctor.id)
        if doctor is None or not doctor.is_active:
            raise SlotNotFree("This doctor is not taking bookings.")
        type_id = entry.appointment_type_id or doctor.default_appointment_type_id
        asked = None if type_id == doctor.default_appointment_type_id else type_id
        day = self.booking.local_day(start_at)
        found = self.booking.doctor_free_slots(doctor.id, day, day, asked) or []
        slot = next((slot for slot in found if slot.start_at == start_at), None)
        if slot is None:
            raise SlotNotFree()
        busy = self._patients_busy(doctor, (slot.start_at, slot.end_at), patient_ids=[entry.patient_id])
        if any(appointment_id != entry.earlier_than_appointment_id
               for appointment_id, _ in busy.get(entry.patient_id, ())):
            raise SlotNotFree("The patient has another appointment at that time.")
        timing = offer_timing(slot.start_at, now, self.settings.hold, self.booking.policy.minimum_notice, self.quiet)
        if timing is None:
            raise SlotNotFree("That time is too soon to offer: it can no longer be booked online.")
        self.session.execute(update(WaitlistOffer)
                             .where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.status == OfferStatus.PENDING)
                             .values(status=OfferStatus.WITHDRAWN, closed_at=now)
                             .execution_options(synchronize_session=False))
        earlier_start = entry.earlier_than.start_at if entry.earlier_than is not None else None
        open_slot = OpenSlot(slot.start_at, slot.end_at, type_id, timing.expires_at, timing.sms_at)
        offer = self._offer(doctor, Wish.of(entry, earlier_start), Recipient.of(entry.patient), open_slot, 1, now,
                            actor=actor)
        if offer is None:
            raise SlotNotFree("This patient was offered that time before.")
        schedule_next_round(self.session, doctor.id, open_slot, type_id, timing.expires_at, 2)
        return offer

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _waiting_for(doctor: Doctor) -> tuple:
        """Active entries that want this doctor: theirs, or any doctor of their specialty."""
        return (WaitlistEntry.status == WaitlistStatus.ACTIVE,
                or_(WaitlistEntry.doctor_id == doctor.id,
                    and_(WaitlistEntry.doctor_id.is_(None), WaitlistEntry.specialty == doctor.specialty)))

    def _candidates(self, doctor: Doctor, open_slots: list[OpenSlot], now: datetime
                    ) -> Iterator[tuple[Wish, Recipient, int]]:
        """Entries that could want one of ``open_slots``, without an open offer, longest-waiting first.

        The rules the database can apply cheaply (the days, weekdays and parts of the day of the
        slots, enough notice) narrow the rows first; they are read as plain rows in keyset pages of
        :attr:`candidate_page` (no server-side cursor held open), and the caller stops reading once
        every slot has its patients: with a thousand waiting, a freed slot reads only the first few
        that suit it.
        """
        entry, earlier = WaitlistEntry, Appointment
        tz = self.booking.timezone
        weekdays = parts = 0
        for slot in open_slots:
            weekdays |= weekday_bit(slot.start_at.astimezone(tz).date())
            parts |= part_of_day_bit(slot.start_at, tz)
        first_day = min(slot.start_at for slot in open_slots).astimezone(tz).date()
        last_day = max(slot.start_at for slot in open_slots).astimezone(tz).date()
        longest_lead = int((max(slot.start_at for slot in open_slots) - now).total_seconds() // 60)
        open_offer = exists().where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.status == OfferStatus.PENDING)
        page = (select(entry.id, entry.created_at, entry.patient_id, entry.earliest_date, entry.latest_date,
                       entry.weekdays, entry.times_of_day, entry.min_notice_minutes, entry.earlier_than_appointment_id,
                       entry.appointment_type_id, earlier.start_at, earlier.status, Patient.contact_preference,
                       Patient.phone, User.email, User.full_name)
                .join(Patient, Patient.id == entry.patient_id)
                .join(User, User.id == Patient.user_id)
                .outerjoin(earlier, earlier.id == entry.earlier_than_appointment_id)
                .where(*self._waiting_for(doctor), Patient.erased_at.is_(None),
                       entry.earliest_date <= last_day, entry.latest_date >= first_day,
                       entry.weekdays.op("&")(weekdays) != 0, entry.times_of_day.op("&")(parts) != 0,
                       entry.min_notice_minutes <= longest_lead, ~open_offer)
                .order_by(entry.created_at, entry.id)
                .limit(self.candidate_page))
        after = None
        while True:
            query = page if after is None else page.where(
                or_(entry.created_at > after[0], and_(entry.created_at == after[0], entry.id > after[1])))
            rows = self.session.execute(query).all()
            for row in rows:
                earlier_start = row.start_at if row.status is AppointmentStatus.BOOKED else None
                wish = Wish(row.id, row.patient_id, row.earliest_date, row.latest_date, row.weekdays,
                            row.times_of_day, timedelta(minutes=row.min_notice_minutes), earlier_start,
                            row.earlier_than_appointment_id)
                recipient = Recipient(row.patient_id, row.full_name, row.email, row.phone, row.contact_preference)
                yield wish, recipient, row.appointment_type_id or doctor.default_appointment_type_id
            if len(rows) < self.candidate_page:
                return
            after = (rows[-1].created_at, rows[-1].id)

    def _open_offer_intervals(self, doctor_id: int, window: Interval) -> list[Interval]:
        return [(start, end) for start, end in self.session.execute(
            select(WaitlistOffer.start_at, WaitlistOffer.end_at).where(
                WaitlistOffer.doctor_id == doctor_id, WaitlistOffer.status == OfferStatus.PENDING,
                WaitlistOffer.start_at < window[1], WaitlistOffer.end_at > window[0]))]

    def _offered_before(self, doctor_id: int, window: Interval) -> set[tuple[int, datetime]]:
        return {(entry_id, start) for entry_id, start in self.session.execute(
            select(WaitlistOffer.entry_id, WaitlistOffer.start_at).where(
                WaitlistOffer.doctor_id == doctor_id, WaitlistOffer.start_at >= window[0],
                WaitlistOffer.start_at < window[1]))}

    def _patients_busy(self, doctor: Doctor, window: Interval, patient_ids: list[int] | None = None
                       ) -> dict[int, list[tuple[int, Interval]]]:
        """Booked appointments overlapping the window of the patients who wait for this doctor (or ``patient_ids``)."""
        if patient_ids is None:
            waiting = select(WaitlistEntry.patient_id).where(
                WaitlistEntry.status == WaitlistStatus.ACTIVE,
                or_(WaitlistEntry.doctor_id == doctor.id,
                    and_(WaitlistEntry.doctor_id.is_(None), WaitlistEntry.specialty == doctor.specialty)))
            who = Appointment.patient_id.in_(waiting)
        else:
            who = Appointment.patient_id.in_(patient_ids)
        busy: dict[int, list[tuple[int, Interval]]] = defaultdict(list)
        for appointment_id, patient_id, start, end in self.session.execute(
                select(Appointment.id, Appointment.patient_id, Appointment.start_at, Appointment.end_at).where(
                    who, Appointment.status == AppointmentStatus.BOOKED,
                    Appointment.start_at < window[1], Appointment.end_at > window[0])):
            busy[patient_id].append((appointment_id, (start, end)))
        return busy

    def _offer_slot(self, doctor: Doctor, slot: OpenSlot, round_number: int, now: datetime) -> list[WaitlistOffer]:
        """Write the offers of one slot (one savepoint for all; one at a time if the database refuses some)."""
        rows = [_new_offer(doctor, wish, recipient, slot, round_number, now, SYSTEM) for wish, recipient in slot.chosen]
        try:
            with self.session.begin_nested():
                self.session.add_all(rows)
                self.session.flush()
        except IntegrityError:
            # Another process gave one of these entries an open offer meanwhile: keep the others.
            return [offer for (wish, recipient) in slot.chosen
                    if (offer := self._offer(doctor, wish, recipient, slot, round_number, now)) is not None]
        self._announce(doctor, [(offer, wish, recipient) for offer, (wish, recipient) in zip(rows, slot.chosen)],
                       slot.sms_at, now, SYSTEM)
        return rows

    def _offer(self, doctor: Doctor, wish: Wish, recipient: Recipient, slot: OpenSlot, round_number: int,
               now: datetime, actor: audit.Actor = SYSTEM) -> WaitlistOffer | None:
        """Write one offer and its messages; None if the database says it cannot be (already offered,
        or another process gave this entry an open offer meanwhile)."""
        offer = _new_offer(doctor, wish, recipient, slot, round_number, now, actor)
        try:
            with self.session.begin_nested():
                self.session.add(offer)
                self.session.flush()
        except IntegrityError:
            return None
        self._announce(doctor, [(offer, wish, recipient)], slot.sms_at, now, actor)
        return offer

    def _announce(self, doctor: Doctor, offers: list[tuple[WaitlistOffer, Wish, Recipient]],
                  sms_at: datetime | None, now: datetime, actor: audit.Actor) -> None:
        """The offers' messages on their patients' channels (SMS at ``sms_at``), and their audit rows
        (no health details): one insert for each, however many offers."""
        delivery.queue_offers(self.session, [(offer, recipient) for offer, _, recipient in offers], doctor.name,
                              now, sms_at)
        audit.record_many(self.session, actor, "waitlist.offered", "waitlist_offer", [
            (offer.id, {"entry_id": wish.entry_id, "patient_id": wish.patient_id, "doctor_id": doctor.id,
                        "start_at": offer.start_at.isoformat(), "expires_at": offer.expires_at.isoformat(),
                        "round": offer.round, "channels": offer.channels})
            for offer, wish, _ in offers])


def _new_offer(doctor: Doctor, wish: Wish, recipient: Recipient, slot: OpenSlot, round_number: int, now: datetime,
               actor: audit.Actor) -> WaitlistOffer:
    """An offer of ``slot`` to ``wish``'s patient, with the channels it goes out on (not yet flushed)."""
    return WaitlistOffer(entry_id=wish.entry_id, doctor_id=doctor.id, appointment_type_id=slot.type_id,
                         start_at=slot.start_at, end_at=slot.end_at, sent_at=now, expires_at=slot.expires_at,
                         round=round_number, status=OfferStatus.PENDING, offered_by_id=actor.user_id,
                         channels="+".join(delivery.offer_channels(recipient, sms=slot.sms_at is not None)))


@dataclass
class OpenSlot:
    """A free slot being offered in this pass, and the patients chosen for it so far."""

    start_at: datetime
    end_at: datetime
    type_id: int
    expires_at: datetime
    #: When its offers' SMS go (the end of the quiet hours, for a slot offered in them); None: no SMS.
    sms_at: datetime | None
    chosen: list[tuple[Wish, Recipient]] = field(default_factory=list)
    #: Overlaps a slot offered in this pass (another type, or a finer grid): not offered now.
    blocked: bool = False

    def full(self, batch: int) -> bool:
        return len(self.chosen) >= batch


def expire_stale_offers(session: Session, now: datetime) -> None:
    """Open offers whose hold-free window has run out are expired (the next round may go on)."""
    session.execute(update(WaitlistOffer)
                    .where(WaitlistOffer.status == OfferStatus.PENDING, WaitlistOffer.expires_at <= now)
                    .values(status=OfferStatus.EXPIRED, closed_at=now)
                    .execution_options(synchronize_session=False))


def schedule_next_round(session: Session, doctor_id: int, slot, type_id: int, due_at: datetime,
                        round_number: int) -> None:
    """An outbox row due when the hold-free window ends: then the slot, if still free, goes to the next ones."""
    kind = OutboxKind.WAITLIST_NEXT_ROUND
    session.execute(_INSERT_OUTBOX, [{
        "kind": kind, "topic": kind.topic, "appointment_id": None,
        "payload": {"doctor_id": doctor_id, "start_at": slot.start_at.isoformat(), "end_at": slot.end_at.isoformat(),
                    "appointment_type_id": type_id, "round": round_number},
        "next_attempt_at": due_at, "created_at": utcnow()}])
