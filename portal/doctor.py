"""The doctor's calendar: their day, their week, and the editing of their availability.

Every calendar page answers at ``/doctor/...`` for the signed-in doctor and at
``/doctor/<doctor_id>/...`` for staff, who may open any doctor's calendar. A doctor
who opens another doctor's id gets 404, as if it did not exist; patients are
refused by the routes' declarations. Views parse, call a service and render; the
rules live in carebook.availability and carebook.booking; the edge commits once.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from carebook import appointment_types as types
from carebook import audit, timefmt
from carebook.access import allow
from carebook.availability import (AddTimeOff, Change, InvalidChange, NeedsConfirmation,
                                   RemoveOneOff, RemoveTimeOff, RemoveWeeklyHours,
                                   SetAppointmentLength, SetOneOff, SetWeeklyHours, decode_change,
                                   encode_change, format_range)
from carebook.availability.calendar_view import day_summary, month_overview, week_grid
from carebook.booking import BookingError
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.services import availability_service, booking_service
from models import Appointment, AppointmentStatus, AppointmentType, Doctor, Role, TimeOff, User
from portal.doctor_forms import (WEEKDAY_FIELDS, AppointmentLengthForm, ConfirmChangeForm, OneOffForm,
                                 OutcomeForm, OwnLengthForm, TimeOffForm, WeeklyHoursForm)
from portal.forms import ConfirmForm

bp = Blueprint("doctor", __name__, url_prefix="/doctor")
ACTOR_SOURCE = "portal"
CONFIRM_SALT = "doctor.availability-change"
CONFIRM_MAX_AGE_SECONDS = 3600
#: Dates further than this from today in a query string are ignored (and keep date arithmetic safe).
BROWSABLE = timedelta(days=5 * 366)
OWN = {"doctor_id": None}


def _actor() -> audit.Actor:
    return audit.Actor(current_user, ACTOR_SOURCE)


def _calendar_doctor(doctor_id: int | None) -> Doctor:
    """Whose calendar this is: a doctor only ever their own (404 for any other id), staff anyone's."""
    if current_user.role is Role.DOCTOR:
        own = current_user.doctor
        if own is None or (doctor_id is not None and doctor_id != own.id):
            abort(404)
        return own
    if doctor_id is None:  # staff: pick a doctor first
        abort(redirect(url_for("doctor.schedule")))
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None:
        abort(404)
    return doctor


def _visible_appointment(appointment_id: int) -> Appointment:
    """An appointment of the signed-in doctor (or any, for staff); 404 otherwise."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    if current_user.role is Role.DOCTOR and (current_user.doctor is None
                                             or appointment.doctor_id != current_user.doctor.id):
        abort(404)
    return appointment


def _link(doctor: Doctor, endpoint: str, **values) -> str:
    """URL of a calendar page of ``doctor``: the short form for the doctor, with the id for staff."""
    if current_user.role is not Role.DOCTOR:
        values["doctor_id"] = doctor.id
    return url_for(endpoint, **values)


def _render(template: str, doctor: Doctor, status: int = 200, **context):
    service = availability_service()
    return render_template(template, doctor=doctor, staff_view=current_user.role is not Role.DOCTOR,
                           link=lambda endpoint, **values: _link(doctor, endpoint, **values),
                           today=service.today(), section=request.endpoint, **context), status


def _requested_day(name: str, today: date) -> date | None:
    """A YYYY-MM-DD query parameter near enough to today to browse, else None."""
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return day if abs(day - today) <= BROWSABLE else None


def _path_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(404)


# --------------------------------------------------------------------------- the day and the week


@bp.route("/", defaults=OWN)
@bp.route("/<int:doctor_id>/")
@allow(Role.DOCTOR, Role.STAFF)
def schedule(doctor_id: int | None):
    """The doctor's landing page: one day's appointments (today unless ``?day=``). Staff first pick a doctor."""
    if doctor_id is None and current_user.role is Role.STAFF:
        doctors = db.session.scalars(select(Doctor).join(Doctor.user)
                                     .order_by(Doctor.is_active.desc(), User.full_name)).all()
        return render_template("doctor/choose.html", doctors=doctors)
    doctor = _calendar_doctor(doctor_id)
    service = availability_service()
    today = service.today()
    day = _requested_day("day", today) or today
    plan = service.plan(doctor, day, day)[0]
    return _render("doctor/schedule.html", doctor, day=day, plan=plan, summary=day_summary(plan, service.timezone),
                   previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1), now=utcnow(),
                   outcome_form=OutcomeForm(formdata=None))


@bp.route("/week", defaults=OWN)
@bp.route("/<int:doctor_id>/week")
@allow(Role.DOCTOR, Role.STAFF)
def week(doctor_id: int | None):
    doctor = _calendar_doctor(doctor_id)
    service = availability_service()
    today = service.today()
    chosen = _requested_day("week", today) or today
    monday = chosen - timedelta(days=chosen.weekday())
    plans = service.plan(doctor, monday, monday + timedelta(days=6))
    week_types = sorted({a.appointment_type for plan in plans for a in plan.appointments}, key=lambda t: (t.name, t.id))
    return _render("doctor/week.html", doctor, monday=monday, grid=week_grid(plans, service.timezone),
                   week_types=week_types,
                   month=month_overview(service, doctor, monday + timedelta(days=3), monday),
                   previous_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7))


@bp.route("/appointments/<int:appointment_id>")
@allow(Role.DOCTOR, Role.STAFF)
def appointment(appointment_id: int):
    appointment = _visible_appointment(appointment_id)
    return _render("doctor/appointment.html", appointment.doctor, appointment=appointment, now=utcnow(),
                   day=booking_service().local_day(appointment.start_at), outcome_form=OutcomeForm(formdata=None))


@bp.route("/appointments/<int:appointment_id>/outcome", methods=["POST"])
@allow(Role.DOCTOR, Role.STAFF)
def outcome(appointment_id: int):
    """Mark an appointment completed or no-show; the booking service refuses it before the start."""
    appointment = _visible_appointment(appointment_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        abort(400)
    status = AppointmentStatus(form.outcome.data)
    try:
        booking_service().mark_outcome(_actor(), appointment, status)
    except BookingError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        label = "completed" if status is AppointmentStatus.COMPLETED else "a no-show"
        flash(f"{timefmt.format_datetime(appointment.start_at, booking_service().timezone)} "
              f"with {appointment.patient.name} marked as {label}.", "success")
    if request.form.get("back") == "appointment":
        return redirect(url_for("doctor.appointment", appointment_id=appointment.id))
    day = booking_service().local_day(appointment.start_at)
    return redirect(_link(appointment.doctor, "doctor.schedule", day=day.isoformat()))


# --------------------------------------------------------------------------- appointment types


@bp.route("/types", defaults=OWN)
@bp.route("/<int:doctor_id>/types")
@allow(Role.DOCTOR, Role.STAFF)
def appointment_types(doctor_id: int | None):
    """The types the doctor offers, with their length for each; their own length where staff allow it."""
    doctor = _calendar_doctor(doctor_id)
    return _types_page(doctor)


@bp.route("/types/<int:type_id>/length", methods=["POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/types/<int:type_id>/length", methods=["POST"])
@allow(Role.DOCTOR, Role.STAFF)
def own_length(doctor_id: int | None, type_id: int):
    """Set (or clear) the doctor's own length for a type; the service checks that staff allow it, and audits it."""
    doctor = _calendar_doctor(doctor_id)
    appointment_type = db.session.get(AppointmentType, type_id)
    if appointment_type is None or all(offer.appointment_type_id != type_id
                                       for offer in types.offers_of_doctor(db.session, doctor.id)):
        abort(404)  # a type this doctor does not offer is not on their calendar
    form = OwnLengthForm(prefix=f"type-{type_id}")
    if form.validate_on_submit():
        try:
            types.set_own_duration(db.session, _actor(), doctor, appointment_type, form.duration_minutes.data)
        except types.AppointmentTypeError as error:
            db.session.rollback()
            form.duration_minutes.errors = [*form.duration_minutes.errors, error.message]
        else:
            minutes = form.duration_minutes.data
            flash(f"{appointment_type.name}: " + (f"{minutes} minutes" if minutes else "the clinic's length")
                  + " from now on; booked appointments keep their times.", "success")
            return redirect(_link(doctor, "doctor.appointment_types"))
    return _types_page(doctor, {type_id: form}, status=400)


def _types_page(doctor: Doctor, sent: dict | None = None, status: int = 200):
    """The page; ``sent``: forms as submitted (with their errors), by type id."""
    offers = types.offers_of_doctor(db.session, doctor.id)
    staff_view = current_user.role is not Role.DOCTOR
    sent = sent or {}
    forms = {offer.appointment_type_id: sent.get(offer.appointment_type_id) or OwnLengthForm(
        formdata=None, prefix=f"type-{offer.appointment_type_id}", data={"duration_minutes": offer.duration_minutes})
        for offer in offers
        if offer.appointment_type_id != doctor.default_appointment_type_id
        and (staff_view or offer.doctor_may_change_duration or offer.appointment_type_id in sent)}
    return _render("doctor/types.html", doctor, status, offers=offers, forms=forms)


# --------------------------------------------------------------------------- weekly hours and length


@bp.route("/hours", methods=["GET", "POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/hours", methods=["GET", "POST"])
@allow(Role.DOCTOR, Role.STAFF)
def hours(doctor_id: int | None):
    doctor = _calendar_doctor(doctor_id)
    service = availability_service()
    if request.method == "GET":
        today = service.today()
        return _hours_page(doctor, _hours_form(doctor, max(_requested_day("from", today) or today, today)))
    form = WeeklyHoursForm()
    valid = form.validate_on_submit()
    filled = {number: form.filled_ranges(ranges) for number, _label, ranges in form.weekdays()}
    if not valid or any(form.has_range_errors(ranges) for _n, _l, ranges in form.weekdays()):
        return _hours_page(doctor, form, status=400)
    change = SetWeeklyHours(doctor.id, form.valid_from.data,
                            {number: [r for _row, r in rows] for number, rows in filled.items() if rows})

    def invalid_page(invalid: InvalidChange):
        form.valid_from.errors = [*form.valid_from.errors, *invalid.messages("valid_from")]
        form.form_errors.extend(invalid.messages("ranges"))
        for number, _label, ranges in form.weekdays():
            _attach_range_errors(invalid, f"ranges.{number}", ranges, filled[number])
        return _hours_page(doctor, form, status=400)

    return _submit(change, doctor, invalid_page)


@bp.route("/hours/length", methods=["POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/hours/length", methods=["POST"])
@allow(Role.DOCTOR, Role.STAFF)
def appointment_length(doctor_id: int | None):
    doctor = _calendar_doctor(doctor_id)
    form = AppointmentLengthForm(prefix="length")
    weekly_form = _hours_form(doctor, availability_service().today())
    if not form.validate_on_submit():
        return _hours_page(doctor, weekly_form, length_form=form, status=400)
    change = SetAppointmentLength(doctor.id, form.appointment_minutes.data, form.buffer_minutes.data)

    def invalid_page(invalid: InvalidChange):
        for name in ("appointment_minutes", "buffer_minutes"):
            form[name].errors = [*form[name].errors, *invalid.messages(name)]
        return _hours_page(doctor, weekly_form, length_form=form, status=400)

    return _submit(change, doctor, invalid_page)


@bp.route("/hours/<valid_from>/remove", methods=["POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/hours/<valid_from>/remove", methods=["POST"])
@allow(Role.DOCTOR, Role.STAFF)
def remove_hours(doctor_id: int | None, valid_from: str):
    doctor = _calendar_doctor(doctor_id)
    day = _path_date(valid_from)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _submit(RemoveWeeklyHours(doctor.id, day), doctor, _flash_problems(doctor, "doctor.hours"))


def _hours_form(doctor: Doctor, start: date) -> WeeklyHoursForm:
    """The weekly hours form, filled in with the pattern in effect on ``start``."""
    pattern = availability_service().pattern_on(doctor, start)
    weekly = pattern.ranges if pattern else {}
    return WeeklyHoursForm(formdata=None, data={"valid_from": start, **{
        name: [{"start": s, "end": e} for s, e in weekly.get(number, ())] for number, name in enumerate(WEEKDAY_FIELDS)}})


def _hours_page(doctor: Doctor, form: WeeklyHoursForm, length_form: AppointmentLengthForm | None = None,
                status: int = 200):
    service = availability_service()
    today = service.today()
    patterns = service.patterns(doctor)
    in_effect = service.pattern_on(doctor, today)
    # The pattern in effect and the planned ones; older ones are history (in the audit log).
    shown = [p for p in patterns if p.valid_from >= today or (in_effect and p.valid_from == in_effect.valid_from)]
    length_form = length_form or AppointmentLengthForm(formdata=None, prefix="length", data={
        "appointment_minutes": doctor.appointment_minutes, "buffer_minutes": doctor.buffer_minutes})
    return _render("doctor/hours.html", doctor, status, form=form, length_form=length_form, patterns=shown,
                   in_effect=in_effect, remove_form=ConfirmForm(formdata=None), format_range=format_range)


# --------------------------------------------------------------------------- one-off changes


@bp.route("/one-off", methods=["GET", "POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/one-off", methods=["GET", "POST"])
@allow(Role.DOCTOR, Role.STAFF)
def one_offs(doctor_id: int | None):
    doctor = _calendar_doctor(doctor_id)
    if request.method == "GET":
        return _one_offs_page(doctor, OneOffForm(formdata=None))
    form = OneOffForm()
    valid = form.validate_on_submit()
    filled = form.filled_ranges(form.ranges)
    if not valid or form.has_range_errors(form.ranges):
        return _one_offs_page(doctor, form, status=400)
    closed = form.kind.data == "closed"
    change = SetOneOff(doctor.id, form.on_date.data, () if closed else tuple(r for _row, r in filled),
                       adds_to_usual=form.kind.data == "extra")
    if not closed and not filled and form.kind.data == "hours":
        form.form_errors.append("Enter the hours for that date, or choose “Closed all day”.")
        return _one_offs_page(doctor, form, status=400)

    def invalid_page(invalid: InvalidChange):
        form.on_date.errors = [*form.on_date.errors, *invalid.messages("on_date")]
        form.form_errors.extend(invalid.messages("ranges"))
        _attach_range_errors(invalid, "ranges", form.ranges, filled)
        return _one_offs_page(doctor, form, status=400)

    return _submit(change, doctor, invalid_page)


@bp.route("/one-off/<on_date>/remove", methods=["POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/one-off/<on_date>/remove", methods=["POST"])
@allow(Role.DOCTOR, Role.STAFF)
def remove_one_off(doctor_id: int | None, on_date: str):
    doctor = _calendar_doctor(doctor_id)
    day = _path_date(on_date)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _submit(RemoveOneOff(doctor.id, day), doctor, _flash_problems(doctor, "doctor.one_offs"))


def _one_offs_page(doctor: Doctor, form: OneOffForm, status: int = 200):
    service = availability_service()
    return _render("doctor/one_offs.html", doctor, status, form=form,
                   one_offs=service.one_offs(doctor, service.today()), remove_form=ConfirmForm(formdata=None),
                   format_range=format_range)


# --------------------------------------------------------------------------- time off


@bp.route("/time-off", methods=["GET", "POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/time-off", methods=["GET", "POST"])
@allow(Role.DOCTOR, Role.STAFF)
def time_off(doctor_id: int | None):
    doctor = _calendar_doctor(doctor_id)
    if request.method == "GET":
        return _time_off_page(doctor, TimeOffForm(formdata=None))
    form = TimeOffForm()
    if not form.validate_on_submit():
        return _time_off_page(doctor, form, status=400)
    change = AddTimeOff(doctor.id, form.start_date.data, form.end_date.data or form.start_date.data,
                        form.start_time.data, form.end_time.data, (form.note.data or "").strip())

    def invalid_page(invalid: InvalidChange):
        for name in ("start_date", "end_date", "start_time", "end_time", "note"):
            form[name].errors = [*form[name].errors, *invalid.messages(name)]
        return _time_off_page(doctor, form, status=400)

    return _submit(change, doctor, invalid_page)


@bp.route("/time-off/<int:time_off_id>/remove", methods=["POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/time-off/<int:time_off_id>/remove", methods=["POST"])
@allow(Role.DOCTOR, Role.STAFF)
def remove_time_off(doctor_id: int | None, time_off_id: int):
    doctor = _calendar_doctor(doctor_id)
    row = db.session.get(TimeOff, time_off_id) if time_off_id < 2**31 else None
    if row is None or row.doctor_id != doctor.id:
        abort(404)  # another doctor's time off is not admitted to exist
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _submit(RemoveTimeOff(doctor.id, time_off_id), doctor, _flash_problems(doctor, "doctor.time_off"))


def _time_off_page(doctor: Doctor, form: TimeOffForm, status: int = 200):
    service = availability_service()
    return _render("doctor/time_off.html", doctor, status, form=form,
                   time_off=service.time_off(doctor, utcnow()), remove_form=ConfirmForm(formdata=None))


# --------------------------------------------------------------------------- applying and confirming


def _submit(change: Change, doctor: Doctor, invalid_page):
    """Apply ``change``: redirect on success; the confirmation page when it hits booked appointments."""
    try:
        availability_service().apply(change, _actor())
    except NeedsConfirmation as pending:
        page = _confirmation_page(doctor, change, pending.affected, ConfirmChangeForm(formdata=None))
        db.session.rollback()
        return page
    except InvalidChange as invalid:
        db.session.rollback()
        return invalid_page(invalid)
    flash(f"Saved: {change.describe()}.", "success")
    return redirect(_page_of(change, doctor))


def _flash_problems(doctor: Doctor, endpoint: str):
    def invalid_page(invalid: InvalidChange):
        for problem in invalid.problems:
            flash(problem.message, "danger")
        return redirect(_link(doctor, endpoint))
    return invalid_page


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRM_SALT)


def _confirmation_page(doctor: Doctor, change: Change, affected: list[Appointment], form: ConfirmChangeForm,
                       status: int = 200):
    form.change.data = _signer().dumps({"change": encode_change(change), "shown": [a.id for a in affected]})
    return _render("doctor/confirm.html", doctor, status, form=form, change_text=change.describe(),
                   affected=affected, back=_page_of(change, doctor))


@bp.route("/changes/confirm", methods=["POST"], defaults=OWN)
@bp.route("/<int:doctor_id>/changes/confirm", methods=["POST"])
@allow(Role.DOCTOR, Role.STAFF)
def confirm_change(doctor_id: int | None):
    """Apply a change that hits booked appointments: keep and flag them, or cancel them."""
    doctor = _calendar_doctor(doctor_id)
    form = ConfirmChangeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        pending = _signer().loads(form.change.data, max_age=CONFIRM_MAX_AGE_SECONDS)
        change = decode_change(pending["change"])
        shown = {int(appointment_id) for appointment_id in pending["shown"]}
    except (BadSignature, ValueError, KeyError, TypeError):
        flash("This confirmation has expired. Please make the change again.", "warning")
        return redirect(_link(doctor, "doctor.hours"))
    if change.doctor_id != doctor.id:
        abort(404)
    service = availability_service()
    if form.choice.data == "cancel" and not form.confirm_cancel.data:
        form.confirm_cancel.errors = ["Tick the box to confirm that these appointments are to be cancelled."]
        return _confirmation_page(doctor, change, service.affected_appointments(change), form, status=400)
    try:
        if form.choice.data == "cancel":
            result = service.cancel_affected(change, _actor(), reason=form.reason.data or "", shown_ids=shown)
        else:
            result = service.apply(change, _actor(), confirm_affected=True, shown_ids=shown)
    except NeedsConfirmation as changed:
        flash("The appointments affected have changed since you looked. Please check them again.", "warning")
        page = _confirmation_page(doctor, change, changed.affected, form, status=409)
        db.session.rollback()
        return page
    except InvalidChange as invalid:
        db.session.rollback()
        if invalid.messages("reason"):
            form.reason.errors = [*form.reason.errors, *invalid.messages("reason")]
            return _confirmation_page(doctor, change, service.affected_appointments(change), form, status=400)
        return _flash_problems(doctor, _endpoint_of(change))(invalid)
    message = f"Saved: {change.describe()}."
    if result.flagged:
        message += f" {_count(result.flagged)} kept and flagged for the clinic's staff to contact the patients."
    if result.cancelled:
        message += f" {_count(result.cancelled)} cancelled; the patients will be told."
    flash(message, "success")
    return redirect(_page_of(change, doctor))


def _count(appointments: list) -> str:
    return f"{len(appointments)} appointment{'s' if len(appointments) != 1 else ''}"


def _endpoint_of(change: Change) -> str:
    # The calendar's pages are named after the sections a change edits.
    return f"doctor.{change.section}"


def _page_of(change: Change, doctor: Doctor) -> str:
    return _link(doctor, _endpoint_of(change))


def _attach_range_errors(invalid: InvalidChange, prefix: str, ranges, filled: list[tuple[int, tuple]]) -> None:
    """Put the service's messages about the n-th given range next to that range's row."""
    for position, (row, _range) in enumerate(filled):
        messages = invalid.messages(f"{prefix}.{position}")
        if messages:
            end = ranges.entries[row].form.end
            end.errors = [*end.errors, *messages]
