"""Sign-in, sign-out, registration and the session cookie."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from carebook import accounts
from carebook.extensions import db
from models import RegistrationRequest, Role, User
from tests import mailbox
from tests.factories import PASSWORD, make_doctor, make_patient, make_staff


def test_login_page_is_one_page_for_every_role(client):
    response = client.get("/login")
    assert response.status_code == 200 and b"Log in" in response.data


def test_patient_login_lands_on_the_doctor_list(app, client):
    patient = make_patient()
    db.session.commit()
    response = client.login(patient.user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/doctors"


def test_doctor_and_staff_land_on_their_own_pages(app, client):
    doctor, staff = make_doctor(), make_staff()
    db.session.commit()
    assert client.login(doctor.user.email).headers["Location"] == "/doctor/"
    other = app.test_client()
    assert other.login(staff.email).headers["Location"] == "/admin/"


def test_login_ignores_email_case(app, client):
    patient = make_patient(email="Mixed.Case@Example.test")
    db.session.commit()
    assert client.login("MIXED.case@example.TEST").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(app, client):
    patient = make_patient()
    db.session.commit()
    wrong_password = client.login(patient.user.email, "not the password at all")
    unknown_email = client.login("nobody@example.test", "not the password at all")
    assert wrong_password.status_code == unknown_email.status_code == 400
    assert b"Email or password is not right." in wrong_password.data
    def page_without(response, email):
        # The CSRF token differs per request; the rest of the page must not.
        return re.sub(rb'name="csrf_token" type="hidden" value="[^"]+"', b"", response.data.replace(email, b""))

    assert page_without(wrong_password, patient.user.email.encode()) == \
        page_without(unknown_email, b"nobody@example.test")


def test_disabled_account_cannot_log_in(app, client):
    patient = make_patient()
    patient.user.is_active = False
    db.session.commit()
    assert client.login(patient.user.email).status_code == 400


def test_next_redirect_stays_on_this_site(app, client):
    patient = make_patient()
    db.session.commit()
    response = client.submit("/login", {"email": patient.user.email, "password": PASSWORD,
                                        "next": "/appointments"})
    assert response.headers["Location"] == "/appointments"


def test_next_redirect_to_another_host_is_ignored(app):
    patient = make_patient()
    db.session.commit()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        client = app.test_client()
        response = client.submit("/login", {"email": patient.user.email, "password": PASSWORD, "next": target})
        assert response.headers["Location"] == "/doctors", target


def test_protected_page_sends_anonymous_users_to_login_with_next(client):
    response = client.get("/appointments")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/appointments")


def test_login_without_csrf_token_is_refused(app, client):
    patient = make_patient()
    db.session.commit()
    response = client.post("/login", data={"email": patient.user.email, "password": PASSWORD})
    assert response.status_code == 400


def test_logout_is_post_only(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    assert client.get("/logout").status_code == 405


def test_copied_cookie_stops_working_after_logout(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    stolen = client.get_cookie("session").value
    client.submit("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/appointments").status_code == 302


def test_copied_cookie_stops_working_when_the_account_is_disabled(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    assert client.get("/appointments").status_code == 200
    accounts.set_active(db.session, accounts.audit.Actor(None, "admin"), patient.user, False)
    db.session.commit()
    assert client.get("/appointments").status_code == 302


def test_login_replaces_the_previous_session(app, client):
    patient = make_patient()
    db.session.commit()
    client.get("/login")
    before = client.get_cookie("session").value
    client.login(patient.user.email)
    old = app.test_client()
    old.set_cookie("session", before)
    assert old.get("/appointments").status_code == 302


def test_session_cookie_is_httponly_and_lax(app, client):
    patient = make_patient()
    db.session.commit()
    header = client.login(patient.user.email).headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_register_asks_to_check_the_email_whose_link_makes_a_signed_in_patient(app, client):
    response = client.submit("/register", {
        "full_name": "Nora New", "email": "Nora@Example.com", "date_of_birth": "1991-02-03",
        "phone": "07700 900111", "password": "a long enough passphrase"})
    assert response.status_code == 200 and b"Check your email" in response.data
    assert db.session.scalar(select(User).where(User.email == "nora@example.com")) is None  # not before the link
    done = mailbox.finish_registration(app, client, "nora@example.com")
    assert done.status_code == 302 and done.headers["Location"] == "/doctors"
    user = db.session.scalar(select(User).where(User.email == "nora@example.com"))
    assert user.role is Role.PATIENT and user.patient.phone == "+447700900111"  # stored in E.164
    assert client.get("/appointments").status_code == 200
    assert app.test_client().login("nora@example.com", "a long enough passphrase").status_code == 302


def test_register_refuses_a_common_password(client):
    response = client.submit("/register", {
        "full_name": "Nora New", "email": "nora@example.com", "date_of_birth": "1991-02-03",
        "phone": "07700 900111", "password": "password123"})
    assert response.status_code == 400 and b"too common" in response.data


def test_register_with_an_email_in_use_in_any_case_makes_no_account_and_tells_its_owner(app, client):
    existing = make_patient(email="taken@example.com")
    db.session.commit()
    response = client.submit("/register", {
        "full_name": "Nora New", "email": "TAKEN@example.com", "date_of_birth": "1991-02-03",
        "phone": "07700 900111", "password": "a long enough passphrase"})
    assert response.status_code == 200 and b"Check your email" in response.data
    [notice] = mailbox.sent(app, "taken@example.com")
    assert notice["X-Carebook-Email"] == "account_exists" and "/register/confirm" not in mailbox.text(notice)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert app.test_client().login("taken@example.com").status_code == 302  # the owner's password stands
    assert db.session.get(User, existing.user.id).full_name != "Nora New"


def test_register_refuses_a_birth_date_in_the_future(client):
    response = client.submit("/register", {
        "full_name": "Nora New", "email": "nora@example.com", "date_of_birth": "2030-01-01",
        "phone": "07700 900111", "password": "a long enough passphrase"})
    assert response.status_code == 400 and b"future" in response.data


def test_register_rejects_oversize_input_without_writing(client):
    response = client.submit("/register", {
        "full_name": "N" * 500, "email": "nora@example.com", "date_of_birth": "1991-02-03",
        "phone": "07700 900111", "password": "a long enough passphrase"})
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "nora@example.com")) is None
    assert db.session.scalar(select(func.count()).select_from(RegistrationRequest)) == 0


def test_repeated_wrong_passwords_block_that_address_for_that_account(app, client):
    patient = make_patient()
    db.session.commit()
    for _ in range(5):
        assert client.login(patient.user.email, "wrong wrong wrong").status_code == 400
    assert client.login(patient.user.email).status_code == 429


def test_guessing_from_one_address_does_not_lock_the_patient_out_elsewhere(app, client):
    patient = make_patient()
    db.session.commit()
    for _ in range(6):
        client.login(patient.user.email, "wrong wrong wrong")
    elsewhere = app.test_client()
    response = elsewhere.submit("/login", {"email": patient.user.email, "password": PASSWORD},
                                environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 302


def test_successful_logins_do_not_count_as_failures(app, client):
    patient = make_patient()
    db.session.commit()
    for _ in range(7):
        assert app.test_client().login(patient.user.email).status_code == 302
