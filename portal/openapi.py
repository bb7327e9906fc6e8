"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Schemas are generated from the pydantic models the views validate and serialise
with (:mod:`portal.api_schemas`), so they cannot drift from the code. The table
of operations below is checked against the blueprint's real url rules and access
declarations by tests/portal/test_openapi.py.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from portal import api_schemas as s

REF = "#/components/schemas/{model}"
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
PATIENT = ("patient",)
ANY_ROLE = ("patient", "doctor", "staff")


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    operation_id: str
    summary: str
    tag: str
    #: Roles that may call it; None for a public operation.
    roles: tuple[str, ...] | None
    #: status -> (description, response model or None for an empty body)
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    idempotent: bool = False
    description: str = ""


_CONFLICT = "The time is not free (any more): `error.slots` lists the doctor's free slots that day, as they are now."
_RULE = ("The request breaks a booking rule (e.g. cancellation_too_late, outside_booking_window, in_the_past; "
         "for a `type_id`: type_not_offered, type_not_bookable_online, new_patients_only, returning_patients_only).")

OPERATIONS: tuple[Operation, ...] = (
    Operation("/api/csrf-token", "get", "getCsrfToken", "Get a CSRF token for this session", "session", None,
              {200: ("The token to send as X-CSRFToken on every POST and DELETE.", s.CsrfTokenResponse)}),
    Operation("/api/openapi.json", "get", "getOpenApi", "This document", "meta", None,
              {200: ("The OpenAPI 3.1 document.", None)}),
    Operation("/api/patients", "post", "registerPatient", "Ask for a patient account (confirmed by email)",
              "session", None,
              {202: ("Accepted: the same answer whether or not the address has an account. An email follows: "
                     "a link that makes the account (on the website), or, for an address with an account, "
                     "how to sign in or choose a new password.", s.RegistrationAccepted),
               429: ("too_many_requests: too many registrations from this address, or for this email "
                     "address; wait and retry.", s.ErrorResponse)},
              body=s.RegisterRequest,
              description="Fields that are wrong (a weak password, a birth date in the future, a malformed "
                          "address) are named in `error.fields` of the 422 answer. Whether the address is "
                          "registered is never said here. Nobody is signed in: sign in with POST /api/session "
                          "once the emailed link has been followed."),
    Operation("/api/session", "post", "login", "Sign in", "session", None,
              {200: ("Signed in. Use the new csrf_token from now on.", s.SessionResponse),
               401: ("invalid_credentials: the same answer whether or not the email is registered; "
                     "second_factor_required: the account uses two-factor authentication, send `code`; "
                     "invalid_second_factor: the code is not right (each code is good once).",
                     s.ErrorResponse),
               403: ("two_factor_enrolment_required: a staff or doctor account that has not set up two-factor "
                     "authentication yet (done at the first login on the website).", s.ErrorResponse),
               429: ("too_many_requests: too many attempts from this address, too many failures for this "
                     "account from this address, too many wrong passwords for this account from clients it "
                     "has not signed in on (a client keeps the `known_device` cookie of an earlier sign-in), "
                     "or too many wrong codes for it; wait the `Retry-After` seconds and retry.",
                     s.ErrorResponse)},
              body=s.LoginRequest),
    Operation("/api/session", "delete", "logout", "Sign out", "session", ANY_ROLE,
              {204: ("Signed out; the session is revoked on the server, so a copy of the cookie no longer works.",
                     None)}),
    Operation("/api/contact", "get", "getContact", "My phone number and how the clinic reaches me", "account",
              PATIENT, {200: ("The phone number (E.164 and as people write it), email and channel choice.",
                              s.ContactOut)}),
    Operation("/api/contact", "post", "changeContact", "Change my phone number or how the clinic reaches me",
              "account", PATIENT,
              {200: ("Changed (or already so).", s.ContactOut),
               422: ("invalid_request: `error.fields.phone` for a number that is not valid, "
                     "`error.fields.contact_preference` for email or both without an email address.",
                     s.ErrorResponse)},
              body=s.ContactRequest, body_required=False),
    Operation("/api/doctors", "get", "listDoctors", "Active doctors with their next free time", "booking", PATIENT,
              {200: ("Active doctors, by specialty.", s.DoctorList)}, query=s.DoctorsQuery),
    Operation("/api/appointment-types", "get", "listAppointmentTypes", "What can be booked online", "booking",
              PATIENT,
              {200: ("The active types patients may book online, by name, each with the doctors who offer it "
                     "and their length for it.", s.AppointmentTypeList)}),
    Operation("/api/doctors/{doctor_id}/slots", "get", "listSlots", "A doctor's free slots", "booking", PATIENT,
              {200: ("Free slots in the range, clamped to the days that can be booked now.", s.SlotList)},
              query=s.SlotsQuery, path_params={"doctor_id": "An active doctor."},
              description="Slots of `type_id` fit its length (the doctor's own, if set) and its buffer next to "
                          "appointments of any length; without it, the doctor's default type's. "
                          "422 if from is after to or the range is longer than 62 days, a date does not parse, "
                          "or the doctor does not offer `type_id` online; "
                          "404 for an unknown or inactive doctor."),
    Operation("/api/appointments", "get", "listAppointments", "My appointments", "appointments", PATIENT,
              {200: ("Upcoming appointments soonest first, then past and cancelled ones latest first.",
                     s.AppointmentList)}),
    Operation("/api/appointments", "post", "bookAppointment", "Book an appointment", "appointments", PATIENT,
              {201: ("Booked.", s.AppointmentResponse),
               409: (_CONFLICT + " Also idempotency_in_progress when a request with the same "
                     "Idempotency-Key is still running.", s.ErrorResponse),
               422: ("Invalid body (`error.fields`), a booking rule (" + _RULE + "), an invalid Idempotency-Key, "
                     "or idempotency_key_reused: the key was used before for a different request.",
                     s.ErrorResponse)},
              body=s.BookingRequest, idempotent=True,
              description="With an Idempotency-Key, the first answer (201, 409 or 422 from the booking rules) is "
                          "stored; a retry with the same key and body gets it again, with "
                          "`Idempotent-Replayed: true`, and books nothing."),
    Operation("/api/appointments/{appointment_id}/cancel", "post", "cancelAppointment", "Cancel my appointment",
              "appointments", PATIENT,
              {200: ("Cancelled.", s.AppointmentResponse),
               422: ("Invalid body, or " + _RULE, s.ErrorResponse)},
              body=s.CancelRequest, body_required=False,
              path_params={"appointment_id": "One of the signed-in patient's appointments."}),
    Operation("/api/appointments/{appointment_id}/reschedule", "post", "rescheduleAppointment",
              "Move my appointment to another free time of the same doctor", "appointments", PATIENT,
              {200: ("Moved.", s.AppointmentResponse),
               409: (_CONFLICT, s.ErrorResponse),
               422: ("Invalid body, or " + _RULE, s.ErrorResponse)},
              body=s.RescheduleRequest,
              path_params={"appointment_id": "One of the signed-in patient's appointments."}),
)


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _json_content(model: type[BaseModel] | None) -> dict:
    schema = _ref(model) if model is not None else {"type": "object"}
    return {"application/json": {"schema": schema}}


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF)
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k not in {"title", "default"}}
        # Optional query values are simply left out, never sent as null.
        if "anyOf" in prop:
            prop = {**next(p for p in prop.pop("anyOf") if p.get("type") != "null"), **prop}
        description = prop.pop("description", None)
        parameter = {"name": name, "in": "query", "required": name in schema.get("required", []),
                     "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _operation(op: Operation) -> dict:
    parameters: list[dict] = [
        {"name": name, "in": "path", "required": True, "description": text,
         "schema": {"type": "integer", "minimum": 1}}
        for name, text in op.path_params.items()
    ]
    if op.query is not None:
        parameters.extend(_query_parameters(op.query))
    unsafe = op.method in UNSAFE_METHODS
    if unsafe:
        parameters.append({"$ref": "#/components/parameters/CsrfToken"})
    if op.idempotent:
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})

    responses: dict[str, Any] = {}
    for status, (text, model) in op.responses.items():
        response: dict[str, Any] = {"description": text}
        if model is not None:
            response["content"] = _json_content(model)
        elif status != 204:
            response["content"] = _json_content(None)
        if op.idempotent and status in (201, 409, 422):
            response["headers"] = {"Idempotent-Replayed": {"$ref": "#/components/headers/IdempotentReplayed"}}
        responses[str(status)] = response

    def error(status: int, text: str) -> None:
        responses.setdefault(str(status), {"description": text, "content": _json_content(s.ErrorResponse)})

    if unsafe:
        error(400, "csrf_failed: the X-CSRFToken header is missing or wrong; or invalid_request: "
                   "the body is not JSON.")
    if op.body is not None:
        error(413, "too_large: the body is over 64 KiB.")
    if op.body is not None or op.query is not None:
        error(422, "invalid_request: the input is not valid; `error.fields` says what is wrong with which field.")
    if op.roles is not None:
        error(401, "unauthenticated: not signed in.")
        if set(op.roles) != set(ANY_ROLE):
            error(403, "forbidden: signed in, but this operation is not for your role.")
    if op.path_params:
        error(404, "not_found: no such resource (or not yours).")

    operation: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "x-roles": list(op.roles) if op.roles is not None else ["anonymous", *ANY_ROLE],
        "responses": dict(sorted(responses.items())),
    }
    if op.description:
        operation["description"] = op.description
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {"required": op.body_required, "content": _json_content(op.body)}
    if op.roles is None:
        operation["security"] = []
    return operation


def _component_schemas() -> dict[str, Any]:
    pairs = [(model, "validation") for model in s.REQUEST_MODELS]
    pairs += [(model, "serialization") for model in s.RESPONSE_MODELS]
    _, definitions = models_json_schema(pairs, ref_template=REF)
    return dict(sorted(definitions["$defs"].items()))


@lru_cache(maxsize=8)
def _document(cookie_name: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Carebook clinic API",
            "version": "1.0.0",
            "description": (
                "Book, move and cancel appointments at the clinic. Sign in with POST /api/session; the session "
                "lives in a cookie. Every POST and DELETE must carry the X-CSRFToken header (from GET "
                "/api/csrf-token or from signing in). Times are ISO 8601 instants in UTC; query dates are days "
                "in the clinic's time zone. Every error has the shape {\"error\": {\"code\", \"message\"}}, "
                "with `fields` for invalid input and `slots` for booking conflicts."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "session"}, {"name": "account"}, {"name": "booking"}, {"name": "appointments"},
                 {"name": "meta"}],
        "security": [{"cookieAuth": []}],
        "paths": paths,
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": cookie_name,
                               "description": "The session cookie set by POST /api/session."},
            },
            "parameters": {
                "CsrfToken": {
                    "name": "X-CSRFToken", "in": "header", "required": True,
                    "description": "The token from GET /api/csrf-token (or from signing in), for this session.",
                    "schema": {"type": "string", "minLength": 1},
                },
                "IdempotencyKey": {
                    "name": "Idempotency-Key", "in": "header", "required": False,
                    "description": "Any unique string (e.g. a UUID) to make retries safe: the first answer "
                                   "is stored and replayed for a retry with the same key and body.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
                },
            },
            "headers": {
                "IdempotentReplayed": {
                    "description": "\"true\" when this answer is the stored result of an earlier request "
                                   "with the same Idempotency-Key.",
                    "schema": {"type": "string", "enum": ["true"]},
                },
            },
        },
    }


def document(cookie_name: str = "session") -> dict[str, Any]:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    return deepcopy(_document(cookie_name))
