"""Signing in and out: the one flow behind both doors, the website (portal/auth.py) and the JSON API (portal/api.py).

1. :func:`check_password` finds the active account with these credentials, or records the
   failure (kept even though the request is refused) and gives None: the same answer
   whether or not the address has an account.
2. Where :func:`needs_second_factor`, :func:`check_code` takes an authenticator or recovery
   code (failures recorded the same way). The website keeps the account between the two
   steps in a pending sign-in (portal/auth.py); the API takes both in one request.
3. :func:`finish` starts a fresh server-side session (ending the one this client had) and
   records how the user signed in. :func:`sign_out` ends it.

Each door only turns the outcome into its own answer: a page, or JSON.
"""
from __future__ import annotations

from flask import g, session
from flask_login import current_user, login_user, logout_user

from carebook import accounts, auth_events, two_factor
from carebook.extensions import db
from models import User


def check_password(email: str, password: str, *, source: str) -> User | None:
    """The active account with these credentials; None (and an audit row) if there is none."""
    user = accounts.authenticate(db.session, email, password)
    if user is None:
        auth_events.record_refusal(db.session, auth_events.LOGIN_FAILED, accounts.user_by_email(db.session, email),
                                   source=source)
    return user


def needs_second_factor(user: User) -> bool:
    return two_factor.needed_at_login(user)


def check_code(user: User, code: str, *, source: str) -> two_factor.Verified | None:
    """Use up a code from the authenticator app or a recovery code; None (and an audit row) if it is not right."""
    return two_factor.verify(db.session, user, code, source=source)


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
