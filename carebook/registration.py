"""Patient registration by emailed link: the answer never says whether the address has an account.

1. :func:`request_registration` checks what does not depend on the address (the birth date,
   the password's strength), hashes the password and keeps the request. It looks nothing up
   by address: a new address and one that has an account cost the same and get the same
   answer. The view queues the email for after the response (reminders/account_mail.py).
2. The relay decides what that email says (:func:`prepare_email`): to an address without an
   account, a link to finish (:func:`issue_link`, a random token of which only the SHA-256 is
   kept); to an address that has one, "you already have an account: sign in, or reset your
   password". Only the owner of the mailbox reads either.
3. The link (:func:`valid_request`) works once, for ``LINK_LIFETIME``: following it and
   confirming makes the account (:func:`complete_registration`) and signs its owner in.

Requests are deleted when used, and by the relay once expired (:func:`prune`): a name, a
birth date and a phone number are not kept for someone who never came back.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from carebook import accounts, audit, auth_events
from carebook.clock import utcnow
from carebook.passwords import hash_password, password_problem
from models import Patient, RegistrationRequest, User

CONFIRM_PATH = "/register/confirm"
#: How long an emailed link works; requests are deleted a day after that.
LINK_LIFETIME = timedelta(hours=24)
KEPT_AFTER_EXPIRY = timedelta(days=1)
#: A request still without a link waits this long for the relay (which may be down) before it goes.
KEPT_WITHOUT_LINK = timedelta(days=7)


@dataclass(frozen=True)
class RegistrationLink:
    request: RegistrationRequest
    url: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_registration(session: Session, *, email: str, password: str, full_name: str, date_of_birth: date,
                         phone: str, source: str) -> RegistrationRequest:
    """Keep a registration to confirm by email. Raises AccountError for a future birth date or a weak password.

    The same work whatever the address: the question whether it already has an account is
    left to the email (:func:`prepare_email`).
    """
    if date_of_birth > utcnow().date():
        raise accounts.AccountError("Date of birth cannot be in the future.", field="date_of_birth")
    problem = password_problem(password)
    if problem:
        raise accounts.AccountError(problem, field="password")
    phone = accounts.parse_phone(phone)  # refused now, not when the link is followed
    request = RegistrationRequest(email=accounts.normalise_email(email)[:254], full_name=full_name.strip(),
                                  date_of_birth=date_of_birth, phone=phone,
                                  password_hash=hash_password(password), created_at=utcnow())
    session.add(request)
    session.flush()
    auth_events.record(session, auth_events.REGISTRATION_REQUESTED, None, source=source)
    return request


@dataclass(frozen=True)
class AlreadyRegistered:
    """The email for a request whose address has an account already."""

    request: RegistrationRequest
    user: User


def prepare_email(session: Session, request: RegistrationRequest, *, base_url: str
                  ) -> RegistrationLink | AlreadyRegistered:
    """What to send for ``request`` (the relay calls this and sends it in one unit of work)."""
    user = accounts.user_by_email(session, request.email)
    if user is not None:
        return AlreadyRegistered(request, user)
    return issue_link(session, request, base_url=base_url)


def issue_link(session: Session, request: RegistrationRequest, *, base_url: str) -> RegistrationLink:
    """A new link for ``request`` (any earlier one stops working)."""
    token = secrets.token_urlsafe(32)
    request.token_hash = _hash(token)
    request.expires_at = utcnow() + LINK_LIFETIME
    session.flush()
    # In the query string, not the path: access logs record paths only.
    return RegistrationLink(request=request, url=f"{base_url.rstrip('/')}{CONFIRM_PATH}?token={token}",
                            expires_at=request.expires_at)


def valid_request(session: Session, token: str | None) -> RegistrationRequest | None:
    """The unused, unexpired request of the link's ``token``; None otherwise."""
    if not token or len(token) > 128:
        return None
    request = session.scalar(select(RegistrationRequest).where(RegistrationRequest.token_hash == _hash(token)))
    if request is None or request.expires_at is None or request.expires_at <= utcnow():
        return None
    return request


def complete_registration(session: Session, request: RegistrationRequest, *, source: str) -> Patient:
    """Make the patient account the request describes, and forget every request for its address.

    Raises AccountError if the address got an account since (another link of the same
    mailbox, or staff making one).
    """
    patient = accounts.register_patient(session, audit.Actor(None, source), email=request.email, password=None,
                                        full_name=request.full_name, date_of_birth=request.date_of_birth,
                                        phone=request.phone)
    patient.user.password_hash = request.password_hash
    session.execute(delete(RegistrationRequest).where(RegistrationRequest.email == request.email)
                    .execution_options(synchronize_session=False))
    session.expunge(request)
    session.flush()
    return patient


def forget(session: Session, request: RegistrationRequest) -> None:
    """Delete a request that will never be confirmed (its address has an account)."""
    session.delete(request)
    session.flush()


def prune(session: Session) -> int:
    """Delete the requests whose link expired a day ago, or that got none in a week; return how many."""
    now = utcnow()
    never_sent = and_(RegistrationRequest.expires_at.is_(None),
                      RegistrationRequest.created_at < now - KEPT_WITHOUT_LINK)
    expired = or_(RegistrationRequest.expires_at < now - KEPT_AFTER_EXPIRY, never_sent)
    result = session.execute(delete(RegistrationRequest).where(expired).execution_options(synchronize_session=False))
    return result.rowcount
