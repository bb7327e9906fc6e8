"""Authentication events and refused requests go to the audit log; no secret goes to any log."""
from __future__ import annotations

import logging
import re

from sqlalchemy import select

from carebook.extensions import db
from models import AuditEntry
from tests.factories import PASSWORD, current_code, make_doctor, make_patient, make_staff


def _entries(action: str | None = None) -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def test_a_successful_login_is_recorded_with_the_address(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    [entry] = _entries("auth.login_succeeded")
    assert entry.entity_id == patient.user.id and entry.actor_id == patient.user.id
    assert entry.details["address"] == "127.0.0.1" and entry.details["method"] == "password"
    assert entry.source == "portal"


def test_failed_logins_are_recorded_for_known_and_unknown_addresses(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email, "not the password")
    client.login("nobody@example.test", "not the password")
    known, unknown = _entries("auth.login_failed")
    assert known.entity_id == patient.user.id and known.actor_id is None
    assert unknown.entity_id is None


def test_a_throttled_login_is_recorded(app, client):
    patient = make_patient()
    db.session.commit()
    for _ in range(6):
        client.login(patient.user.email, "not the password")
    [entry] = _entries("auth.throttled")
    assert entry.entity_id == patient.user.id and "5 per 15 minute" in entry.details["limit"]


def test_two_factor_steps_and_logout_are_recorded(app, client):
    doctor = make_doctor()
    db.session.commit()
    client.submit("/login", {"email": doctor.user.email, "password": PASSWORD})
    client.submit("/login/code", {"code": "000000"})
    client.submit("/login/code", {"code": current_code()})
    client.submit("/logout")
    actions = [entry.action for entry in _entries() if entry.entity_type == "user"]
    assert actions[-5:] == ["auth.password_accepted", "auth.second_factor_failed", "auth.second_factor_succeeded",
                            "auth.login_succeeded", "auth.logout"]


def test_api_logins_and_logouts_are_recorded_as_api(app, client):
    patient = make_patient()
    db.session.commit()
    client.api("POST", "/api/session", json={"email": patient.user.email, "password": "wrong password"})
    client.api("POST", "/api/session", json={"email": patient.user.email, "password": PASSWORD})
    client.api("DELETE", "/api/session")
    rows = [(e.action, e.source) for e in _entries() if e.action.startswith("auth.")]
    assert rows == [("auth.login_failed", "api"), ("auth.login_succeeded", "api"), ("auth.logout", "api")]


def test_a_refused_route_is_recorded(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    assert client.get("/doctor/").status_code == 403
    assert client.get("/admin/appointments/").status_code == 403
    assert client.api("GET", "/api/doctors").status_code == 200
    refused = _entries("access.refused")
    assert [(e.details["endpoint"], e.source, e.actor_id) for e in refused] == [
        ("doctor.schedule", "portal", patient.user.id), ("appointments.index_view", "admin", patient.user.id)]
    assert all(e.details["reason"] == "role_not_allowed" and e.details["role"] == "patient" for e in refused)


def test_a_refusal_by_the_console_itself_is_recorded(app, client):
    # Without the route-level check, Flask-Admin's own hook (admin.base.StaffOnlyMixin) refuses.
    app.before_request_funcs[None] = [f for f in app.before_request_funcs[None]
                                      if f.__name__ != "enforce_declared_access"]
    doctor = make_doctor()
    db.session.commit()
    client.login(doctor.user.email)
    assert client.get("/admin/appointments/").status_code == 403
    [entry] = _entries("access.refused")
    assert entry.details["reason"] == "not_staff" and entry.actor_id == doctor.user.id
    assert entry.source == "admin"


def test_no_password_code_or_token_reaches_a_log_or_the_audit_log(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    staff = make_staff()
    patient = make_patient()
    db.session.commit()
    secrets = [PASSWORD, "wrong password 123", "a brand new passphrase"]
    client.login(staff.email, "wrong password 123")
    client.submit("/login", {"email": staff.email, "password": PASSWORD})
    code = current_code()
    secrets.append(code)
    client.submit("/login/code", {"code": code})
    other = app.test_client()
    other.submit("/password/forgot", {"email": patient.user.email})
    from tests.security.test_password_reset import _link, _mails, _path

    link = _link(_mails(app)[0])
    token = link.split("token=")[1]
    secrets.append(token)
    other.get(_path(link))
    other.submit("/password/reset", {"password": "a brand new passphrase", "confirm": "a brand new passphrase"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    stored = "\n".join(f"{e.action} {e.details}" for e in _entries())
    for secret in secrets:
        assert secret not in logged and secret not in stored, secret
    # The recorded addresses and routes are there; a cookie value is not.
    assert re.search(r"address': '127\.0\.0\.1'", stored)
    assert client.get_cookie("session").value not in logged + stored


def test_a_csrf_refusal_is_recorded_though_the_request_is_refused(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    response = client.post("/account/email", data={"email": "new@example.test", "current_password": PASSWORD})
    assert response.status_code == 400
    [entry] = _entries("access.csrf_refused")
    assert (entry.entity_id, entry.actor_id, entry.source) == (patient.user.id, patient.user.id, "portal")
    assert entry.details["method"] == "POST" and entry.details["address"] == "127.0.0.1"


def test_a_csrf_refusal_in_the_staff_console_names_the_console(app, client):
    staff = make_staff()
    db.session.commit()
    client.login(staff.email)
    assert client.post("/admin/patients/new/", data={"full_name": "X"}).status_code == 400
    [entry] = _entries("access.csrf_refused")
    assert (entry.actor_id, entry.source) == (staff.id, "admin")
