"""Compare booked future appointments with the live reminders; report and repair.

* missing:  a booked future appointment whose planned reminder time is still ahead has
            no live reminder;
* stale:    a live reminder with the wrong time, the wrong payload (moved appointment,
            changed clinic details) or the wrong target settings;
* orphaned: a live reminder for an appointment that is cancelled, over, or gone.

Appointments with pending reminder rows in the outbox are in flight: the relay is
about to act on them, so they are counted but not judged. Once a reminder's planned
time has passed, a missing schedule is taken to have fired (AWS deletes one-off
schedules after they run), so it is not reported.

A repair with the local backend writes through the session and does not commit: the
command (`flask reminders reconcile --repair`) is the edge that commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import select

from carebook.clock import utcnow
from carebook.extensions import db
from models import Appointment, AppointmentStatus, OutboxMessage, OutboxStatus
from models.outbox import OutboxTopic
from reminders.planning import (
    MIN_AHEAD,
    acceptable_fire_times,
    appointment_id_from_name,
    booked_at,
    channels_of,
    desired_reminder,
    planned_fire_at,
    quiet_of,
    reminder_payload,
    schedule_name,
)
from reminders.state import get_state


@dataclass
class Finding:
    problem: str  # "missing" | "stale" | "orphaned"
    name: str
    appointment_id: int | None
    detail: str
    repair: str = ""

    def line(self) -> str:
        text = f"{self.problem:8} {self.name} (appointment {self.appointment_id}): {self.detail}"
        return text + (f" -> {self.repair}" if self.repair else "")


@dataclass
class Report:
    appointments_checked: int = 0
    live_reminders: int = 0
    in_flight: int = 0
    findings: list[Finding] = field(default_factory=list)

    def count(self, problem: str) -> int:
        return sum(1 for finding in self.findings if finding.problem == problem)

    def summary(self) -> str:
        return (f"Checked {self.appointments_checked} booked future appointments against "
                f"{self.live_reminders} live reminders ({self.in_flight} in flight in the outbox): "
                f"{self.count('missing')} missing, {self.count('stale')} stale, {self.count('orphaned')} orphaned.")


def reconcile(app: Flask, repair: bool = False) -> Report:
    state = get_state(app)
    settings, backend, session = state.settings, state.backend, db.session
    now = utcnow()
    report = Report()
    live = backend.live_reminders()
    report.live_reminders = len(live)
    in_flight = set(session.scalars(select(OutboxMessage.appointment_id).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.topic == OutboxTopic.REMINDER)))
    appointments = session.scalars(select(Appointment).where(
        Appointment.status == AppointmentStatus.BOOKED, Appointment.start_at > now)
        .order_by(Appointment.id)).all()

    for appointment in appointments:
        report.appointments_checked += 1
        name = schedule_name(appointment.id)
        current = live.pop(name, None)
        if appointment.id in in_flight:
            report.in_flight += 1
            continue
        booked = booked_at(session, appointment)
        channels = channels_of(appointment.patient)
        # A reminder that goes by SMS keeps out of the quiet hours (reminders/planning.py).
        quiet = quiet_of(app, settings) if "sms" in channels else None
        if current is None:
            planned = planned_fire_at(appointment.start_at, booked, settings, quiet)
            if channels and planned is not None and planned >= now + MIN_AHEAD:
                report.findings.append(Finding("missing", name, appointment.id, f"due at {planned:%Y-%m-%d %H:%M} UTC"))
            continue
        if current.fire_at is not None and current.fire_at <= now + MIN_AHEAD:
            continue  # firing now: leave it be
        problems = []
        if current.fire_at not in acceptable_fire_times(appointment.start_at, booked, settings, quiet):
            problems.append("wrong time")
        if current.payload != reminder_payload(app, appointment):
            problems.append("wrong payload")
        if not current.settings_match:
            problems.append("wrong target settings")
        if problems:
            report.findings.append(Finding("stale", name, appointment.id, ", ".join(problems)))

    for name, current in live.items():
        appointment_id = appointment_id_from_name(name)
        if appointment_id in in_flight:
            continue
        appointment = session.get(Appointment, appointment_id) if appointment_id is not None else None
        if appointment is None:
            why = "no such appointment"
        elif appointment.status is not AppointmentStatus.BOOKED:
            why = f"appointment is {appointment.status.value}"
        else:
            why = "appointment has started"
        report.findings.append(Finding("orphaned", name, appointment_id, why))

    if repair:
        for finding in report.findings:
            if finding.problem == "orphaned" or finding.appointment_id is None:
                finding.repair = backend.delete_reminder(finding.name)
                continue
            appointment = session.get(Appointment, finding.appointment_id)
            reminder = desired_reminder(app, session, settings, appointment, now)
            finding.repair = (backend.delete_reminder(finding.name) if reminder is None
                              else backend.put_reminder(reminder))
    return report
