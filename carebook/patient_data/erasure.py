"""Erasing a patient at their request (GDPR Art. 17), done by staff in the console.

What :func:`erase_patient` does, in the caller's transaction (the edge commits once):

1. **Future appointments are cancelled through the booking service**, so each is announced
   on ``appointment_changed`` like any cancellation: the reminder outbox removes the
   scheduled reminder (EventBridge schedule or local row) and sends the cancellation email.
   The email's outbox row still holds the address it goes to; it is marked to be emptied
   once sent (``models.outbox.ERASE_AFTER_SENDING``, reminders/relay.py).
2. **Identifying data are removed or pseudonymised**: name → "Erased patient #<id>", email →
   an address under ``.invalid`` that can never receive mail, no password, no two-factor
   key or recovery codes, sign-in off, date of birth and phone gone; every sign-in
   session, reset link and stored API answer deleted; the reasons typed for each
   appointment and any cancellation note emptied; the addresses and personal details of
   sent emails emptied from the outbox, those of their waitlist offers' emails and text
   messages too; parked (failed) local reminders deleted. Their waitlist entries end
   (withdrawn) with their open offers, so nothing more is offered to them; the entries and
   offers stay, linked to the pseudonym (what was wanted and offered, never who). Delivery
   records (``notification_deliveries``) hold no address, phone number or text, only ids,
   channels and codes: they stay as they are.
3. **The appointment history is kept in the form a clinic must keep**: who (the
   pseudonymous patient row), with whom, when, and what came of it (booked, cancelled,
   completed, no-show), for RECORDS_RETENTION_YEARS after each appointment
   (:mod:`carebook.patient_data.retention`).
4. **The audit log**: older rows about the patient keep what happened and when, but lose
   the client addresses and free-text notes they held; a row elsewhere that held the
   patient's email address has it replaced. One new row records that the erasure
   happened, by whom and how many appointments it cancelled: not what was erased.

The erased account can no longer sign in (no password, sign-in off, sessions gone), nor be
booked (the booking service refuses an erased patient), edited or reactivated.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from carebook import audit
from carebook.booking import BookingService
from carebook.waitlist import entries as waitlist_entries
from carebook.clock import utcnow
from models import (Appointment, AppointmentStatus, AuditEntry, IdempotencyRecord, LocalReminder, OutboxKind,
                    OutboxMessage, OutboxStatus, PasswordResetToken, Patient, RecoveryCode, UserSession)
from models.waitlist import WaitlistEntry, WaitlistOffer
from models.outbox import ERASE_AFTER_SENDING, ERASED_PAYLOAD, LocalReminderStatus, OutboxTopic

ERASED = "patient.erased"
#: The pseudonymous name and email an erased patient's rows keep.
PSEUDONYM = "Erased patient #{patient_id}"
PSEUDONYMOUS_EMAIL = "erased-patient-{patient_id}@erased.invalid"
#: Audit details that never identify anyone (ids, times, codes): the rest of a row about the patient is dropped.
KEPT_AUDIT_DETAILS = frozenset({
    "start_at", "end_at", "previous_start_at", "doctor_id", "patient_id", "previous_status", "method", "stage",
    "outcome", "role", "reason", "limit", "codes_left", "idle_minutes", "fields", "format", "endpoint",
    "appointments_cancelled",
})
ERASED_TEXT = "[erased]"


class ErasureError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing a patient would do, for the confirmation page."""

    future_appointments: int
    kept_appointments: int


@dataclass(frozen=True)
class ErasureResult:
    appointments_cancelled: int
    appointments_kept: int


def _future_booked(session: Session, patient: Patient, now: datetime) -> list[Appointment]:
    return list(session.scalars(select(Appointment).where(
        Appointment.patient_id == patient.id, Appointment.status == AppointmentStatus.BOOKED,
        Appointment.start_at > now).order_by(Appointment.start_at)))


def plan(session: Session, patient: Patient) -> ErasurePlan:
    now = utcnow()
    total = session.scalar(select(func.count()).select_from(Appointment).where(Appointment.patient_id == patient.id))
    future = len(_future_booked(session, patient, now))
    return ErasurePlan(future_appointments=future, kept_appointments=total)


def erase_patient(session: Session, service: BookingService, actor: audit.Actor, patient: Patient) -> ErasureResult:
    """Erase ``patient`` (see the module's docstring). Raises ErasureError if they already are."""
    # The patient's row first, then (through cancel) the doctors': the order a booking takes them in.
    erased_at = session.scalar(select(Patient.erased_at).where(Patient.id == patient.id)
                               .with_for_update(of=Patient))
    if erased_at is not None:
        raise ErasureError("This patient's data are already erased.")
    now = utcnow()
    user = patient.user
    old_email = user.email

    cancelled = 0
    for appointment in _future_booked(session, patient, now):
        # Staff cancel on the patient's behalf, past the online cut-off; the email goes before the address does.
        service.cancel(actor, appointment, enforce_cutoff=False)
        cancelled += 1
    # Their waitlist entries end with them (and their open offers): nobody is offered anything for them.
    waitlist_entries.withdraw_all(session, patient.id)
    session.flush()
    appointment_ids = list(session.scalars(select(Appointment.id).where(Appointment.patient_id == patient.id)))

    _scrub_outbox_and_local_reminders(session, appointment_ids)
    _scrub_waitlist_offer_messages(session, patient.id)
    session.execute(update(Appointment).where(Appointment.patient_id == patient.id)
                    .values(reason="", cancellation_reason="").execution_options(synchronize_session="fetch"))

    for table in (UserSession, RecoveryCode, PasswordResetToken, IdempotencyRecord):
        session.execute(delete(table).where(table.user_id == user.id))
    user.full_name = PSEUDONYM.format(patient_id=patient.id)
    user.email = PSEUDONYMOUS_EMAIL.format(patient_id=patient.id)
    user.password_hash = None
    user.is_active = False
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    patient.phone = ""
    patient.date_of_birth = None
    patient.erased_at = now
    session.flush()

    _scrub_audit_log(session, patient, user.id, appointment_ids, old_email)
    audit.record(session, actor, ERASED, "patient", patient.id, appointments_cancelled=cancelled)
    return ErasureResult(appointments_cancelled=cancelled, appointments_kept=len(appointment_ids))


def _scrub_outbox_and_local_reminders(session: Session, appointment_ids: list[int]) -> None:
    if not appointment_ids:
        return
    emails = OutboxMessage.appointment_id.in_(appointment_ids) & (OutboxMessage.topic == OutboxTopic.EMAIL)
    # Sent or given up: nothing more needs the address.
    session.execute(update(OutboxMessage).where(emails, OutboxMessage.status != OutboxStatus.PENDING)
                    .values(payload=ERASED_PAYLOAD).execution_options(synchronize_session=False))
    # Still to send (the cancellation notices above among them): emptied by the relay once sent.
    for row in session.scalars(select(OutboxMessage).where(emails, OutboxMessage.status == OutboxStatus.PENDING)):
        row.payload = {**row.payload, ERASE_AFTER_SENDING: True}
    # A reminder parked after failing holds the address too; scheduled ones go by the outbox's delete rows.
    session.execute(delete(LocalReminder).where(LocalReminder.appointment_id.in_(appointment_ids),
                                                LocalReminder.status == LocalReminderStatus.FAILED))


def _scrub_waitlist_offer_messages(session: Session, patient_id: int) -> None:
    """The outbox rows of their waitlist offers hold their first name and address or mobile number: emptied.

    Those sent (or given up) at once; those still waiting once the relay has dealt with them (their
    offers are withdrawn above, so the relay sends nothing and only empties them). The delivery
    records of the offers (``notification_deliveries``) hold ids and codes only, and stay.
    """
    offer_ids = list(session.scalars(select(WaitlistOffer.id).join(WaitlistEntry, WaitlistOffer.entry_id == WaitlistEntry.id)
                                     .where(WaitlistEntry.patient_id == patient_id)))
    if not offer_ids:
        return
    rows = (OutboxMessage.kind == OutboxKind.SEND_WAITLIST_OFFER,
            OutboxMessage.payload["offer_id"].as_integer().in_(offer_ids))
    session.execute(update(OutboxMessage).where(*rows, OutboxMessage.status != OutboxStatus.PENDING)
                    .values(payload=ERASED_PAYLOAD).execution_options(synchronize_session=False))
    for row in session.scalars(select(OutboxMessage).where(*rows, OutboxMessage.status == OutboxStatus.PENDING)):
        row.payload = {**row.payload, ERASE_AFTER_SENDING: True}


def _scrub_audit_log(session: Session, patient: Patient, user_id: int, appointment_ids: list[int],
                     email: str | None) -> None:
    """Old audit rows lose what identifies the patient; what happened, and when, stays."""
    about_patient = or_(
        and_(AuditEntry.entity_type == "user", AuditEntry.entity_id == user_id),
        AuditEntry.actor_id == user_id,
        and_(AuditEntry.entity_type == "patient", AuditEntry.entity_id == patient.id),
        *([and_(AuditEntry.entity_type == "appointment", AuditEntry.entity_id.in_(appointment_ids))]
          if appointment_ids else []),
    )
    for entry_id, details in session.execute(select(AuditEntry.id, AuditEntry.details).where(about_patient)):
        kept = {key: value for key, value in (details or {}).items() if key in KEPT_AUDIT_DETAILS}
        if kept != details:
            _set_details(session, entry_id, kept)
    if not email:  # a patient without an email address (registered by phone): nothing more to look for
        return
    # Rows about something else that mention the address (say, a note a staff member typed).
    escaped = email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    mentions = cast(AuditEntry.details, Text).ilike(f"%{escaped}%", escape="\\")
    for entry_id, details in session.execute(select(AuditEntry.id, AuditEntry.details).where(mentions,
                                                                                           ~about_patient)):
        _set_details(session, entry_id, _without(details, email))


def _without(value: Any, email: str) -> Any:
    if isinstance(value, dict):
        return {key: _without(item, email) for key, item in value.items()}
    if isinstance(value, list):
        return [_without(item, email) for item in value]
    if isinstance(value, str) and email.lower() in value.lower():
        start = value.lower().index(email.lower())
        return _without(value[:start] + ERASED_TEXT + value[start + len(email):], email)
    return value


def _set_details(session: Session, entry_id: int, details: dict[str, Any]) -> None:
    # The only change ever made to a written audit row: removing personal data at the patient's request.
    session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(details=details)
                    .execution_options(synchronize_session=False))
