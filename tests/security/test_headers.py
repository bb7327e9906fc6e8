"""Security headers on every response, and the session cookie's name and attributes."""
from __future__ import annotations

import re

import pytest

from carebook.app import create_app
from carebook.extensions import db
from tests.conftest import Browser, _test_env
from tests.factories import make_patient, make_staff


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";"))}


@pytest.mark.parametrize("path", ["/login", "/register", "/password/forgot", "/api/openapi.json",
                                  "/api/csrf-token", "/healthz", "/static/app.css", "/no-such-page",
                                  "/appointments"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = _policy(response)
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_an_error_page_of_the_api_carries_them_too(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    response = client.api("POST", "/api/appointments", json={"doctor_id": "x"})
    assert response.status_code == 422
    assert "Content-Security-Policy" in response.headers and response.headers["X-Content-Type-Options"] == "nosniff"


def test_portal_pages_have_no_inline_script_and_need_no_nonce(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    for path in ("/doctors", "/appointments", "/account/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "nonce-" not in response.headers["Content-Security-Policy"], path
        assert not re.search(rb"<script(?![^>]*\bsrc=)", response.data), path
        assert not re.search(rb"<[^>]*\son[a-z]+\s*=", response.data), path  # no inline event handlers
        assert b"javascript:" not in response.data, path


def test_console_pages_name_a_fresh_nonce_that_their_scripts_carry(app, client):
    staff = make_staff()
    db.session.commit()
    client.login(staff.email)
    nonces = []
    for path in ("/admin/", "/admin/appointments/"):
        response = client.get(path)
        assert response.status_code == 200
        nonce = re.search(r"'nonce-([^']+)'", _policy(response)["script-src"]).group(1)
        scripts = re.findall(rb"<script[^>]*>", response.data)
        assert scripts and all(b'src="/static/' in tag or f'nonce="{nonce}"'.encode() in tag for tag in scripts)
        assert not re.search(rb"<[^>]*\son[a-z]+\s*=", response.data), path
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_signed_in_pages_are_not_stored_by_the_browser(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    assert client.get("/appointments").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


def test_development_sends_no_hsts(tmp_path):
    env = {**_test_env(f"sqlite:///{tmp_path / 'dev.sqlite3'}", tmp_path), "CAREBOOK_ENV": "development"}
    app = create_app(env=env)
    response = app.test_client().get("/login")
    assert "Strict-Transport-Security" not in response.headers
    assert "Content-Security-Policy" in response.headers


def test_production_uses_a_host_prefixed_secure_session_cookie(tmp_path):
    env = {**_test_env("postgresql://nobody@127.0.0.1:1/unused", tmp_path), "CAREBOOK_ENV": "production",
           "SECRETS_ENCRYPTION_KEYS": "an-encryption-key-for-this-test-" + "y" * 32,
           "BASE_URL": "https://clinic.example", "SMTP_HOST": "mail.clinic.example"}
    app = create_app(env=env)
    app.test_client_class = Browser
    response = app.test_client().get("/login", base_url="https://clinic.example")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "; Secure" in cookie and "; Path=/" in cookie and "Domain=" not in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
