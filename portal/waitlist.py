"""The patient's waitlist: join from a doctor's page, ask for an earlier time, leave, and claim an offer.

Thin views: the rules are carebook/waitlist/'s, bookings go through the booking service, and
the edge commits. Claiming is **one step after sign-in**: the emailed link carries only the
offer's number (no secret), leads to the offer's page behind the sign-in, and one button
there claims it (a POST with the form's CSRF token). Why, in docs/reminders.md ("Claiming").
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from carebook import appointment_types, audit
from carebook.access import allow
from carebook.booking import BookingError
from carebook.extensions import db
from carebook.services import booking_service
from carebook.waitlist import claiming, entries, queries
from carebook.waitlist.errors import WaitlistError
from models import Appointment, Doctor, Role
from models.waitlist import WaitlistEntry, WaitlistOffer
from portal.forms import BookingForm, ConfirmForm
from portal.patient import _conflict_message, booking_page, reschedule_page
from portal.waitlist_forms import EarlierForm, JoinForm

bp = Blueprint("patient_waitlist", __name__)
ACTOR_SOURCE = "portal"
#: The default range offered: the coming four weeks.
DEFAULT_RANGE = timedelta(days=27)


def _actor() -> audit.Actor:
    return audit.Actor(current_user, ACTOR_SOURCE)


def _patient():
    if current_user.patient is None:
        abort(403)
    return current_user.patient


def _tz():
    return current_app.config["CLINIC"].timezone


def _own(model, object_id: int):
    """The signed-in patient's entry or offer, or 404 (never another's, not even its existence)."""
    row = db.session.get(model, object_id)
    if row is None:
        abort(404)
    entry = row.entry if isinstance(row, WaitlistOffer) else row
    if entry.patient_id != _patient().id:
        abort(404)
    return row


def _type_choices(doctor: Doctor) -> list[SelectChoice]:
    offered = appointment_types.offered_types(db.session, doctor.id, online_only=True)
    default_id = doctor.default_appointment_type_id
    choices = [SelectChoice("", "The usual appointment")]
    choices += [SelectChoice(str(kind.id), kind.name) for kind in offered if kind.id != default_id]
    return choices


@bp.route("/waitlist/join/<int:doctor_id>", methods=["GET", "POST"])
@allow(Role.PATIENT)
def join(doctor_id: int):
    """Join the waitlist for this doctor, or any doctor of their specialty, with what would suit."""
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or not doctor.is_active:
        abort(404)
    form = JoinForm()
    form.scope.choices = [SelectChoice("doctor", f"Only {doctor.name}"),
                          SelectChoice("specialty", f"Any {doctor.specialty} doctor")]
    form.appointment_type.choices = _type_choices(doctor)
    if request.method == "GET":
        first = entries.today(_tz())
        form.earliest_date.data, form.latest_date.data = first, first + DEFAULT_RANGE
        form.weekdays.data = [choice.value for choice in form.weekdays.choices]
        form.times_of_day.data = [choice.value for choice in form.times_of_day.choices]
    status = 200
    if form.validate_on_submit():
        wish = entries.Wish.from_form(db.session, doctor, form)
        try:
            entries.join(db.session, _actor(), _patient(), wish, _tz())
        except WaitlistError as error:
            db.session.rollback()
            _field_error(form, error)
            status = 422
        else:
            flash("You are on the waitlist. We will email you when a time that suits you is free.", "success")
            return redirect(url_for("patient.appointments") + "#waitlist")
    elif request.method == "POST":
        status = 400
    return render_template("patient/waitlist_join.html", form=form, doctor=doctor), status


@bp.route("/appointments/<int:appointment_id>/earlier", methods=["GET", "POST"])
@allow(Role.PATIENT)
def earlier(appointment_id: int):
    """Ask for an earlier time than this appointment: claiming an offer moves it there."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.patient_id != _patient().id:
        abort(404)
    form = EarlierForm()
    if request.method == "GET":
        form.weekdays.data = [choice.value for choice in form.weekdays.choices]
        form.times_of_day.data = [choice.value for choice in form.times_of_day.choices]
    status = 200
    if form.validate_on_submit():
        try:
            entries.join_earlier(db.session, _actor(), _patient(), appointment, _tz(), weekdays=form.weekdays.bits,
                                 times_of_day=form.times_of_day.bits,
                                 min_notice_minutes=int(form.min_notice_minutes.data))
        except WaitlistError as error:
            db.session.rollback()
            flash(error.message, "danger")
            status = 422
        else:
            flash("You are on the waitlist for an earlier time. If one is free, we email you; claiming it "
                  "moves this appointment.", "success")
            return redirect(url_for("patient.appointments") + "#waitlist")
    elif request.method == "POST":
        status = 400
    return render_template("patient/waitlist_earlier.html", form=form, appointment=appointment), status


@bp.route("/waitlist/entries/<int:entry_id>/leave", methods=["POST"])
@allow(Role.PATIENT)
def leave(entry_id: int):
    entry = _own(WaitlistEntry, entry_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        entries.leave(db.session, _actor(), entry)
    except WaitlistError as error:
        db.session.rollback()
        flash(error.message, "info")
    else:
        flash(f"You have left the waitlist for {queries.who(entry)}.", "success")
    return redirect(url_for("patient.appointments") + "#waitlist")


@bp.route("/waitlist/offers/<int:offer_id>")
@allow(Role.PATIENT)
def offer(offer_id: int):
    """The offer: which doctor, when, until when it is held; one button claims it."""
    offer = _own(WaitlistOffer, offer_id)
    try:
        claiming.check_claimable(offer)
        ended = None
    except WaitlistError as error:
        ended = error.message
    return render_template("patient/waitlist_offer.html", offer=offer, ended=ended, confirm_form=ConfirmForm())


@bp.route("/o/<int:offer_id>")
@allow(Role.PATIENT)
def short_offer(offer_id: int):
    """The offer's short link, for the SMS (one segment holds little): on to the offer's page.

    Someone else's offer (or none) is a 404 here already, like on every route: a redirect would
    tell a guesser which offer ids exist.
    """
    _own(WaitlistOffer, offer_id)
    return redirect(url_for(".offer", offer_id=offer_id))


@bp.route("/waitlist/offers/<int:offer_id>/claim", methods=["POST"])
@allow(Role.PATIENT)
def claim(offer_id: int):
    offer = _own(WaitlistOffer, offer_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    moving = offer.entry.earlier_than
    try:
        appointment = claiming.claim(booking_service(), _actor(), _patient(), offer)
    except WaitlistError as error:
        db.session.rollback()
        flash(error.message, "info")
        return redirect(url_for("patient_waitlist.offer", offer_id=offer.id))
    except BookingError as error:
        db.session.rollback()
        claiming.record_taken(db.session, _actor(), offer, error.code)
        return _conflict_page(offer, moving, error)
    flash("It is yours: your appointment has been moved." if moving is not None else "It is yours: booked.",
          "success")
    return redirect(url_for("patient.appointment", appointment_id=appointment.id, booked=1))


def _conflict_page(offer: WaitlistOffer, moving: Appointment | None, error: BookingError):
    """Exactly the page a normal booking (or move) shows on a conflict: the message and the fresh free times."""
    flash(_conflict_message(error, offer.start_at), "danger")
    status = 409 if error.kind == "conflict" else 422
    day = booking_service().local_day(offer.start_at).isoformat()
    form = BookingForm(formdata=None)
    if moving is not None:
        return reschedule_page(moving, form, day, str(offer.appointment_type_id), status)
    return booking_page(offer.doctor, form, day, str(offer.appointment_type_id), status)


def _field_error(form: JoinForm, error: WaitlistError) -> None:
    target = getattr(form, error.field, None) if error.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = list(target.errors) + [error.message]
    else:
        flash(error.message, "danger")


def entries_for_current_patient() -> list[queries.EntryView]:
    """For "My appointments" (portal/patient.py)."""
    return queries.patient_entries(db.session, _patient().id)


__all__ = ["bp", "entries_for_current_patient"]
