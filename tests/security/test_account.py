"""The account page: changing the email address or password needs the current password."""
from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from sqlalchemy import select

from carebook.extensions import db
from models import AuditEntry, User
from tests.factories import PASSWORD, make_doctor, make_patient

NEW_PASSWORD = "another long passphrase"


@pytest.fixture
def patient_client(app, client):
    patient = make_patient(email="pat@example.com")
    db.session.commit()
    client.login(patient.user.email)
    return client, patient


def _user(user_id) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def test_every_role_has_an_account_page_linked_from_the_navigation(app, patient_client):
    client, _ = patient_client
    assert b'href="/account/"' in client.get("/doctors").data
    page = client.get("/account/")
    assert page.status_code == 200 and b"pat@example.com" in page.data and b"Turn on two-factor" in page.data
    doctor = make_doctor()
    db.session.commit()
    other = app.test_client()
    other.login(doctor.user.email)
    assert b"Required for your role" in other.get("/account/").data


def test_a_password_change_needs_the_current_password(patient_client):
    client, patient = patient_client
    response = client.submit("/account/password", {"current_password": "not it", "password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD})
    assert response.status_code == 400 and b"not your current password" in response.data
    before = _user(patient.user.id).password_hash
    assert _user(patient.user.id).password_hash == before
    response = client.submit("/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _user(patient.user.id).password_hash != before


def test_a_new_password_follows_the_password_rules(patient_client):
    client, _ = patient_client
    response = client.submit("/account/password", {"current_password": PASSWORD, "password": "password123",
                                                    "confirm": "password123"})
    assert response.status_code == 400 and b"too common" in response.data


def test_guessing_the_current_password_is_throttled(patient_client):
    client, _ = patient_client
    for _ in range(5):
        client.submit("/account/email", {"email": "new@example.com", "current_password": "guess guess"})
    response = client.submit("/account/email", {"email": "new@example.com", "current_password": PASSWORD})
    assert response.status_code == 429
    wrong = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.current_password_failed")).all()
    assert len(wrong) == 5


def test_an_email_change_needs_the_current_password_and_tells_the_old_address(app, patient_client):
    from reminders.state import get_state

    client, patient = patient_client
    refused = client.submit("/account/email", {"email": "new@example.com", "current_password": "not it"})
    assert refused.status_code == 400 and _user(patient.user.id).email == "pat@example.com"
    done = client.submit("/account/email", {"email": "New@Example.com", "current_password": PASSWORD})
    assert done.status_code == 302 and _user(patient.user.id).email == "new@example.com"
    [message] = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                 for p in Path(get_state(app).settings.mail_folder).glob("*.eml")]
    assert message["To"] == "pat@example.com" and "new@example.com" in message.get_body(("plain",)).get_content()
    assert app.test_client().login("new@example.com").status_code == 302


def test_an_email_in_use_is_refused(app, patient_client):
    client, patient = patient_client
    make_patient(email="taken@example.com")
    db.session.commit()
    response = client.submit("/account/email", {"email": "taken@example.com", "current_password": PASSWORD})
    assert response.status_code == 400 and b"already exists" in response.data
    assert _user(patient.user.id).email == "pat@example.com"


def test_the_current_password_throttle_is_shared_by_every_form_that_asks_for_it(patient_client):
    client, _ = patient_client
    for _ in range(3):
        client.submit("/account/email", {"email": "new@example.com", "current_password": "guess guess"})
    for _ in range(2):
        client.submit("/account/password", {"current_password": "guess guess", "password": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD})
    response = client.submit("/account/two-factor/disable", {"disable-current_password": PASSWORD})
    assert response.status_code == 429
