"""Throttles on the doors a password guesser knocks on: login, registration, password reset.

Two limits on login. Per client address, on every attempt, against a flood from one
place. Per (account, address), on failures only, against guessing one account's
password: it blocks the guesser's address for that account, never the account
itself, so an attacker cannot lock a patient out of their own account.
"""
from __future__ import annotations

from flask import Response, request
from flask_limiter.util import get_remote_address

from carebook.accounts import normalise_email

LOGIN_PER_ADDRESS = "30 per minute;300 per hour"
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"
REGISTRATIONS_PER_ADDRESS = "10 per hour"


def account_and_address() -> str:
    """The email being tried (from a form or a JSON body) and the client's address."""
    email = request.form.get("email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) and isinstance(body.get("email"), str) else ""
    return f"{normalise_email(email or '')[:254]}|{get_remote_address()}"


def failed_login(response: Response) -> bool:
    return response.status_code in (400, 401)
