"""Patients in the console: find, create for a phone booking, edit contact details, see their history;
a copy of their data (GDPR Art. 15, HIPAA right of access) and erasure at their request (GDPR Art. 17)."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import Response, abort, current_app, flash, redirect, request, url_for
from markupsafe import Markup
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, DateBetweenFilter, DateEqualFilter
from flask_admin.helpers import get_redirect_target
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from admin.base import StaffModelView, actor, link, parse_id
from admin.filters import patient_term_clause, search_terms
from admin.forms import ConfirmForm, EraseForm, PatientForm
from admin.people import put_error_on_form, update_account
from carebook import accounts, audit, invitations, phones, unit_of_work
from carebook.accounts import AccountError
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.patient_data import erasure, export
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, Patient, User
from reminders import account_mail, notices


def clinic_region() -> str:
    return current_app.config["CLINIC"].phone_region


def login_status(patient: Patient) -> str:
    if patient.is_erased:
        return "Erased"
    if not patient.user.is_active:
        return "Deactivated"
    if patient.user.email is None:
        return "No email, no login"
    return "No password yet" if patient.user.password_hash is None else "Can log in"


CONTACT_LABELS = {"email": "Email", "sms": "Text message", "both": "Email and text message"}


def phone_cell(patient: Patient) -> Markup:
    shown = phones.display(patient.phone, clinic_region())
    if patient.phone_needs_check:
        return Markup('{} <span class="badge badge-warning text-wrap">Check this number</span>').format(shown)
    return Markup("{}").format(shown)


class PatientView(StaffModelView):
    can_delete = False  # patients keep their history: deactivate their login instead
    column_list = ["user.full_name", "date_of_birth", "phone", "user.email", "contact_preference", "login"]
    column_labels = {"user.full_name": "Name", "date_of_birth": "Date of birth", "phone": "Phone",
                     "user.email": "Email", "contact_preference": "Contact by", "login": "Login"}
    column_sortable_list = ["user.full_name", "date_of_birth", "user.email"]
    column_default_sort = [("user.full_name", False), ("id", False)]
    column_filters = [DateEqualFilter(Patient.date_of_birth, "Date of birth"),
                      DateBetweenFilter(Patient.date_of_birth, "Date of birth"),
                      BooleanEqualFilter("user.is_active", "Login active")]
    column_formatters = {
        "user.full_name": lambda view, context, model, name: link(
            url_for(".history", patient_id=model.id), model.name),
        "date_of_birth": lambda view, context, model, name: (model.date_of_birth.strftime("%d %b %Y")
                                                             if model.date_of_birth else "—"),
        "login": lambda view, context, model, name: login_status(model),
        "phone": lambda view, context, model, name: phone_cell(model),
        "user.email": lambda view, context, model, name: model.user.email or "No email",
        "contact_preference": lambda view, context, model, name: CONTACT_LABELS[model.contact_preference.value],
    }

    # -- search: name, email, phone (any spacing) or date of birth ----------------------------------

    def init_search(self) -> bool:
        return True

    def search_placeholder(self) -> str:
        return "Name, email, phone or date of birth"

    def _apply_search(self, query, count_query, joins, count_joins, search):
        terms = search_terms(search)
        if not terms:
            return query, count_query, joins, count_joins

        def restrict(statement):
            user = aliased(User)
            statement = statement.join(user, Patient.user_id == user.id)
            return statement.filter(and_(*(patient_term_clause(term, Patient, user) for term in terms)))

        return restrict(query), (restrict(count_query) if count_query is not None else None), joins, count_joins

    def get_empty_list_message(self) -> str:
        return "No patients match. Create one with “Create” (no password needed for a phone booking)."

    # -- create (no password: a phone booking) and edit ------------------------------------------

    def get_create_form(self):
        return PatientForm

    def get_edit_form(self):
        return PatientForm

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        patient = db.session.get(Patient, parse_id(request.args.get("id")) or 0)
        if patient is not None and patient.is_erased:
            flash("This patient's data are erased: there is nothing to edit.", "warning")
            return redirect(url_for(".history", patient_id=patient.id))
        return super().edit_view()

    def edit_form(self, obj: Patient | None = None):
        form = self._edit_form_class(obj=obj, full_name=obj.user.full_name, email=obj.user.email,
                                     contact_preference=obj.contact_preference.value)
        if request.method == "GET":  # shown as people write it; stored in E.164 again on saving
            form.phone.data = phones.display(obj.phone, clinic_region())
        return form

    def create_model(self, form):
        try:
            patient = accounts.register_patient(
                db.session, actor(), email=form.email.data or None, password=None, full_name=form.full_name.data,
                date_of_birth=form.date_of_birth.data, phone=form.phone.data,
                contact_by=form.contact_preference.data or None)
        except AccountError as error:
            db.session.rollback()
            put_error_on_form(form, error)
            return False
        return patient

    def update_model(self, form, model: Patient) -> bool:
        try:
            changed = update_account(db.session, model.user, full_name=form.full_name.data,
                                     email=form.email.data or None)
            changed += accounts.update_contact(db.session, model, phone=form.phone.data,
                                               contact_by=form.contact_preference.data or None)
        except AccountError as error:
            db.session.rollback()
            put_error_on_form(form, error)
            return False
        if form.date_of_birth.data > utcnow().date():
            form.date_of_birth.errors = [*form.date_of_birth.errors, "Date of birth cannot be in the future."]
            db.session.rollback()
            return False
        if model.date_of_birth != form.date_of_birth.data:
            model.date_of_birth = form.date_of_birth.data
            changed.append("date_of_birth")
        if changed:
            # Field names only: the log says what changed, not the personal details themselves.
            audit.record(db.session, actor(), "patient.updated", "patient", model.id, fields=changed)
        return True

    def get_save_return_url(self, model: Patient, is_created: bool = False) -> str:
        target = get_redirect_target()
        # Created from the booking page: carry on booking for the new patient.
        if is_created and target and target.startswith(url_for("appointments.book")):
            return target + ("&" if "?" in target else "?") + urlencode({"patient_id": model.id})
        return url_for(".history", patient_id=model.id)

    # -- deactivating logins ------------------------------------------------------------------------

    @action("deactivate", "Deactivate login")
    def action_deactivate(self, ids):
        """Asks first, on a page naming the selected patients; that page's button confirms."""
        if request.form.get("confirmed") != "1":
            chosen = self._patients(ids)
            return self.render("admin/patients/confirm_deactivate.html",
                               patients=[p for p in chosen if p.user.is_active], action_form=self.action_form())
        self._set_active(ids, False)

    @action("reactivate", "Reactivate login")
    def action_reactivate(self, ids):
        self._set_active(ids, True)

    def _patients(self, ids) -> list[Patient]:
        numbers = [n for n in (parse_id(i) for i in ids) if n]
        return db.session.scalars(select(Patient).where(Patient.id.in_(numbers)).order_by(Patient.id)).all()

    def _set_active(self, ids, active: bool) -> None:
        patients = self._patients(ids)
        for patient in patients:
            if patient.user.is_active != active and not patient.is_erased:
                accounts.set_active(db.session, actor(), patient.user, active)
        flash(f"{'Reactivated' if active else 'Deactivated'} the login of {len(patients)} "
              f"patient{'s' if len(patients) != 1 else ''}.", "success")

    # -- one patient: details and appointment history ----------------------------------------------

    def _patient(self, patient_id: int) -> Patient:
        patient = db.session.get(Patient, patient_id)
        if patient is None:
            abort(404)
        return patient

    @expose("/<int:patient_id>/")
    def history(self, patient_id: int):
        patient = self._patient(patient_id)
        appointments = db.session.scalars(
            select(Appointment).where(Appointment.patient_id == patient.id).order_by(Appointment.start_at.desc())
        ).all()
        now = utcnow()
        upcoming = sorted((a for a in appointments if a.status is AppointmentStatus.BOOKED and a.end_at > now),
                          key=lambda a: a.start_at)
        past = [a for a in appointments if a not in upcoming]
        return self.render("admin/patients/history.html", patient=patient, upcoming=upcoming, past=past,
                           login_status=login_status(patient), confirm_form=ConfirmForm(formdata=None),
                           phone_shown=phones.display(patient.phone, clinic_region()),
                           contact_label=CONTACT_LABELS[patient.contact_preference.value],
                           can_text=phones.is_mobile(patient.phone) and not patient.phone_needs_check)

    @expose("/<int:patient_id>/login/", methods=("POST",))
    def set_login(self, patient_id: int):
        patient = self._patient(patient_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        active = request.form.get("active") == "1"
        if patient.is_erased:
            flash("This patient's data are erased: their login cannot be turned on again.", "warning")
            return redirect(url_for(".history", patient_id=patient.id))
        if patient.user.is_active != active:
            accounts.set_active(db.session, actor(), patient.user, active)
        flash(f"{patient.name}'s login is {'active' if active else 'deactivated'}.", "success")
        return redirect(url_for(".history", patient_id=patient.id))

    @expose("/<int:patient_id>/invite/", methods=("POST",))
    def invite(self, patient_id: int):
        """A single-use link for a patient without a login: shown here once, and emailed if they have an address."""
        patient = self._patient(patient_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        try:
            link = invitations.invite(db.session, actor(), patient,
                                      lifetime=current_app.config["INVITATION_LIFETIME"],
                                      base_url=current_app.config["BASE_URL"],
                                      by_sms=request.form.get("by") == "sms")
        except AccountError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(url_for(".history", patient_id=patient.id))
        if link.emailed_to:
            app = current_app._get_current_object()
            unit_of_work.after_commit(lambda: account_mail.send_invitation(app, link))
        if link.texted_to:
            app = current_app._get_current_object()
            unit_of_work.after_commit(lambda: notices.send_invitation(app, link))
        return self.render("admin/patients/invited.html", patient=patient, link=link)

    # -- their data: a copy (GDPR Art. 15, HIPAA right of access) and erasure (GDPR Art. 17) ------------

    def _patient_data(self, patient: Patient, export_format: str) -> export.PatientData:
        """Everything held about the patient, for a copy asked for at the desk; the copy is audited."""
        data = export.collect(db.session, patient, clinic=current_app.config["CLINIC"], now=utcnow())
        export.record_export(db.session, actor(), patient, export_format)
        return data

    @expose("/<int:patient_id>/data/")
    def data(self, patient_id: int):
        patient = self._patient(patient_id)
        return self.render("admin/patients/data.html", patient=patient, data=self._patient_data(patient, "html"))

    @expose("/<int:patient_id>/data.json")
    def data_json(self, patient_id: int):
        patient = self._patient(patient_id)
        data = self._patient_data(patient, "json")
        body = json.dumps(data.as_json(), indent=2, ensure_ascii=False)
        filename = f"patient-{patient.id}-data-{data.generated_at:%Y-%m-%d}.json"
        return Response(body, mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @expose("/<int:patient_id>/erase/", methods=("GET", "POST"))
    def erase(self, patient_id: int):
        """Ask first, naming the patient (their full name must be typed), then erase."""
        patient = self._patient(patient_id)
        if patient.is_erased:
            flash("This patient's data are already erased.", "info")
            return redirect(url_for(".history", patient_id=patient.id))
        form = EraseForm()
        status = 200
        if request.method == "POST":
            status = 400
            if form.validate_on_submit():
                if _same_name(form.confirm_name.data, patient.name):
                    result = erasure.erase_patient(db.session, booking_service(), actor(), patient)
                    cancelled = result.appointments_cancelled
                    flash(f"The patient's data are erased. {cancelled} future appointment"
                          f"{'' if cancelled == 1 else 's'} cancelled; the patient is told by email.", "success")
                    return redirect(url_for(".history", patient_id=patient.id))
                form.confirm_name.errors = [*form.confirm_name.errors,
                                            f"That is not the patient's name. Type {patient.name} to confirm."]
        return self.render("admin/patients/erase.html", patient=patient, form=form,
                           plan=erasure.plan(db.session, patient),
                           retention_years=current_app.config["RECORDS_RETENTION_YEARS"]), status


def _same_name(typed: str | None, name: str) -> bool:
    """The typed name is the patient's, whatever the case or spacing."""
    return " ".join((typed or "").split()).casefold() == " ".join(name.split()).casefold()
