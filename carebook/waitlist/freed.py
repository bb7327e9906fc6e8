"""Freed time goes into the outbox, in the transaction that frees it.

A slot is freed by a cancellation, a move away from it, a doctor adding hours (weekly hours,
a one-off change, a shorter appointment length) or removing time off. Each writes one
``waitlist_slot_freed`` outbox row naming the doctor and the span of time (UTC) in the same
transaction as the change: a change that rolls back leaves no row, a committed one always
has it, and the relay offers the slots that are really free in that span after the commit
(carebook/waitlist/offering.py). The row is a plain insert, like the audit log's.

Bookings (and moves to a new time) close the open offers they overlap in the same way:
an offer never holds a slot, and once anyone has booked it nobody else is offered it. An
availability change that removes bookable time (time off, fewer weekly hours, a one-off
change that shortens or closes a day) withdraws the open offers of that time, in its own
transaction too (:func:`withdraw_offers`, called by carebook/availability/service.py).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from carebook import audit
from carebook.clock import utcnow
from carebook.config import BookingPolicy
from models import Appointment, Doctor, OutboxKind, OutboxMessage
from models.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer, WaitlistStatus

_INSERT = insert(OutboxMessage.__table__)


def record_freed(session: Session, doctor_id: int, start_at: datetime, end_at: datetime, cause: str,
                 *, due_at: datetime | None = None) -> None:
    """Write the outbox row that asks the relay to offer what is free of the doctor's time in [start_at, end_at)."""
    now = utcnow()
    if end_at <= now or not anyone_waiting(session, doctor_id):
        return
    kind = OutboxKind.WAITLIST_SLOT_FREED
    session.execute(_INSERT, [{"kind": kind, "topic": kind.topic, "appointment_id": None,
                               "payload": {"doctor_id": doctor_id, "start_at": max(start_at, now).isoformat(),
                                           "end_at": end_at.isoformat(), "cause": cause},
                               "next_attempt_at": due_at or now, "created_at": now}])


def anyone_waiting(session: Session, doctor_id: int) -> bool:
    """Whether any active entry waits for this doctor (or their specialty): one indexed look-up.

    Without one, freed time writes no row at all: a clinic that does not use the waitlist, or a
    doctor nobody waits for, pays one query per cancellation and nothing more. (An entry that
    joins in the instant between this look-up and the commit is not offered this time: it was
    not waiting when the time was freed.)
    """
    specialty = select(Doctor.specialty).where(Doctor.id == doctor_id).scalar_subquery()
    return session.scalar(select(WaitlistEntry.id).where(
        WaitlistEntry.status == WaitlistStatus.ACTIVE,
        or_(WaitlistEntry.doctor_id == doctor_id,
            and_(WaitlistEntry.doctor_id.is_(None), WaitlistEntry.specialty == specialty))).limit(1)) is not None


def on_appointment_changed(session: Session, event: str, appointment: Appointment,
                           previous_start_at: datetime | None) -> None:
    """The receiver of ``carebook.booking.signals.appointment_changed`` (sender: the session)."""
    if event == "cancelled":
        record_freed(session, appointment.doctor_id, appointment.start_at, appointment.buffer_end_at, "cancellation")
        _end_earlier_than_entries(session, appointment.id)
    elif event == "rescheduled":
        if previous_start_at is not None:
            length = appointment.buffer_end_at - appointment.start_at
            record_freed(session, appointment.doctor_id, previous_start_at, previous_start_at + length, "reschedule")
        close_offers_overlapping(session, appointment)
    elif event == "booked":
        close_offers_overlapping(session, appointment)


def close_offers_overlapping(session: Session, appointment: Appointment) -> None:
    """Open offers of the doctor's time this appointment now takes are too late: mark them taken."""
    session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.doctor_id == appointment.doctor_id, WaitlistOffer.status == OfferStatus.PENDING,
               WaitlistOffer.start_at < appointment.buffer_end_at, WaitlistOffer.end_at > appointment.start_at)
        .values(status=OfferStatus.TAKEN, closed_at=utcnow())
        .execution_options(synchronize_session=False))


def open_offers(session: Session, doctor_id: int, after: datetime) -> list[WaitlistOffer]:
    """The doctor's open offers of slots that start after ``after`` (the candidates an availability change strands)."""
    return list(session.scalars(select(WaitlistOffer).where(
        WaitlistOffer.doctor_id == doctor_id, WaitlistOffer.status == OfferStatus.PENDING,
        WaitlistOffer.start_at > after).order_by(WaitlistOffer.start_at, WaitlistOffer.id)))


def withdraw_offers(session: Session, offer_ids: list[int], *, reason: str) -> None:
    """Withdraw open offers of time the doctor no longer works (the change's transaction; audited one by one).

    Called by the availability service for every change that removes bookable time (time off,
    fewer weekly hours, a one-off change that shortens or closes a day), with the offers that
    fit the doctor's time before the change and not after it. An offer claimed or closed in
    the meantime is left as it is (the update only touches pending ones).
    """
    if not offer_ids:
        return
    now = utcnow()
    session.execute(update(WaitlistOffer)
                    .where(WaitlistOffer.id.in_(offer_ids), WaitlistOffer.status == OfferStatus.PENDING)
                    .values(status=OfferStatus.WITHDRAWN, closed_at=now)
                    .execution_options(synchronize_session="fetch"))
    for offer_id in offer_ids:
        audit.write_row(session, None, "system", "waitlist.offer_withdrawn", "waitlist_offer", offer_id,
                        {"reason": reason})


def _end_earlier_than_entries(session: Session, appointment_id: int) -> None:
    """An "earlier than this" entry ends with the appointment it would have moved."""
    now = utcnow()
    ended = session.scalars(select(WaitlistEntry.id).where(
        WaitlistEntry.earlier_than_appointment_id == appointment_id,
        WaitlistEntry.status == WaitlistStatus.ACTIVE)).all()
    for entry_id in ended:
        session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                        .values(status=WaitlistStatus.WITHDRAWN, ended_at=now)
                        .execution_options(synchronize_session=False))
        session.execute(update(WaitlistOffer)
                        .where(WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == OfferStatus.PENDING)
                        .values(status=OfferStatus.WITHDRAWN, closed_at=now)
                        .execution_options(synchronize_session=False))
        audit.write_row(session, None, "system", "waitlist.ended", "waitlist_entry", entry_id,
                        {"reason": "appointment_cancelled", "appointment_id": appointment_id})


# --------------------------------------------------------------------------- availability changes

#: What each availability change (by its audit action) can free: None for one that only takes time away.
_TAKES_TIME_ONLY = {"availability.time_off_added"}


def record_availability_change(session: Session, change: Any, details: dict[str, Any], tz: ZoneInfo,
                               policy: BookingPolicy) -> None:
    """After an availability change is written: the span of time it may have opened, as a freed row.

    The span is generous (a whole day for a one-off change, from its first day on for new
    weekly hours): the relay offers only the slots the engine finds free in it, so a span
    wider than the time really opened costs a little work, never a wrong offer.
    """
    if change.action in _TAKES_TIME_ONLY:  # its offers were withdrawn by the service (withdraw_offers)
        return
    now = utcnow()
    horizon_end = now + policy.booking_horizon + timedelta(days=1)
    if change.action == "availability.time_off_removed":
        start_at, end_at = datetime.fromisoformat(details["start_at"]), datetime.fromisoformat(details["end_at"])
    elif hasattr(change, "on_date"):
        start_at, end_at = _day_span(change.on_date, change.on_date, tz)
    elif hasattr(change, "valid_from"):
        start_at, end_at = _day_span(change.valid_from, None, tz)[0], horizon_end
    else:  # a new appointment length or buffer: every day may have new starts
        start_at, end_at = now, horizon_end
    record_freed(session, change.doctor_id, start_at, min(end_at, horizon_end), change.action.split(".", 1)[1])


def _day_span(first: date, last: date | None, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(0), tz).astimezone(timezone.utc)
    end = datetime.combine((last or first) + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
    return start, end


def slot_window(payload: dict[str, Any]) -> tuple[int, datetime, datetime]:
    """(doctor id, start, end) of a freed row's payload."""
    return int(payload["doctor_id"]), datetime.fromisoformat(payload["start_at"]), \
        datetime.fromisoformat(payload["end_at"])


__all__ = ["anyone_waiting", "close_offers_overlapping", "on_appointment_changed", "open_offers",
           "record_availability_change", "record_freed", "slot_window", "withdraw_offers"]
