"""The retention rule for what erasure keeps.

An erased patient's appointments stay, pseudonymised (no name, contact details, reason or
note: see :mod:`carebook.patient_data.erasure`), because a clinic must be able to show
which appointments took place, with whom and when, for years afterwards: medical-records
rules (in England, the NHS Records Management Code of Practice keeps adult records 8 years
after the last treatment; in the US, HIPAA keeps its documentation 6 years and state laws
7 to 10). The period is the setting RECORDS_RETENTION_YEARS (default 8): set it to what
the clinic's jurisdiction asks.

Once an appointment ended more than that many years ago, :func:`purge_expired` deletes it
together with its messages and delivery records (`flask patients purge-expired`, run it
daily). The pseudonymous patient row stays: it holds nothing that identifies anyone, and
the audit log's rows still refer to it. Patients who were not erased are not affected.

The waitlist is no medical record: an erased patient's entries (all ended at erasure) go once
they ended more than the same period ago, with the offers made to them, those offers'
outbox rows and delivery records; an entry or offer that points at an appointment being
deleted (an "earlier than" request, the booking a claim made) goes with it, whatever its age.
The same period keeps things simple and errs on the side of keeping what staff may be asked
about; nothing in them identifies anyone after erasure.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from carebook import audit
from models import (Appointment, LocalReminder, NotificationDelivery, OutboxKind, OutboxMessage, Patient,
                    ReminderDelivery)
from models.waitlist import WaitlistEntry, WaitlistOffer

PURGED = "patients.history_purged"
#: Deleted a batch at a time, so one run never holds a huge transaction.
BATCH_SIZE = 500


@dataclass(frozen=True)
class PurgeResult:
    appointments_deleted: int
    cutoff: datetime


def cutoff_for(now: datetime, years: int) -> datetime:
    """The instant ``years`` years before ``now`` (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def _purge_waitlist(session: Session, appointment_ids: list[int], cutoff: datetime) -> None:
    """Erased patients' waitlist entries that ended before ``cutoff``, and any pointing at ``appointment_ids``."""
    ended = select(WaitlistEntry.id).join(Patient, WaitlistEntry.patient_id == Patient.id).where(
        Patient.erased_at.is_not(None), WaitlistEntry.ended_at < cutoff)
    if appointment_ids:
        ended = ended.union(select(WaitlistEntry.id).where(
            WaitlistEntry.earlier_than_appointment_id.in_(appointment_ids)))
    entry_ids = list(session.scalars(ended))
    offers = [WaitlistOffer.entry_id.in_(entry_ids)] if entry_ids else []
    if appointment_ids:
        offers.append(WaitlistOffer.appointment_id.in_(appointment_ids))
    if not offers:
        return
    offer_ids = list(session.scalars(select(WaitlistOffer.id).where(or_(*offers))))
    if offer_ids:
        session.execute(delete(NotificationDelivery).where(
            NotificationDelivery.message_id.in_([f"waitlist-offer-{number}" for number in offer_ids])))
        session.execute(delete(OutboxMessage).where(
            OutboxMessage.kind == OutboxKind.SEND_WAITLIST_OFFER,
            OutboxMessage.payload["offer_id"].as_integer().in_(offer_ids)))
        session.execute(delete(WaitlistOffer).where(WaitlistOffer.id.in_(offer_ids)))
    if entry_ids:
        session.execute(delete(WaitlistEntry).where(WaitlistEntry.id.in_(entry_ids)))


def purge_expired(session: Session, actor: audit.Actor, *, years: int, now: datetime) -> PurgeResult:
    """Delete erased patients' appointments that ended more than ``years`` years before ``now``.

    Flushes in the caller's transaction; the caller commits. One audit row says how many went.
    """
    cutoff = cutoff_for(now, years)
    deleted = 0
    _purge_waitlist(session, [], cutoff)
    while True:
        ids = list(session.scalars(
            select(Appointment.id).join(Patient, Appointment.patient_id == Patient.id)
            .where(Patient.erased_at.is_not(None), Appointment.end_at < cutoff)
            .order_by(Appointment.id).limit(BATCH_SIZE)))
        if not ids:
            break
        session.execute(delete(OutboxMessage).where(OutboxMessage.appointment_id.in_(ids)))
        session.execute(delete(LocalReminder).where(LocalReminder.appointment_id.in_(ids)))
        session.execute(delete(ReminderDelivery).where(
            or_(*(ReminderDelivery.reminder_id.like(f"appt-{number}-%") for number in ids))))
        session.execute(delete(NotificationDelivery).where(NotificationDelivery.appointment_id.in_(ids)))
        _purge_waitlist(session, ids, cutoff)
        session.execute(delete(Appointment).where(Appointment.id.in_(ids)).execution_options(
            synchronize_session=False))
        deleted += len(ids)
    if deleted:
        audit.record(session, actor, PURGED, "patient", None, appointments_deleted=deleted, retention_years=years)
    return PurgeResult(appointments_deleted=deleted, cutoff=cutoff)
