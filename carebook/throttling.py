"""Throttles on the doors a password guesser knocks on: login, the second step, registration, password reset.

Two limits on login. Per client address, on every attempt, against a flood from one
place. Per (account, address), on failures only, against guessing one account's
password: it blocks the guesser's address for that account, never the account
itself, so an attacker cannot lock a patient out of their own account.

The code step (after the password) has the same pair, keyed by the account whose
password was just given, plus a per-account ceiling on failures from anywhere: an
attacker who knows a password cannot then try a million codes from a million
addresses. Password reset requests and registrations are limited per address and per
email address asked for (each emails that address: nobody can flood a patient's inbox);
the pages that use an emailed link per address.

Every refusal is written to the audit log (:func:`audit_breach`).
"""
from __future__ import annotations

from flask import Response, request, session
from flask_limiter.util import get_remote_address

from carebook.accounts import normalise_email

LOGIN_PER_ADDRESS = "30 per minute;300 per hour"
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"
REGISTRATIONS_PER_ADDRESS = "10 per hour"
#: Each registration emails the address given (a link, or "you already have an account").
REGISTRATIONS_PER_EMAIL = "3 per hour;10 per day"
CODE_PER_ADDRESS = "30 per minute;300 per hour"
CODE_FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"
CODE_FAILURES_PER_ACCOUNT = "20 per hour;50 per day"
RESET_REQUESTS_PER_ADDRESS = "5 per 15 minutes;50 per day"
RESET_REQUESTS_PER_ACCOUNT = "3 per hour;10 per day"
RESET_USES_PER_ADDRESS = "20 per 15 minutes"
#: Guessing the current password on an account page left open on a shared computer.
CURRENT_PASSWORD_FAILURES_PER_ACCOUNT = "5 per 15 minutes"

#: The Flask session key of a sign-in waiting for its second step.
PENDING_LOGIN_KEY = "pending_login"


def submitted_email() -> str:
    """The email being tried (from a form or a JSON body), normalised."""
    email = request.form.get("email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) and isinstance(body.get("email"), str) else ""
    return normalise_email(email or "")[:254]


def account_and_address() -> str:
    """The email being tried and the client's address."""
    return f"{submitted_email()}|{get_remote_address()}"


def email_asked_for() -> str:
    return f"reset|{submitted_email()}"


def email_registering() -> str:
    return f"register|{submitted_email()}"


def pending_account() -> str:
    """The account waiting for its second step (from the signed session cookie)."""
    pending = session.get(PENDING_LOGIN_KEY)
    user_id = pending.get("user_id") if isinstance(pending, dict) else None
    return f"code|{user_id}"


def pending_account_and_address() -> str:
    return f"{pending_account()}|{get_remote_address()}"


def signed_in_account() -> str:
    from flask_login import current_user

    return f"account|{current_user.get_id() and current_user.id}"


def second_factor_account() -> str:
    """The account whose code the JSON API is asked to check (by email: the API has one step)."""
    return f"code-by-email|{submitted_email()}"


def failed_login(response: Response) -> bool:
    return response.status_code in (400, 401)


def wrong_api_code(response: Response) -> bool:
    return response.status_code == 401 and b'"invalid_second_factor"' in response.get_data()


def audit_breach(request_limit) -> None:
    """``on_breach`` of every throttle here: file the refusal in the audit log."""
    from carebook import accounts, auth_events
    from carebook.access import request_source
    from carebook.extensions import db

    user = None
    if request.endpoint in ("auth.login", "api.login", "auth.forgot_password"):
        user = accounts.user_by_email(db.session, submitted_email())
    elif PENDING_LOGIN_KEY in session:
        from models import User

        pending = session.get(PENDING_LOGIN_KEY)
        user = db.session.get(User, pending.get("user_id")) if isinstance(pending, dict) else None
    auth_events.record_refusal(db.session, auth_events.THROTTLED, user, source=request_source(),
                               limit=str(request_limit.limit))
