"""Guessing one account's password from many addresses (ASVS 6.3.1), through the pages and the API.

After SIGN_IN_FAILURES_PER_ACCOUNT wrong passwords from anywhere, devices the owner has
not signed in on wait for the rest of the window, whatever their address; the owner's
own devices do not; the owner is emailed, once per NOTICE_INTERVAL.
"""
from __future__ import annotations

import email
from datetime import timedelta
from pathlib import Path

import pytest
from limits import parse_many
from sqlalchemy import select

from carebook import clock, throttling
from carebook.extensions import db, limiter
from carebook.sign_in_alerts import NOTICE_INTERVAL
from models import AuditEntry
from portal import known_devices
from reminders.state import get_state
from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD, make_patient

WRONG = "not the password at all"
[LIMIT] = parse_many(throttling.SIGN_IN_FAILURES_PER_ACCOUNT)
NEW_PASSWORD = "a brand new passphrase for the clinic"


def _address(number: int) -> dict:
    return {"REMOTE_ADDR": f"198.51.100.{number}"}


def _page_sign_in(client, address: str, password: str, number: int):
    return client.submit("/login", {"email": address, "password": password}, environ_base=_address(number))


def _api_sign_in(client, address: str, password: str, number: int):
    return client.open("/api/session", method="POST", json={"email": address, "password": password},
                       headers={"X-CSRFToken": client.csrf_token()}, environ_base=_address(number))


def _guess_from_many_addresses(app, address: str, times: int = LIMIT.amount, first: int = 1) -> list[int]:
    """Wrong passwords for ``address``, each from a new client at a new address, through both doors."""
    statuses = []
    for number in range(first, first + times):
        sign_in = _api_sign_in if number % 2 else _page_sign_in
        statuses.append(sign_in(app.test_client(), address, WRONG, number).status_code)
    return statuses


def _mails(app) -> list:
    """The emails sent so far: first the relay sends what requests queued (the reset link), as the worker does."""
    from reminders.relay import relay_once

    relay_once(app)
    folder = Path(get_state(app).settings.mail_folder)
    if not folder.exists():
        return []
    return [email.message_from_bytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


def _text(message) -> str:
    part = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def _notices(app, to: str) -> list:
    return [message for message in _mails(app)
            if message["To"] == to and message["X-Carebook-Email"] == "failed_sign_ins"]


def _window_passes() -> None:
    """The counters' window ends (they are kept in real time, not the frozen clock)."""
    limiter.storage.reset()


@pytest.fixture
def patient(app):
    patient = make_patient()
    db.session.commit()
    return patient


def test_failures_from_ten_addresses_make_new_devices_wait_through_both_doors(app, patient):
    assert _guess_from_many_addresses(app, patient.user.email) == [400 if n % 2 == 0 else 401
                                                                    for n in range(1, LIMIT.amount + 1)]
    # The right password from yet another address and device: the account waits, whoever asks.
    page = _page_sign_in(app.test_client(), patient.user.email, PASSWORD, 100)
    api = _api_sign_in(app.test_client(), patient.user.email, PASSWORD, 101)
    assert page.status_code == 429 and b"Too many failed sign-ins to this account" in page.data
    assert b"Forgot your password" in page.data
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "too_many_requests"
    for response in (page, api):
        assert 0 < int(response.headers["Retry-After"]) <= LIMIT.get_expiry()
    throttled = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.throttled",
                                                            AuditEntry.entity_id == patient.user.id)).all()
    assert [entry.details["limit"] for entry in throttled] == [throttling.SIGN_IN_FAILURES_PER_ACCOUNT] * 2


def test_the_wait_is_short_and_ends_with_the_window(app, patient):
    _guess_from_many_addresses(app, patient.user.email)
    assert _page_sign_in(app.test_client(), patient.user.email, PASSWORD, 100).status_code == 429
    _window_passes()
    assert _page_sign_in(app.test_client(), patient.user.email, PASSWORD, 100).status_code == 302


def test_an_address_without_an_account_is_answered_the_same(app, patient):
    _guess_from_many_addresses(app, patient.user.email)
    _guess_from_many_addresses(app, "nobody.here@example.test")
    known = _page_sign_in(app.test_client(), patient.user.email, PASSWORD, 100)
    unknown = _page_sign_in(app.test_client(), "nobody.here@example.test", PASSWORD, 100)
    assert known.status_code == unknown.status_code == 429
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"] or \
        abs(int(known.headers["Retry-After"]) - int(unknown.headers["Retry-After"])) <= 2
    assert _api_sign_in(app.test_client(), "nobody.here@example.test", PASSWORD, 101).get_json() == \
        _api_sign_in(app.test_client(), patient.user.email, PASSWORD, 101).get_json()


def test_the_owner_signs_in_on_a_device_used_before_while_others_wait(app, patient):
    phone, laptop = app.test_client(), app.test_client()
    assert phone.login(patient.user.email).status_code == 302
    assert _api_sign_in(laptop, patient.user.email, PASSWORD, 7).status_code == 200
    for device in (phone, laptop):
        assert device.get_cookie(known_devices.COOKIE_NAME) is not None
    _guess_from_many_addresses(app, patient.user.email)

    assert _page_sign_in(phone, patient.user.email, PASSWORD, 200).status_code == 302
    assert _api_sign_in(laptop, patient.user.email, PASSWORD, 201).status_code == 200
    assert _page_sign_in(app.test_client(), patient.user.email, PASSWORD, 202).status_code == 429


def test_a_device_vouches_only_for_accounts_signed_in_on_it(app, patient):
    other = make_patient(name="Other Person")
    db.session.commit()
    shared = app.test_client()
    assert shared.login(other.user.email).status_code == 302
    _guess_from_many_addresses(app, patient.user.email)
    assert _page_sign_in(shared, patient.user.email, PASSWORD, 200).status_code == 429


def test_a_known_device_that_keeps_failing_waits_like_any_other(app, patient):
    phone = app.test_client()
    assert phone.login(patient.user.email).status_code == 302
    _guess_from_many_addresses(app, patient.user.email)
    # The phone's own failures (a stolen cookie, say) count against the phone, at any address.
    [device_limit] = parse_many(throttling.SIGN_IN_FAILURES_PER_KNOWN_DEVICE)
    statuses = [_page_sign_in(phone, patient.user.email, WRONG, 150 + n).status_code
                for n in range(device_limit.amount)]
    assert statuses == [400] * device_limit.amount
    assert _page_sign_in(phone, patient.user.email, PASSWORD, 199).status_code == 429


@pytest.mark.parametrize("tamper", ["forged", "altered", "other secret"])
def test_only_a_cookie_signed_here_makes_a_device_known(app, patient, tamper):
    phone = app.test_client()
    assert phone.login(patient.user.email).status_code == 302
    value = phone.get_cookie(known_devices.COOKIE_NAME).value
    if tamper == "forged":
        value = "eyJkIjoieCIsImEiOltdfQ.forged.signature"
    elif tamper == "altered":
        value = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    else:
        from itsdangerous import URLSafeTimedSerializer

        data = URLSafeTimedSerializer(app.secret_key, salt="carebook.known-device").loads(value)
        value = URLSafeTimedSerializer("another secret key " * 3, salt="carebook.known-device").dumps(data)
    phone.set_cookie(known_devices.COOKIE_NAME, value)
    _guess_from_many_addresses(app, patient.user.email)
    assert _page_sign_in(phone, patient.user.email, PASSWORD, 200).status_code == 429


def test_a_password_reset_through_the_emailed_link_makes_the_device_known(app, patient):
    _guess_from_many_addresses(app, patient.user.email)
    device = app.test_client()
    assert device.submit("/password/forgot", {"email": patient.user.email}).status_code == 200
    [message] = [m for m in _mails(app) if m["X-Carebook-Email"] == "password_reset"]
    link = next(line for line in _text(message).splitlines() if "token=" in line)
    path = link[link.index("/password/reset"):].strip()
    device.get(path)
    reset = device.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert reset.status_code == 302
    assert _page_sign_in(device, patient.user.email, NEW_PASSWORD, 230).status_code == 302


def test_the_owner_is_emailed_once_when_the_limit_is_reached(app, patient):
    _guess_from_many_addresses(app, patient.user.email, times=LIMIT.amount - 1)
    assert _notices(app, patient.user.email) == []
    _guess_from_many_addresses(app, patient.user.email, times=1, first=LIMIT.amount)
    [notice] = _notices(app, patient.user.email)
    text = _text(notice)
    assert f"{LIMIT.amount} times" in text and "Nobody got in" in text and "/password/forgot" in text
    assert "198.51.100" not in notice.as_string()  # nothing about whoever was guessing
    assert db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_id == patient.user.id, AuditEntry.action == "auth.failed_sign_ins_notified")).all() \
        == ["auth.failed_sign_ins_notified"]
    # Refused attempts (the account waits) send nothing more.
    _page_sign_in(app.test_client(), patient.user.email, WRONG, 120)
    assert len(_notices(app, patient.user.email)) == 1


def test_one_notice_per_interval_however_long_the_guessing_goes_on(app, patient):
    _guess_from_many_addresses(app, patient.user.email)
    for hours in (1, 6, 23):
        clock.freeze(DEFAULT_NOW + timedelta(hours=hours))
        _window_passes()
        _guess_from_many_addresses(app, patient.user.email)
    assert len(_notices(app, patient.user.email)) == 1

    clock.freeze(DEFAULT_NOW + NOTICE_INTERVAL + timedelta(minutes=1))
    _window_passes()
    _guess_from_many_addresses(app, patient.user.email)
    assert len(_notices(app, patient.user.email)) == 2


def test_nobody_is_emailed_for_an_address_without_an_account(app):
    _guess_from_many_addresses(app, "nobody.here@example.test")
    assert [m for m in _mails(app) if m["X-Carebook-Email"] == "failed_sign_ins"] == []


def test_failures_on_known_devices_do_not_count_against_the_account(app, patient):
    phone = app.test_client()
    assert phone.login(patient.user.email).status_code == 302
    for n in range(LIMIT.amount):  # the owner mistyping on their own phone
        assert _page_sign_in(phone, patient.user.email, WRONG, 60 + n).status_code == 400
    assert _page_sign_in(app.test_client(), patient.user.email, PASSWORD, 99).status_code == 302
    assert _notices(app, patient.user.email) == []
