"""Everything the clinic holds about one patient, as they may ask for it (GDPR Art. 15, HIPAA right of access).

:func:`collect` gathers it from every table that holds something of theirs:

* the account (sign-in email, name, when it was made, whether it can sign in, two-factor on or off),
* the contact details (date of birth, phone, how they chose to hear from the clinic: email,
  text message or both),
* every appointment, with its doctor and specialty, type, times, status, the reason they
  typed, and when and by whom (themselves or the clinic) it was booked or cancelled,
* every waitlist entry (what they waited for: the doctor or any doctor of a specialty, the
  type, the date range, days, parts of the day, notice, the appointment it was to bring
  forward; its status, when it began and ended, who added it) and every offer made to them
  (doctor, time, when sent, until when held, status, channels, when claimed),
* the messages about those appointments and offers: confirmation, change and cancellation
  emails, reminders scheduled and sent (from the reminder outbox and the local idempotency
  record: ``models/outbox.py``), and every delivery record (``notification_deliveries``):
  each message sent, not sent or failed, per channel (email or SMS), with its detail and time,
* the sign-in history (the authentication events of the audit log: signed in, failed,
  codes, resets, sign-outs, with the address each came from) and the changes to the account,
* the sign-in sessions (started, last used, ended).

The same :class:`PatientData` renders as JSON (:meth:`PatientData.as_json`) and as a
readable page (templates/patient_data/_report.html). Never included: secrets (password
hash, authenticator key, recovery codes, session tokens) and other people's personal data
(the names of the staff who acted: "the clinic" stands for them).

:func:`record_export` writes the audit row every export gets.

Format versions (``version`` in the JSON copy):

* 1: the first.
* 2: ``contact_details.contact_preference``; ``appointments[].type``; ``waitlist_entries`` and
  ``waitlist_offers``; each message has ``offer_id``, ``channel`` and ``detail`` (delivery
  records), and ``appointment_id`` is null for a message about a waitlist offer.

The cost is a fixed number of queries, however many appointments, entries and offers
(tests/test_query_budget.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session, joinedload

from carebook import audit
from carebook.config import ClinicSettings
from models import (Appointment, AuditEntry, LocalReminder, NotificationDelivery, OutboxKind, OutboxMessage,
                    OutboxStatus, Patient, RecoveryCode, ReminderDelivery, UserSession)
from models.outbox import ReminderDeliveryStatus
from models.waitlist import PARTS_OF_DAY, WaitlistEntry, WaitlistOffer

FORMAT = "carebook-patient-data"
FORMAT_VERSION = 2
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
#: What the delivery records (notification_deliveries) hold, as a patient reads it.
DELIVERY_LABELS = {
    "confirmation": "Booking confirmation", "updated": "Changed appointment", "cancellation": "Cancellation",
    "reminder": "Reminder", "invitation": "Invitation to go online", "waitlist_offer": "Waitlist offer",
}
CHANNEL_LABELS = {"email": "email", "sms": "text message (SMS)"}
DELIVERY_OUTCOMES = {"sent": "sent", "skipped": "not sent", "failed": "failed"}
DELIVERY_DETAILS = {
    "no_email": "no email address", "sms_only": "you chose text messages only", "no_mobile": "no mobile number",
    "opted_out": "the number has opted out of text messages (replied STOP)",
    "stale": "too late: the appointment had started",
}
#: The prefix of a waitlist offer's message id (reminders/notices.py: ``waitlist-offer-<offer id>``).
OFFER_MESSAGE_PREFIX = "waitlist-offer-"
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
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
    #: How the patient chose to hear from the clinic: "email", "sms" or "both".
    contact_preference: str


@dataclass
class AppointmentRecord:
    id: int
    doctor: str
    specialty: str
    type: str
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
class WaitlistEntryRecord:
    id: int
    #: "Dr Ada Lovelace", or "any General practice doctor".
    waited_for: str
    doctor: str | None
    specialty: str
    #: The type's name, or "the usual appointment" (each doctor's default type).
    type: str
    earliest_date: date
    latest_date: date
    weekdays: list[str]
    times_of_day: list[str]
    min_notice_minutes: int
    #: The appointment it was to bring forward ("an earlier time than this"), if any.
    earlier_than_appointment_id: int | None
    status: str
    created_at: datetime
    ended_at: datetime | None
    added_by: str


@dataclass
class WaitlistOfferRecord:
    id: int
    entry_id: int
    doctor: str
    specialty: str
    start_at: datetime
    end_at: datetime
    sent_at: datetime
    held_until: datetime
    status: str
    #: The channels it went out on: "email", "sms" (none: the clinic was to call).
    channels: list[str]
    offered_by: str
    claimed_at: datetime | None
    #: The appointment claiming it booked (or moved).
    appointment_id: int | None
    closed_at: datetime | None


@dataclass
class MessageRecord:
    #: None for a message about a waitlist offer (``offer_id``).
    appointment_id: int | None
    message: str
    status: str
    created_at: datetime | None
    done_at: datetime | None
    offer_id: int | None = None
    #: "email" or "sms" for a delivery record; "" for the outbox's and scheduler's rows.
    channel: str = ""
    #: Why a message was not sent, or the error code of a failure.
    detail: str = ""


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
    waitlist_entries: list[WaitlistEntryRecord]
    waitlist_offers: list[WaitlistOfferRecord]
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
    entries = session.scalars(select(WaitlistEntry).where(WaitlistEntry.patient_id == patient.id)
                              .options(joinedload(WaitlistEntry.doctor), joinedload(WaitlistEntry.appointment_type))
                              .order_by(WaitlistEntry.created_at, WaitlistEntry.id)).unique().all()
    offers = session.scalars(select(WaitlistOffer).join(WaitlistEntry, WaitlistOffer.entry_id == WaitlistEntry.id)
                             .where(WaitlistEntry.patient_id == patient.id)
                             .options(joinedload(WaitlistOffer.doctor))
                             .order_by(WaitlistOffer.sent_at, WaitlistOffer.id)).unique().all()
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
                                       phone=patient.phone, contact_preference=_value(patient.contact_preference)),
        appointments=[_appointment(appointment, user.id) for appointment in appointments],
        waitlist_entries=[_entry(entry, user.id) for entry in entries],
        waitlist_offers=[_offer(offer) for offer in offers],
        messages=_messages(session, appointment_ids, [offer.id for offer in offers]),
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
            "Every message sent, not sent or failed about your appointments and waitlist offers is listed "
            "with its channel and time: reminders and text messages sent through Amazon Web Services too, "
            "from the delivery receipts they send back.",
            "Secrets (your password, authenticator key and recovery codes) are kept only in a form nobody can "
            "read back, and are not part of this copy.",
        ],
    )


def _appointment(appointment: Appointment, user_id: int) -> AppointmentRecord:
    cancelled = appointment.cancelled_at is not None
    return AppointmentRecord(
        id=appointment.id, doctor=appointment.doctor.name, specialty=appointment.doctor.specialty,
        type=appointment.appointment_type.name, start_at=appointment.start_at, end_at=appointment.end_at, status=appointment.status.value,
        reason=appointment.reason, booked_at=appointment.created_at,
        booked_by=_who(appointment.created_by_id, user_id),
        cancelled_at=appointment.cancelled_at,
        cancelled_by=_who(appointment.cancelled_by_id, user_id) if cancelled else None,
        cancellation_reason=appointment.cancellation_reason)


def _value(choice) -> str:
    return getattr(choice, "value", choice) or ""


def _entry(entry: WaitlistEntry, user_id: int) -> WaitlistEntryRecord:
    doctor = entry.doctor
    return WaitlistEntryRecord(
        id=entry.id, waited_for=doctor.name if doctor is not None else f"any {entry.specialty} doctor",
        doctor=doctor.name if doctor is not None else None,
        specialty=doctor.specialty if doctor is not None else entry.specialty,
        type=entry.appointment_type.name if entry.appointment_type is not None else "the usual appointment",
        earliest_date=entry.earliest_date, latest_date=entry.latest_date,
        weekdays=[name for index, name in enumerate(WEEKDAY_NAMES) if entry.weekdays & (1 << index)],
        times_of_day=[name for index, name in enumerate(PARTS_OF_DAY) if entry.times_of_day & (1 << index)],
        min_notice_minutes=entry.min_notice_minutes, earlier_than_appointment_id=entry.earlier_than_appointment_id,
        status=entry.status.value, created_at=entry.created_at, ended_at=entry.ended_at,
        added_by=_who(entry.created_by_id, user_id))


def _offer(offer: WaitlistOffer) -> WaitlistOfferRecord:
    return WaitlistOfferRecord(
        id=offer.id, entry_id=offer.entry_id, doctor=offer.doctor.name, specialty=offer.doctor.specialty,
        start_at=offer.start_at, end_at=offer.end_at, sent_at=offer.sent_at, held_until=offer.expires_at,
        status=offer.status.value, channels=[channel for channel in offer.channels.split("+") if channel],
        # Made by the relay, or by a staff member by hand (never named).
        offered_by="the clinic" if offer.offered_by_id is not None else "the clinic's system",
        claimed_at=offer.claimed_at, appointment_id=offer.appointment_id, closed_at=offer.closed_at)


def _messages(session: Session, appointment_ids: list[int], offer_ids: list[int]) -> list[MessageRecord]:
    messages = _deliveries(session, appointment_ids, offer_ids)
    if not appointment_ids:
        return _in_order(messages)
    messages += [MessageRecord(appointment_id=row.appointment_id, message=MESSAGE_LABELS.get(row.kind, row.kind.value),
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
    return _in_order(messages)


def _in_order(messages: list[MessageRecord]) -> list[MessageRecord]:
    messages.sort(key=lambda message: (message.created_at or message.done_at, message.appointment_id or 0,
                                       message.offer_id or 0))
    return messages


def _deliveries(session: Session, appointment_ids: list[int], offer_ids: list[int]) -> list[MessageRecord]:
    """The delivery records of the patient's appointments and waitlist offers: one query, whatever their number."""
    conditions = []
    if appointment_ids:
        conditions.append(NotificationDelivery.appointment_id.in_(appointment_ids))
    if offer_ids:
        conditions.append(NotificationDelivery.message_id.in_([f"{OFFER_MESSAGE_PREFIX}{n}" for n in offer_ids]))
    if not conditions:
        return []
    records = []
    for row in session.scalars(select(NotificationDelivery).where(or_(*conditions))
                               .order_by(NotificationDelivery.occurred_at, NotificationDelivery.id)):
        offer_id = int(row.message_id[len(OFFER_MESSAGE_PREFIX):]) \
            if row.appointment_id is None and row.message_id.startswith(OFFER_MESSAGE_PREFIX) else None
        channel = CHANNEL_LABELS.get(row.channel, row.channel)
        records.append(MessageRecord(
            appointment_id=row.appointment_id, offer_id=offer_id,
            message=f"{DELIVERY_LABELS.get(row.event, row.event)} by {channel}",
            status=DELIVERY_OUTCOMES.get(row.outcome, row.outcome), created_at=row.occurred_at,
            done_at=row.occurred_at, channel=row.channel, detail=DELIVERY_DETAILS.get(row.detail, row.detail)))
    return records


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
