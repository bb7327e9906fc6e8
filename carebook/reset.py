"""Password reset by emailed link.

A request makes a random token, keeps only its SHA-256 and emails the link. The
link works once, until it expires (PASSWORD_RESET_MINUTES), and not at all after
any later password change (:func:`carebook.accounts.set_password` voids every
unused link). Patients that staff created for a phone booking have no password:
this is how they choose one.

The request (:func:`request_reset`) only records that a link was asked for: the view
queues the email in the outbox whether or not the address has an account, and the relay
makes the link and sends it after the response (:func:`issue_link`, reminders/account_mail.py).
So the answer takes as long for an address with an account as for one without, and no live
token ever sits in a table: it is made just before it is sent, and only its hash is kept.
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


def request_reset(session: Session, email: str, *, source: str) -> int | None:
    """Record the request; the id of the active account with this email, or None if there is none.

    Either way the caller answers the same and queues the email the same: the relay sends a
    link only to an active account (:func:`issue_link`). The lookup reads two columns, not the
    account: finding one costs no more than finding none.
    """
    found = None
    if email and "\x00" not in email:  # as accounts.user_by_email
        found = session.execute(select(User.id, User.is_active)
                                .where(User.email == accounts.normalise_email(email)[:254])).first()
    user_id = found.id if found is not None else None
    active = found is not None and found.is_active
    audit.record(session, audit.Actor(None, source), auth_events.RESET_REQUESTED, auth_events.ENTITY, user_id,
                 **auth_events.client_details(), outcome="link_queued" if active else "no_active_account")
    return user_id if active else None


def issue_link(session: Session, user: User, *, lifetime: timedelta, base_url: str) -> ResetLink:
    """A new link for ``user``, valid for ``lifetime`` (made by the relay just before it sends it)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = PasswordResetToken(user_id=user.id, token_hash=_hash(token), created_at=now, expires_at=now + lifetime)
    session.add(row)
    session.flush()
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
