"""schemathesis against /api/openapi.json, as a signed-in patient, on the WSGI app itself (no network).

Every operation of the document gets a bounded number of generated requests, valid
and invalid, with a fixed seed. Each answer must not be a 500 and must conform to
the document: a documented status code, content type and headers, and a body that
matches the schema of that status.
"""
from __future__ import annotations

import itertools
import os
from collections import Counter
from datetime import time

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable

from carebook.extensions import db
from tests.factories import make_doctor, make_patient

#: Per operation and per mode (valid and invalid requests); FUZZ_EXAMPLES=500 for a longer hunt.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "25"))
#: Public operations run without the patient's cookie: signing in or registering would replace it.
PUBLIC = {("POST", "/api/patients"), ("POST", "/api/session"), ("GET", "/api/csrf-token"),
          ("GET", "/api/openapi.json")}
#: Signing out would end the session the rest of the run needs; tests/portal/test_api.py covers it.
SKIPPED = {("DELETE", "/api/session")}
#: What a "phone" string looks like (the schema's pattern cannot say which digits make a real number):
#: real numbers, written as people write them, in and out of the clinic's country.
schemathesis.openapi.format("phone", st.sampled_from([
    "07400 123456", "+44 7400 123456", "020 7946 0018", "(0161) 496 0000", "+33 6 12 34 56 78",
    "+1 201-555-0123", "07700 900123"]))
CONFIG = SchemathesisConfig.from_dict({
    "seed": 20260601,
    "checks": {
        # A well-formed request may still break a booking or account rule (a time in the past, a
        # common password): the document answers those with 422.
        # Everything else the check expects of valid data stays required.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]},
    },
})


@pytest.fixture
def signed_in_patient(app):
    make_doctor(name="Dr Ada Lovelace")
    make_doctor(name="Dr Alan Turing", specialty="Dermatology", weekly={1: [(time(9), time(12))]})
    patient = make_patient(name="Fuzz Patient")
    make_patient(name="Other Patient")
    db.session.commit()
    client = app.test_client()
    assert client.login(patient.user.email).status_code == 302
    return client


def test_every_api_operation_survives_generated_requests(app, signed_in_patient):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=CONFIG)
    token = signed_in_patient.csrf_token()
    cookie = app.config["SESSION_COOKIE_NAME"]
    patient_cookie = signed_in_patient.get_cookie(cookie).value
    # A Browser runs each request in its own context, as a server would (a plain werkzeug client
    # would share this test's app context, and Flask-Login's cached user, between requests).
    transport = app.test_client()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    answers: Counter = Counter()
    for operation, mode in itertools.product(operations, GenerationMode):
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED:
            continue

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # The cookie is passed explicitly on every call: a case may carry a generated cookie of
            # the same name, and the transport removes such cookies from a client after the call.
            if key in PUBLIC:
                client = app.test_client()
                headers, cookies = {"X-CSRFToken": client.csrf_token()}, {cookie: client.get_cookie(cookie).value}
            else:
                headers, cookies = {"X-CSRFToken": token}, {cookie: patient_cookie}
            if case.meta is not None and case.meta.is_negative_at(ParameterLocation.COOKIE):
                cookies = {}  # the case is about a missing or wrong session cookie: send it as generated
            if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
                headers = {}  # the case is about a wrong X-CSRFToken header: send it as generated, not a good one
            response = case.call_and_validate(app=app, session=transport, headers=headers, cookies=cookies)
            answers[(mode.value, response.status_code)] += 1

        try:
            check()
        except Unsatisfiable:
            # Nothing to make invalid: the operation takes no parameters and no body.
            assert mode is GenerationMode.NEGATIVE, key
    # The run reached the application's logic, not only its front door (202: a registration was
    # accepted, its password hashed and its email queued).
    assert answers[("positive", 200)] and answers[("positive", 202)], answers
    assert answers[("negative", 422)], answers
