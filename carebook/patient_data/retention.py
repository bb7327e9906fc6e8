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
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from carebook import audit
from models import Appointment, LocalReminder, OutboxMessage, Patient, ReminderDelivery

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


def purge_expired(session: Session, actor: audit.Actor, *, years: int, now: datetime) -> PurgeResult:
    """Delete erased patients' appointments that ended more than ``years`` years before ``now``.

    Flushes in the caller's transaction; the caller commits. One audit row says how many went.
    """
    cutoff = cutoff_for(now, years)
    deleted = 0
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
        session.execute(delete(Appointment).where(Appointment.id.in_(ids)).execution_options(
            synchronize_session=False))
        deleted += len(ids)
    if deleted:
        audit.record(session, actor, PURGED, "patient", None, appointments_deleted=deleted, retention_years=years)
    return PurgeResult(appointments_deleted=deleted, cutoff=cutoff)
