"""Every console route: staff get in; patients and doctors are refused (and it is logged); visitors must log in."""
from __future__ import annotations

import logging
import re

import pytest

from carebook.extensions import db
from tests.admin.conftest import TUESDAY, book, local
from tests.factories import make_doctor, make_patient, make_staff


def admin_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and not rule.endpoint.endswith(".static"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


@pytest.fixture
def world(app):
    """One of everything, so routes with ids find a real record."""
    doctor = make_doctor()
    patient = make_patient()
    staff = make_staff()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    return {"doctor": doctor, "patient": patient, "staff": staff, "appointment": appointment}


def url_for_rule(rule, world) -> str:
    ids = {"doctor_id": world["doctor"].id, "patient_id": world["patient"].id,
           "appointment_id": world["appointment"].id, "export_type": "csv",
           "type_id": world["doctor"].default_appointment_type_id}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(ids[match.group(1)]), rule.rule)


def refused(response) -> bool:
    return response.status_code in (401, 403) or (
        response.status_code == 302 and response.headers["Location"].startswith("/login"))


def test_the_console_has_the_expected_pages(app):
    endpoints = {rule.endpoint for rule, _ in admin_routes(app)}
    assert {"admin.index", "schedule.index", "appointments.index_view", "appointments.book",
            "appointments.manage", "appointments.reschedule", "appointments.cancel", "appointments.outcome",
            "appointments.export_csv", "patients.index_view", "patients.history", "patients.set_login",
            "doctors.index_view", "doctors.profile", "doctors.deactivate", "doctors.reactivate",
            "audit.index_view"} <= endpoints


def test_staff_may_use_every_console_route(app, client, world):
    client.login(world["staff"].email)
    failures = []
    for rule, method in admin_routes(app):
        url = url_for_rule(rule, world)
        response = client.get(url) if method == "GET" else client.submit(url, {})
        if refused(response) or response.status_code >= 500:
            failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []


@pytest.mark.parametrize("who", ["patient", "doctor"])
def test_patients_and_doctors_are_refused_every_console_route(app, client, world, who):
    client.login(world[who].user.email)
    failures = []
    for rule, method in admin_routes(app):
        url = url_for_rule(rule, world)
        response = client.get(url) if method == "GET" else client.submit(url, {})
        if response.status_code != 403:
            failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []


def test_visitors_are_sent_to_log_in_from_every_console_route(app, client, world):
    failures = []
    for rule, method in admin_routes(app):
        url = url_for_rule(rule, world)
        response = client.get(url) if method == "GET" else client.submit(url, {})
        if not (response.status_code == 302 and response.headers["Location"].startswith("/login")):
            failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []


def test_a_refused_patient_is_logged(app, client, world, caplog):
    # Alembic's fileConfig() (run when a test database is migrated) disables loggers that
    # already exist, such as the app's from an earlier test; switch it back on.
    app.logger.disabled = False
    client.login(world["patient"].user.email)
    with caplog.at_level(logging.WARNING):
        assert client.get("/admin/").status_code == 403
    assert any("refused" in record.getMessage() for record in caplog.records)


def test_the_console_refuses_by_itself_even_without_the_blueprint_check(app, client, world):
    """Flask-Admin's own hook (StaffOnlyMixin) also closes every view."""
    app.before_request_funcs[None] = [f for f in app.before_request_funcs[None]
                                      if f.__name__ != "enforce_declared_access"]
    client.login(world["doctor"].user.email)
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/appointments/").status_code == 403
    assert client.get("/admin/schedule/").status_code == 403
