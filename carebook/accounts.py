"""Accounts: registration, sign-in and the server-side sessions behind the cookie."""
from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebook import audit
from carebook.clock import utcnow
from carebook.passwords import hash_password, needs_rehash, password_problem, verify_password
from models import Doctor, Patient, Role, User, UserSession


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


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None, without saying which part was wrong."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if not verify_password(user.password_hash if user else None, password):
        return None
    if not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_password(session: Session, actor: audit.Actor, user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = hash_password(password)
    revoke_all_sessions(session, user)
    audit.record(session, actor, "user.password_changed", "user", user.id)


def start_session(session: Session, user: User) -> UserSession:
    user_session = UserSession(id=secrets.token_urlsafe(32), user=user)
    session.add(user_session)
    session.flush()
    return user_session


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


def load_session(session: Session, session_id: str) -> UserSession | None:
    """The live session for a cookie's id: not revoked, and its user still active."""
    user_session = session.get(UserSession, session_id)
    if user_session is None or not user_session.is_live:
        return None
    return user_session
