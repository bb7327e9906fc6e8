"""What reminder an appointment should have: when it fires and what it says.

The lead-time rule (also in docs/reminders.md). Let ``lead`` be REMINDER_LEAD_HOURS
(24) and ``short`` REMINDER_SHORT_LEAD_HOURS (2), and "booked" the moment the
appointment got its current time (booked or last moved):

1. If ``start - lead`` is at least ``MIN_AHEAD`` after booked: the reminder fires at
   ``start - lead``.
2. Otherwise, if ``start - short`` is at least ``MIN_AHEAD`` after booked: it fires at
   ``start - short``.
3. Otherwise there is no reminder (the patient has just booked it).

The relay applies the rule when it acts, which may be late (AWS down, worker
stopped): if the planned time is then no longer ``MIN_AHEAD`` in the future, a planned
full-lead reminder falls back to the short lead if that is still ahead, and otherwise
there is no reminder. A schedule is never created in the past or within
``MIN_AHEAD`` of now.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from carebook import timefmt
from carebook.config import ClinicSettings
from lambda_handler.payload import VERSION
from models import Appointment, AppointmentStatus, OutboxKind, OutboxMessage
from reminders.settings import SCHEDULER_NAME, ReminderSettings

#: A reminder must fire at least this far after "now": Scheduler's precision is about a
#: minute, and an at() in the past has undocumented behaviour.
MIN_AHEAD = timedelta(minutes=5)


@dataclass(frozen=True)
class Reminder:
    """One reminder as a backend stores it: an EventBridge schedule or a local row."""

    name: str
    appointment_id: int
    fire_at: datetime
    payload: dict[str, Any]


def schedule_name(appointment_id: int) -> str:
    name = f"appt-{int(appointment_id)}-reminder"
    if not SCHEDULER_NAME.fullmatch(name):
        raise ValueError(f"invalid schedule name {name!r}")
    return name


def appointment_id_from_name(name: str) -> int | None:
    """The appointment a schedule name belongs to, or None if the name is not one of ours."""
    prefix, suffix = "appt-", "-reminder"
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    middle = name[len(prefix):-len(suffix)]
    return int(middle) if middle.isdigit() else None


def planned_fire_at(start_at: datetime, booked_at: datetime, settings: ReminderSettings) -> datetime | None:
    """Rules 1-3 above: when the reminder fires, as decided when the time was booked."""
    for lead in (settings.lead, settings.short_lead):
        if start_at - lead >= booked_at + MIN_AHEAD:
            return start_at - lead
    return None


def fire_at(start_at: datetime, booked_at: datetime, now: datetime, settings: ReminderSettings) -> datetime | None:
    """When to schedule the reminder if the relay acts at ``now`` (falls back if late)."""
    planned = planned_fire_at(start_at, booked_at, settings)
    if planned is None:
        return None
    if planned >= now + MIN_AHEAD:
        return planned
    if planned == start_at - settings.lead and start_at - settings.short_lead >= now + MIN_AHEAD:
        return start_at - settings.short_lead
    return None


def acceptable_fire_times(start_at: datetime, booked_at: datetime, settings: ReminderSettings) -> set[datetime]:
    """Fire times a live reminder may have: the planned one, or the short-lead fallback."""
    planned = planned_fire_at(start_at, booked_at, settings)
    if planned is None:
        return set()
    if planned == start_at - settings.lead:
        return {planned, start_at - settings.short_lead}
    return {planned}


def booked_at(session: Session, appointment: Appointment) -> datetime:
    """When the appointment got its current time: its newest schedule/move outbox row."""
    newest = session.scalar(select(func.max(OutboxMessage.created_at)).where(
        OutboxMessage.appointment_id == appointment.id,
        OutboxMessage.kind.in_([OutboxKind.SCHEDULE_REMINDER, OutboxKind.MOVE_REMINDER])))
    if newest is None:
        return appointment.created_at
    if newest.tzinfo is None:  # max() over SQLite text loses the column type
        newest = datetime.fromisoformat(str(newest)).replace(tzinfo=timezone.utc)
    return newest


def local_time_text(instant: datetime, tz: ZoneInfo) -> str:
    """"Tuesday 2 June 2026, 10:00 BST (Europe/London time)": the zone always named."""
    moment = instant.astimezone(tz)
    return f"{timefmt.format_long_date(moment.date())}, {moment:%H:%M} {moment:%Z} ({tz.key} time)"


def manage_url(app: Flask, appointment_id: int) -> str:
    base = app.config["BASE_URL"].rstrip("/")
    try:
        path = app.url_map.bind("localhost").build("patient.appointment", {"appointment_id": appointment_id})
    except BuildError:
        path = f"/appointments/{appointment_id}"
    return base + path


def reminder_id(appointment: Appointment) -> str:
    """One id per appointment *time*: a moved appointment gets a fresh reminder."""
    return f"appt-{appointment.id}-{appointment.start_at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"


def reminder_payload(app: Flask, appointment: Appointment) -> dict[str, Any]:
    """Version 1 of the message (see lambda_handler.payload). No reason for visit, ever."""
    clinic: ClinicSettings = app.config["CLINIC"]
    user = appointment.patient.user
    return {
        "version": VERSION,
        "kind": "reminder",
        "reminder_id": reminder_id(appointment),
        "appointment_id": appointment.id,
        "start_at": appointment.start_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": clinic.timezone.key,
        "local_time_text": local_time_text(appointment.start_at, clinic.timezone),
        "patient": {"first_name": user.first_name, "email": user.email},
        "doctor_name": appointment.doctor.name,
        "appointment_type": appointment.appointment_type.name,
        "clinic": {"name": clinic.name, "address": clinic.address, "phone": clinic.phone},
        "manage_url": manage_url(app, appointment.id),
    }


def is_future_booking(appointment: Appointment | None, now: datetime) -> bool:
    return (appointment is not None and appointment.status is AppointmentStatus.BOOKED
            and appointment.start_at > now)


def desired_reminder(app: Flask, session: Session, settings: ReminderSettings, appointment: Appointment | None,
                     now: datetime) -> Reminder | None:
    """The reminder this appointment should have if the relay acts now, or None.

    None too for a patient who gets no email (no address, or text messages only): the reminder
    is an email today (reminders/outbox.py records the skip when the booking is made).
    """
    if not is_future_booking(appointment, now):
        return None
    patient = appointment.patient
    if not patient.user.email or not patient.contact_preference.by_email:
        return None
    when = fire_at(appointment.start_at, booked_at(session, appointment), now, settings)
    if when is None:
        return None
    return Reminder(name=schedule_name(appointment.id), appointment_id=appointment.id, fire_at=when,
                    payload=reminder_payload(app, appointment))
