"""The patient's side: choose a doctor, pick a free time, book, and manage bookings."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from carebook import appointment_types as types
from carebook import audit, calendar_file, timefmt
from carebook.access import allow
from carebook.booking import BookingError
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.services import booking_service
from carebook.waitlist import queries as waitlist_queries
from models import Appointment, AppointmentStatus, AppointmentType, Audience, Doctor, DoctorAppointmentType, Role
from portal.forms import BookingForm, ConfirmForm

bp = Blueprint("patient", __name__)
ACTOR_SOURCE = "portal"


def _actor() -> audit.Actor:
    return audit.Actor(current_user, ACTOR_SOURCE)


def _patient():
    patient = current_user.patient
    if patient is None:
        abort(403)
    return patient


def _own_appointment(appointment_id: int) -> Appointment:
    """The signed-in patient's appointment, or 404 (never another patient's, not even its existence)."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.patient_id != _patient().id:
        abort(404)
    return appointment


def _bookable_doctor(doctor_id: int) -> Doctor:
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or not doctor.is_active:
        abort(404)
    return doctor


def parse_start_at(value: str) -> datetime | None:
    try:
        instant = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return instant if instant.utcoffset() is not None else None


def slot_picker(doctor: Doctor, requested_day: str | None, day_endpoint: str, chosen_value: str | None = None,
                appointment_type_id: int | None = None, moving: Appointment | None = None, **day_args) -> dict:
    """The strip of coming days with their free counts, and the chosen day's free times by part of day.

    Slots of ``appointment_type_id`` (None, or the doctor's default type: the doctor's length and buffer);
    or, ``moving`` an appointment that keeps its type, the times the booking service accepts for that move.
    """
    service = booking_service()
    first_day, last_bookable = service.bookable_days()
    last_day = min(first_day + timedelta(days=current_app.config["SLOT_DAYS_SHOWN"] - 1), last_bookable)
    if appointment_type_id == doctor.default_appointment_type_id:
        appointment_type_id = None  # the hot path: the doctor's own terms, read with the calendar
    if moving is not None and appointment_type_id is None:
        free = service.move_slots(moving, first_day, last_day)
    else:
        free = service.free_slots(doctor, first_day, last_day, appointment_type_id)
    tz = service.timezone
    by_day = {first_day + timedelta(days=n): [] for n in range((last_day - first_day).days + 1)}
    for slot in free:
        by_day.setdefault(service.local_day(slot.start_at), []).append(slot)
    chosen = parse_start_at(chosen_value) if chosen_value else None
    try:
        day = date.fromisoformat(requested_day) if requested_day else None
    except ValueError:
        day = None
    if day is None and chosen is not None:
        try:
            day = service.local_day(chosen)
        except OverflowError:  # a time at the calendar's ends (refused by the service): no day of its own
            chosen = None
    if day not in by_day:
        day = next((d for d, day_slots in by_day.items() if day_slots), first_day)
    groups: dict[str, list] = {"Morning": [], "Afternoon": [], "Evening": []}
    for slot in by_day.get(day, []):
        groups[timefmt.part_of_day(slot.start_at, tz)].append(slot)
    if appointment_type_id is not None:
        day_args = {**day_args, "type_id": appointment_type_id}
    return {"doctor": doctor, "days": by_day, "day": day, "day_endpoint": day_endpoint, "day_args": day_args,
            "groups": {name: group for name, group in groups.items() if group},
            "bookable": any(by_day.values()),
            "chosen": chosen if any(slot.start_at == chosen for slot in by_day.get(day, [])) else None,
            # Slots starting before this are inside the online change/cancel cut-off: say so before booking.
            "late_from": utcnow() + service.policy.cancellation_cutoff,
            "cutoff_hours": service.policy.cutoff_hours}


def _returning_to() -> set[int]:
    """The doctors the signed-in patient is returning to (for which types to list; the service decides)."""
    return types.returning_to(db.session, _patient().id)


def _type_choice(doctor: Doctor, requested: str | None, keep: AppointmentType | None = None
                 ) -> tuple[list[DoctorAppointmentType], DoctorAppointmentType | None]:
    """The types the patient may book with the doctor, and the one chosen (``?type_id=``).

    Unless another is asked for: the kept type (a move keeps its type), else the doctor's
    default type, else the first. A new-patient or returning-only type is listed only for
    the patients it is for; the booking service checks it again whatever is sent.
    """
    returning = doctor.id in _returning_to()
    offers = types.patient_offers(db.session, doctor.id, returning=returning)
    by_id = {offer.appointment_type_id: offer for offer in offers}
    try:
        wanted = int(requested) if requested else None
    except ValueError:
        wanted = None
    for candidate in (wanted, keep.id if keep is not None else None, doctor.default_appointment_type_id):
        if candidate in by_id:
            return offers, by_id[candidate]
    return offers, offers[0] if offers else None


@bp.route("/doctors")
@allow(Role.PATIENT)
def doctors():
    specialty = request.args.get("specialty", "").strip()[:80]
    # The doctors and the types each offers online, in one query.
    listed = types.active_doctors_with_online_offers(db.session)
    specialties = sorted({doctor.specialty for doctor, _offers in listed})
    offered = {doctor.id: offers for doctor, offers in listed}
    listed_types = sorted({offer.appointment_type for offers in offered.values() for offer in offers},
                          key=lambda t: (t.name, t.id))
    chosen_type = next((t for t in listed_types if str(t.id) == request.args.get("type_id", "")), None)
    shown = [doctor for doctor, _offers in listed if not specialty or doctor.specialty == specialty]
    service = booking_service()
    first_day, last_day = service.bookable_days()
    minutes = {doctor.id: doctor.appointment_minutes for doctor in shown}
    if chosen_type is None:
        next_available = service.next_free_slots(shown, first_day, last_day)
    else:
        # Only the doctors who offer the type to this patient, each with their own length for it;
        # "first free" is then per type (kept per type by the slot cache).
        own = {doctor_id: offer.duration_minutes for doctor_id, offers in offered.items() for offer in offers
               if offer.appointment_type.id == chosen_type.id}
        returning = _returning_to() if chosen_type.audience is not Audience.ANYONE else set()
        shown = [doctor for doctor in shown if doctor.id in own
                 and types.applies_to(chosen_type, returning=doctor.id in returning)]
        minutes = {doctor.id: own[doctor.id] for doctor in shown}
        terms = [SimpleNamespace(id=doctor.id, is_active=doctor.is_active, calendar_version=doctor.calendar_version,
                                 appointment_minutes=own[doctor.id], buffer_minutes=chosen_type.buffer_minutes)
                 for doctor in shown]
        next_available = service.next_free_slots(terms, first_day, last_day, appointment_type_id=chosen_type.id)
    return render_template("patient/doctors.html", doctors=shown, specialties=specialties,
                           specialty=specialty, next_available=next_available, last_day=last_day,
                           types=listed_types, chosen_type=chosen_type, minutes=minutes, offered=offered)


@bp.route("/doctors/<int:doctor_id>")
@allow(Role.PATIENT)
def doctor(doctor_id: int):
    return booking_page(_bookable_doctor(doctor_id), BookingForm(), request.args.get("day"),
                        request.args.get("type_id"))


@bp.route("/doctors/<int:doctor_id>/book", methods=["POST"])
@allow(Role.PATIENT)
def book(doctor_id: int):
    doctor = _bookable_doctor(doctor_id)
    form = BookingForm()
    # The type as sent (its rules are the booking service's: offered, online, for this patient).
    appointment_type = _posted_type()
    appointment, status = _submit_slot_form(
        form, lambda start_at: booking_service().book(_actor(), doctor=doctor, patient=_patient(),
                                                      start_at=start_at, reason=form.reason.data or "",
                                                      appointment_type=appointment_type))
    if appointment is not None:
        flash("Your appointment is booked.", "success")
        return redirect(url_for("patient.appointment", appointment_id=appointment.id, booked=1))
    # Fresh slots, same doctor, type and day: whatever changed is visible at once.
    return booking_page(doctor, form, request.form.get("day"), request.form.get("type_id"), status)


def booking_page(doctor: Doctor, form: BookingForm, requested_day: str | None, requested_type: str | None,
                 status: int = 200):
    """The doctor's booking page: their types, the chosen type's free times on the chosen day, the form.

    Also the page after a booking conflict (here and for a waitlist claim that lost): the same
    doctor, type and day, with fresh times.
    """
    offers, chosen = _type_choice(doctor, requested_type)
    picker = slot_picker(doctor, requested_day, "patient.doctor", form.start_at.data, doctor_id=doctor.id,
                         appointment_type_id=chosen.appointment_type_id if chosen else None)
    return render_template("patient/book.html", form=form, offers=offers, chosen_offer=chosen,
                           type_endpoint="patient.doctor", type_args={"doctor_id": doctor.id}, **picker), status


def _posted_type() -> AppointmentType | None:
    """The type named by the form's ``type_id`` (None: none named, the doctor's default); 404 for no such type."""
    value = request.form.get("type_id", "")
    if not value:
        return None
    appointment_type = db.session.get(AppointmentType, int(value)) if value.isdigit() and len(value) < 10 else None
    if appointment_type is None:
        abort(404)
    return appointment_type


def _submit_slot_form(form: BookingForm, action) -> tuple[Appointment | None, int]:
    """Run ``action(start_at)`` for a valid form (the edge commits it); else record why not.

    Returns the appointment on success, or None and the HTTP status for the re-rendered page.
    """
    if not form.validate_on_submit():
        return None, 400
    start_at = parse_start_at(form.start_at.data)
    if start_at is None:
        form.start_at.errors.append("Choose one of the times shown.")
        return None, 400
    try:
        appointment = action(start_at)
    except BookingError as error:
        db.session.rollback()
        flash(_conflict_message(error, start_at), "danger")
        return None, 409 if error.kind == "conflict" else 422
    return appointment, 200


def _conflict_message(error: BookingError, start_at: datetime) -> str:
    if error.code == "slot_taken":
        return f"Sorry, {timefmt.format_time(start_at, booking_service().timezone)} was just taken. Here are the times still free."
    return error.message


@bp.route("/appointments")
@allow(Role.PATIENT)
def appointments():
    patient = _patient()
    rows = db.session.scalars(
        select(Appointment).where(Appointment.patient_id == patient.id).order_by(Appointment.start_at)
    ).all()
    now = utcnow()
    upcoming = [a for a in rows if a.status is AppointmentStatus.BOOKED and a.end_at > now]
    past = sorted((a for a in rows if a not in upcoming), key=lambda a: a.start_at, reverse=True)
    return render_template("patient/appointments.html", upcoming=upcoming, past=past,
                           service=booking_service(), now=now,
                           waitlist_entries=waitlist_queries.patient_entries(db.session, patient.id),
                           waitlist_who=waitlist_queries.who, waitlist_describe=waitlist_queries.describe)


@bp.route("/appointments/<int:appointment_id>")
@allow(Role.PATIENT)
def appointment(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    service = booking_service()
    return render_template("patient/appointment.html", appointment=appointment, service=service,
                           now=utcnow(), just_booked=request.args.get("booked") == "1",
                           cancelled_by_clinic=appointment.cancelled_by_clinic,
                           cutoff_hours=service.policy.cutoff_hours)


@bp.route("/appointments/<int:appointment_id>/calendar.ics")
@allow(Role.PATIENT)
def appointment_calendar(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    body = calendar_file.appointment_ics(appointment, current_app.config["CLINIC"],
                                         cancelled=appointment.status is AppointmentStatus.CANCELLED)
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"'})


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@allow(Role.PATIENT)
def cancel(appointment_id: int):
    """GET asks first, naming the appointment; the POST from that page cancels it."""
    appointment = _own_appointment(appointment_id)
    if request.method == "GET":
        if not appointment.is_booked:
            return redirect(url_for("patient.appointment", appointment_id=appointment.id))
        return render_template("patient/cancel.html", appointment=appointment, confirm_form=ConfirmForm())
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        booking_service().cancel(_actor(), appointment, reason="Cancelled by the patient online")
    except BookingError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        flash("Your appointment has been cancelled.", "success")
    return redirect(url_for("patient.appointments"))


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@allow(Role.PATIENT)
def reschedule(appointment_id: int):
    """Move to another time; the appointment keeps its type unless the patient picks another of the doctor's."""
    appointment = _own_appointment(appointment_id)
    form = BookingForm()
    status = 200
    if request.method == "POST":
        appointment_type = _posted_type()
        moved, status = _submit_slot_form(form, lambda start_at: booking_service().reschedule(
            _actor(), appointment, start_at, appointment_type=appointment_type))
        if moved is not None:
            flash("Your appointment has been moved.", "success")
            return redirect(url_for("patient.appointment", appointment_id=appointment.id))
    return reschedule_page(appointment, form, request.values.get("day"), request.values.get("type_id"), status)


def reschedule_page(appointment: Appointment, form: BookingForm, requested_day: str | None,
                    requested: str | None, status: int = 200):
    """The move page: the kept type's free times (or another type's, if the patient picked one)."""
    doctor, kept = appointment.doctor, appointment.appointment_type
    offers, chosen = _type_choice(doctor, requested, keep=kept)
    moving = None
    if chosen is not None and chosen.appointment_type_id != kept.id and requested == str(chosen.appointment_type_id):
        slot_type_id = chosen.appointment_type_id  # the patient picked another type
    else:
        # The kept type's times, on the terms the service checks the move with: even where it is
        # not offered online (booked at the desk), retired or withdrawn from the doctor (its own length).
        chosen = next((offer for offer in offers if offer.appointment_type_id == kept.id), None)
        slot_type_id, moving = None, appointment
    picker = slot_picker(doctor, requested_day, "patient.reschedule", form.start_at.data,
                         appointment_type_id=slot_type_id, moving=moving, appointment_id=appointment.id)
    return render_template("patient/reschedule.html", form=form, appointment=appointment, offers=offers,
                           chosen_offer=chosen, type_endpoint="patient.reschedule",
                           type_args={"appointment_id": appointment.id}, **picker), status
