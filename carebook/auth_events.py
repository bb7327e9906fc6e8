"""Authentication events and refused authorisations, written to the audit log.

One row per event: sign-in succeeded or failed, throttled, second factor
enrolled / used / failed, recovery code used, password reset requested or
completed, sign-out, session timed out, and requests refused for lack of rights.
Details hold only what an investigator needs: the client address, the route, the
method used, a reason. Never a password, code, token or health detail.

Events of a refused request (a wrong password or code, a throttle, a CSRF or
access refusal, a wrong current password) go through :func:`record_refusal`: the
request's own transaction may well be rolled back, and the row must stay.
"""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_limiter.util import get_remote_address
from sqlalchemy.orm import Session

from carebook import audit, unit_of_work
from models import User

ENTITY = "user"

LOGIN_SUCCEEDED = "auth.login_succeeded"
LOGIN_FAILED = "auth.login_failed"
THROTTLED = "auth.throttled"
PASSWORD_ACCEPTED = "auth.password_accepted"  # the first of two steps
SECOND_FACTOR_SUCCEEDED = "auth.second_factor_succeeded"
SECOND_FACTOR_FAILED = "auth.second_factor_failed"
RECOVERY_CODE_USED = "auth.recovery_code_used"
TWO_FACTOR_ENROLLED = "auth.two_factor_enrolled"
TWO_FACTOR_DISABLED = "auth.two_factor_disabled"
TWO_FACTOR_RESET = "auth.two_factor_reset"
RECOVERY_CODES_RENEWED = "auth.recovery_codes_renewed"
RESET_REQUESTED = "auth.password_reset_requested"
RESET_COMPLETED = "auth.password_reset_completed"
#: A registration to confirm by emailed link (the account, if it comes, is "user.created").
REGISTRATION_REQUESTED = "auth.registration_requested"
LOGOUT = "auth.logout"
SESSION_EXPIRED = "auth.session_expired"
CURRENT_PASSWORD_FAILED = "auth.current_password_failed"
FAILED_SIGN_INS_NOTIFIED = "auth.failed_sign_ins_notified"  # the owner was emailed (carebook/sign_in_alerts.py)
ACCESS_REFUSED = "access.refused"
CSRF_REFUSED = "access.csrf_refused"


def client_details() -> dict[str, Any]:
    """Where the request came from (the address as the proxy settings resolve it)."""
    if not has_request_context():
        return {}
    return {"address": get_remote_address() or "", "endpoint": request.endpoint or ""}


def record(session: Session, action: str, user: User | None, *, source: str, actor: User | None = None,
           **details: Any) -> None:
    """Write an event about ``user`` (None: no such account) done by ``actor`` (default: nobody signed in)."""
    audit.record(session, audit.Actor(actor, source), action, ENTITY, user.id if user else None,
                 **client_details(), **details)


def record_refusal(session: Session, action: str, user: User | None, *, source: str, actor: User | None = None,
                   **details: Any) -> None:
    """:func:`record` for a refused request: written apart from the request's own transaction,
    which may be rolled back (:func:`carebook.unit_of_work.apart`)."""
    row = (actor.id if actor else None, source, action, ENTITY, user.id if user else None,
           {**client_details(), **details})
    unit_of_work.apart(lambda separate: audit.write_row(separate, *row), session)
