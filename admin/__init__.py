"""The staff console, on Flask-Admin. Only staff reach any view under /admin.

Views live beside this file, one module each: dashboard, schedule, appointments
(with booking in admin.booking and the CSV export in admin.csv_export), patients,
doctors and audit. None of them writes appointments itself: every change goes
through carebook.booking.BookingService, and accounts through carebook.accounts.
"""
from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from admin.base import StaffModelView, StaffOnlyMixin
from admin.dashboard import StaffIndexView

__all__ = ["StaffIndexView", "StaffModelView", "StaffOnlyMixin", "init_admin"]


def init_admin(app: Flask) -> Admin:
    from admin.appointment_types import AppointmentTypeView
    from admin.appointments import AppointmentView
    from admin.audit import AuditView
    from admin.doctors import DoctorView
    from admin.patients import PatientView
    from admin.schedule import ScheduleView
    from admin.waitlist import WaitlistView
    from carebook.extensions import db
    from carebook.security import csp_nonce
    from models import Appointment, AuditEntry, Doctor, Patient

    # Flask-Admin marks its script tags with this request's nonce, which the CSP then names
    # (carebook.security); its few inline scripts run, no others do.
    admin = Admin(app, name=app.config["CLINIC"].name + " · Staff", url="/admin",
                  index_view=StaffIndexView(name="Dashboard", url="/admin"),
                  theme=Bootstrap4Theme(swatch="default", base_template="admin/staff_base.html", fluid=True),
                  csp_nonce_generator=csp_nonce)
    # carebook.access treats every view registered here as staff-only; each view also
    # checks for itself (StaffOnlyMixin).
    admin.add_view(ScheduleView(name="Day schedule", endpoint="schedule", url="schedule"))
    admin.add_view(AppointmentView(Appointment, db, name="Appointments", endpoint="appointments",
                                   url="appointments"))
    admin.add_view(PatientView(Patient, db, name="Patients", endpoint="patients", url="patients"))
    admin.add_view(DoctorView(Doctor, db, name="Doctors", endpoint="doctors", url="doctors"))
    admin.add_view(AppointmentTypeView(name="Appointment types", endpoint="appointment_types",
                                       url="appointment-types"))
    admin.add_view(WaitlistView(name="Waitlist", endpoint="waitlist", url="waitlist"))
    admin.add_view(AuditView(AuditEntry, db, name="Audit log", endpoint="audit", url="audit"))
    return admin
