"""Idle and absolute session timeouts; sessions end when the password changes or staff disable the account."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carebook import clock
from carebook.app import create_app
from carebook.config import ConfigError
from carebook.extensions import db
from models import AuditEntry, UserSession
from tests.conftest import DEFAULT_NOW, _test_env
from tests.factories import PASSWORD, make_patient, make_staff


@pytest.fixture
def signed_in(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    assert client.get("/appointments").status_code == 200
    return client, patient


def test_defaults_are_30_minutes_idle_and_12_hours_in_all(app):
    timeouts = app.config["SESSION_TIMEOUTS"]
    assert timeouts.idle == timedelta(minutes=30) and timeouts.absolute == timedelta(hours=12)


def test_a_session_idle_for_the_timeout_ends(signed_in):
    client, _ = signed_in
    clock.freeze(DEFAULT_NOW + timedelta(minutes=29))
    assert client.get("/appointments").status_code == 200
    clock.freeze(DEFAULT_NOW + timedelta(minutes=29 + 31))
    response = client.get("/appointments")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert b"Your session has ended" in client.get("/login").data


def test_activity_keeps_a_session_alive_until_the_absolute_limit(signed_in):
    client, patient = signed_in
    for minutes in range(20, 12 * 60, 20):
        clock.freeze(DEFAULT_NOW + timedelta(minutes=minutes))
        assert client.get("/appointments").status_code == 200, minutes
    clock.freeze(DEFAULT_NOW + timedelta(hours=12))
    assert client.get("/appointments").status_code == 302
    db.session.expire_all()
    [row] = db.session.scalars(select(UserSession)).all()
    assert row.revoked_at == DEFAULT_NOW + timedelta(hours=12)
    expired = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.session_expired")).all()
    assert [entry.entity_id for entry in expired] == [patient.user.id]


def test_a_timed_out_api_client_gets_401(signed_in):
    client, _ = signed_in
    clock.freeze(DEFAULT_NOW + timedelta(hours=1))
    assert client.get("/api/appointments").status_code == 401


def test_last_seen_is_written_at_most_once_a_minute(signed_in):
    client, _ = signed_in
    clock.freeze(DEFAULT_NOW + timedelta(seconds=30))
    client.get("/appointments")
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.last_seen_at)).one() == DEFAULT_NOW
    clock.freeze(DEFAULT_NOW + timedelta(minutes=2))
    client.get("/appointments")
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.last_seen_at)).one() == DEFAULT_NOW + timedelta(minutes=2)


def test_the_timeouts_are_configurable(database_url, tmp_path):
    env = {**_test_env(database_url, tmp_path), "SESSION_IDLE_MINUTES": "5", "SESSION_ABSOLUTE_HOURS": "2"}
    timeouts = create_app(env=env).config["SESSION_TIMEOUTS"]
    assert timeouts.idle == timedelta(minutes=5) and timeouts.absolute == timedelta(hours=2)


@pytest.mark.parametrize("variables", [{"SESSION_IDLE_MINUTES": "0"}, {"SESSION_IDLE_MINUTES": "ten"},
                                       {"SESSION_IDLE_MINUTES": "180", "SESSION_ABSOLUTE_HOURS": "1"}])
def test_bad_timeouts_stop_the_app_at_start(tmp_path, variables):
    env = {**_test_env(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path), **variables}
    with pytest.raises(ConfigError, match="SESSION_"):
        create_app(env=env)


def test_changing_the_password_ends_every_other_session(app, signed_in):
    client, patient = signed_in
    elsewhere = app.test_client()
    elsewhere.login(patient.user.email)
    response = client.submit("/account/password", {"current_password": PASSWORD, "password": "a new long passphrase",
                                                    "confirm": "a new long passphrase"})
    assert response.status_code == 302
    assert client.get("/appointments").status_code == 200  # this browser carries on, in a new session
    assert elsewhere.get("/appointments").status_code == 302
    db.session.expire_all()
    live = [row for row in db.session.scalars(select(UserSession)) if row.revoked_at is None]
    assert len(live) == 1


def test_disabling_an_account_in_the_console_ends_its_sessions(app, signed_in):
    client, patient = signed_in
    staff = make_staff()
    db.session.commit()
    desk = app.test_client()
    desk.login(staff.email)
    response = desk.submit(f"/admin/patients/{patient.id}/login/", {"active": "0"})
    assert response.status_code == 302
    assert client.get("/appointments").status_code == 302
    assert app.test_client().login(patient.user.email).status_code == 400
