"""Two-factor sign-in: required for staff and doctors, optional for patients, codes good once."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from carebook import clock, totp
from carebook.clock import utcnow
from carebook.extensions import db
from models import AuditEntry, RecoveryCode, User
from tests.conftest import DEFAULT_NOW, allow_code_reuse
from tests.factories import PASSWORD, TOTP_SECRET, current_code, enrol_two_factor, make_doctor, make_patient, make_staff


def _password_step(client, email, password=PASSWORD):
    return client.submit("/login", {"email": email, "password": password})


def _actions(user_id=None) -> list[str]:
    query = select(AuditEntry.action).order_by(AuditEntry.id)
    if user_id is not None:
        query = query.where(AuditEntry.entity_id == user_id, AuditEntry.entity_type == "user")
    return list(db.session.scalars(query))


def test_staff_password_alone_leads_to_the_code_step_and_signs_nobody_in(app, client):
    staff = make_staff()
    db.session.commit()
    response = _password_step(client, staff.email)
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    for path in ("/admin/", "/doctor/", "/account/", "/doctors"):
        page = client.get(path)
        assert page.status_code == 302 and page.headers["Location"].startswith("/login?next="), path
    assert client.get("/api/appointments").status_code == 401


def test_the_right_code_finishes_the_sign_in(app, client):
    doctor = make_doctor()
    db.session.commit()
    _password_step(client, doctor.user.email)
    response = client.submit("/login/code", {"code": current_code()})
    assert response.status_code == 302 and response.headers["Location"] == "/doctor/"
    assert client.get("/doctor/").status_code == 200
    assert "auth.second_factor_succeeded" in _actions(doctor.user.id)


def test_the_code_step_keeps_where_the_user_was_going(app, client):
    staff = make_staff()
    db.session.commit()
    client.submit("/login", {"email": staff.email, "password": PASSWORD, "next": "/admin/audit/"})
    response = client.submit("/login/code", {"code": current_code()})
    assert response.headers["Location"] == "/admin/audit/"


def test_a_wrong_code_is_refused_and_audited(app, client):
    staff = make_staff()
    db.session.commit()
    _password_step(client, staff.email)
    wrong = f"{(int(current_code()) + 1) % 1_000_000:06d}"
    response = client.submit("/login/code", {"code": wrong})
    assert response.status_code == 400 and b"That code is not right" in response.data
    assert client.get("/admin/").status_code == 302
    assert "auth.second_factor_failed" in _actions(staff.id)


def test_codes_of_the_neighbouring_time_steps_are_accepted(app):
    staff = make_staff()
    db.session.commit()
    for offset in (-30, 30):
        client = app.test_client()
        allow_code_reuse(staff.email)
        _password_step(client, staff.email)
        code = totp.current_code(TOTP_SECRET, DEFAULT_NOW + timedelta(seconds=offset))
        assert client.submit("/login/code", {"code": code}).status_code == 302, offset
    client = app.test_client()
    allow_code_reuse(staff.email)
    _password_step(client, staff.email)
    too_old = totp.current_code(TOTP_SECRET, DEFAULT_NOW - timedelta(seconds=90))
    assert client.submit("/login/code", {"code": too_old}).status_code == 400


def test_a_code_is_good_once(app):
    staff = make_staff()
    db.session.commit()
    first = app.test_client()
    _password_step(first, staff.email)
    assert first.submit("/login/code", {"code": current_code()}).status_code == 302
    second = app.test_client()
    _password_step(second, staff.email)
    assert second.submit("/login/code", {"code": current_code()}).status_code == 400


def test_a_used_code_is_called_already_used_not_wrong(app):
    staff = make_staff()
    db.session.commit()
    first = app.test_client()
    _password_step(first, staff.email)
    first.submit("/login/code", {"code": current_code()})
    second = app.test_client()
    _password_step(second, staff.email)
    page = second.submit("/login/code", {"code": current_code()}).get_data(as_text=True)
    assert "That code has already been used" in page and "not right" not in page


def test_a_wrong_code_is_still_called_wrong(app, client):
    staff = make_staff()
    db.session.commit()
    _password_step(client, staff.email)
    page = client.submit("/login/code", {"code": "000000"}).get_data(as_text=True)
    assert "That code is not right" in page and "already been used" not in page


def test_a_spent_recovery_code_is_called_already_used(app, client):
    staff, codes = _enrolled_staff_with_codes(client)
    first = app.test_client()
    _password_step(first, staff.email)
    first.submit("/login/code", {"code": codes[0]})
    second = app.test_client()
    _password_step(second, staff.email)
    assert "That code has already been used" in second.submit("/login/code", {"code": codes[0]}).get_data(as_text=True)


def test_the_api_calls_a_used_code_already_used(app, client):
    staff = make_staff()
    db.session.commit()
    body = {"email": staff.email, "password": PASSWORD, "code": current_code()}
    assert client.api("POST", "/api/session", json=body).status_code == 200
    again = app.test_client().api("POST", "/api/session", json=body)
    assert again.status_code == 401 and "already been used" in again.get_json()["error"]["message"]


def test_the_pending_sign_in_expires(app, client):
    staff = make_staff()
    db.session.commit()
    _password_step(client, staff.email)
    clock.freeze(DEFAULT_NOW + timedelta(minutes=11))
    response = client.submit("/login/code", {"code": totp.current_code(TOTP_SECRET)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_a_password_change_meanwhile_voids_the_pending_sign_in(app, client):
    from carebook import accounts, audit

    staff = make_staff()
    db.session.commit()
    _password_step(client, staff.email)
    accounts.set_password(db.session, audit.Actor(None, "system"), staff, "another long passphrase")
    db.session.commit()
    response = client.submit("/login/code", {"code": current_code()})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_the_code_step_without_a_password_step_sends_back_to_login(client):
    response = client.submit("/login/code", {"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_guessing_codes_is_throttled(app, client):
    staff = make_staff()
    db.session.commit()
    _password_step(client, staff.email)
    for _ in range(5):
        assert client.submit("/login/code", {"code": "000000"}).status_code == 400
    assert client.submit("/login/code", {"code": current_code()}).status_code == 429
    assert "auth.throttled" in _actions(staff.id)


def _api_sign_in(client, email: str, code: str, address: dict):
    return client.open("/api/session", method="POST", json={"email": email, "password": PASSWORD, "code": code},
                       headers={"X-CSRFToken": client.csrf_token()}, environ_base=address)


def test_wrong_codes_through_both_doors_count_against_one_ceiling(app):
    staff = make_staff()
    db.session.commit()
    statuses = []
    for attempt in range(20):  # ten through the pages, ten through the API, each from an address of its own
        client = app.test_client()
        address = {"REMOTE_ADDR": f"198.51.100.{attempt + 1}"}
        if attempt % 2:
            client.submit("/login", {"email": staff.email, "password": PASSWORD}, environ_base=address)
            statuses.append(client.submit("/login/code", {"code": "000000"}, environ_base=address).status_code)
        else:
            statuses.append(_api_sign_in(client, staff.email, "000000", address).status_code)
    assert statuses == [401, 400] * 10
    allow_code_reuse(staff.email)
    api = _api_sign_in(app.test_client(), staff.email, current_code(), {"REMOTE_ADDR": "198.51.100.50"})
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "too_many_requests"
    assert 0 < int(api.headers["Retry-After"]) <= 3600
    page = app.test_client()
    _password_step(page, staff.email)
    response = page.submit("/login/code", {"code": current_code()})
    assert response.status_code == 429 and b"Too many wrong codes" in response.data
    assert "Retry-After" in response.headers
    throttled = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.throttled",
                                                            AuditEntry.entity_id == staff.id)).all()
    assert {entry.source for entry in throttled} == {"api", "portal"}


def test_guessing_codes_from_many_addresses_hits_a_ceiling_for_the_account(app):
    staff = make_staff()
    db.session.commit()
    statuses = []
    for attempt in range(21):
        client = app.test_client()
        address = {"REMOTE_ADDR": f"198.51.100.{attempt + 1}"}
        client.submit("/login", {"email": staff.email, "password": PASSWORD}, environ_base=address)
        statuses.append(client.submit("/login/code", {"code": "000000"}, environ_base=address).status_code)
    assert statuses[:20] == [400] * 20 and statuses[20] == 429


# --------------------------------------------------------------------------- enrolment


def _enrolment_secret(page: bytes) -> str:
    return re.search(rb'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).decode().replace(" ", "")


def test_staff_without_two_factor_must_enrol_before_anything_else(app, client):
    staff = make_staff(two_factor=False)
    db.session.commit()
    response = _password_step(client, staff.email)
    assert response.headers["Location"] == "/login/enrol"
    assert client.get("/admin/").status_code == 302
    page = client.get("/login/enrol")
    assert page.status_code == 200 and b"<svg" in page.data and b"otpauth://totp/" in page.data
    secret = _enrolment_secret(page.data)
    assert client.get("/login/enrol").data.count(secret[:4].encode()) >= 1  # the same key on a reload
    assert _enrolment_secret(client.get("/login/enrol").data) == secret
    done = client.submit("/login/enrol", {"code": totp.current_code(secret)})
    assert done.status_code == 200 and b"Save your recovery codes" in done.data
    codes = re.findall(rb"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", done.data)
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200
    db.session.expire_all()
    user = db.session.get(User, staff.id)
    assert user.two_factor_enabled and user.totp_secret == secret
    stored = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == staff.id)))
    assert stored == {totp.hash_recovery_code(code.decode()) for code in codes}
    assert not any(code in str(stored).encode() for code in codes)
    assert "auth.two_factor_enrolled" in _actions(staff.id)


def test_a_doctor_without_two_factor_cannot_skip_to_the_code_step(app, client):
    doctor = make_doctor(two_factor=False)
    db.session.commit()
    _password_step(client, doctor.user.email)
    assert client.get("/login/code").headers["Location"] == "/login/enrol"


def test_a_wrong_enrolment_code_turns_nothing_on(app, client):
    staff = make_staff(two_factor=False)
    db.session.commit()
    _password_step(client, staff.email)
    client.get("/login/enrol")
    response = client.submit("/login/enrol", {"code": "000000"})
    assert response.status_code == 400
    db.session.expire_all()
    assert not db.session.get(User, staff.id).two_factor_enabled
    assert client.get("/admin/").status_code == 302


def test_patients_sign_in_with_a_password_alone_until_they_turn_two_factor_on(app, client):
    patient = make_patient()
    db.session.commit()
    assert _password_step(client, patient.user.email).headers["Location"] == "/doctors"
    page = client.get("/account/two-factor/enable")
    secret = _enrolment_secret(page.data)
    done = client.submit("/account/two-factor/enable", {"code": totp.current_code(secret)})
    assert b"Save your recovery codes" in done.data
    other = app.test_client()
    assert _password_step(other, patient.user.email).headers["Location"] == "/login/code"


# --------------------------------------------------------------------------- recovery codes


def _enrolled_staff_with_codes(client) -> tuple[User, list[str]]:
    staff = make_staff(two_factor=False)
    db.session.commit()
    _password_step(client, staff.email)
    secret = _enrolment_secret(client.get("/login/enrol").data)
    done = client.submit("/login/enrol", {"code": totp.current_code(secret)})
    codes = [c.decode() for c in re.findall(rb"<code>([a-z2-9-]{19})</code>", done.data)]
    client.submit("/logout")
    db.session.expire_all()
    return db.session.get(User, staff.id), codes


def test_a_recovery_code_signs_in_once(app, client):
    staff, codes = _enrolled_staff_with_codes(client)
    first = app.test_client()
    _password_step(first, staff.email)
    response = first.submit("/login/code", {"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert b"9 left" in first.get("/admin/").data
    second = app.test_client()
    _password_step(second, staff.email)
    assert second.submit("/login/code", {"code": codes[0]}).status_code == 400
    assert "auth.recovery_code_used" in _actions(staff.id)


def test_new_recovery_codes_need_the_password_and_replace_the_old_ones(app, client):
    staff, codes = _enrolled_staff_with_codes(client)
    client.login(staff.email, secret=staff.totp_secret)
    refused = client.submit("/account/two-factor/recovery-codes", {"renew-current_password": "wrong password!"})
    assert refused.status_code == 400
    renewed = client.submit("/account/two-factor/recovery-codes", {"renew-current_password": PASSWORD})
    new_codes = re.findall(rb"<code>([a-z2-9-]{19})</code>", renewed.data)
    assert len(new_codes) == 10
    other = app.test_client()
    _password_step(other, staff.email)
    assert other.submit("/login/code", {"code": codes[1]}).status_code == 400


def test_staff_and_doctors_cannot_turn_two_factor_off(app, client):
    staff = make_staff()
    db.session.commit()
    client.login(staff.email)
    client.submit("/account/two-factor/disable", {"disable-current_password": PASSWORD})
    db.session.expire_all()
    assert db.session.get(User, staff.id).two_factor_enabled


def test_a_patient_turns_two_factor_off_with_the_current_password(app, client):
    patient = make_patient()
    enrol_two_factor(patient.user)
    db.session.commit()
    client.login(patient.user.email)
    wrong = client.submit("/account/two-factor/disable", {"disable-current_password": "not my password"})
    assert wrong.status_code == 400
    client.submit("/account/two-factor/disable", {"disable-current_password": PASSWORD})
    db.session.expire_all()
    assert not db.session.get(User, patient.user.id).two_factor_enabled
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == patient.user.id)) == 0


def test_the_cli_resets_a_lost_second_factor(app, client):
    doctor = make_doctor()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["users", "reset-two-factor", "--email", doctor.user.email])
    assert result.exit_code == 0, result.output
    assert _password_step(client, doctor.user.email).headers["Location"] == "/login/enrol"
    assert "auth.two_factor_reset" in _actions(doctor.user.id)


# --------------------------------------------------------------------------- the JSON API


def test_api_login_of_an_account_with_two_factor_needs_the_code(app, client):
    staff = make_staff()
    db.session.commit()
    body = {"email": staff.email, "password": PASSWORD}
    missing = client.api("POST", "/api/session", json=body)
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "second_factor_required"
    wrong = client.api("POST", "/api/session", json={**body, "code": "000000"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_second_factor"
    right = client.api("POST", "/api/session", json={**body, "code": current_code()})
    assert right.status_code == 200 and right.get_json()["user"]["role"] == "staff"


def test_api_login_of_staff_not_enrolled_yet_is_refused(app, client):
    staff = make_staff(two_factor=False)
    db.session.commit()
    response = client.api("POST", "/api/session", json={"email": staff.email, "password": PASSWORD})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "two_factor_enrolment_required"


def test_pyotp_follows_the_frozen_clock(app):
    assert totp.time_step() == int(utcnow().timestamp()) // 30
    clock.freeze(DEFAULT_NOW + timedelta(minutes=5))
    assert totp.time_step() == int(DEFAULT_NOW.timestamp()) // 30 + 10


def test_the_demo_prints_a_key_with_which_the_demo_staff_log_in(app):
    from carebook.demo import DEMO_PASSWORD, STAFF

    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"authenticator app.*\n\(.*\): ([A-Z2-7]{32})", result.output).group(1)
    assert f'pyotp.TOTP("{secret}").now()' in result.output
    client = app.test_client()
    assert client.login(STAFF[0], DEMO_PASSWORD, secret=secret).headers["Location"] == "/admin/"
    again = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert secret in again.output
