"""Signing in and out: the one flow behind both doors, the website (portal/auth.py) and the JSON API (portal/api.py).

1. :func:`check_password` finds the active account with these credentials, or records the
   failure (kept even though the request is refused) and gives None: the same answer
   whether or not the address has an account.
2. Where :func:`needs_second_factor`, :func:`check_code` takes an authenticator or recovery
   code (failures recorded the same way). The website keeps the account between the two
   steps in a pending sign-in (portal/auth.py); the API takes both in one request.
3. :func:`finish` starts a fresh server-side session (ending the one this client had),
   records how the user signed in, and marks this device as one the owner uses
   (portal/known_devices.py). :func:`sign_out` ends it.

Both checks count failures per account, whatever the address and whichever the door
(carebook/throttling.py): wrong passwords from devices the owner has not signed in on
(past the limit those devices wait, and the owner is emailed once), and wrong codes.
Past a limit the check refuses before looking at the password or code, with
:class:`TooManyAttempts`: the same refusal whether or not the account exists.

Each door only turns the outcome into its own answer: a page, or JSON.
"""
from __future__ import annotations

import math

from flask import current_app, g, session
from flask_login import current_user, login_user, logout_user
from limits import parse_many

from carebook import accounts, auth_events, sign_in_alerts, throttling, two_factor, unit_of_work
from carebook.extensions import db
from models import User
from portal import known_devices
from reminders import account_mail


class TooManyAttempts(Exception):
    """Refused before the password or code was checked: ``retry_after`` seconds to wait (a 429)."""

    def __init__(self, retry_after: int, message: str):
        super().__init__(message)
        self.retry_after, self.message = retry_after, message

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def check_password(email: str, password: str, *, source: str) -> User | None:
    """The active account with these credentials; None (and an audit row) if there is none.

    Raises :class:`TooManyAttempts` while the account's wrong passwords from unknown devices
    are at their limit and this device is not one its owner signed in on.
    """
    account = throttling.account_key(email)
    device = known_devices.current()
    known = (device is not None and device.knows(account)
             and throttling.known_device_failures.wait(device.id) is None)
    if not known:
        wait = throttling.sign_in_failures.wait(account)
        if wait is not None:
            _refuse(accounts.user_by_email(db.session, email), source, throttling.SIGN_IN_FAILURES_PER_ACCOUNT)
            raise TooManyAttempts(wait, (
                "Too many failed sign-ins to this account. On a device where you have signed in before you "
                f"can sign in now; on this one, try again in {_minutes(wait)}, or choose a new password with "
                "“Forgot your password?”."))
    user = accounts.authenticate(db.session, email, password)
    if user is None:
        owner = accounts.user_by_email(db.session, email)
        auth_events.record_refusal(db.session, auth_events.LOGIN_FAILED, owner, source=source)
        if known:
            throttling.known_device_failures.hit(device.id)
        elif throttling.sign_in_failures.hit(account) and owner is not None:
            _tell_owner(owner)
    return user


def _refuse(user: User | None, source: str, limit: str) -> None:
    auth_events.record_refusal(db.session, auth_events.THROTTLED, user, source=source, limit=limit)


def _tell_owner(user: User) -> None:
    """Email the owner about the failures, unless they were told within NOTICE_INTERVAL (carebook/sign_in_alerts.py)."""
    app = current_app._get_current_object()
    recipient = account_mail.Recipient.of(user)
    [limit] = parse_many(throttling.SIGN_IN_FAILURES_PER_ACCOUNT)
    minutes = limit.get_expiry() // 60

    def claim(separate):
        if not sign_in_alerts.claim_notice(separate, recipient.user_id):
            return None
        return lambda: account_mail.send_failed_sign_ins(app, recipient, limit.amount, minutes)

    unit_of_work.apart(claim)


def needs_second_factor(user: User) -> bool:
    return two_factor.needed_at_login(user)


def check_code(user: User, code: str, *, source: str) -> two_factor.Verified | None:
    """Use up a code from the authenticator app or a recovery code; None (and an audit row) if it is not right.

    Raises :class:`TooManyAttempts` while the account's wrong codes, through either door, are at their limit.
    """
    wait = throttling.code_failures.wait(str(user.id))
    if wait is not None:
        _refuse(user, source, throttling.CODE_FAILURES_PER_ACCOUNT)
        raise TooManyAttempts(wait, f"Too many wrong codes for this account. Please try again in {_minutes(wait)}.")
    verified = two_factor.verify(db.session, user, code, source=source)
    if verified is None:
        throttling.code_failures.hit(str(user.id))
    return verified


def code_already_used(user: User, code: str) -> bool:
    """Whether a refused code was good once and is used up (then "already used" is the true answer)."""
    return two_factor.already_used(db.session, user, code)


def start_session(user: User) -> None:
    """Sign ``user`` in on a new server-side session: nothing from before survives (a pending step neither),
    and the session this client had ends."""
    _end_current_session()
    session.clear()
    user_session = accounts.start_session(db.session, user)
    user.login_session_id = user_session.token
    login_user(user)


def finish(user: User, method: str, *, source: str) -> None:
    """Sign ``user`` in, having passed every step ``method`` names ("password", "totp", ...)."""
    start_session(user)
    auth_events.record(db.session, auth_events.LOGIN_SUCCEEDED, user, source=source, actor=user, method=method)
    known_devices.remember(throttling.account_key(user.email))


def sign_out(*, source: str) -> None:
    """End the signed-in user's session, server side and in the cookie."""
    user = current_user._get_current_object()
    _end_current_session()
    auth_events.record(db.session, auth_events.LOGOUT, user, source=source, actor=user)
    logout_user()
    session.clear()


def _end_current_session() -> None:
    user_session = g.get("user_session")
    if user_session is None and current_user.is_authenticated and current_user.login_session_id:
        user_session = accounts.find_session(db.session, current_user.login_session_id)
    if user_session is not None:
        accounts.end_session(user_session)
