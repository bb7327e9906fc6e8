"""Appointments in the console: the list, one appointment's page, cancelling and marking outcomes.

There is no generic create, edit or delete: every change goes through the booking
service (booking and moving live in admin.booking), so the console gets the same
conflict checks, audit rows and reminders as the portal.
"""
from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter
from sqlalchemy import and_, case, select
from sqlalchemy.orm import aliased

from admin.base import StaffModelView, actor, link, local_datetime
from admin.booking import BookingRoutes, staff_message
from admin.csv_export import ExportRoutes
from admin.filters import (
    IdChoiceFilter,
    LazyOptions,
    StatusFilter,
    doctor_options,
    local_date_filters,
    patient_term_clause,
    search_terms,
)
from admin.forms import CancelForm, ClearAttentionForm, OutcomeForm
from carebook.booking import BookingError
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, AuditEntry, NotificationDelivery, Patient, User

#: How the appointment page names what the delivery records hold.
MESSAGE_LABELS = {
    "confirmation": "Confirmation", "updated": "Change of time", "cancellation": "Cancellation",
    "reminder": "Reminder", "invitation": "Invitation",
    "email": "Email", "sms": "Text message (SMS)",
    "sent": "Sent", "skipped": "Not sent", "failed": "Failed",
    "no_email": "no email address", "sms_only": "patient chose text messages only",
    "no_mobile": "no mobile number", "opted_out": "the number has opted out of SMS (replied STOP)",
    "stale": "too late: the appointment had started",
}


def status_label(status: AppointmentStatus) -> str:
    return status.value.replace("_", "-").capitalize()


def upcoming_first(now):
    """ORDER BY terms: appointments not yet over, soonest first; then past ones, latest first."""
    is_past = case((Appointment.end_at > now, 0), else_=1)
    upcoming_start = case((Appointment.end_at > now, Appointment.start_at), else_=None)
    return [is_past, upcoming_start.asc(), Appointment.start_at.desc(), Appointment.id]


class AppointmentView(BookingRoutes, ExportRoutes, StaffModelView):
    can_create = False  # "Book" in the list's menu goes through the booking service instead
    can_edit = False
    can_delete = False
    list_template = "admin/appointments/list.html"
    column_display_actions = False  # the time links to the appointment's page, where its actions are

    column_list = ["start_at", "doctor", "patient", "status", "needs_attention", "created_by"]
    column_labels = {"start_at": "When", "doctor": "Doctor", "patient": "Patient", "status": "Status",
                     "needs_attention": "Needs attention", "created_by": "Booked by"}
    column_sortable_list = ["start_at", ("doctor", "doctor.user.full_name"),
                            ("patient", "patient.user.full_name"), "status", "needs_attention"]
    column_filters = [
        IdChoiceFilter(Appointment.doctor_id, "Doctor", options=LazyOptions(doctor_options)),
        *local_date_filters(Appointment.start_at, "Date"),
        StatusFilter(Appointment.status),
        BooleanEqualFilter(Appointment.needs_attention, "Needs attention"),
    ]
    column_formatters = {
        "start_at": lambda view, context, model, name: link(
            url_for(".manage", appointment_id=model.id), local_datetime(model.start_at)),
        "doctor": lambda view, context, model, name: model.doctor.name,
        "patient": lambda view, context, model, name: link(
            url_for("patients.history", patient_id=model.patient_id), model.patient.name),
        "status": lambda view, context, model, name: status_label(model.status),
        "needs_attention": lambda view, context, model, name: "Needs attention" if model.needs_attention else "",
        "created_by": lambda view, context, model, name: model.created_by.full_name if model.created_by else "",
    }

    # -- search by patient, and "upcoming first" ------------------------------------------

    def init_search(self) -> bool:
        return True

    def search_placeholder(self) -> str:
        return "Patient name, phone, email or DOB"

    def _apply_search(self, query, count_query, joins, count_joins, search):
        terms = search_terms(search)
        if not terms:
            return query, count_query, joins, count_joins

        def restrict(statement):
            patient, user = aliased(Patient), aliased(User)
            statement = statement.join(patient, Appointment.patient_id == patient.id).join(
                user, patient.user_id == user.id)
            return statement.filter(and_(*(patient_term_clause(term, patient, user) for term in terms)))

        return restrict(query), (restrict(count_query) if count_query is not None else None), joins, count_joins

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        if sort_column is None:
            return query.order_by(*upcoming_first(utcnow())), joins
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        return query.order_by(Appointment.id), joins  # stable pages when sorting by a repeated value

    def get_empty_list_message(self) -> str:
        return "No appointments match. Book one with “Book appointment” above."

    # -- one appointment ---------------------------------------------------------------------

    def _appointment(self, appointment_id: int) -> Appointment:
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None:
            abort(404)
        return appointment

    @expose("/<int:appointment_id>/")
    def manage(self, appointment_id: int):
        return self._render_manage(self._appointment(appointment_id))

    def _render_manage(self, appointment: Appointment, cancel_form: CancelForm | None = None,
                       status: int = 200, attention_form: ClearAttentionForm | None = None):
        now = utcnow()
        history = db.session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "appointment", AuditEntry.entity_id == appointment.id)
            .order_by(AuditEntry.at, AuditEntry.id)).all()
        # What was sent on which channel, from the delivery records (reminders/deliveries.py).
        messages = db.session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.appointment_id == appointment.id)
            .order_by(NotificationDelivery.occurred_at, NotificationDelivery.id)).all()
        return self.render(
            "admin/appointments/manage.html", appointment=appointment, history=history, messages=messages,
            message_labels=MESSAGE_LABELS,
            can_change=appointment.is_booked and appointment.start_at > now,
            can_mark_outcome=appointment.status is not AppointmentStatus.CANCELLED and appointment.start_at <= now,
            cancel_form=cancel_form or CancelForm(formdata=None), outcome_form=OutcomeForm(formdata=None),
            attention_form=attention_form or ClearAttentionForm(formdata=None),
            status_label=status_label,
        ), status

    @expose("/<int:appointment_id>/cancel/", methods=("POST",))
    def cancel(self, appointment_id: int):
        appointment = self._appointment(appointment_id)
        form = CancelForm()
        if not form.validate_on_submit():
            return self._render_manage(appointment, cancel_form=form, status=400)
        try:
            # Staff may cancel up to the start, past the patients' online cut-off.
            booking_service().cancel(actor(), appointment, reason=form.cancel_reason.data, enforce_cutoff=False)
        except BookingError as error:
            db.session.rollback()
            form.cancel_reason.errors.append(staff_message(error))
            return self._render_manage(appointment, cancel_form=form, status=409)
        flash(f"Cancelled the appointment of {appointment.patient.name} on {local_datetime(appointment.start_at)}.",
              "success")
        return redirect(url_for(".manage", appointment_id=appointment.id))

    @expose("/<int:appointment_id>/clear-attention/", methods=("POST",))
    def clear_attention(self, appointment_id: int):
        appointment = self._appointment(appointment_id)
        form = ClearAttentionForm()
        if not form.validate_on_submit():
            return self._render_manage(appointment, attention_form=form, status=400)
        booking_service().clear_attention(actor(), appointment, form.attention_note.data)
        flash("Flag cleared; the appointment stays as it is.", "success")
        return redirect(url_for(".manage", appointment_id=appointment.id))

    @expose("/<int:appointment_id>/outcome/", methods=("POST",))
    def outcome(self, appointment_id: int):
        appointment = self._appointment(appointment_id)
        form = OutcomeForm()
        if not form.validate_on_submit():
            flash("Choose completed or no-show.", "danger")
            return self._render_manage(appointment, status=400)
        status = AppointmentStatus(form.outcome.data)
        try:
            booking_service().mark_outcome(actor(), appointment, status)
        except BookingError as error:
            db.session.rollback()
            flash(staff_message(error), "danger")
            return self._render_manage(appointment, status=409)
        flash(f"Marked as {status_label(status).lower()}.", "success")
        return redirect(url_for(".manage", appointment_id=appointment.id))


def flagged_appointments(limit: int = 50) -> list[Appointment]:
    """Booked appointments flagged as needing attention (e.g. hours changed under them), soonest first."""
    return db.session.scalars(
        select(Appointment).where(Appointment.needs_attention, Appointment.status == AppointmentStatus.BOOKED,
                                  Appointment.end_at > utcnow())
        .order_by(Appointment.start_at).limit(limit)).all()
