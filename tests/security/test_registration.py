"""Registration says nothing about who has an account: the same answer for every address, and an email
that tells the owner of the mailbox (a link to finish, or "you already have an account")."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carebook import clock, registration
from carebook.extensions import db
from models import AuditEntry, OutboxKind, OutboxMessage, OutboxStatus, Patient, RegistrationRequest, User
from reminders.state import get_state
from tests import mailbox
from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD, make_patient, make_staff

NEW_PASSWORD = "a long enough passphrase"


def form(email: str, **changes) -> dict:
    return {"full_name": "Nora New", "email": email, "date_of_birth": "1991-02-03", "phone": "07700 900111",
            "password": NEW_PASSWORD, **changes}


def api_body(email: str) -> dict:
    return {"full_name": "Nora New", "email": email, "date_of_birth": "1991-02-03", "phone": "07700 900111",
            "password": NEW_PASSWORD}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def comparable_headers(response) -> dict:
    # The cookie carries each client's own session, each request has its own id, and the clock moves
    # on (the date, and when the rate limit's window ends); nothing else may differ.
    return {name: value for name, value in response.headers.items()
            if name not in ("Set-Cookie", "Date", "X-Request-ID", "X-RateLimit-Reset", "Retry-After")}


# -- the same answer for every address -----------------------------------------------------------------


def test_the_page_is_the_same_whether_or_not_the_address_has_an_account(app):
    make_patient(email="taken@example.com")
    db.session.commit()
    taken = app.test_client().submit("/register", form("Taken@Example.com"))
    free = app.test_client().submit("/register", form("free@example.com"))
    assert taken.status_code == free.status_code == 200
    assert taken.data == free.data and b"Check your email" in taken.data
    assert comparable_headers(taken) == comparable_headers(free)


def test_the_api_answer_is_the_same_whether_or_not_the_address_has_an_account(app):
    make_patient(email="taken@example.com")
    db.session.commit()
    taken = app.test_client().api("POST", "/api/patients", json=api_body("TAKEN@example.com"))
    free = app.test_client().api("POST", "/api/patients", json=api_body("free@example.com"))
    assert taken.status_code == free.status_code == 202
    assert taken.data == free.data
    assert comparable_headers(taken) == comparable_headers(free)


def test_neither_answer_signs_anyone_in_or_makes_an_account(app, client):
    make_patient(email="taken@example.com")
    db.session.commit()
    client.submit("/register", form("taken@example.com"))
    client.submit("/register", form("free@example.com"))
    assert client.get("/appointments").status_code == 302  # to the login page
    assert count(User) == 1 and count(Patient) == 1


def test_both_answers_do_the_same_work_one_request_and_one_queued_email(app):
    make_patient(email="taken@example.com")
    db.session.commit()
    app.test_client().submit("/register", form("taken@example.com"))
    app.test_client().submit("/register", form("free@example.com"))
    requests = db.session.scalars(select(RegistrationRequest).order_by(RegistrationRequest.id)).all()
    assert [request.email for request in requests] == ["taken@example.com", "free@example.com"]
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(row.kind, row.payload) for row in rows] == [
        (OutboxKind.SEND_REGISTRATION_EMAIL, {"registration_id": request.id}) for request in requests]


# -- what the mailbox gets ------------------------------------------------------------------------------


def test_an_address_with_an_account_is_told_how_to_sign_in_or_reset_and_no_account_is_made(app, client):
    existing = make_patient(name="Tess Taken", email="taken@example.com")
    db.session.commit()
    client.submit("/register", form("taken@example.com", full_name="Mallory Intruder", password="another passphrase"))
    [notice] = mailbox.sent(app, "taken@example.com")
    text = mailbox.text(notice)
    assert notice["X-Carebook-Email"] == "account_exists" and "already have an account" in notice["Subject"]
    assert text.startswith("Hello Tess,") and "Mallory" not in text
    base = app.config["BASE_URL"]
    assert f"{base}/login" in text and f"{base}/password/forgot" in text and "/register/confirm" not in text
    assert client.get(mailbox.path_of(mailbox.link(notice, "/login"))).status_code == 200
    assert client.get(mailbox.path_of(mailbox.link(notice, "/password/forgot"))).status_code == 200
    # Nothing changed: the same one account, its own name and password, and no request left behind.
    assert count(User) == 1 and count(RegistrationRequest) == 0
    assert db.session.get(User, existing.user.id).full_name == "Tess Taken"
    assert app.test_client().login("taken@example.com", PASSWORD).status_code == 302


def test_a_staff_address_is_told_the_same_and_gets_no_patient_account(app, client):
    make_staff(name="Sam Staff", email="sam@clinic.example")
    db.session.commit()
    client.submit("/register", form("sam@clinic.example"))
    [notice] = mailbox.sent(app, "sam@clinic.example")
    assert notice["X-Carebook-Email"] == "account_exists" and mailbox.text(notice).startswith("Hello Sam,")
    assert count(User) == 1 and count(Patient) == 0


def test_a_new_address_gets_a_link_that_makes_the_account_once(app, client):
    client.submit("/register", form("nora@example.com"))
    [message] = mailbox.sent(app, "nora@example.com")
    assert message["X-Carebook-Email"] == "registration" and message["Subject"].startswith("Finish creating")
    link = mailbox.path_of(mailbox.link(message, "/register/confirm"))
    client.get(link)
    page = client.get("/register/confirm")
    assert page.status_code == 200 and b"nora@example.com" in page.data and b"Create my account" in page.data
    assert client.submit("/register/confirm").headers["Location"] == "/doctors"
    assert count(User) == 1 and count(RegistrationRequest) == 0
    again = app.test_client()
    again.get(link)
    assert again.get("/register/confirm").status_code == 400
    assert count(User) == 1


def test_following_the_link_alone_makes_nothing_the_button_does(app, client):
    client.submit("/register", form("nora@example.com"))
    [message] = mailbox.sent(app, "nora@example.com")
    client.get(mailbox.path_of(mailbox.link(message, "/register/confirm")))
    assert client.get("/register/confirm").status_code == 200  # what a mail scanner's fetch would do
    assert count(User) == 0


def test_the_token_leaves_the_address_bar_at_once_and_only_its_hash_is_kept(app, client):
    client.submit("/register", form("nora@example.com"))
    [message] = mailbox.sent(app, "nora@example.com")
    link = mailbox.link(message, "/register/confirm")
    assert link.startswith(app.config["BASE_URL"] + "/register/confirm?token=")
    token = link.split("token=")[1]
    response = client.get(mailbox.path_of(link))
    assert response.status_code == 302 and response.headers["Location"] == "/register/confirm"
    [stored] = db.session.scalars(select(RegistrationRequest.token_hash)).all()
    assert stored and token not in stored
    outbox = " ".join(str(row.payload) for row in db.session.scalars(select(OutboxMessage)))
    assert token not in outbox


def test_the_link_expires(app, client):
    client.submit("/register", form("nora@example.com"))
    [message] = mailbox.sent(app, "nora@example.com")
    clock.freeze(DEFAULT_NOW + registration.LINK_LIFETIME + timedelta(minutes=1))
    client.get(mailbox.path_of(mailbox.link(message, "/register/confirm")))
    page = client.get("/register/confirm")
    assert page.status_code == 400 and b"no longer works" in page.data
    assert client.submit("/register/confirm").status_code == 400 and count(User) == 0


def test_once_one_link_made_the_account_the_other_links_of_the_address_are_dead(app, client):
    client.submit("/register", form("nora@example.com"))
    client.submit("/register", form("nora@example.com", full_name="Nora Second"))
    links = [mailbox.path_of(mailbox.link(message, "/register/confirm"))
             for message in mailbox.sent(app, "nora@example.com")]
    assert len(set(links)) == 2
    other = app.test_client()
    other.get(links[1])
    client.get(links[0])
    assert client.submit("/register/confirm").status_code == 302
    # Confirming made the account and dropped every other request for the address.
    assert other.get("/register/confirm").status_code == 400
    assert count(User) == 1 and count(RegistrationRequest) == 0


def test_an_address_that_got_an_account_since_the_link_was_sent_is_told_to_log_in(app, client):
    client.submit("/register", form("nora@example.com"))
    [message] = mailbox.sent(app, "nora@example.com")
    client.get(mailbox.path_of(mailbox.link(message, "/register/confirm")))
    make_patient(name="Nora Phoned", email="nora@example.com")  # staff made one meanwhile
    db.session.commit()
    response = client.submit("/register/confirm")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert count(User) == 1 and db.session.scalar(select(User.full_name)) == "Nora Phoned"


def test_a_refused_registration_queues_nothing(app, client):
    response = client.submit("/register", form("nora@example.com", password="password123"))
    assert response.status_code == 400 and b"too common" in response.data
    assert count(RegistrationRequest) == 0 and count(OutboxMessage) == 0
    assert mailbox.sent(app) == []


def test_nothing_is_sent_before_the_relay_runs(app, client):
    # After the response, through the outbox: the request itself sends nothing.
    client.submit("/register", form("nora@example.com"))
    folder = get_state(app).settings.mail_folder
    assert not folder.exists() or not list(folder.glob("*.eml"))
    [row] = db.session.scalars(select(OutboxMessage)).all()
    assert row.status is OutboxStatus.PENDING and row.appointment_id is None


# -- what is kept, throttled and audited -----------------------------------------------------------------


def test_requests_nobody_confirmed_are_deleted_a_day_after_their_link_expired(app, client):
    client.submit("/register", form("nora@example.com"))
    mailbox.sent(app)  # the link goes out
    clock.freeze(DEFAULT_NOW + registration.LINK_LIFETIME + timedelta(hours=23))
    mailbox.sent(app)
    assert count(RegistrationRequest) == 1
    clock.freeze(DEFAULT_NOW + registration.LINK_LIFETIME + timedelta(hours=25))
    mailbox.sent(app)
    assert count(RegistrationRequest) == 0


def test_registrations_are_throttled_per_email_address(app):
    statuses = [app.test_client().submit("/register", form("nora@example.com"),
                                         environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
                for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(mailbox.sent(app, "nora@example.com")) == 3


def test_the_request_is_audited_without_the_address_or_the_password(app, client):
    client.submit("/register", form("nora@example.com"))
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.registration_requested"))
    assert entry.entity_id is None and entry.details["address"] == "127.0.0.1"
    assert "nora" not in str(entry.details) and NEW_PASSWORD not in str(entry.details)


@pytest.mark.parametrize("path", ["/register/confirm?token=" + "x" * 43, "/register/confirm"])
def test_a_made_up_or_missing_token_gets_the_invalid_link_page(client, path):
    client.get(path)
    assert client.get("/register/confirm").status_code == 400
