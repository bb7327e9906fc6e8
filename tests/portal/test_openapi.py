"""The OpenAPI document: valid OpenAPI 3.1, in step with the real routes, and true of real answers."""
from __future__ import annotations

import re
from datetime import date

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from carebook.access import ANONYMOUS, allowed_roles
from portal import api_schemas
from portal.openapi import REF, document
from tests.factories import make_patient
from tests.portal.test_api import (  # noqa: F401  (fixtures)
    TUESDAY,
    WEDNESDAY,
    book,
    book_directly,
    doctor,
    iso,
    log_in,
    patient,
    signed_in,
    utc,
)

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def doc(app) -> dict:
    return document(app.config.get("SESSION_COOKIE_NAME", "session"))


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def api_rules(app):
    """(OpenAPI path, method, endpoint) for every url rule of the api blueprint."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield path, method.lower(), rule.endpoint


def endpoint_of(app, path: str, method: str) -> str:
    return next(endpoint for p, m, endpoint in api_rules(app) if (p, m) == (path, method))


def assert_documented(doc: dict, response, path: str, method: str) -> None:
    """The response's status is documented for the operation, and its body fits the documented schema."""
    responses = doc["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered {status}, which is not documented"
    content = responses[status].get("content")
    if content is None:
        assert response.data == b""
        return
    schema = content["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": doc["components"]},
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [error.message for error in validator.iter_errors(response.get_json())]
    assert not errors, f"{method.upper()} {path} {status}: {errors}"


# --------------------------------------------------------------------------- the document itself


def test_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1")
    validate_openapi(doc)


def test_document_is_served_publicly_at_openapi_json(client, doc):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    assert response.get_json() == doc


def test_documented_operations_are_exactly_the_api_blueprints_routes(app, doc):
    routes = {(path, method) for path, method, _ in api_rules(app)}
    documented = {(path, method) for path, method, _ in operations(doc)}

    assert documented == routes


def test_documented_audience_matches_each_routes_access_declaration(app, doc):
    for path, method, operation in operations(doc):
        declared = allowed_roles(app, endpoint_of(app, path, method))
        assert set(operation["x-roles"]) == {getattr(role, "value", role) for role in declared}, (path, method)
        public = ANONYMOUS in declared
        assert (operation.get("security") == []) is public, (path, method)
        if not public:
            assert "401" in operation["responses"], (path, method)


def test_every_path_placeholder_is_a_documented_integer_parameter(doc):
    for path, method, operation in operations(doc):
        placeholders = set(re.findall(r"{([^}]+)}", path))
        parameters = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "path"}
        assert set(parameters) == placeholders, (path, method)
        assert all(p["required"] and p["schema"]["type"] == "integer" for p in parameters.values())
        if placeholders:
            assert "404" in operation["responses"]


def test_every_state_changing_operation_requires_the_csrf_header(doc):
    for path, method, operation in operations(doc):
        refs = {p.get("$ref") for p in operation.get("parameters", [])}
        if method in {"post", "put", "patch", "delete"}:
            assert "#/components/parameters/CsrfToken" in refs, (path, method)
            assert "400" in operation["responses"], (path, method)
    assert doc["components"]["parameters"]["CsrfToken"]["name"] == "X-CSRFToken"


def test_booking_documents_the_idempotency_key_header(doc):
    operation = doc["paths"]["/api/appointments"]["post"]

    assert {"$ref": "#/components/parameters/IdempotencyKey"} in operation["parameters"]
    assert doc["components"]["parameters"]["IdempotencyKey"]["name"] == "Idempotency-Key"
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]


def test_session_cookie_is_the_security_scheme(app, doc):
    scheme = doc["components"]["securitySchemes"]["cookieAuth"]

    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "cookie", app.config["SESSION_COOKIE_NAME"])
    assert doc["security"] == [{"cookieAuth": []}]


@pytest.mark.parametrize("model", api_schemas.REQUEST_MODELS, ids=lambda m: m.__name__)
def test_request_schemas_are_the_validation_models_own(doc, model):
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    schema.pop("$defs", None)

    assert doc["components"]["schemas"][model.__name__] == schema


@pytest.mark.parametrize("model", api_schemas.RESPONSE_MODELS, ids=lambda m: m.__name__)
def test_response_schemas_are_the_serialisation_models_own(doc, model):
    schema = model.model_json_schema(ref_template=REF, mode="serialization")
    schema.pop("$defs", None)

    assert doc["components"]["schemas"][model.__name__] == schema


def test_error_responses_share_the_error_envelope(doc):
    for path, method, operation in operations(doc):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorResponse"}, (path, method, status)


# --------------------------------------------------------------------------- real answers fit the document


def test_session_answers_match_the_document(client, patient, doc):
    assert_documented(doc, client.get("/api/csrf-token"), "/api/csrf-token", "get")
    assert_documented(doc, client.post("/api/session", json={}), "/api/session", "post")  # no CSRF: 400
    assert_documented(doc, client.api("POST", "/api/session", json={"email": 5}), "/api/session", "post")
    assert_documented(doc, log_in(client, "pat@example.test", "wrong password"), "/api/session", "post")
    assert_documented(doc, client.api("DELETE", "/api/session"), "/api/session", "delete")  # 401
    assert_documented(doc, log_in(client, "pat@example.test"), "/api/session", "post")
    assert_documented(doc, client.api("DELETE", "/api/session"), "/api/session", "delete")  # 204


def test_registration_answers_match_the_document(client, patient, doc):
    new = {"full_name": "Nia Newcomer", "email": "nia@example.com", "date_of_birth": "1991-02-03",
           "phone": "07700 900123", "password": "a long and unusual passphrase"}
    assert_documented(doc, client.api("POST", "/api/patients", json={**new, "email": "pat@example.test"}),
                      "/api/patients", "post")
    assert_documented(doc, client.api("POST", "/api/patients", json=new), "/api/patients", "post")


def test_doctor_and_slot_answers_match_the_document(client, signed_in, doctor, doc):
    slots = "/api/doctors/{doctor_id}/slots"
    assert_documented(doc, signed_in.get("/api/doctors"), "/api/doctors", "get")
    assert_documented(doc, signed_in.get("/api/doctors?specialty=" + "x" * 81), "/api/doctors", "get")
    assert_documented(doc, signed_in.get(f"/api/doctors/{doctor.id}/slots"), slots, "get")
    assert_documented(doc, signed_in.get(f"/api/doctors/{doctor.id}/slots?from=2026-06-09&to=2026-06-01"),
                      slots, "get")
    assert_documented(doc, signed_in.get("/api/doctors/9999/slots"), slots, "get")
    signed_in.api("DELETE", "/api/session")
    assert_documented(doc, signed_in.get("/api/doctors"), "/api/doctors", "get")  # 401


def test_wrong_role_answer_matches_the_document(client, doctor, doc):
    log_in(client, doctor.user.email)

    assert_documented(doc, client.get("/api/appointments"), "/api/appointments", "get")  # 403


def test_booking_answers_match_the_document(signed_in, patient, doctor, session, doc):
    book_directly(doctor, make_patient(name="Other"), utc(WEDNESDAY, 13))
    key = {"Idempotency-Key": "doc-check"}
    for response in [
        book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key),  # 201
        book(signed_in, doctor.id, utc(TUESDAY, 8), headers=key),  # 201, replayed
        book(signed_in, doctor.id, utc(TUESDAY, 9), headers=key),  # 422 key reused
        book(signed_in, doctor.id, utc(WEDNESDAY, 13)),  # 409 with slots
        book(signed_in, doctor.id, "2026-06-02T08:00:00"),  # 422 fields
        book(signed_in, doctor.id, utc(date(2026, 12, 1), 9)),  # 422 rule
        signed_in.post("/api/appointments", data="x", headers={"X-CSRFToken": signed_in.csrf_token()}),  # 400
    ]:
        assert_documented(doc, response, "/api/appointments", "post")
    assert_documented(doc, signed_in.get("/api/appointments"), "/api/appointments", "get")


def test_cancel_and_reschedule_answers_match_the_document(signed_in, patient, doctor, doc):
    cancel = "/api/appointments/{appointment_id}/cancel"
    reschedule = "/api/appointments/{appointment_id}/reschedule"
    soon = book_directly(doctor, patient, utc(date(2026, 6, 1), 12))
    later = book_directly(doctor, patient, utc(TUESDAY, 8))
    book_directly(doctor, make_patient(name="Other"), utc(WEDNESDAY, 13))

    assert_documented(doc, signed_in.api("POST", f"/api/appointments/{soon.id}/cancel"), cancel, "post")  # 422
    assert_documented(doc, signed_in.api("POST", "/api/appointments/9999/cancel"), cancel, "post")  # 404
    assert_documented(doc, signed_in.api("POST", f"/api/appointments/{later.id}/reschedule",
                                         json={"start_at": iso(utc(WEDNESDAY, 13))}), reschedule, "post")  # 409
    assert_documented(doc, signed_in.api("POST", f"/api/appointments/{later.id}/reschedule",
                                         json={"start_at": iso(utc(WEDNESDAY, 14))}), reschedule, "post")
    assert_documented(doc, signed_in.api("POST", f"/api/appointments/{later.id}/cancel", json={"reason": "ok"}),
                      cancel, "post")
