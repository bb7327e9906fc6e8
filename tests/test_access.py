"""Every route, with every role and anonymously: allowed where expected, refused elsewhere.

EXPECTED lists the audience of every endpoint by hand, so a route added without
an entry here fails the first test, and a route whose declaration drifts from
this table fails the second. The third makes real requests.
"""
from __future__ import annotations

import re

import pytest

from carebook import access
from carebook.extensions import db
from models import Role
from tests.factories import make_doctor, make_patient, make_staff

ANON, PATIENT, DOCTOR, STAFF = access.ANONYMOUS, Role.PATIENT, Role.DOCTOR, Role.STAFF
EVERYONE = {ANON, PATIENT, DOCTOR, STAFF}
SIGNED_IN = {PATIENT, DOCTOR, STAFF}

EXPECTED = {
    "static": EVERYONE,
    "health.healthz": EVERYONE,
    "health.readyz": EVERYONE,
    "auth.index": EVERYONE,
    "auth.login": EVERYONE,
    "auth.register": EVERYONE,
    "auth.confirm_registration": EVERYONE,
    "auth.logout": SIGNED_IN,
    "auth.second_factor": EVERYONE,
    "auth.enrol": EVERYONE,
    "auth.forgot_password": EVERYONE,
    "auth.reset_password": EVERYONE,
    "auth.accept_invitation": EVERYONE,
    "account.overview": SIGNED_IN,
    "account.change_password": SIGNED_IN,
    "account.change_email": SIGNED_IN,
    "account.enable_two_factor": SIGNED_IN,
    "account.disable_two_factor": SIGNED_IN,
    "account.renew_recovery_codes": SIGNED_IN,
    "account.data": {PATIENT},
    "account.data_json": {PATIENT},
    "account.change_contact": {PATIENT},
    "patient.doctors": {PATIENT},
    "patient.doctor": {PATIENT},
    "patient.book": {PATIENT},
    "patient.appointments": {PATIENT},
    "patient.appointment": {PATIENT},
    "patient.appointment_calendar": {PATIENT},
    "patient.cancel": {PATIENT},
    "patient.reschedule": {PATIENT},
    "patient_waitlist.join": {PATIENT},
    "patient_waitlist.earlier": {PATIENT},
    "patient_waitlist.leave": {PATIENT},
    "patient_waitlist.offer": {PATIENT},
    "patient_waitlist.short_offer": {PATIENT},
    "patient_waitlist.claim": {PATIENT},
    "doctor.schedule": {DOCTOR, STAFF},
    "doctor.week": {DOCTOR, STAFF},
    "doctor.appointment": {DOCTOR, STAFF},
    "doctor.outcome": {DOCTOR, STAFF},
    "doctor.hours": {DOCTOR, STAFF},
    "doctor.appointment_length": {DOCTOR, STAFF},
    "doctor.remove_hours": {DOCTOR, STAFF},
    "doctor.one_offs": {DOCTOR, STAFF},
    "doctor.remove_one_off": {DOCTOR, STAFF},
    "doctor.time_off": {DOCTOR, STAFF},
    "doctor.remove_time_off": {DOCTOR, STAFF},
    "doctor.confirm_change": {DOCTOR, STAFF},
    "doctor.appointment_types": {DOCTOR, STAFF},
    "doctor.own_length": {DOCTOR, STAFF},
    "api.csrf_token": EVERYONE,
    "api.appointment_types": {PATIENT},
    "api.openapi_document": EVERYONE,
    "api.register": EVERYONE,
    "api.login": EVERYONE,
    "api.logout": SIGNED_IN,
    "api.doctors": {PATIENT},
    "api.doctor_slots": {PATIENT},
    "api.appointments": {PATIENT},
    "api.book": {PATIENT},
    "api.cancel": {PATIENT},
    "api.reschedule": {PATIENT},
    "api.contact": {PATIENT},
    "api.change_contact": {PATIENT},
}
#: Walking these would end the session the rest of the walk needs; test_auth and test_api cover them.
SESSION_ENDING = {"auth.logout", "api.logout"}
#: Flask-Admin's views are staff-only as a rule, checked route by route below.
ADMIN_PREFIXES = ("admin.",)


def expected_for(endpoint: str) -> set:
    if endpoint in EXPECTED:
        return EXPECTED[endpoint]
    if endpoint.endswith(".static"):
        return EVERYONE
    if endpoint.startswith(ADMIN_PREFIXES) or endpoint.split(".")[0] in _admin_view_endpoints():
        return {STAFF}
    raise KeyError(endpoint)


def _admin_view_endpoints() -> set[str]:
    from flask import current_app

    return {view.endpoint for admin in current_app.extensions.get("admin", []) for view in admin._views}


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_an_expected_audience(app):
    missing = [rule.endpoint for rule, _ in routes(app) if not _known(rule.endpoint)]
    assert missing == [], "add these endpoints to EXPECTED in tests/test_access.py"


def _known(endpoint: str) -> bool:
    try:
        expected_for(endpoint)
    except KeyError:
        return False
    return True


def test_every_route_declares_the_expected_audience(app):
    for rule, _ in routes(app):
        assert set(access.allowed_roles(app, rule.endpoint) or ()) == expected_for(rule.endpoint), rule.endpoint


def _url(rule) -> str:
    # Any id will do: access is decided before the object is looked up.
    path = re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)
    return re.sub(r"<path:\w+>", "css/missing.css", path)


@pytest.fixture
def users(app):
    users = {PATIENT: make_patient().user, DOCTOR: make_doctor().user, STAFF: make_staff()}
    db.session.commit()
    return users


def test_every_route_allows_and_refuses_the_right_people(app, users):
    clients = {ANON: app.test_client()}
    for role, user in users.items():
        clients[role] = app.test_client()
        assert clients[role].login(user.email).status_code == 302
    failures = []
    for rule, method in routes(app):
        if rule.endpoint in SESSION_ENDING:
            continue
        allowed = expected_for(rule.endpoint)
        for who, client in clients.items():
            headers = {"X-CSRFToken": client.csrf_token()}
            response = client.open(_url(rule), method=method, headers=headers, json={})
            refused = response.status_code in (401, 403) or (
                response.status_code == 302 and response.headers["Location"].startswith("/login?next="))
            if refused == (who in allowed):
                failures.append(f"{method} {rule.rule} as {getattr(who, 'value', who)}: {response.status_code}")
    assert failures == []


def test_logout_refuses_anonymous_users(app):
    response = app.test_client().submit("/logout")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
