"""The waitlist in the staff console: who waits for each doctor and for how long, what they were offered;
adding a patient who phones; offering a freed slot by hand; taking someone off.

Every write goes through carebook/waitlist/ (audited there, with the staff member as the actor);
an offer made by hand is emailed by the relay after the commit, as any other.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, RadioField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import DataRequired, InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from admin.base import StaffOnlyMixin, actor, clinic_zone, parse_id, today
from carebook import appointment_types, waitlist
from carebook.extensions import db
from carebook.services import booking_service
from carebook.waitlist import entries, queries
from carebook.waitlist.errors import WaitlistError
from models import Doctor, Patient, User
from models.waitlist import PARTS_OF_DAY, WaitlistEntry

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NOTICE = (("0", "Short notice is fine"), ("180", "At least 3 hours"), ("1440", "At least a day"),
          ("2880", "At least two days"), ("10080", "At least a week"))
#: How many days of free times the hand-offer page lists.
OFFER_DAYS = 14


class Boxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    @property
    def bits(self) -> int:
        return sum(int(value) for value in self.data or () if value.isdigit())


class AddForm(FlaskForm):
    patient_id = SelectField("Patient", validators=[InputRequired(message="Choose the patient.")])
    scope = RadioField("Which doctor", validators=[InputRequired()], default="doctor")
    appointment_type = SelectField("Kind of appointment")
    earliest_date = DateField("From", validators=[DataRequired(message="Enter a date.")])
    latest_date = DateField("Until", validators=[DataRequired(message="Enter a date.")])
    weekdays = Boxes("Days of the week", choices=[SelectChoice(str(1 << n), day) for n, day in enumerate(WEEKDAYS)],
                     validators=[DataRequired(message="Choose at least one day.")])
    times_of_day = Boxes("Times of day", choices=[SelectChoice(str(1 << n), part) for n, part in enumerate(PARTS_OF_DAY)],
                         validators=[DataRequired(message="Choose at least one part of the day.")])
    min_notice_minutes = SelectField("Notice the patient needs", default="0",
                                     choices=[SelectChoice(value, label) for value, label in NOTICE])


class OfferForm(FlaskForm):
    start_at = RadioField("Free time to offer", validators=[InputRequired(message="Choose a free time.")])


class WaitlistView(StaffOnlyMixin, BaseView):
    @expose("/")
    def index(self):
        doctors = db.session.scalars(select(Doctor).join(Doctor.user).where(Doctor.is_active)
                                     .order_by(User.full_name, Doctor.id)).all()
        doctor = self._doctor(request.args.get("doctor_id"), required=False)
        views = queries.doctor_waitlist(db.session, doctor) if doctor is not None else []
        return self.render("admin/waitlist/index.html", doctors=doctors, doctor=doctor, views=views,
                           counts=queries.waiting_counts(db.session), waited=queries.waited,
                           describe=queries.describe, who=queries.who)

    @expose("/add", methods=["GET", "POST"])
    def add(self):
        doctor = self._doctor(request.values.get("doctor_id"))
        form = AddForm()
        form.patient_id.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(str(patient.id), f"{patient.name} (born {patient.date_of_birth:%d %b %Y})")
            for patient in db.session.scalars(select(Patient).join(Patient.user).where(
                Patient.erased_at.is_(None)).order_by(User.full_name, Patient.id))]
        form.scope.choices = [SelectChoice("doctor", f"Only {doctor.name}"),
                              SelectChoice("specialty", f"Any {doctor.specialty} doctor")]
        offered = appointment_types.offered_types(db.session, doctor.id, online_only=True)
        form.appointment_type.choices = [SelectChoice("", "The usual appointment")] + [
            SelectChoice(str(kind.id), kind.name) for kind in offered if kind.id != doctor.default_appointment_type_id]
        if request.method == "GET":
            form.patient_id.data = request.args.get("patient_id", "")
            form.earliest_date.data, form.latest_date.data = today(), today() + timedelta(days=27)
            form.weekdays.data = [choice.value for choice in form.weekdays.choices]
            form.times_of_day.data = [choice.value for choice in form.times_of_day.choices]
        status = 200
        if form.validate_on_submit():
            patient = db.session.get(Patient, parse_id(form.patient_id.data))
            wish = entries.Wish.from_form(db.session, doctor, form)
            try:
                entries.join(db.session, actor(), patient, wish, clinic_zone())
            except WaitlistError as error:
                db.session.rollback()
                target = getattr(form, error.field or "", None)
                if target is not None and hasattr(target, "errors"):
                    target.errors = list(target.errors) + [error.message]
                else:
                    flash(error.message, "danger")
                status = 422
            else:
                flash(f"{patient.name} is on the waitlist for {doctor.name if wish.doctor else 'any ' + doctor.specialty + ' doctor'}.",
                      "success")
                return redirect(url_for(".index", doctor_id=doctor.id))
        elif request.method == "POST":
            status = 400
        return self.render("admin/waitlist/add.html", form=form, doctor=doctor), status

    @expose("/offer", methods=["GET", "POST"])
    def offer(self):
        entry = self._entry(request.values.get("entry_id"))
        doctors = self._doctors_for(entry)
        doctor = self._chosen_doctor(entry, doctors, request.values.get("doctor_id"))
        form = OfferForm()
        if doctor is None:
            # An entry for "any doctor of a specialty" and no doctor chosen yet: staff choose one first.
            status = 400 if request.method == "POST" else 200
            return self.render("admin/waitlist/offer.html", form=form, entry=entry, doctor=None, doctors=doctors,
                               describe=queries.describe, who=queries.who), status
        service = booking_service()
        first, last = service.bookable_days()
        first, last = max(first, entry.earliest_date), min(last, entry.latest_date, first + timedelta(days=OFFER_DAYS))
        type_id = entry.appointment_type_id
        free = service.doctor_free_slots(doctor.id, first, last,
                                         None if type_id in (None, doctor.default_appointment_type_id) else type_id) \
            if first <= last else []
        form.start_at.choices = [SelectChoice(slot.start_at.isoformat(), slot.start_at) for slot in free or []]
        status = 200
        if form.validate_on_submit():
            try:
                made = waitlist.offering_rules().offer_by_hand(actor(), entry, doctor,
                                                               datetime.fromisoformat(form.start_at.data))
            except WaitlistError as error:
                db.session.rollback()
                flash(error.message, "danger")
                status = 409
            else:
                flash(f"Offered to {entry.patient.name}: they are told by "
                      f"{made.channels.replace('+', ' and ') or 'no channel (call them)'}.", "success")
                return redirect(url_for(".index", doctor_id=doctor.id))
        elif request.method == "POST":
            status = 400
        return self.render("admin/waitlist/offer.html", form=form, entry=entry, doctor=doctor, doctors=doctors,
                           describe=queries.describe, who=queries.who), status

    @staticmethod
    def _doctors_for(entry: WaitlistEntry) -> list[Doctor]:
        """The doctors whose time may be offered to ``entry``: its doctor, or the active ones of its specialty."""
        if entry.doctor_id is not None:
            return [entry.doctor]
        return list(db.session.scalars(select(Doctor).join(Doctor.user).where(
            Doctor.is_active, Doctor.specialty == entry.specialty).order_by(User.full_name, Doctor.id)))

    @staticmethod
    def _chosen_doctor(entry: WaitlistEntry, doctors: list[Doctor], value) -> Doctor | None:
        """The doctor asked for (404 if the entry does not wait for them); None: a specialty entry, none chosen yet."""
        if entry.doctor_id is not None:
            if parse_id(value) not in (None, entry.doctor_id):
                abort(404)
            return entry.doctor
        if not parse_id(value):
            return doctors[0] if len(doctors) == 1 else None
        doctor = next((d for d in doctors if d.id == parse_id(value)), None)
        if doctor is None:
            abort(404)
        return doctor

    @expose("/leave", methods=["POST"])
    def leave(self):
        entry = self._entry(request.form.get("entry_id"))
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            entries.leave(db.session, actor(), entry)
        except WaitlistError as error:
            db.session.rollback()
            flash(error.message, "info")
        else:
            flash(f"{entry.patient.name} is off the waitlist for {queries.who(entry)}.", "success")
        return redirect(url_for(".index", doctor_id=request.form.get("doctor_id") or entry.doctor_id or ""))

    @staticmethod
    def _doctor(value, required: bool = True) -> Doctor | None:
        doctor = db.session.get(Doctor, parse_id(value)) if parse_id(value) else None
        if doctor is None and required:
            abort(404)
        return doctor

    @staticmethod
    def _entry(value) -> WaitlistEntry:
        entry = db.session.get(WaitlistEntry, parse_id(value)) if parse_id(value) else None
        if entry is None:
            abort(404)
        return entry
