"""The console's home: today's numbers per doctor, what needs attention, and the common next steps."""
from __future__ import annotations

from collections import Counter

from flask_admin import AdminIndexView, expose
from sqlalchemy import func, or_, select

from admin.appointments import flagged_appointments
from admin.base import StaffOnlyMixin, clinic_zone, today
from admin.filters import local_day_window
from carebook.extensions import db
from carebook.services import booking_service
from carebook.waitlist import queries as waitlist_queries
from models import Appointment, AppointmentStatus, Doctor, User


def todays_totals():
    """Per doctor working or booked today: counts by status and the free slots left."""
    day = today()
    start, end = local_day_window(day, day)
    counts: dict[int, Counter] = {}
    rows = db.session.execute(
        select(Appointment.doctor_id, Appointment.status, func.count())
        .where(Appointment.start_at >= start, Appointment.start_at < end)
        .group_by(Appointment.doctor_id, Appointment.status))
    for doctor_id, status, number in rows:
        counts.setdefault(doctor_id, Counter())[status] = number
    doctors = db.session.scalars(
        select(Doctor).join(Doctor.user).where(or_(Doctor.is_active, Doctor.id.in_(list(counts))))
        .order_by(User.full_name, Doctor.id)).all()
    free = booking_service().free_slots_for(doctors, day, day)
    return day, [(doctor, counts.get(doctor.id, Counter()), len(free[doctor.id])) for doctor in doctors]


class StaffIndexView(StaffOnlyMixin, AdminIndexView):
    @expose("/")
    def index(self):
        day, totals = todays_totals()
        refilled = waitlist_queries.refilled_since(db.session, waitlist_queries.start_of_week(clinic_zone()))
        return self.render("admin/index.html", day=day, totals=totals, flagged=flagged_appointments(),
                           statuses=AppointmentStatus, refilled=refilled)
