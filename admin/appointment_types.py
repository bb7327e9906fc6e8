"""The clinic's appointment types in the console: the list, create, edit, retire / bring back
(nothing is deleted), and which doctors offer each, with their own length.

Every change goes through carebook.appointment_types, which checks it and writes the audit row.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from sqlalchemy import select, true

from admin.base import StaffOnlyMixin, actor
from admin.forms import ConfirmForm
from admin.type_forms import AppointmentTypeForm, OfferForm
from carebook import appointment_types as types
from carebook.appointment_types import AppointmentTypeError
from carebook.extensions import db
from models import AppointmentType, Doctor, DoctorAppointmentType, User


def _put_error(form, error: AppointmentTypeError) -> None:
    field = getattr(form, error.field or "", None)
    if field is None or error.field == "csrf_token":
        form.form_errors.append(error.message)
    else:
        field.errors = [*field.errors, error.message]


def _offer_form(doctor_id: int | None = None, offer=None, formdata=None) -> OfferForm:
    prefix = f"offer-{doctor_id}" if doctor_id else "offer"
    if formdata is None and offer is not None:
        return OfferForm(formdata=None, prefix=prefix, data={
            "doctor_id": doctor_id, "duration_minutes": offer.duration_minutes,
            "doctor_may_change_duration": offer.doctor_may_change_duration})
    return OfferForm(prefix=prefix) if formdata else OfferForm(formdata=None, prefix=prefix)


class AppointmentTypeView(StaffOnlyMixin, BaseView):
    def _type(self, type_id: int) -> AppointmentType:
        appointment_type = db.session.get(AppointmentType, type_id)
        if appointment_type is None:
            abort(404)
        return appointment_type

    @expose("/")
    def index(self):
        listed = types.all_types(db.session)
        counts: dict[int, int] = {}
        for type_id in db.session.scalars(select(DoctorAppointmentType.appointment_type_id)):
            counts[type_id] = counts.get(type_id, 0) + 1
        defaults = set(db.session.scalars(select(Doctor.default_appointment_type_id)))
        return self.render("admin/appointment_types/list.html", types=listed, counts=counts, defaults=defaults)

    @expose("/new/", methods=("GET", "POST"))
    def create(self):
        form = AppointmentTypeForm()
        if request.method == "POST":
            if form.validate_on_submit():
                try:
                    created = types.create_type(db.session, actor(), **form.values())
                except AppointmentTypeError as error:
                    db.session.rollback()
                    _put_error(form, error)
                else:
                    flash(f"{created.name} is on the list. Next, choose the doctors who offer it.", "success")
                    return redirect(url_for(".edit", type_id=created.id))
            return self.render("admin/appointment_types/form.html", form=form, appointment_type=None), 400
        return self.render("admin/appointment_types/form.html", form=form, appointment_type=None)

    @expose("/<int:type_id>/", methods=("GET", "POST"))
    def edit(self, type_id: int):
        appointment_type = self._type(type_id)
        status = 200
        if request.method == "POST":
            form = AppointmentTypeForm()
            status = 400
            if form.validate_on_submit():
                try:
                    types.update_type(db.session, actor(), appointment_type, **form.values())
                except AppointmentTypeError as error:
                    db.session.rollback()
                    _put_error(form, error)
                else:
                    flash(f"{appointment_type.name} saved. Booked appointments keep their length.", "success")
                    return redirect(url_for(".edit", type_id=appointment_type.id))
        else:
            form = AppointmentTypeForm(formdata=None, obj=appointment_type,
                                       booking="online" if appointment_type.bookable_online else "staff",
                                       audience=appointment_type.audience.value)
        return self._edit_page(appointment_type, form, status=status)

    def _edit_page(self, appointment_type: AppointmentType, form: AppointmentTypeForm,
                   new_offer: OfferForm | None = None, offer_forms: dict | None = None, status: int = 200):
        offers = types.offers_of_type(db.session, appointment_type.id)
        offered_ids = {doctor.id for _offer, doctor in offers}
        others = db.session.scalars(select(Doctor).join(Doctor.user).where(Doctor.id.not_in(offered_ids) if offered_ids
                                                                           else true())
                                    .order_by(Doctor.is_active.desc(), User.full_name, Doctor.id)).all()
        new_offer = new_offer or _offer_form()
        new_offer.doctor_id.choices = [(doctor.id, doctor.name + ("" if doctor.is_active else " (inactive)"))
                                       for doctor in others]
        forms = {doctor.id: (offer_forms or {}).get(doctor.id) or _offer_form(doctor.id, offer)
                 for offer, doctor in offers}
        is_default_of = [doctor for doctor in db.session.scalars(
            select(Doctor).where(Doctor.default_appointment_type_id == appointment_type.id))]
        return self.render("admin/appointment_types/edit.html", appointment_type=appointment_type, form=form,
                           offers=offers, offer_forms=forms, new_offer=new_offer, others=others,
                           is_default_of=is_default_of, confirm_form=ConfirmForm(formdata=None)), status

    @expose("/<int:type_id>/retire/", methods=("GET", "POST"))
    def retire(self, type_id: int):
        """GET asks first, naming the type and what happens; the POST from that page retires it."""
        appointment_type = self._type(type_id)
        form = ConfirmForm()
        if request.method == "GET":
            return self.render("admin/appointment_types/retire.html", appointment_type=appointment_type,
                               confirm_form=form)
        if not form.validate_on_submit():
            abort(400)
        try:
            types.retire_type(db.session, actor(), appointment_type)
        except AppointmentTypeError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(f"{appointment_type.name} is retired: no new bookings. Its appointments keep it.", "success")
        return redirect(url_for(".edit", type_id=appointment_type.id))

    @expose("/<int:type_id>/reactivate/", methods=("POST",))
    def reactivate(self, type_id: int):
        appointment_type = self._type(type_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        types.reactivate_type(db.session, actor(), appointment_type)
        flash(f"{appointment_type.name} is active again.", "success")
        return redirect(url_for(".edit", type_id=appointment_type.id))

    @expose("/<int:type_id>/offers/", methods=("POST",))
    def offer(self, type_id: int):
        """A doctor offers the type, or changes their own length and switch (``?doctor_id=`` for a listed one)."""
        appointment_type = self._type(type_id)
        listed_id = request.args.get("doctor_id", type=int)
        form = _offer_form(listed_id, formdata=True)
        doctor_id = listed_id or form.doctor_id.data
        doctor = db.session.get(Doctor, doctor_id) if isinstance(doctor_id, int) else None
        if form.validate_on_submit() and doctor is None:
            form.doctor_id.errors = [*form.doctor_id.errors, "Choose a doctor."]
        elif form.validate_on_submit():
            try:
                types.offer_type(db.session, actor(), doctor, appointment_type,
                                 duration_minutes=form.duration_minutes.data,
                                 doctor_may_change_duration=form.doctor_may_change_duration.data)
            except AppointmentTypeError as error:
                db.session.rollback()
                _put_error(form, error)
            else:
                flash(f"{doctor.name} offers {appointment_type.name}"
                      + (f" ({form.duration_minutes.data} min)." if form.duration_minutes.data else "."), "success")
                return redirect(url_for(".edit", type_id=appointment_type.id))
        edit_form = AppointmentTypeForm(formdata=None, obj=appointment_type,
                                        booking="online" if appointment_type.bookable_online else "staff",
                                        audience=appointment_type.audience.value)
        if listed_id:
            return self._edit_page(appointment_type, edit_form, offer_forms={listed_id: form}, status=400)
        return self._edit_page(appointment_type, edit_form, new_offer=form, status=400)

    @expose("/<int:type_id>/offers/<int:doctor_id>/withdraw/", methods=("POST",))
    def withdraw(self, type_id: int, doctor_id: int):
        appointment_type = self._type(type_id)
        doctor = db.session.get(Doctor, doctor_id)
        if doctor is None:
            abort(404)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        try:
            types.withdraw_type(db.session, actor(), doctor, appointment_type)
        except AppointmentTypeError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(f"{doctor.name} no longer offers {appointment_type.name}. Their booked appointments stand.",
                  "success")
        return redirect(url_for(".edit", type_id=appointment_type.id))
