"""Invitations: how a patient registered by staff (often without email) gets an online login.

Staff make one for a patient who has no password yet. It is a random token, of which only the
SHA-256 is kept; the link (``/invitation?token=...``) is shown once to the staff member, to read
out or send, emailed when the patient has an address, and sent by SMS to their mobile when staff
ask for that (through the reminder function: reminders/notices.py). It works once, until it expires
(INVITATION_DAYS), and a newer invitation voids the older ones. Opening it, the patient sets a
password and, if they have none, adds an email address: that address becomes their login. Every
step is in the audit log (``patient.invited``, ``patient.invitation_accepted``), never the token.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebook import accounts, audit, phones
from carebook.accounts import AccountError
from carebook.clock import utcnow
from models import Invitation, Patient, User

INVITATION_PATH = "/invitation"
TAKEN = "An account with this email address already exists."


@dataclass(frozen=True)
class InvitationLink:
    user: User
    url: str
    expires_at: datetime
    emailed_to: str | None
    #: The mobile number the link is sent to by SMS (staff asked for it), or None.
    texted_to: str | None = None
    invitation_id: int | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(session: Session, actor: audit.Actor, patient: Patient, *, lifetime: timedelta, base_url: str,
           by_sms: bool = False) -> InvitationLink:
    """A new single-use link for a patient without a login; earlier unused ones stop working.

    ``by_sms``: also send it by SMS, which needs a mobile number (AccountError otherwise).
    """
    user = patient.user
    if not user.is_active:
        raise AccountError("This patient's login is deactivated: reactivate it first.")
    if user.password_hash is not None:
        raise AccountError("This patient can already log in. If they forgot their password, "
                           "they can choose a new one with “Forgot your password?”.")
    if by_sms and not phones.is_mobile(patient.phone):
        raise AccountError("This patient has no mobile number to send a text message to.")
    now = utcnow()
    session.execute(update(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
                    .values(used_at=now).execution_options(synchronize_session=False))
    token = secrets.token_urlsafe(32)
    row = Invitation(user_id=user.id, token_hash=_hash(token), created_by_id=actor.user_id, created_at=now,
                     expires_at=now + lifetime)
    session.add(row)
    session.flush()
    ways = [way for way, used in (("email", bool(user.email)), ("sms", by_sms)) if used]
    audit.record(session, actor, "patient.invited", "patient", patient.id,
                 by="+".join(ways) or "shown", expires_at=row.expires_at.isoformat())
    # In the query string, not the path: access logs record paths only.
    return InvitationLink(user=user, url=f"{base_url.rstrip('/')}{INVITATION_PATH}?token={token}",
                          expires_at=row.expires_at, emailed_to=user.email,
                          texted_to=patient.phone if by_sms else None, invitation_id=row.id)


def valid_invitation(session: Session, token: str | None) -> Invitation | None:
    """The unused, unexpired invitation for ``token`` of an active patient still without a login."""
    if not token or len(token) > 128:
        return None
    row = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if (row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.user.is_active
            or row.user.password_hash is not None):
        return None
    return row


def accept(session: Session, row: Invitation, *, email: str | None, password: str, source: str) -> User:
    """Set the password (and the email, for a patient who had none) and use up the link."""
    user = row.user
    actor = audit.Actor(user, source)
    added_email = False
    if user.email is None:
        address = accounts.optional_email(email)
        if address is None:
            raise AccountError("Enter your email address: you will log in with it.", field="email")
        if session.scalar(select(User.id).where(User.email == address)) is not None:
            raise AccountError(TAKEN, field="email")
        user.email = address
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise AccountError(TAKEN, field="email") from None
        added_email = True
    accounts.set_password(session, actor, user, password)
    row.used_at = utcnow()
    patient_id = user.patient.id if user.patient else None
    audit.record(session, actor, "patient.invitation_accepted", "patient", patient_id, added_email=added_email)
    return user
