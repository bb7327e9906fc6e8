"""Staff invite a patient without a login: a single-use, expiring, audited link to set a password (and an email)."""
from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from carebook import clock, invitations
from carebook.accounts import AccountError
from carebook.extensions import db
from models import AuditEntry, Invitation, User
from tests.factories import SYSTEM, make_patient, make_phone_patient

NEW_PASSWORD = "a long and unusual passphrase"


def invite(staff_client, patient) -> str:
    """Press "Invite to go online" on the patient's page; the link the console shows."""
    response = staff_client.submit(f"/admin/patients/{patient.id}/invite/")
    assert response.status_code == 200
    return re.search(r'<code id="invitation-link">([^<]+)</code>', response.get_data(as_text=True)).group(1)


def path_of(link: str) -> str:
    return link[link.index("/invitation"):]


def accept(client, link: str, **form):
    client.get(path_of(link))
    return client.submit("/invitation", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **form})


def _user(user_id) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


@pytest.fixture
def phone_only(app):
    patient = make_phone_patient(name="Olive Older")
    db.session.commit()
    return patient


def test_a_phone_only_patient_goes_online_with_the_link_staff_read_out(app, staff_client, phone_only):
    client = app.test_client()
    link = invite(staff_client, phone_only)
    response = accept(client, link, email="Olive@Example.com")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    user = _user(phone_only.user.id)
    assert user.email == "olive@example.com" and user.password_hash is not None
    assert client.login("olive@example.com", NEW_PASSWORD).status_code == 302


def test_the_invitation_page_asks_for_an_email_only_when_there_is_none(app, staff_client, phone_only):
    client = app.test_client()
    client.get(path_of(invite(staff_client, phone_only)))
    assert 'name="email"' in client.get("/invitation").get_data(as_text=True)
    missing = client.submit("/invitation", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert missing.status_code == 400 and "Enter your email address" in missing.get_data(as_text=True)
    assert _user(phone_only.user.id).password_hash is None


def test_a_patient_with_an_email_gets_the_invitation_by_email(app, staff_client):
    client = app.test_client()
    from reminders.state import get_state

    patient = make_patient(email="phoebe@example.com")
    patient.user.password_hash = None  # registered by staff for a phone booking
    db.session.commit()
    shown = invite(staff_client, patient)
    [message] = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                 for p in Path(get_state(app).settings.mail_folder).glob("*.eml")]
    assert message["To"] == "phoebe@example.com" and shown in message.get_body(("plain",)).get_content()
    assert accept(client, shown).status_code == 302
    assert _user(patient.user.id).email == "phoebe@example.com"


def test_the_link_works_once(app, staff_client, phone_only):
    client = app.test_client()
    link = invite(staff_client, phone_only)
    assert accept(client, link, email="olive@example.com").status_code == 302
    again = app.test_client()
    again.get(path_of(link))
    assert again.get("/invitation").status_code == 400


def test_the_link_expires(app, staff_client, phone_only):
    client = app.test_client()
    link = invite(staff_client, phone_only)
    clock.freeze(clock.utcnow() + app.config["INVITATION_LIFETIME"] + timedelta(seconds=1))
    client.get(path_of(link))
    response = client.get("/invitation")
    assert response.status_code == 400 and "no longer works" in response.get_data(as_text=True)


def test_a_newer_invitation_voids_the_older_one(app, staff_client, phone_only):
    client = app.test_client()
    first = invite(staff_client, phone_only)
    invite(staff_client, phone_only)
    client.get(path_of(first))
    assert client.get("/invitation").status_code == 400


def test_only_a_hash_of_the_token_is_kept(app, staff_client, phone_only):
    link = invite(staff_client, phone_only)
    token = link.split("token=")[1]
    row = db.session.scalars(select(Invitation)).one()
    assert row.token_hash != token and len(row.token_hash) == 64


def test_invitations_are_audited_without_the_token(app, staff_client, phone_only):
    client = app.test_client()
    link = invite(staff_client, phone_only)
    accept(client, link, email="olive@example.com")
    entries = {entry.action: entry for entry in db.session.scalars(select(AuditEntry))}
    assert entries["patient.invited"].source == "admin" and entries["patient.invited"].details["by"] == "shown"
    assert entries["patient.invitation_accepted"].details == {"added_email": True}
    assert link.split("token=")[1] not in str([entry.details for entry in entries.values()])


def test_an_email_already_in_use_is_refused_and_the_link_still_works(app, staff_client, phone_only):
    client = app.test_client()
    make_patient(email="taken@example.com")
    db.session.commit()
    link = invite(staff_client, phone_only)
    refused = accept(client, link, email="Taken@example.com")
    assert refused.status_code == 400 and "already exists" in refused.get_data(as_text=True)
    assert client.submit("/invitation", {"email": "olive@example.com", "password": NEW_PASSWORD,
                                         "confirm": NEW_PASSWORD}).status_code == 302


def test_a_patient_who_can_already_log_in_is_not_invited(app):
    patient = make_patient()
    with pytest.raises(AccountError, match="already log in"):
        invitations.invite(db.session, SYSTEM, patient, lifetime=timedelta(days=7), base_url="http://x")


def test_an_unknown_token_is_refused(app):
    client = app.test_client()
    client.get("/invitation?token=made-up")
    assert client.get("/invitation").status_code == 400


def test_the_console_offers_the_invitation_only_to_patients_without_a_login(app, staff_client, phone_only):
    with_login = make_patient()
    db.session.commit()
    assert "Invite to go online" in staff_client.get(f"/admin/patients/{phone_only.id}/").get_data(as_text=True)
    assert "Invite to go online" not in staff_client.get(f"/admin/patients/{with_login.id}/").get_data(as_text=True)


def test_staff_can_send_the_invitation_by_text_message(app, staff_client, phone_only):
    from messaging.sms import read_sms_file
    from reminders.state import get_state

    response = staff_client.submit(f"/admin/patients/{phone_only.id}/invite/", {"by": "sms"})
    page = response.get_data(as_text=True)
    assert "Sent by text message to" in page
    link = re.search(r'<code id="invitation-link">([^<]+)</code>', page).group(1).replace("&amp;", "&")
    [sms] = [read_sms_file(path) for path in get_state(app).settings.sms_folder.glob("*.txt")]
    assert sms["to"] == phone_only.phone and link in sms["text"] and "Test Clinic" in sms["text"]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.invited")).one()
    assert entry.details["by"] == "sms" and link.split("token=")[1] not in str(entry.details)


def test_the_console_offers_the_text_message_only_for_a_mobile(app, staff_client, phone_only):
    page = staff_client.get(f"/admin/patients/{phone_only.id}/").get_data(as_text=True)
    assert "Invite and send it by text message" in page
    landline = make_phone_patient(name="Lana Landline", phone="020 7946 0000")
    db.session.commit()
    page = staff_client.get(f"/admin/patients/{landline.id}/").get_data(as_text=True)
    assert "Invite and send it by text message" not in page
