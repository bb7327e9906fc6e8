"""What reminder an appointment should have: when it fires and what it says.

The lead-time rule (also in docs/reminders.md). Let ``lead`` be REMINDER_LEAD_HOURS
(24) and ``short`` REMINDER_SHORT_LEAD_HOURS (2), and "booked" the moment the
appointment got its current time (booked or last moved):

1. If ``start - lead`` is at least ``MIN_AHEAD`` after booked: the reminder fires at
   ``start - lead``.
2. Otherwise, if ``start - short`` is at least ``MIN_AHEAD`` after booked: it fires at
   ``start - short``.
3. Otherwise there is no reminder (the patient has just booked it).

Quiet hours (SMS_QUIET_HOURS, default 21:00-08:00 clinic time). A reminder that goes by
SMS never fires inside them: a time that falls inside is moved earlier, to
``QUIET_MARGIN`` (5 minutes) before the quiet hours begin (20:55 the evening before). If
that is not at least ``MIN_AHEAD`` after booked (it would be in the past), it is moved
later instead, to the end of the quiet hours (08:00), provided that is still before the
appointment; otherwise that lead gives no time and the next rule is tried. The clinic's
wall clock decides, so the window stays 21:00-08:00 on the nights the clocks change. An
email-only reminder keeps its time. One schedule carries every channel, so the email of a
patient who chose both moves with the SMS.

The relay applies the rule when it acts, which may be late (AWS down, worker
stopped): if the planned time is then no longer ``MIN_AHEAD`` in the future, a planned
full-lead reminder falls back to the short lead (moved out of the quiet hours the same
way, from now) if that is still ahead, and otherwise there is no reminder. A schedule is
never created in the past or within ``MIN_AHEAD`` of now.
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

from carebook import phones, timefmt
from carebook.config import ClinicSettings
from carebook.quiet_hours import QuietWindow
from lambda_handler.payload import VERSION
from models import Appointment, AppointmentStatus, OutboxKind, OutboxMessage
from reminders.settings import SCHEDULER_NAME, ReminderSettings

#: A reminder must fire at least this far after "now": Scheduler's precision is about a
#: minute, and an at() in the past has undocumented behaviour.
MIN_AHEAD = timedelta(minutes=5)
#: A reminder moved out of the quiet hours fires this long before they begin (Scheduler's
#: precision is about a minute, and an SMS takes a moment to arrive).
QUIET_MARGIN = timedelta(minutes=5)


class Quiet(QuietWindow):
    """The quiet hours in the clinic's zone, with the planner's ways of keeping SMS reminders out of them."""

    def move(self, instant: datetime, start_at: datetime, reference: datetime) -> datetime | None:
        """``instant`` out of the quiet hours: earlier if that is ahead of ``reference``, else later
        if that is before the appointment, else None."""
        if not self.contains(instant):
            return instant
        earlier = self.began(instant) - QUIET_MARGIN
        if earlier >= reference + MIN_AHEAD:
            return earlier
        later = self.ends(instant)
        return later if later < start_at else None

    def variants(self, instant: datetime, start_at: datetime) -> set[datetime]:
        """Every time :meth:`move` may give for ``instant`` (whatever the reference)."""
        if not self.contains(instant):
            return {instant}
        later = self.ends(instant)
        return {self.began(instant) - QUIET_MARGIN, *([later] if later < start_at else [])}


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


def _lead_time(start_at: datetime, lead: timedelta, reference: datetime, quiet: Quiet | None) -> datetime | None:
    """``start - lead``, out of the quiet hours, if it is at least MIN_AHEAD after ``reference``."""
    instant = start_at - lead
    if quiet is not None:
        instant = quiet.move(instant, start_at, reference)
    return instant if instant is not None and instant >= reference + MIN_AHEAD else None


def planned_fire_at(start_at: datetime, booked_at: datetime, settings: ReminderSettings,
                    quiet: Quiet | None = None) -> datetime | None:
    """Rules 1-3 above: when the reminder fires, as decided when the time was booked."""
    for lead in (settings.lead, settings.short_lead):
        instant = _lead_time(start_at, lead, booked_at, quiet)
        if instant is not None:
            return instant
    return None


def fire_at(start_at: datetime, booked_at: datetime, now: datetime, settings: ReminderSettings,
            quiet: Quiet | None = None) -> datetime | None:
    """When to schedule the reminder if the relay acts at ``now`` (falls back if late)."""
    full_lead = _lead_time(start_at, settings.lead, booked_at, quiet)
    planned = full_lead or _lead_time(start_at, settings.short_lead, booked_at, quiet)
    if planned is None:
        return None
    if planned >= now + MIN_AHEAD:
        return planned
    if full_lead is not None:
        return _lead_time(start_at, settings.short_lead, now, quiet)
    return None


def acceptable_fire_times(start_at: datetime, booked_at: datetime, settings: ReminderSettings,
                          quiet: Quiet | None = None) -> set[datetime]:
    """Fire times a live reminder may have: the planned one, or the short-lead fallback."""
    full_lead = _lead_time(start_at, settings.lead, booked_at, quiet)
    planned = full_lead or _lead_time(start_at, settings.short_lead, booked_at, quiet)
    if planned is None:
        return set()
    if full_lead is None:
        return {planned}
    short = start_at - settings.short_lead
    return {planned, *(quiet.variants(short, start_at) if quiet is not None else {short})}


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


def channels_of(patient) -> list[str]:
    """The channels a patient hears from the clinic by: their choice, where they have the address for it.

    SMS needs a mobile number in E.164 (an old number flagged "check this number", or a landline, takes none).
    """
    channels = []
    if patient.user.email and patient.contact_preference.by_email:
        channels.append("email")
    if patient.contact_preference.by_sms and not patient.phone_needs_check and phones.is_mobile(patient.phone):
        channels.append("sms")
    return channels


def short_time_text(instant: datetime, tz: ZoneInfo) -> str:
    """"Tue 2 Jun, 10:00 BST": the SMS's date and time, with the zone label."""
    return timefmt.format_datetime(instant, tz, zoned=True)


def quiet_of(app: Flask, settings: ReminderSettings) -> Quiet | None:
    if settings.quiet_hours is None:
        return None
    return Quiet(settings.quiet_hours, app.config["CLINIC"].timezone)


def reminder_payload(app: Flask, appointment: Appointment) -> dict[str, Any]:
    """Version 1 of the message (see lambda_handler.payload). No reason for visit, ever."""
    clinic: ClinicSettings = app.config["CLINIC"]
    user = appointment.patient.user
    channels = channels_of(appointment.patient) or ["email"]
    patient: dict[str, Any] = {"first_name": user.first_name}
    if "email" in channels:
        patient["email"] = user.email
    sms: dict[str, Any] = {}
    if channels != ["email"]:
        # Absent means email only: an email-only reminder's payload is the one written before SMS, so
        # the live schedules of such patients stay as they are (reconcile finds them current).
        sms["channels"] = channels
    if "sms" in channels:
        patient["phone"] = appointment.patient.phone
        sms["short_time_text"] = short_time_text(appointment.start_at, clinic.timezone)
    return {
        **sms,
        "version": VERSION,
        "kind": "reminder",
        "reminder_id": reminder_id(appointment),
        "appointment_id": appointment.id,
        "start_at": appointment.start_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": clinic.timezone.key,
        "local_time_text": local_time_text(appointment.start_at, clinic.timezone),
        "patient": patient,
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

    None too for a patient who can be reached by no channel (no email, and no mobile number for SMS).
    """
    if not is_future_booking(appointment, now):
        return None
    channels = channels_of(appointment.patient)
    if not channels:
        return None
    quiet = quiet_of(app, settings) if "sms" in channels else None
    when = fire_at(appointment.start_at, booked_at(session, appointment), now, settings, quiet)
    if when is None:
        return None
    return Reminder(name=schedule_name(appointment.id), appointment_id=appointment.id, fire_at=when,
                    payload=reminder_payload(app, appointment))
