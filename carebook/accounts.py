"""Accounts: registration, sign-in, password and email changes, and the server-side sessions behind the cookie."""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from functools import partial
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from carebook import audit
from carebook.clock import utcnow
from carebook.config import SessionTimeouts
from carebook.passwords import hash_password, needs_rehash, password_problem, verify_password
from models import Doctor, PasswordResetToken, Patient, Role, User, UserSession

#: ``last_seen_at`` is written at most this often: the idle timeout needs no finer grain,
#: and most requests then write nothing.
LAST_SEEN_GRAIN = timedelta(minutes=1)


class AccountError(Exception):
    """A request about an account that cannot be done; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, field="password")


def create_user(session: Session, actor: audit.Actor, *, email: str, full_name: str, role: Role,
                password: str | None) -> User:
    """Add a user of any role. Raises AccountError if the email is taken or the password weak."""
    if password is not None:
        _check_password(password)
    user = User(email=normalise_email(email), full_name=full_name.strip(), role=role,
                password_hash=hash_password(password) if password is not None else None)
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise AccountError("An account with this email address already exists.", field="email") from None
    audit.record(session, actor, "user.created", "user", user.id, role=role.value)
    return user


def register_patient(session: Session, actor: audit.Actor, *, email: str, password: str | None,
                     full_name: str, date_of_birth: date, phone: str) -> Patient:
    if date_of_birth > utcnow().date():
        raise AccountError("Date of birth cannot be in the future.", field="date_of_birth")
    user = create_user(session, actor, email=email, full_name=full_name, role=Role.PATIENT, password=password)
    patient = Patient(user=user, date_of_birth=date_of_birth, phone=phone.strip())
    session.add(patient)
    session.flush()
    return patient


def create_doctor(session: Session, actor: audit.Actor, *, email: str, password: str | None, full_name: str,
                  specialty: str, appointment_minutes: int = 15, buffer_minutes: int = 0) -> Doctor:
    user = create_user(session, actor, email=email, full_name=full_name, role=Role.DOCTOR, password=password)
    doctor = Doctor(user=user, specialty=specialty.strip(), appointment_minutes=appointment_minutes,
                    buffer_minutes=buffer_minutes)
    session.add(doctor)
    session.flush()
    return doctor


def user_by_email(session: Session, email: str | None) -> User | None:
    """The account with this email address (any case), if there is one."""
    # No address holds a NUL (and PostgreSQL would refuse to compare one), nor more than 254 characters.
    if not email or "\x00" in email:
        return None
    return session.scalar(select(User).where(User.email == normalise_email(email)[:254]))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None, without saying which part was wrong."""
    user = user_by_email(session, email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_password(session: Session, actor: audit.Actor, user: User, password: str) -> None:
    """Set a new password: every session of the user ends, and every unused reset link dies."""
    _check_password(password)
    user.password_hash = hash_password(password)
    revoke_all_sessions(session, user)
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    audit.record(session, actor, "user.password_changed", "user", user.id)


def check_current_password(user: User, password: str | None) -> None:
    """Raise AccountError unless ``password`` is the user's password (asked before sensitive changes)."""
    if not verify_password(user.password_hash, password or ""):
        raise AccountError("This is not your current password.", field="current_password")


def change_password(session: Session, actor: audit.Actor, user: User, current_password: str,
                    new_password: str) -> None:
    check_current_password(user, current_password)
    set_password(session, actor, user, new_password)


def change_email(session: Session, actor: audit.Actor, user: User, current_password: str, new_email: str) -> str:
    """Change the sign-in address; returns the previous one (to tell its owner)."""
    check_current_password(user, current_password)
    previous = user.email
    new_email = normalise_email(new_email)
    if new_email == previous:
        raise AccountError("This is already your email address.", field="email")
    taken = AccountError("An account with this email address already exists.", field="email")
    if session.scalar(select(User.id).where(User.email == new_email)) is not None:
        raise taken
    user.email = new_email
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise taken from None  # taken meanwhile; the caller rolls back
    audit.record(session, actor, "user.email_changed", "user", user.id)
    return previous


def session_id_for(token: str) -> str:
    """The ``user_sessions`` id of the session whose cookie carries ``token``: only its SHA-256 is stored
    (256 random bits: a slow hash would add nothing), so the table gives nobody a way in."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User) -> UserSession:
    """A new sign-in session; its ``token`` (for the cookie) is on the returned row, and nowhere else."""
    token = secrets.token_urlsafe(32)
    user_session = UserSession(id=session_id_for(token), user=user)
    user_session.token = token
    session.add(user_session)
    session.flush()
    return user_session


def find_session(session: Session, token: str | None) -> UserSession | None:
    """The session row (live or not) of a cookie's token."""
    return session.get(UserSession, session_id_for(token)) if token else None


def end_session(user_session: UserSession) -> None:
    if user_session.revoked_at is None:
        user_session.revoked_at = utcnow()


def revoke_all_sessions(session: Session, user: User) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def set_active(session: Session, actor: audit.Actor, user: User, active: bool) -> None:
    user.is_active = active
    if not active:
        revoke_all_sessions(session, user)
    audit.record(session, actor, "user.enabled" if active else "user.disabled", "user", user.id)


#: What a session check found must be written: run in some session, whose owner commits.
Bookkeeping = Callable[[Session], None]


def examine_session(session: Session, session_id: str, timeouts: SessionTimeouts | None = None
                    ) -> tuple[UserSession | None, Bookkeeping | None]:
    """The live session for a cookie's token, and the bookkeeping the check calls for (None: nothing).

    Live means not revoked, not timed out, and its user still active. A session idle for
    longer than ``timeouts.idle``, or older than ``timeouts.absolute``, is not live, and the
    bookkeeping ends it (with an audit row); a live one's bookkeeping moves its
    ``last_seen_at`` on (at most once a minute). Nothing is written here: the web layer runs
    the bookkeeping apart from the request's transaction (carebook.unit_of_work.apart), so it
    holds whatever the request then does. ``timeouts`` defaults to the app's SESSION_TIMEOUTS.
    """
    user_session = find_session(session, session_id)
    if user_session is None or not user_session.is_live:
        return None, None
    if timeouts is None:
        from flask import current_app

        timeouts = current_app.config["SESSION_TIMEOUTS"]
    now = utcnow()
    if now - user_session.created_at >= timeouts.absolute or now - user_session.last_seen_at >= timeouts.idle:
        idle_minutes = int((now - user_session.last_seen_at).total_seconds() // 60)
        set_committed_value(user_session, "revoked_at", now)
        return None, partial(_end_timed_out_session, user_session.id, user_session.user_id, now, idle_minutes)
    if now - user_session.last_seen_at >= LAST_SEEN_GRAIN:
        set_committed_value(user_session, "last_seen_at", now)
        return user_session, partial(_touch_session, user_session.id, now)
    return user_session, None


def load_session(session: Session, session_id: str, timeouts: SessionTimeouts | None = None) -> UserSession | None:
    """:func:`examine_session`, with its bookkeeping written in ``session`` (the caller commits)."""
    user_session, bookkeeping = examine_session(session, session_id, timeouts)
    if bookkeeping is not None:
        bookkeeping(session)
    return user_session


def _end_timed_out_session(session_id: str, user_id: int, now: datetime, idle_minutes: int, session: Session) -> None:
    ended = session.execute(update(UserSession).where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
                            .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
    if ended:  # a concurrent request may have ended it first: one audit row per session
        audit.record(session, audit.Actor(None, "system"), "auth.session_expired", "user", user_id,
                     idle_minutes=idle_minutes)


def _touch_session(session_id: str, now: datetime, session: Session) -> None:
    session.execute(update(UserSession).where(UserSession.id == session_id, UserSession.last_seen_at < now)
                    .values(last_seen_at=now).execution_options(synchronize_session=False))
