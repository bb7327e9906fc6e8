"""Throttles on the doors a password guesser knocks on: login, the second step, registration, password reset.

Limits on login, both doors (the pages and ``POST /api/session``):

* per client address, on every attempt, against a flood from one place;
* per (account, address), on failures only: it blocks the guesser's address for that
  account, never the account itself;
* per account from every address (:data:`SIGN_IN_FAILURES_PER_ACCOUNT`), counted by the
  one sign-in flow (portal/sign_in.py): after that many wrong passwords, devices the
  owner has not signed in on wait for the rest of the window, whatever their address;
  the owner's own devices do not (portal/known_devices.py), so an attacker cannot lock
  the owner out; and the owner is told by email (carebook/sign_in_alerts.py).

The code step (after the password) is limited per (account, address) on the pages, and
per account from everywhere, whichever door (:data:`CODE_FAILURES_PER_ACCOUNT`, one
counter): an attacker who knows a password cannot then try a million codes from a
million addresses. Password reset requests and registrations are limited per address
and per email address asked for (each emails that address: nobody can flood a patient's
inbox); the pages that use an emailed link per address.

Keys hold no address or email as such, only keyed pseudonyms (carebook/pseudonyms.py):
they are what Redis stores and what Flask-Limiter logs when a limit is breached. Every
refusal is written to the audit log (:func:`audit_breach`, and the sign-in flow's own).
Where the counters live, and what happens when Redis is away: carebook/throttle_store.py.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Response, current_app, request, session
from limits import RateLimitItem, parse_many
from limits.storage import Storage

from carebook.accounts import normalise_email
from carebook.extensions import limiter
from carebook.pseudonyms import client_address, pseudonym

LOGIN_PER_ADDRESS = "30 per minute;300 per hour"
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"
REGISTRATIONS_PER_ADDRESS = "10 per hour"
#: Each registration emails the address given (a link, or "you already have an account").
REGISTRATIONS_PER_EMAIL = "3 per hour;10 per day"
CODE_PER_ADDRESS = "30 per minute;300 per hour"
CODE_FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"
#: Wrong codes for one account, from every address, through either door (one counter).
CODE_FAILURES_PER_ACCOUNT = "20 per hour;50 per day"
#: Wrong passwords for one account from devices its owner has not signed in on, any address.
SIGN_IN_FAILURES_PER_ACCOUNT = "10 per 15 minutes"
#: Wrong passwords from one device the owner has signed in on, after which it waits like any other.
SIGN_IN_FAILURES_PER_KNOWN_DEVICE = "10 per 15 minutes"
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


def account_key(email: str) -> str:
    """The account an email address names (whether or not it exists), as a keyed pseudonym."""
    return pseudonym("account", normalise_email(email or "")[:254])


def account_and_address() -> str:
    """The email being tried and the client's address."""
    return f"{account_key(submitted_email())}|{client_address()}"


def email_asked_for() -> str:
    return f"reset|{account_key(submitted_email())}"


def email_registering() -> str:
    return f"register|{account_key(submitted_email())}"


def pending_account() -> str:
    """The account waiting for its second step (from the signed session cookie)."""
    pending = session.get(PENDING_LOGIN_KEY)
    user_id = pending.get("user_id") if isinstance(pending, dict) else None
    return f"code|{user_id}"


def pending_account_and_address() -> str:
    return f"{pending_account()}|{client_address()}"


def signed_in_account() -> str:
    from flask_login import current_user

    return f"account|{current_user.get_id() and current_user.id}"


def failed_login(response: Response) -> bool:
    return response.status_code in (400, 401)


# --------------------------------------------------------------------------- the app's own counters


@dataclass(frozen=True)
class Counter:
    """A throttle counted where the decision is made (the sign-in flow), not around a whole route.

    Kept in the same store as Flask-Limiter's (Redis, falling back to memory), in fixed windows.
    """

    scope: str
    limits: str

    def _keys(self, key: str) -> list[tuple[RateLimitItem, str]]:
        prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
        return [(item, item.key_for(*filter(None, (prefix, self.scope, key)))) for item in parse_many(self.limits)]

    def wait(self, key: str) -> int | None:
        """Seconds until ``key`` may try again; None if it may now."""
        store = _store()
        if store is None:
            return None
        waits = [store.get_expiry(name) - time.time() for item, name in self._keys(key) if store.get(name) >= item.amount]
        return max(1, math.ceil(max(waits))) if waits else None

    def hit(self, key: str) -> bool:
        """Count one against ``key``; True if this one used up a limit (the moment to tell someone)."""
        store = _store()
        if store is None:
            return False
        return any([store.incr(name, item.get_expiry()) == item.amount for item, name in self._keys(key)])


def _store() -> Storage | None:
    """Flask-Limiter's storage (carebook/throttle_store.py), unless throttling is turned off."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not limiter.initialized:
        return None
    return limiter.storage


sign_in_failures = Counter("sign-in-failures-per-account", SIGN_IN_FAILURES_PER_ACCOUNT)
known_device_failures = Counter("sign-in-failures-per-known-device", SIGN_IN_FAILURES_PER_KNOWN_DEVICE)
code_failures = Counter("code-failures-per-account", CODE_FAILURES_PER_ACCOUNT)


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
