"""Everything the clinic holds about one patient, as they may ask for it (GDPR Art. 15, HIPAA right of access).

:func:`collect` gathers it from every table that holds something of theirs:

* the account (sign-in email, name, when it was made, whether it can sign in, two-factor on or off),
* the contact details (date of birth, phone),
* every appointment, with its doctor and specialty, times, status, the reason they typed,
  and when and by whom (themselves or the clinic) it was booked or cancelled,
* the messages about those appointments: confirmation, change and cancellation emails,
  reminders scheduled, and reminders sent (from the reminder outbox and the local
  delivery records: ``models/outbox.py``), each with its status and time,
* the sign-in history (the authentication events of the audit log: signed in, failed,
  codes, resets, sign-outs, with the address each came from) and the changes to the account,
* the sign-in sessions (started, last used, ended).

The same :class:`PatientData` renders as JSON (:meth:`PatientData.as_json`) and as a
readable page (templates/patient_data/_report.html). Never included: secrets (password
hash, authenticator key, recovery codes, session tokens) and other people's personal data
(the names of the staff who acted: "the clinic" stands for them).

:func:`record_export` writes the audit row every export gets.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session

from carebook import audit
from carebook.config import ClinicSettings
from models import (Appointment, AuditEntry, LocalReminder, OutboxKind, OutboxMessage, OutboxStatus, Patient,
                    RecoveryCode, ReminderDelivery, UserSession)
from models.outbox import ReminderDeliveryStatus

FORMAT = "carebook-patient-data"
FORMAT_VERSION = 1
EXPORTED = "patient.data_exported"
FORMATS = ("json", "html")

#: The audit log's events, as a patient reads them. Events not listed show their code.
EVENT_LABELS = {
    "auth.login_succeeded": "Signed in",
    "auth.login_failed": "Sign-in refused (wrong email or password)",
    "auth.throttled": "Sign-in attempts paused (too many)",
    "auth.password_accepted": "Password accepted, code asked for",
    "auth.second_factor_succeeded": "Authenticator code accepted",
    "auth.second_factor_failed": "Authenticator code refused",
    "auth.recovery_code_used": "Recovery code used",
    "auth.two_factor_enrolled": "Two-factor authentication turned on",
    "auth.two_factor_disabled": "Two-factor authentication turned off",
    "auth.two_factor_reset": "Two-factor authentication reset by the clinic",
    "auth.recovery_codes_renewed": "New recovery codes made",
    "auth.password_reset_requested": "Password reset link asked for",
    "auth.password_reset_completed": "Password reset with an emailed link",
    "auth.logout": "Signed out",
    "auth.session_expired": "Sign-in ended after a time without use",
    "auth.current_password_failed": "Wrong current password on the account page",
    "access.refused": "A page was refused",
    "access.csrf_refused": "A form was refused (expired or sent from elsewhere)",
    "user.created": "Account created",
    "user.password_changed": "Password changed",
    "user.email_changed": "Email address changed",
    "user.enabled": "Sign-in turned on by the clinic",
    "user.disabled": "Sign-in turned off by the clinic",
    "patient.updated": "Contact details changed by the clinic",
    EXPORTED: "Copy of this data made",
    "patient.erased": "Erased at the patient's request",
}
SOURCE_LABELS = {"portal": "website", "api": "app (API)", "admin": "clinic's staff console", "cli": "clinic's system",
                 "system": "clinic's system"}
MESSAGE_LABELS = {
    OutboxKind.SEND_CONFIRMATION: "Booking confirmation email",
    OutboxKind.SEND_UPDATED_CONFIRMATION: "Changed appointment email",
    OutboxKind.SEND_CANCELLATION: "Cancellation email",
    OutboxKind.SCHEDULE_REMINDER: "Reminder email scheduled",
    OutboxKind.MOVE_REMINDER: "Reminder email moved",
    OutboxKind.DELETE_REMINDER: "Reminder email removed",
}
_MESSAGE_STATUS = {OutboxStatus.DONE: "done", OutboxStatus.PENDING: "waiting", OutboxStatus.DEAD: "failed"}
#: Detail keys of the audit log a patient is shown (the others are the clinic's own bookkeeping).
_EVENT_DETAILS = ("address", "method", "outcome", "stage", "fields", "format", "codes_left", "idle_minutes")


@dataclass
class Account:
    user_id: int
    email: str
    full_name: str
    role: str
    created_at: datetime
    can_sign_in: bool
    has_password: bool
    two_factor_enabled: bool
    two_factor_enabled_at: datetime | None
    recovery_codes_left: int
    erased_at: datetime | None


@dataclass
class ContactDetails:
    patient_id: int
    date_of_birth: date | None
    phone: str


@dataclass
class AppointmentRecord:
    id: int
    doctor: str
    specialty: str
    start_at: datetime
    end_at: datetime
    status: str
    reason: str
    booked_at: datetime
    booked_by: str
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancellation_reason: str


@dataclass
class MessageRecord:
    appointment_id: int
    message: str
    status: str
    created_at: datetime | None
    done_at: datetime | None


@dataclass
class EventRecord:
    at: datetime
    event: str
    code: str
    through: str
    by: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SessionRecord:
    started_at: datetime
    last_used_at: datetime
    ended_at: datetime | None


@dataclass
class PatientData:
    generated_at: datetime
    clinic: dict[str, str]
    account: Account
    contact_details: ContactDetails
    appointments: list[AppointmentRecord]
    messages: list[MessageRecord]
    sign_in_history: list[EventRecord]
    account_history: list[EventRecord]
    sessions: list[SessionRecord]
    notes: list[str]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: instants as ISO 8601 in UTC, dates as ISO 8601."""
        return {"format": FORMAT, "version": FORMAT_VERSION, **_jsonable(asdict(self))}


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _who(actor_id: int | None, user_id: int) -> str:
    if actor_id is None:
        return "the clinic's system"
    return "you" if actor_id == user_id else "the clinic"


def collect(session: Session, patient: Patient, *, clinic: ClinicSettings, now: datetime) -> PatientData:
    """Everything held about ``patient`` (see the module's docstring), read in ``session``."""
    user = patient.user
    appointments = session.scalars(select(Appointment).where(Appointment.patient_id == patient.id)
                                   .order_by(Appointment.start_at, Appointment.id)).all()
    appointment_ids = [appointment.id for appointment in appointments]
    codes_left = len(session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())
    return PatientData(
        generated_at=now,
        clinic={"name": clinic.name, "address": clinic.address, "phone": clinic.phone},
        account=Account(
            user_id=user.id, email=user.email, full_name=user.full_name, role=user.role.value,
            created_at=user.created_at, can_sign_in=user.is_active and user.password_hash is not None,
            has_password=user.password_hash is not None, two_factor_enabled=user.two_factor_enabled,
            two_factor_enabled_at=user.totp_enabled_at, recovery_codes_left=codes_left,
            erased_at=patient.erased_at),
        contact_details=ContactDetails(patient_id=patient.id, date_of_birth=patient.date_of_birth,
                                       phone=patient.phone),
        appointments=[_appointment(appointment, user.id) for appointment in appointments],
        messages=_messages(session, appointment_ids),
        sign_in_history=_events(session, or_(AuditEntry.action.like("auth.%"), AuditEntry.action.like("access.%")),
                                and_(AuditEntry.entity_type == "user", AuditEntry.entity_id == user.id), user.id),
        account_history=_events(session, true(),
                                or_(and_(AuditEntry.entity_type == "user", AuditEntry.entity_id == user.id,
                                         AuditEntry.action.like("user.%")),
                                    and_(AuditEntry.entity_type == "patient", AuditEntry.entity_id == patient.id)),
                                user.id),
        sessions=[SessionRecord(started_at=row.created_at, last_used_at=row.last_seen_at, ended_at=row.revoked_at)
                  for row in session.scalars(select(UserSession).where(UserSession.user_id == user.id)
                                             .order_by(UserSession.created_at))],
        notes=[
            "Times are in UTC in the JSON copy and in the clinic's time zone on the page.",
            "Reminder emails sent through Amazon Web Services are recorded there, not in this database, for 15 "
            "days; their schedule is listed here.",
            "Secrets (your password, authenticator key and recovery codes) are kept only in a form nobody can "
            "read back, and are not part of this copy.",
        ],
    )


def _appointment(appointment: Appointment, user_id: int) -> AppointmentRecord:
    cancelled = appointment.cancelled_at is not None
    return AppointmentRecord(
        id=appointment.id, doctor=appointment.doctor.name, specialty=appointment.doctor.specialty,
        start_at=appointment.start_at, end_at=appointment.end_at, status=appointment.status.value,
        reason=appointment.reason, booked_at=appointment.created_at,
        booked_by=_who(appointment.created_by_id, user_id),
        cancelled_at=appointment.cancelled_at,
        cancelled_by=_who(appointment.cancelled_by_id, user_id) if cancelled else None,
        cancellation_reason=appointment.cancellation_reason)


def _messages(session: Session, appointment_ids: list[int]) -> list[MessageRecord]:
    if not appointment_ids:
        return []
    messages = [MessageRecord(appointment_id=row.appointment_id, message=MESSAGE_LABELS.get(row.kind, row.kind.value),
                              status=_MESSAGE_STATUS.get(row.status, row.status.value), created_at=row.created_at,
                              done_at=row.processed_at)
                for row in session.scalars(select(OutboxMessage).where(OutboxMessage.appointment_id.in_(appointment_ids))
                                           .order_by(OutboxMessage.created_at, OutboxMessage.id))]
    # Reminder emails the embedded scheduler sent (ids "appt-<appointment>-<time>", lambda_handler), and those due.
    wanted = set(appointment_ids)
    for delivery in session.scalars(select(ReminderDelivery).where(
            or_(*(ReminderDelivery.reminder_id.like(f"appt-{number}-%") for number in appointment_ids)))):
        number = int(delivery.reminder_id.split("-")[1])
        if number in wanted:
            sent = delivery.status is ReminderDeliveryStatus.COMPLETED
            messages.append(MessageRecord(appointment_id=number, message="Reminder email",
                                          status="sent" if sent else "being sent", created_at=delivery.created_at,
                                          done_at=delivery.completed_at))
    for reminder in session.scalars(select(LocalReminder).where(LocalReminder.appointment_id.in_(appointment_ids))):
        messages.append(MessageRecord(appointment_id=reminder.appointment_id, message="Reminder email due",
                                      status=reminder.status.value, created_at=reminder.created_at,
                                      done_at=reminder.fire_at))
    messages.sort(key=lambda message: (message.created_at or message.done_at, message.appointment_id))
    return messages


def _events(session: Session, action_condition, subject_condition, user_id: int) -> list[EventRecord]:
    rows = session.scalars(select(AuditEntry).where(subject_condition, action_condition)
                           .order_by(AuditEntry.at, AuditEntry.id))
    return [EventRecord(at=row.at, event=EVENT_LABELS.get(row.action, row.action), code=row.action,
                        through=SOURCE_LABELS.get(row.source, row.source), by=_who(row.actor_id, user_id),
                        details={key: row.details[key] for key in _EVENT_DETAILS if key in (row.details or {})})
            for row in rows]


def record_export(session: Session, actor: audit.Actor, patient: Patient, export_format: str) -> None:
    """The audit row of an export: who made a copy of whose data, in which form (never the data)."""
    if export_format not in FORMATS:
        raise ValueError(f"unknown export format {export_format!r}")
    audit.record(session, actor, EXPORTED, "patient", patient.id, format=export_format)
