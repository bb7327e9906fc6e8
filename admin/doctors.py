"""Doctors in the console: list, create with their login, edit, deactivate (never delete)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual
from markupsafe import Markup
from sqlalchemy import select

from admin.base import StaffModelView, actor, link
from admin.filters import LazyOptions
from admin.forms import ConfirmForm, DeactivateDoctorForm, DoctorCreateForm, DoctorEditForm
from admin.people import put_error_on_form, update_account
from carebook import accounts, audit
from carebook.appointment_types import offers_of_doctor
from carebook.accounts import AccountError
from carebook.availability import InvalidChange, SetAppointmentLength
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.services import availability_service
from models import Appointment, AppointmentStatus, Doctor


def calendar_url(doctor_id: int) -> str:
    """The doctor's availability calendar (the week view of the doctor portal, open to staff too)."""
    if "doctor.week" in current_app.view_functions:
        return url_for("doctor.week", doctor_id=doctor_id)
    return f"/doctor/{doctor_id}/week"  # the same page, before that blueprint names it


def specialty_options() -> list[tuple[str, str]]:
    specialties = db.session.scalars(select(Doctor.specialty).distinct().order_by(Doctor.specialty)).all()
    return [(s, s) for s in specialties]


def future_booked(doctor: Doctor) -> list[Appointment]:
    return db.session.scalars(
        select(Appointment).where(Appointment.doctor_id == doctor.id, Appointment.status == AppointmentStatus.BOOKED,
                                  Appointment.end_at > utcnow())
        .order_by(Appointment.start_at)).all()


def _links(view, context, model: Doctor, name) -> Markup:
    return Markup(" · ").join([link(url_for(".profile", doctor_id=model.id), "Open"),
                               link(calendar_url(model.id), "Calendar")])


class DoctorView(StaffModelView):
    can_delete = False  # doctors keep their history: deactivate instead
    column_list = ["user.full_name", "user.email", "specialty", "appointment_minutes", "buffer_minutes",
                   "is_active", "links"]
    column_labels = {"user.full_name": "Name", "user.email": "Email", "specialty": "Specialty",
                     "appointment_minutes": "Length (min)", "buffer_minutes": "Buffer (min)", "is_active": "Status",
                     "links": "Pages"}
    column_sortable_list = ["user.full_name", "user.email", "specialty", "appointment_minutes", "is_active"]
    column_default_sort = [("user.full_name", False), ("id", False)]
    column_searchable_list = ["user.full_name", "user.email", "specialty"]
    column_filters = [FilterEqual(Doctor.specialty, "Specialty", options=LazyOptions(specialty_options)),
                      BooleanEqualFilter(Doctor.is_active, "Active")]
    column_formatters = {
        "user.full_name": lambda view, context, model, name: link(url_for(".profile", doctor_id=model.id), model.name),
        "is_active": lambda view, context, model, name: "Active" if model.is_active else "Inactive",
        "links": _links,
    }

    def search_placeholder(self) -> str:
        return "Name, email or specialty"

    def get_empty_list_message(self) -> str:
        return "No doctors match. Add one with “Create”."

    # -- create and edit through the account service ------------------------------------------

    def get_create_form(self):
        return DoctorCreateForm

    def get_edit_form(self):
        return DoctorEditForm

    def edit_form(self, obj: Doctor | None = None):
        return self._edit_form_class(obj=obj, full_name=obj.user.full_name, email=obj.user.email)

    def create_model(self, form):
        try:
            doctor = accounts.create_doctor(
                db.session, actor(), email=form.email.data, password=form.password.data,
                full_name=form.full_name.data, specialty=form.specialty.data,
                appointment_minutes=form.appointment_minutes.data, buffer_minutes=form.buffer_minutes.data)
        except AccountError as error:
            db.session.rollback()
            put_error_on_form(form, error)
            return False
        flash(f"{doctor.name} can now log in. Next, set their weekly hours on their calendar page.", "info")
        return doctor

    def update_model(self, form, model: Doctor) -> bool:
        minutes, buffer = form.appointment_minutes.data, form.buffer_minutes.data
        if (minutes, buffer) != (model.appointment_minutes, model.buffer_minutes):
            # The same change, checks and audit row as on the doctor's own availability page.
            try:
                availability_service().apply(SetAppointmentLength(model.id, minutes, buffer), actor())
            except InvalidChange as invalid:
                db.session.rollback()
                for name in ("appointment_minutes", "buffer_minutes"):
                    form[name].errors = [*form[name].errors, *invalid.messages(name)]
                return False
        try:
            changed = update_account(db.session, model.user, full_name=form.full_name.data, email=form.email.data)
        except AccountError as error:
            db.session.rollback()
            put_error_on_form(form, error)
            return False
        specialty = form.specialty.data.strip()
        if specialty != model.specialty:
            model.specialty = specialty
            changed.append("specialty")
        if changed:
            audit.record(db.session, actor(), "doctor.updated", "doctor", model.id, fields=changed)
        return True

    def get_save_return_url(self, model: Doctor, is_created: bool = False) -> str:
        return url_for(".profile", doctor_id=model.id)

    # -- one doctor: profile, deactivate, reactivate ---------------------------------------------

    def _doctor(self, doctor_id: int) -> Doctor:
        doctor = db.session.get(Doctor, doctor_id)
        if doctor is None:
            abort(404)
        return doctor

    @expose("/<int:doctor_id>/")
    def profile(self, doctor_id: int):
        doctor = self._doctor(doctor_id)
        return self.render("admin/doctors/profile.html", doctor=doctor, future=future_booked(doctor),
                           deactivate_form=DeactivateDoctorForm(formdata=None), confirm_form=ConfirmForm(formdata=None),
                           calendar_url=calendar_url(doctor.id), offers=offers_of_doctor(db.session, doctor.id))

    @expose("/<int:doctor_id>/deactivate/", methods=("POST",))
    def deactivate(self, doctor_id: int):
        doctor = self._doctor(doctor_id)
        form = DeactivateDoctorForm()
        if not form.validate_on_submit():
            abort(400)
        if doctor.is_active:
            # Booking takes this row's lock, so a booking in flight finishes before this update
            # and is then listed among the appointments to handle.
            doctor.is_active = False
            audit.record(db.session, actor(), "doctor.deactivated", "doctor", doctor.id)
        if form.disable_login.data and doctor.user.is_active:
            accounts.set_active(db.session, actor(), doctor.user, False)
        count = len(future_booked(doctor))
        flash(f"{doctor.name} is deactivated and takes no new bookings."
              + (f" {count} future appointment{'s' if count != 1 else ''} still booked: handle them below." if count
                 else ""), "success")
        return redirect(url_for(".profile", doctor_id=doctor.id))

    @expose("/<int:doctor_id>/reactivate/", methods=("POST",))
    def reactivate(self, doctor_id: int):
        doctor = self._doctor(doctor_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        if not doctor.is_active:
            doctor.is_active = True
            audit.record(db.session, actor(), "doctor.reactivated", "doctor", doctor.id)
        if not doctor.user.is_active:
            accounts.set_active(db.session, actor(), doctor.user, True)
        flash(f"{doctor.name} is active again and can be booked.", "success")
        return redirect(url_for(".profile", doctor_id=doctor.id))
