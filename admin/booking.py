"""Booking and moving appointments from the console, through the booking service.

The front desk picks a doctor and a day and sees that day's real free slots (the
same slot engine as the portal). If none will do, they may enter a time outside the
doctor's hours, with an explicit confirmation and a reason for the audit log; the
service still refuses any overlap.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from sqlalchemy import and_, select

from admin.base import actor, clinic_zone, local_datetime, parse_day, parse_id, today
from admin.filters import patient_term_clause, search_terms
from admin.forms import BookForm, RescheduleForm, SlotForm
from carebook import calendar_limits, timefmt
from carebook.appointment_types import offers_of_doctor
from carebook.booking import BookingError
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentType, Doctor, DoctorAppointmentType, Patient, User

#: The booking service speaks to patients ("You already have…"); the front desk needs other words.
_STAFF_WORDING = {
    "slot_taken": "That time is already taken. Choose another time.",
    "outside_availability": "That time is not among the doctor's available times any more. Choose another "
                            "time, or book it as a time outside hours.",
    "patient_conflict": "The patient already has another appointment at that time.",
    "doctor_inactive": "This doctor is deactivated and takes no new bookings.",
    "outside_booking_window": "That time is too soon or too far ahead for a normal booking. If it must be "
                              "then, book it as a time outside hours.",
    "in_the_past": "That time has already passed.",
}
STRIP_DAYS = 14


def staff_message(error: BookingError) -> str:
    return _STAFF_WORDING.get(error.code, error.message)


def _report_conflict(form: SlotForm, error: BookingError, start_at: datetime) -> int:
    """Put the service's refusal on the time field, naming the time; the HTTP status to answer with."""
    # A time far beyond the booking window is named as typed: the clinic's zone could take it off the calendar.
    when = (timefmt.format_datetime(start_at, clinic_zone()) if calendar_limits.instant_in_span(start_at)
            else start_at.isoformat())
    form.time_field.errors.append(f"{when}: {staff_message(error)}")
    return 409 if error.kind == "conflict" else 422


def _choose_day(values, fallback: date) -> date:
    day = parse_day(values.get("day"))
    if day is None:
        start = _parse_instant(values.get("start_at"))
        day = start.astimezone(clinic_zone()).date() if start else fallback
    return day


def _outside_hours_start(form: SlotForm, values, day: date) -> datetime | None:
    """The instant chosen, or None (an error on the form); a time outside hours needs the day it was typed for."""
    if form.is_outside_hours and values.get("day") and parse_day(values.get("day")) != day:
        form.outside_time.errors.append("Choose the day again: that date is not one the console can book.")
        return None
    return form.chosen_start(day, clinic_zone())


def _parse_instant(value: str | None) -> datetime | None:
    """An aware instant whose day pages can shift by weeks (carebook/calendar_limits.py); None otherwise."""
    try:
        instant = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if instant is None or instant.utcoffset() is None or not calendar_limits.instant_in_span(instant):
        return None
    return instant


def bookable_offers(doctor: Doctor) -> list[DoctorAppointmentType]:
    """Every active type the doctor offers, staff-only ones included: the front desk may book any of them."""
    return [offer for offer in offers_of_doctor(db.session, doctor.id) if offer.appointment_type.is_active]


def choose_type(doctor: Doctor, offers: list[DoctorAppointmentType], value, keep: AppointmentType | None = None
                ) -> AppointmentType | None:
    """The type asked for (``type_id``), else the kept one, else the doctor's default.

    A type the doctor does not offer (any more) is still returned when asked for by id, so
    that the booking service refuses it with its own reason.
    """
    wanted = parse_id(value)
    if wanted is not None and request.method == "GET" and all(offer.appointment_type_id != wanted
                                                               for offer in offers):
        wanted = None  # e.g. the doctor changed in the form: their default, not the other doctor's type
    if wanted is not None:
        return db.session.get(AppointmentType, wanted) or (keep or _default_type(doctor, offers))
    return keep or _default_type(doctor, offers)


def _default_type(doctor: Doctor, offers: list[DoctorAppointmentType]) -> AppointmentType | None:
    return next((offer.appointment_type for offer in offers
                 if offer.appointment_type_id == doctor.default_appointment_type_id), None)


def slot_picker(doctor: Doctor, day: date, appointment_type: AppointmentType | None = None,
                moving: Appointment | None = None) -> dict:
    """The day strip (free counts for two weeks) and the chosen day's free slots by part of the day.

    ``moving`` an appointment that keeps its type (no ``appointment_type``): the times the booking
    service accepts for that move, on its own length where its type was retired or withdrawn.
    """
    service = booking_service()
    strip_start = max(today(), day - timedelta(days=day.weekday()))
    strip_end = strip_start + timedelta(days=STRIP_DAYS - 1)
    first, last = min(strip_start, day), max(strip_end, day)
    type_id = appointment_type.id if appointment_type is not None else None
    if type_id == doctor.default_appointment_type_id:
        type_id = None  # the doctor's own terms, read with the calendar
    if moving is not None and appointment_type is None:
        free = service.move_slots(moving, first, last)
    else:
        free = service.free_slots(doctor, first, last, type_id)
    counts = {strip_start + timedelta(days=n): 0 for n in range(STRIP_DAYS)}
    groups: dict[str, list] = {"Morning": [], "Afternoon": [], "Evening": []}
    for slot in free:
        local_day = service.local_day(slot.start_at)
        if local_day in counts:
            counts[local_day] += 1
        if local_day == day:
            groups[timefmt.part_of_day(slot.start_at, service.timezone)].append(slot)
    return {"day": day, "strip": counts, "previous_day": day - timedelta(days=1), "next_day": day + timedelta(days=1),
            "groups": {name: group for name, group in groups.items() if group}, "today": today()}


def active_doctors() -> list[Doctor]:
    return db.session.scalars(select(Doctor).join(Doctor.user).where(Doctor.is_active)
                              .order_by(User.full_name, Doctor.id)).all()


def find_patients(search: str, limit: int = 25) -> list[Patient]:
    terms = search_terms(search)
    if not terms:
        return []
    return db.session.scalars(
        select(Patient).join(Patient.user).where(Patient.erased_at.is_(None),
                                                 and_(*(patient_term_clause(term) for term in terms)))
        .order_by(User.full_name, Patient.id).limit(limit)).all()


class BookingRoutes:
    """The appointment view's /book/ and /<id>/reschedule/ pages (mixed into AppointmentView)."""

    @expose("/book/", methods=("GET", "POST"))
    def book(self):
        values = request.values
        patient = db.session.get(Patient, parse_id(values.get("patient_id")) or 0)
        carried = {key: values[key] for key in ("doctor_id", "type_id", "day", "start_at") if values.get(key)}
        if patient is not None and patient.is_erased:
            flash("This patient's data were erased at their request: they cannot be booked.", "warning")
            return redirect(url_for("patients.history", patient_id=patient.id))
        if patient is None:
            search = values.get("q", "").strip()[:200]
            return self.render("admin/appointments/choose_patient.html", search=search,
                               patients=find_patients(search), carried=carried)

        doctors = active_doctors()
        doctor_id = parse_id(values.get("doctor_id"))
        # Looked up directly, not among the active ones: booking a deactivated doctor is refused
        # by the booking service, with its reason, like any other refusal.
        doctor = db.session.get(Doctor, doctor_id) if doctor_id else None
        day = _choose_day(values, today())
        offers = bookable_offers(doctor) if doctor is not None else []
        appointment_type = choose_type(doctor, offers, values.get("type_id")) if doctor is not None else None
        form = BookForm()
        status = 200
        if request.method == "GET":
            form.start_at.data = values.get("start_at", "")
        elif doctor is None:
            form.doctor_id.errors = ["Choose a doctor."]
            status = 400
        elif not form.validate_on_submit():
            status = 400
        else:
            start_at = _outside_hours_start(form, values, day)
            status = 400
            if start_at is not None:
                try:
                    appointment = booking_service().book(
                        actor(), doctor=doctor, patient=patient, start_at=start_at, reason=form.reason.data or "",
                        allow_outside_hours=form.is_outside_hours,
                        override_note=(form.outside_reason.data or "").strip(), appointment_type=appointment_type)
                except BookingError as error:
                    db.session.rollback()
                    status = _report_conflict(form, error, start_at)
                else:
                    flash(f"Booked {patient.name} with {doctor.name} on {local_datetime(appointment.start_at)}. "
                          f"Type: {appointment.appointment_type.name}.", "success")
                    return redirect(url_for(".manage", appointment_id=appointment.id))
        picker = slot_picker(doctor, day, appointment_type) if doctor is not None else {"day": day}
        return self.render("admin/appointments/book.html", form=form, patient=patient, doctors=doctors,
                           doctor=doctor, offers=offers, appointment_type=appointment_type, **picker), status

    @expose("/<int:appointment_id>/reschedule/", methods=("GET", "POST"))
    def reschedule(self, appointment_id: int):
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None:
            abort(404)
        if not appointment.is_booked or appointment.start_at <= utcnow():
            flash("Only a booked appointment that has not started yet can be moved.", "warning")
            return redirect(url_for(".manage", appointment_id=appointment.id))
        service = booking_service()
        day = _choose_day(request.values, service.local_day(appointment.start_at))
        doctor, kept = appointment.doctor, appointment.appointment_type
        offers = bookable_offers(doctor)
        # The move keeps the type unless staff pick another (its length and buffer are checked then).
        appointment_type = choose_type(doctor, offers, request.values.get("type_id"), keep=kept)
        form = RescheduleForm()
        status = 200
        if request.method == "POST":
            status = 400
            if form.validate_on_submit():
                start_at = _outside_hours_start(form, request.values, day)
                if start_at is not None:
                    try:
                        # Staff may move an appointment past the patients' online cut-off.
                        service.reschedule(actor(), appointment, start_at, enforce_cutoff=False,
                                           allow_outside_hours=form.is_outside_hours,
                                           override_note=(form.outside_reason.data or "").strip(),
                                           reason=form.move_reason.data, appointment_type=appointment_type)
                    except BookingError as error:
                        db.session.rollback()
                        status = _report_conflict(form, error, start_at)
                    else:
                        flash(f"Moved to {local_datetime(appointment.start_at)}.", "success")
                        return redirect(url_for(".manage", appointment_id=appointment.id))
        # Another type: its slots. The kept one: the times the service accepts for the move (its own
        # length and buffer where the type was retired or withdrawn from the doctor).
        changing = appointment_type is not None and appointment_type.id != kept.id
        picker = slot_picker(doctor, day, appointment_type) if changing else slot_picker(doctor, day, moving=appointment)
        return self.render("admin/appointments/reschedule.html", form=form, appointment=appointment,
                           doctor=doctor, offers=offers, appointment_type=appointment_type, **picker), status
