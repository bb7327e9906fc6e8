"""CSV export of appointments in a date range.

Made to open correctly in a spreadsheet: UTF-8 with a byte-order mark (so Excel
reads names with accents), RFC 4180 quoting and line ends, times in the clinic's
zone. Cells that a spreadsheet would run as a formula (starting with =, +, -, @,
tab or carriage return) get a leading apostrophe, so a patient who types
``=HYPERLINK(...)`` as their name cannot plant a formula in the front desk's sheet.
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from flask import Response, request
from flask_admin import expose
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin.base import clinic_zone, parse_id, today
from admin.filters import doctor_options, local_day_window
from admin.forms import ExportForm, choice
from carebook.extensions import db
from models import Appointment

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HEADER = ["Appointment", "Date", "Start", "End", "Doctor", "Specialty", "Patient", "Date of birth", "Phone",
          "Email", "Status", "Needs attention", "Reason for visit", "Booked by", "Cancellation reason"]


def spreadsheet_safe(value) -> str:
    """The cell's text, defused if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _row(appointment: Appointment, zone: ZoneInfo) -> list:
    start, end = appointment.start_at.astimezone(zone), appointment.end_at.astimezone(zone)
    patient = appointment.patient
    # An erased patient keeps only a pseudonym (their pseudonymous login address means nothing to anyone).
    born = patient.date_of_birth.isoformat() if patient.date_of_birth else ""
    email = "" if patient.is_erased else patient.user.email
    return [appointment.id, start.date().isoformat(), f"{start:%H:%M}", f"{end:%H:%M}", appointment.doctor.name,
            appointment.doctor.specialty, patient.name, born, patient.phone, email, appointment.status.value,
            "yes" if appointment.needs_attention else "no", appointment.reason,
            appointment.created_by.full_name if appointment.created_by else "", appointment.cancellation_reason]


def appointments_csv(appointments: Iterable[Appointment], zone: ZoneInfo) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADER)
    for appointment in appointments:
        writer.writerow([spreadsheet_safe(value) for value in _row(appointment, zone)])
    return BOM + buffer.getvalue()


class ExportRoutes:
    """The appointment view's /csv/ page (mixed into AppointmentView)."""

    @expose("/csv/")
    def export_csv(self):
        submitted = bool(request.args)
        form = ExportForm(formdata=request.args if submitted else None)
        form.doctor_id.choices = [choice(value, label) for value, label in [("", "All doctors"), *doctor_options()]]
        if not submitted:
            form.start.data, form.end.data = today(), today() + timedelta(days=6)
        elif form.validate():
            start, end = local_day_window(form.start.data, form.end.data)
            query = (select(Appointment).where(Appointment.start_at >= start, Appointment.start_at < end)
                     .options(selectinload(Appointment.created_by))
                     .order_by(Appointment.start_at, Appointment.doctor_id, Appointment.id))
            doctor_id = parse_id(form.doctor_id.data)
            if doctor_id:
                query = query.where(Appointment.doctor_id == doctor_id)
            body = appointments_csv(db.session.scalars(query), clinic_zone())
            filename = f"appointments-{form.start.data.isoformat()}-to-{form.end.data.isoformat()}.csv"
            return Response(body.encode("utf-8"), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'})
        return self.render("admin/appointments/export.html", form=form), 400 if submitted else 200
