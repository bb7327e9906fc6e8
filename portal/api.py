"""The JSON API under /api.

Views are thin: parse the request with the models of :mod:`portal.api_schemas`,
call the booking or account service, serialise the result through the same
models. A state change commits once at the end; every error rolls back. Every
error, whatever produced it, has the shape ``{"error": {"code", "message", ...}}``.

The routes and their responses are described in :mod:`portal.openapi`, served
at ``/api/openapi.json``; a test keeps that description and these routes in step.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Iterable, NoReturn

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carebook import accounts, audit, phones, registration, throttling
from carebook.access import allow, public
from carebook.booking import BookingError, BookingService
from carebook.clock import utcnow
from carebook.extensions import db, limiter
from carebook.services import booking_service
from carebook.slots import Slot
from models import (Appointment, AppointmentStatus, AppointmentType, Doctor, DoctorAppointmentType, IdempotencyRecord,
                    Patient, Role, User)
from portal import openapi, sign_in
from reminders import account_mail
from portal.api_schemas import (
    AppointmentTypeList,
    AppointmentTypeOut,
    AppointmentTypeRef,
    TypeOffer,
    AppointmentDoctor,
    AppointmentList,
    AppointmentOut,
    AppointmentResponse,
    BookingRequest,
    CancelRequest,
    ContactOut,
    ContactRequest,
    CsrfTokenResponse,
    DoctorsQuery,
    ErrorBody,
    ErrorResponse,
    LoginRequest,
    RegisterRequest,
    RegistrationAccepted,
    RescheduleRequest,
    SessionResponse,
    SlotOut,
    SlotsQuery,
    UserOut,
    format_instant,
)

bp = Blueprint("api", __name__)
ACTOR_SOURCE = "api"
#: Largest request body the API reads; anything bigger is 413.
MAX_BODY_BYTES = 64 * 1024
#: Longest span of days one slot query may cover.
MAX_SLOT_RANGE_DAYS = 62
DEFAULT_SLOT_RANGE_DAYS = 14
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")
PATIENT_CANCEL_REASON = "Cancelled by the patient online"
REGISTRATION_ACCEPTED_MESSAGE = ("We are sending an email to this address. Follow the link in it to finish creating "
                                 "the account; if the address has an account already, the email says so.")


# --------------------------------------------------------------------------- errors and responses


class ApiError(Exception):
    """Stop the request with this status and ``{"error": {code, message, **extra}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers = headers

    def body(self) -> dict:
        return _dump(ErrorResponse(error=ErrorBody(code=self.code, message=self.message, **self.extra)))


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    db.session.rollback()
    return _respond(error.status, error.body(), error.headers)


def _dump(model: BaseModel) -> Any:
    return model.model_dump(mode="json", exclude_none=isinstance(model, ErrorResponse))


def _respond(status: int, body: Any, headers: dict[str, str] | None = None):
    return current_app.response_class(json.dumps(body, ensure_ascii=False), status=status,
                                      mimetype="application/json", headers=headers)


def _invalid(fields: dict[str, list[str]], message: str = "Some fields are not valid.") -> NoReturn:
    raise ApiError(422, "invalid_request", message, fields=fields)


# --------------------------------------------------------------------------- parsing


def _json_body() -> dict[str, Any]:
    """The request's JSON object; an absent body counts as ``{}``."""
    if not request.is_json:
        if request.mimetype or request.content_length:
            raise ApiError(400, "invalid_request", "Send the body as JSON with Content-Type: application/json.")
        return {}
    # Without a Content-Length (and a server that marks the end of the stream) nothing is read.
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        abort(413)
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_request", "The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        _invalid({"_body": ["Must be a JSON object."]}, "The request body must be a JSON object.")
    return payload


def _validate(model: type[BaseModel], data: dict[str, Any]):
    try:
        return model.model_validate(data)
    except ValidationError as error:
        _invalid(_field_errors(error))


def _query(model: type[BaseModel]):
    return _validate(model, {name: request.args.get(name) for name in request.args})


def _field_errors(error: ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in error.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in item["loc"]) or "_body"
        fields.setdefault(name, [])
        message = _error_message(item)
        if message not in fields[name]:
            fields[name].append(message)
    return fields


def _error_message(item: dict) -> str:
    kind = item["type"]
    if kind == "missing":
        return "This field is required."
    if kind == "extra_forbidden":
        return "Unexpected field."
    if kind in {"value_error", "assertion_error"} and "error" in item.get("ctx", {}):
        return str(item["ctx"]["error"])
    return item["msg"]


def _idempotency_key() -> str | None:
    if IDEMPOTENCY_HEADER not in request.headers:
        return None
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(422, "invalid_idempotency_key",
                       "The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
    return key


def _fingerprint(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method}\n{request.path}\n{canonical}".encode()).hexdigest()


# --------------------------------------------------------------------------- helpers


def _actor() -> audit.Actor:
    return audit.Actor(current_user._get_current_object(), ACTOR_SOURCE)


def _patient() -> Patient:
    patient = current_user.patient
    if patient is None:
        raise ApiError(403, "forbidden", "You do not have access to this page.")
    return patient


def _not_found() -> NoReturn:
    raise ApiError(404, "not_found", "We could not find that.")


def _bookable_doctor(doctor_id: int) -> Doctor:
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or not doctor.is_active:
        _not_found()
    return doctor


def _online_type(type_id: int | None) -> AppointmentType | None:
    """The active, online-bookable type ``type_id`` (None for None), or a 422 on ``type_id``.

    Whether the doctor offers it is the booking service's to say (type_not_offered).
    """
    if type_id is None:
        return None
    appointment_type = db.session.get(AppointmentType, type_id)
    if appointment_type is None or not appointment_type.is_active or not appointment_type.bookable_online:
        _invalid({"type_id": ["There is no such appointment type to book online."]})
    return appointment_type


def _own_appointment(appointment_id: int) -> Appointment:
    """The signed-in patient's appointment, or 404 (another patient's is not even admitted to exist)."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.patient_id != _patient().id:
        _not_found()
    return appointment


def _fresh_csrf_token() -> str:
    # Signing in cleared the session, so a token generated earlier in this request is stale.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    return generate_csrf()


def _add_days(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max


def _slot_out(slot) -> SlotOut:
    return SlotOut(start_at=slot.start_at, end_at=slot.end_at)


#: Each slot's JSON text, kept across requests: the same slots are listed again and again
#: (the slot cache hands out the very same ones), and formatting their instants was most of
#: the cost of the answer. Bounded: emptied when full.
_SLOT_TEXT: dict[Slot, str] = {}
_SLOT_TEXT_LIMIT = 50_000


def _slots_json_text(free: Iterable[Slot]) -> str:
    """The JSON array [SlotOut.model_dump(mode="json") ...] would give, as text, at a fraction of the
    cost: the slot list is the hot path of booking. tests/portal/test_openapi.py checks it against the schema."""
    known = _SLOT_TEXT
    parts = []
    for slot in free:
        part = known.get(slot)
        if part is None:
            if len(known) >= _SLOT_TEXT_LIMIT:
                known.clear()
            part = known[slot] = json.dumps({"start_at": format_instant(slot.start_at),
                                             "end_at": format_instant(slot.end_at)})
        parts.append(part)
    return "[" + ", ".join(parts) + "]"


def _appointment_out(appointment: Appointment, service: BookingService) -> AppointmentOut:
    doctor = appointment.doctor
    return AppointmentOut(
        id=appointment.id,
        doctor=AppointmentDoctor(id=doctor.id, name=doctor.name, specialty=doctor.specialty),
        type=AppointmentTypeRef(id=appointment.appointment_type.id, name=appointment.appointment_type.name,
                                colour=appointment.appointment_type.colour),
        start_at=appointment.start_at, end_at=appointment.end_at, status=appointment.status,
        reason=appointment.reason,
        can_change_until=(service.cancellation_deadline(appointment)
                          if appointment.status is AppointmentStatus.BOOKED else None),
    )


def _appointment_body(appointment: Appointment, service: BookingService) -> dict:
    return _dump(AppointmentResponse(appointment=_appointment_out(appointment, service)))


def _booking_error(error: BookingError, service: BookingService, doctor_id: int | None,
                   start_at: datetime | None, type_id: int | None = None) -> tuple[int, dict]:
    """Status and body for a refused booking; a conflict carries that day's free slots as they are now.

    Called after the rollback: it takes the doctor's id (read before), so nothing expired is reloaded.
    """
    if error.kind == "conflict":
        free = []
        if doctor_id is not None and start_at is not None:
            day = service.local_day(start_at)
            first_bookable, last_bookable = service.bookable_days()
            if first_bookable <= day <= last_bookable:
                free = service.doctor_free_slots(doctor_id, day, day, type_id) or []
        return 409, _dump(ErrorResponse(error=ErrorBody(code=error.code, message=error.message,
                                                        slots=[_slot_out(slot) for slot in free])))
    return 422, _dump(ErrorResponse(error=ErrorBody(code=error.code, message=error.message)))


# --------------------------------------------------------------------------- idempotency


def find_idempotency_record(user_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))


def _replay(record: IdempotencyRecord, fingerprint: str):
    if record.request_fingerprint != fingerprint:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was already used for a different request.")
    return _respond(record.status_code, record.response_body, {REPLAYED_HEADER: "true"})


def _store_result(user_id: int, key: str, fingerprint: str, status: int, body: dict):
    """Add the result to the current transaction; if a concurrent request got there first, answer as it did."""
    db.session.add(IdempotencyRecord(user_id=user_id, key=key, request_fingerprint=fingerprint,
                                     status_code=status, response_body=body))
    try:
        db.session.flush()
    except IntegrityError:
        # Same key, same user, committed (or being committed) by a concurrent request:
        # undo this one whole, booking included, and answer with the first result.
        db.session.rollback()
        record = find_idempotency_record(user_id, key)
        if record is None:
            raise ApiError(409, "idempotency_in_progress",
                           "A request with this Idempotency-Key is still being processed. Retry shortly.") from None
        return _replay(record, fingerprint)
    return None


# --------------------------------------------------------------------------- routes


@bp.route("/csrf-token")
@public
def csrf_token():
    return _respond(200, _dump(CsrfTokenResponse(csrf_token=generate_csrf())))


@bp.route("/openapi.json")
@public
def openapi_document():
    return jsonify(openapi.document(current_app.config.get("SESSION_COOKIE_NAME", "session")))


@bp.route("/patients", methods=["POST"])
@public
@limiter.limit(throttling.REGISTRATIONS_PER_ADDRESS, on_breach=throttling.audit_breach)
@limiter.limit(throttling.REGISTRATIONS_PER_EMAIL, key_func=throttling.email_registering,
               on_breach=throttling.audit_breach)
def register():
    """Ask for an account: the same 202 whether or not the address has one; the email says which
    and carries the link that makes the account (carebook/registration.py)."""
    data: RegisterRequest = _validate(RegisterRequest, _json_body())
    try:
        pending = registration.request_registration(
            db.session, email=data.email, password=data.password, full_name=data.full_name,
            date_of_birth=data.date_of_birth, phone=data.phone, source=ACTOR_SOURCE)
    except accounts.AccountError as error:
        _invalid({error.field or "email": [error.message]}, error.message)
    account_mail.queue_registration_email(db.session, pending)
    body = RegistrationAccepted(status="check_your_email", message=REGISTRATION_ACCEPTED_MESSAGE)
    return _respond(202, _dump(body))


def _contact_out(patient: Patient) -> dict:
    region = current_app.config["CLINIC"].phone_region
    return _dump(ContactOut(email=patient.user.email, phone=patient.phone,
                            phone_display=phones.display(patient.phone, region),
                            contact_preference=patient.contact_preference.value))


@bp.route("/contact")
@allow(Role.PATIENT)
def contact():
    return _respond(200, _contact_out(_patient()))


@bp.route("/contact", methods=["POST"])
@allow(Role.PATIENT)
def change_contact():
    patient = _patient()
    data: ContactRequest = _validate(ContactRequest, _json_body())
    try:
        changed = accounts.update_contact(db.session, patient, phone=data.phone, contact_by=data.contact_preference)
    except accounts.AccountError as error:
        _invalid({error.field or "phone": [error.message]}, error.message)
    if changed:
        audit.record(db.session, _actor(), "patient.updated", "patient", patient.id, fields=changed)
    return _respond(200, _contact_out(patient))


@bp.route("/session", methods=["POST"])
@public
@limiter.limit(throttling.LOGIN_PER_ADDRESS, on_breach=throttling.audit_breach)
@limiter.limit(throttling.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, key_func=throttling.account_and_address,
               deduct_when=throttling.failed_login, on_breach=throttling.audit_breach)
def login():
    """Sign in (password, and the code where the account needs one). Wrong passwords and codes are also
    counted per account whichever the door (portal/sign_in.py), and answered 429 past their limits."""
    data: LoginRequest = _validate(LoginRequest, _json_body())
    try:
        user = sign_in.check_password(data.email, data.password, source=ACTOR_SOURCE)
    except sign_in.TooManyAttempts as refused:
        raise _too_many(refused) from None
    if user is None:
        # Same answer whether or not the email has an account.
        raise ApiError(401, "invalid_credentials", "Email or password is not right.")
    sign_in.finish(user, _second_factor(user, data.code), source=ACTOR_SOURCE)
    body = SessionResponse(user=UserOut(id=user.id, email=user.email, full_name=user.full_name, role=user.role),
                           csrf_token=_fresh_csrf_token())
    return _respond(200, _dump(body))


def _second_factor(user, code: str | None) -> str:
    """How the sign-in is completed: "password" alone, or the second factor the account needs (else 401/403)."""
    if not sign_in.needs_second_factor(user):
        return "password"
    if not user.two_factor_enabled:
        raise ApiError(403, "two_factor_enrolment_required",
                       "Set up two-factor authentication by logging in on the website first.")
    if not code:
        raise ApiError(401, "second_factor_required",
                       "Send the code from your authenticator app (or a recovery code) as `code`.")
    try:
        verified = sign_in.check_code(user, code, source=ACTOR_SOURCE)
    except sign_in.TooManyAttempts as refused:
        raise _too_many(refused) from None
    if verified is None:
        if sign_in.code_already_used(user, code):
            raise ApiError(401, "invalid_second_factor", "That code has already been used: send the next one.")
        raise ApiError(401, "invalid_second_factor", "The code is not right.")
    return verified.method


def _too_many(refused: sign_in.TooManyAttempts) -> ApiError:
    return ApiError(429, "too_many_requests", refused.message, headers=refused.headers)


@bp.route("/session", methods=["DELETE"])
@allow(*Role)
def logout():
    sign_in.sign_out(source=ACTOR_SOURCE)
    return current_app.response_class(status=204)


@bp.route("/doctors")
@allow(Role.PATIENT)
def doctors():
    query: DoctorsQuery = _query(DoctorsQuery)
    # Plain rows of just the columns shown and the ones the slot engine needs.
    statement = (select(Doctor.id, User.full_name.label("name"), Doctor.specialty, Doctor.appointment_minutes,
                        Doctor.buffer_minutes, Doctor.is_active, Doctor.calendar_version)
                 .join(User, Doctor.user_id == User.id).where(Doctor.is_active)
                 .order_by(Doctor.specialty, Doctor.id))
    if query.specialty:
        statement = statement.where(Doctor.specialty == query.specialty)
    shown = db.session.execute(statement).all()
    if query.type_id is not None:
        shown = _with_terms_of_type(shown, _online_type(query.type_id))
    service = booking_service()
    first_day, last_day = service.bookable_days()
    next_free = service.next_free_slots(shown, first_day, last_day, appointment_type_id=query.type_id)
    body = [
        {"id": doctor.id, "name": doctor.name, "specialty": doctor.specialty,
         "appointment_minutes": doctor.appointment_minutes,
         "next_available": format_instant(next_free[doctor.id].start_at) if next_free[doctor.id] else None}
        for doctor in shown
    ]
    return _respond(200, body)


@bp.route("/appointment-types")
@allow(Role.PATIENT)
def appointment_types():
    """The types patients may book online, each with the active doctors who offer it. One query."""
    rows = db.session.execute(
        select(AppointmentType, DoctorAppointmentType.doctor_id, DoctorAppointmentType.duration_minutes,
               Doctor.default_appointment_type_id)
        .join(DoctorAppointmentType, DoctorAppointmentType.appointment_type_id == AppointmentType.id)
        .join(Doctor, Doctor.id == DoctorAppointmentType.doctor_id)
        .where(AppointmentType.is_active, AppointmentType.bookable_online, Doctor.is_active)
        .order_by(AppointmentType.name, AppointmentType.id, DoctorAppointmentType.doctor_id)).all()
    listed: dict[int, AppointmentTypeOut] = {}
    for appointment_type, doctor_id, own_minutes, default_type_id in rows:
        out = listed.get(appointment_type.id)
        if out is None:
            out = listed[appointment_type.id] = AppointmentTypeOut(
                id=appointment_type.id, name=appointment_type.name, description=appointment_type.description,
                duration_minutes=appointment_type.duration_minutes, buffer_minutes=appointment_type.buffer_minutes,
                colour=appointment_type.colour, audience=appointment_type.audience, doctors=[])
        out.doctors.append(TypeOffer(doctor_id=doctor_id, duration_minutes=own_minutes or out.duration_minutes,
                                     is_default=default_type_id == appointment_type.id))
    return _respond(200, _dump(AppointmentTypeList(list(listed.values()))))


def _with_terms_of_type(doctors: list, appointment_type: AppointmentType) -> list:
    """The doctors who offer the type, each with their length for it and its buffer (one query)."""
    own_minutes = dict(db.session.execute(
        select(DoctorAppointmentType.doctor_id, DoctorAppointmentType.duration_minutes)
        .where(DoctorAppointmentType.appointment_type_id == appointment_type.id)).all())
    return [SimpleNamespace(**{**doctor._asdict(),
                               "appointment_minutes": own_minutes[doctor.id] or appointment_type.duration_minutes,
                               "buffer_minutes": appointment_type.buffer_minutes})
            for doctor in doctors if doctor.id in own_minutes]


@bp.route("/doctors/<int:doctor_id>/slots")
@allow(Role.PATIENT)
def doctor_slots(doctor_id: int):
    try:
        query: SlotsQuery = _query(SlotsQuery)
    except ApiError:
        _bookable_doctor(doctor_id)  # an unknown doctor is 404 whatever the query says
        raise
    service = booking_service()
    first_bookable, last_bookable = service.bookable_days()
    first = query.from_ or (min(first_bookable, query.to) if query.to else first_bookable)
    last = query.to or _add_days(first, DEFAULT_SLOT_RANGE_DAYS - 1)
    if first > last or (last - first).days + 1 > MAX_SLOT_RANGE_DAYS:
        _bookable_doctor(doctor_id)
        if first > last:
            _invalid({"to": ["Must not be before from."]})
        _invalid({"to": [f"Ask for at most {MAX_SLOT_RANGE_DAYS} days at a time."]})
    first, last = max(first, first_bookable), min(last, last_bookable)
    if query.type_id is not None:
        _bookable_doctor(doctor_id)
        _online_type(query.type_id)
    # The doctor's row comes with the calendar, in one query (the hot path of booking).
    free = service.doctor_free_slots(doctor_id, first, last, query.type_id)
    if free is None:
        if query.type_id is not None:
            _invalid({"type_id": ["This doctor does not offer that appointment type."]})
        _not_found()
    body = (f'{{"doctor_id": {doctor_id}, "type_id": {json.dumps(query.type_id)}, '
            f'"timezone": {json.dumps(service.timezone.key)}, "slots": {_slots_json_text(free)}}}')
    return current_app.response_class(body, status=200, mimetype="application/json")


@bp.route("/appointments")
@allow(Role.PATIENT)
def appointments():
    patient = _patient()
    rows = db.session.scalars(
        select(Appointment).where(Appointment.patient_id == patient.id).order_by(Appointment.start_at,
                                                                                 Appointment.id)
    ).all()
    now = utcnow()
    upcoming = [a for a in rows if a.status is AppointmentStatus.BOOKED and a.end_at > now]
    past = sorted((a for a in rows if a not in upcoming), key=lambda a: a.start_at, reverse=True)
    service = booking_service()
    return _respond(200, _dump(AppointmentList([_appointment_out(a, service) for a in upcoming + past])))


@bp.route("/appointments", methods=["POST"])
@allow(Role.PATIENT)
def book():
    patient = _patient()
    user_id = current_user.id
    key = _idempotency_key()
    payload = _json_body()
    fingerprint = _fingerprint(payload) if key is not None else ""
    if key is not None:
        record = find_idempotency_record(user_id, key)
        if record is not None:
            return _replay(record, fingerprint)
    data: BookingRequest = _validate(BookingRequest, payload)
    appointment_type = _online_type(data.type_id)
    service = booking_service()
    # Loaded under the booking's lock, in the one statement the service would spend on it anyway.
    doctor = service.lock_doctor(data.doctor_id)
    if doctor is None:
        _invalid({"doctor_id": ["There is no such doctor."]})
    try:
        appointment = service.book(_actor(), doctor=doctor, patient=patient, start_at=data.start_at,
                                   reason=data.reason, appointment_type=appointment_type)
    except BookingError as error:
        db.session.rollback()
        status, body = _booking_error(error, service, data.doctor_id, data.start_at, data.type_id)
    else:
        status, body = 201, _appointment_body(appointment, service)
    if key is not None:
        earlier = _store_result(user_id, key, fingerprint, status, body)
        if earlier is not None:
            return earlier
    return _respond(status, body)  # committed with the booking, or alone after a refusal (the rollback above)


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
@allow(Role.PATIENT)
def cancel(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    data: CancelRequest = _validate(CancelRequest, _json_body())
    service = booking_service()
    try:
        service.cancel(_actor(), appointment, reason=data.reason or PATIENT_CANCEL_REASON)
    except BookingError as error:
        db.session.rollback()
        return _respond(*_booking_error(error, service, None, None))
    return _respond(200, _appointment_body(appointment, service))


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["POST"])
@allow(Role.PATIENT)
def reschedule(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    data: RescheduleRequest = _validate(RescheduleRequest, _json_body())
    appointment_type = _online_type(data.type_id)
    service = booking_service()
    doctor_id, type_id = appointment.doctor_id, data.type_id or appointment.appointment_type_id
    try:
        service.reschedule(_actor(), appointment, data.start_at, appointment_type=appointment_type)
    except BookingError as error:
        db.session.rollback()
        return _respond(*_booking_error(error, service, doctor_id, data.start_at, type_id))
    return _respond(200, _appointment_body(appointment, service))
