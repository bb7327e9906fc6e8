"""Password reset by emailed link: same answer for every address, single use, expiring, voided by a change."""
from __future__ import annotations

import email
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from carebook import accounts, audit, clock
from carebook.extensions import db
from models import AuditEntry, PasswordResetToken, User, UserSession
from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD, make_patient, make_staff

NEW_PASSWORD = "a brand new passphrase"


def _mails(app) -> list:
    """The emails sent so far: first the relay sends what the requests queued, as the worker does."""
    from reminders.relay import relay_once
    from reminders.state import get_state

    relay_once(app)
    folder = Path(get_state(app).settings.mail_folder)
    if not folder.exists():
        return []
    return [email.message_from_bytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


def _link(message) -> str:
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain").get_payload(decode=True)
    return re.search(r"(http\S+/password/reset\?token=\S+)", text.decode()).group(1)


def _path(link: str) -> str:
    return link[link.index("/password/reset"):]


def _ask(client, address: str):
    return client.submit("/password/forgot", {"email": address})


def test_the_login_page_links_to_forgot_password(client):
    assert b'href="/password/forgot"' in client.get("/login").data


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, client):
    patient = make_patient()
    db.session.commit()
    known = _ask(client, patient.user.email)
    unknown = _ask(app.test_client(), "nobody@example.test")
    assert known.status_code == unknown.status_code == 200
    assert known.data == unknown.data
    assert len(_mails(app)) == 1


def test_the_email_carries_a_working_link_through_the_mail_folder(app, client):
    patient = make_patient(name="Rita Reset")
    db.session.commit()
    _ask(client, patient.user.email)
    [message] = _mails(app)
    assert message["To"] == patient.user.email and "new password" in message["Subject"]
    link = _link(message)
    assert link.startswith(app.config["BASE_URL"])
    landing = client.get(_path(link))
    assert landing.status_code == 302 and landing.headers["Location"] == "/password/reset"
    form = client.get("/password/reset")
    assert form.status_code == 200 and patient.user.email.encode() in form.data
    done = client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert app.test_client().login(patient.user.email, NEW_PASSWORD).status_code == 302
    assert app.test_client().login(patient.user.email, PASSWORD).status_code == 400


def test_the_database_keeps_only_a_hash_of_the_token(app, client):
    patient = make_patient()
    db.session.commit()
    _ask(client, patient.user.email)
    token = _link(_mails(app)[0]).split("token=")[1]
    stored = db.session.scalars(select(PasswordResetToken.token_hash)).all()
    assert len(stored) == 1 and token not in stored[0]


def test_a_link_works_once(app, client):
    patient = make_patient()
    db.session.commit()
    _ask(client, patient.user.email)
    link = _path(_link(_mails(app)[0]))
    client.get(link)
    client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = app.test_client()
    again.get(link)
    assert again.get("/password/reset").status_code == 400


def test_a_link_expires(app, client):
    patient = make_patient()
    db.session.commit()
    _ask(client, patient.user.email)
    link = _path(_link(_mails(app)[0]))
    clock.freeze(DEFAULT_NOW + timedelta(minutes=61))
    client.get(link)
    page = client.get("/password/reset")
    assert page.status_code == 400 and b"no longer works" in page.data


def test_a_password_change_voids_every_unused_link(app, client):
    patient = make_patient()
    db.session.commit()
    _ask(client, patient.user.email)
    link = _path(_link(_mails(app)[0]))
    accounts.set_password(db.session, audit.Actor(patient.user, "portal"), patient.user, "changed meanwhile ok")
    db.session.commit()
    client.get(link)
    assert client.get("/password/reset").status_code == 400


def test_a_reset_ends_every_session_of_the_account(app, client):
    patient = make_patient()
    db.session.commit()
    signed_in = app.test_client()
    signed_in.login(patient.user.email)
    assert signed_in.get("/appointments").status_code == 200
    _ask(client, patient.user.email)
    client.get(_path(_link(_mails(app)[0])))
    client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert signed_in.get("/appointments").status_code == 302


def test_a_weak_or_mismatched_new_password_is_refused_and_the_link_still_works(app, client):
    patient = make_patient()
    db.session.commit()
    _ask(client, patient.user.email)
    client.get(_path(_link(_mails(app)[0])))
    weak = client.submit("/password/reset", {"password": "password123", "confirm": "password123"})
    assert weak.status_code == 400 and b"too common" in weak.data
    mismatch = client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400 and b"differ" in mismatch.data
    assert client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302


def test_a_patient_created_by_staff_without_a_password_sets_one(app, client):
    patient = make_patient(email="phone.booking@example.test")
    patient.user.password_hash = None
    db.session.commit()
    assert client.login(patient.user.email, PASSWORD).status_code == 400
    _ask(client, patient.user.email)
    client.get(_path(_link(_mails(app)[0])))
    client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert app.test_client().login(patient.user.email, NEW_PASSWORD).status_code == 302


def test_a_disabled_account_gets_no_link(app, client):
    patient = make_patient()
    patient.user.is_active = False
    db.session.commit()
    assert _ask(client, patient.user.email).status_code == 200
    assert _mails(app) == []


def test_a_reset_does_not_skip_the_second_factor(app, client):
    staff = make_staff()
    db.session.commit()
    _ask(client, staff.email)
    client.get(_path(_link(_mails(app)[0])))
    client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    step = app.test_client().submit("/login", {"email": staff.email, "password": NEW_PASSWORD})
    assert step.headers["Location"] == "/login/code"


def test_requests_are_throttled_per_address_and_per_account(app):
    patient = make_patient()
    db.session.commit()
    per_account = [_ask(app.test_client(), patient.user.email).status_code for _ in range(4)]
    assert per_account == [200, 200, 200, 429]
    assert len(_mails(app)) == 3
    client = app.test_client()
    statuses = [_ask(client, f"someone{n}@example.test").status_code for n in range(6)]
    assert statuses[-1] == 429


def test_requests_and_completions_are_audited_without_the_token(app, client):
    patient = make_patient()
    db.session.commit()
    _ask(client, patient.user.email)
    link = _link(_mails(app)[0])
    client.get(_path(link))
    client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == patient.user.id)).all()
    actions = [row.action for row in rows]
    assert "auth.password_reset_requested" in actions and "auth.password_reset_completed" in actions
    token = link.split("token=")[1]
    assert all(token not in str(row.details) and NEW_PASSWORD not in str(row.details) for row in rows)


def test_the_token_leaves_the_address_bar_at_once(app, client):
    patient = make_patient()
    db.session.commit()
    _ask(client, patient.user.email)
    response = client.get(_path(_link(_mails(app)[0])))
    assert "token" not in response.headers["Location"]
    assert db.session.scalars(select(UserSession)).all() == []
    assert db.session.get(User, patient.user.id) is not None
