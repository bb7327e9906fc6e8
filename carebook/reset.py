"""Password reset by emailed link.

A request makes a random token, keeps only its SHA-256 and emails the link. The
link works once, until it expires (PASSWORD_RESET_MINUTES), and not at all after
any later password change (:func:`carebook.accounts.set_password` voids every
unused link). Patients that staff created for a phone booking have no password:
this is how they choose one.

The view sends the email (:mod:`reminders.account_mail`) right after its commit.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebook import accounts, audit, auth_events
from carebook.clock import utcnow
from models import PasswordResetToken, User

RESET_PATH = "/password/reset"


@dataclass(frozen=True)
class ResetLink:
    user: User
    url: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(session: Session, email: str, *, lifetime: timedelta, base_url: str, source: str
                  ) -> ResetLink | None:
    """Make a link for the active account with this email; None (and nothing to send) if there is none."""
    user = accounts.user_by_email(session, email)
    if user is None or not user.is_active:
        auth_events.record(session, auth_events.RESET_REQUESTED, user, source=source,
                           outcome="no_active_account")
        return None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = PasswordResetToken(user_id=user.id, token_hash=_hash(token), created_at=now, expires_at=now + lifetime)
    session.add(row)
    session.flush()
    auth_events.record(session, auth_events.RESET_REQUESTED, user, source=source, outcome="link_sent")
    # In the query string, not the path: access logs record paths only.
    return ResetLink(user=user, url=f"{base_url.rstrip('/')}{RESET_PATH}?token={token}", expires_at=row.expires_at)


def valid_token(session: Session, token: str | None) -> PasswordResetToken | None:
    """The unused, unexpired reset row for ``token`` of an active account; None otherwise."""
    if not token or len(token) > 128:
        return None
    row = session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == _hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.user.is_active:
        return None
    return row


def complete_reset(session: Session, row: PasswordResetToken, new_password: str, *, source: str) -> User:
    """Set the new password (ending every session and voiding every other link) and use up this link."""
    user = row.user
    accounts.set_password(session, audit.Actor(None, source), user, new_password)
    row.used_at = utcnow()
    auth_events.record(session, auth_events.RESET_COMPLETED, user, source=source)
    return user
