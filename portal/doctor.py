"""The doctor's side: their appointments. (The availability calendar builds on this.)"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from carebook.access import allow
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.web import booking_service
from models import Appointment, AppointmentStatus, Role

bp = Blueprint("doctor", __name__, url_prefix="/doctor")


@bp.route("/")
@allow(Role.DOCTOR)
def schedule():
    doctor = current_user.doctor
    if doctor is None:
        abort(403)
    tz = booking_service().timezone
    today = utcnow().astimezone(tz).date()
    start = datetime.combine(today, time(0), tz)
    appointments = db.session.scalars(
        select(Appointment)
        .where(Appointment.doctor_id == doctor.id, Appointment.start_at >= start,
               Appointment.start_at < start + timedelta(days=15),
               Appointment.status != AppointmentStatus.CANCELLED)
        .order_by(Appointment.start_at)
    ).all()
    days: dict = {}
    for appointment in appointments:
        days.setdefault(appointment.start_at.astimezone(tz).date(), []).append(appointment)
    return render_template("doctor/schedule.html", doctor=doctor, today=today, days=days)
