"""Two-factor authentication: enrolment, checking a code at sign-in, recovery codes.

Staff and doctors must use it: they enrol at their first sign-in, before anything
else. Patients may turn it on (and off) on their account page. A second factor is
a code from an authenticator app (TOTP, each code good once) or one of ten
single-use recovery codes, kept only as hashes.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from carebook import auth_events, totp
from carebook.clock import utcnow
from models import RecoveryCode, Role, User

#: Roles that cannot use the app without a second factor.
REQUIRED_FOR = frozenset({Role.STAFF, Role.DOCTOR})


class TwoFactorError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Verified:
    method: str  # "totp" or "recovery_code"
    recovery_codes_left: int | None = None


def is_required(user: User) -> bool:
    return user.role in REQUIRED_FOR


def needed_at_login(user: User) -> bool:
    """Whether the password alone is not enough to sign this user in."""
    return user.two_factor_enabled or is_required(user)


def begin_enrolment(user: User) -> str:
    """The secret to show for enrolment: a new one, or the one already shown and not yet confirmed."""
    if user.two_factor_enabled:
        raise TwoFactorError("Two-factor authentication is already on.")
    if not user.totp_secret:
        user.totp_secret = totp.new_secret()
    return user.totp_secret


def confirm_enrolment(session: Session, user: User, code: str, *, source: str) -> list[str]:
    """Turn two-factor on once the user shows a code made from the secret; returns fresh recovery codes."""
    if user.two_factor_enabled or not user.totp_secret:
        raise TwoFactorError("Start the set-up again: there is nothing to confirm.")
    step = totp.matching_step(user.totp_secret, code, None)
    if step is None:
        auth_events.record_refusal(session, auth_events.SECOND_FACTOR_FAILED, user, source=source,
                                   stage="enrolment")
        raise TwoFactorError("That code is not right. Check the time on your phone and enter the current code.")
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _replace_recovery_codes(session, user)
    auth_events.record(session, auth_events.TWO_FACTOR_ENROLLED, user, source=source, actor=user)
    return codes


def verify(session: Session, user: User, code: str, *, source: str) -> Verified | None:
    """Check a sign-in code (authenticator or recovery code) and use it up; None if it is not right."""
    if not user.two_factor_enabled:
        return None
    if totp.looks_like_totp(code):
        step = totp.matching_step(user.totp_secret, code, user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            auth_events.record(session, auth_events.SECOND_FACTOR_SUCCEEDED, user, source=source, actor=user,
                               method="totp")
            return Verified("totp")
    elif totp.looks_like_recovery_code(code):
        used = session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == totp.hash_recovery_code(code),
                   RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if used == 1:
            left = recovery_codes_left(session, user)
            auth_events.record(session, auth_events.RECOVERY_CODE_USED, user, source=source, actor=user,
                               codes_left=left)
            return Verified("recovery_code", recovery_codes_left=left)
    auth_events.record_refusal(session, auth_events.SECOND_FACTOR_FAILED, user, source=source, stage="sign_in")
    return None


def already_used(session: Session, user: User, code: str) -> bool:
    """Whether a refused code was right once but has been used up: the authenticator's code of a
    time step already signed in with, or a recovery code already spent. The person is then told
    so ("already used"), not that the code is wrong; it says nothing a guesser could use, since
    such a code was already accepted once."""
    if not user.two_factor_enabled:
        return False
    if totp.looks_like_totp(code):
        step = totp.matching_step(user.totp_secret, code, None)
        return step is not None and user.totp_last_step is not None and step <= user.totp_last_step
    if totp.looks_like_recovery_code(code):
        return session.scalar(select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == totp.hash_recovery_code(code),
            RecoveryCode.used_at.is_not(None))) > 0
    return False


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def renew_recovery_codes(session: Session, user: User, *, source: str) -> list[str]:
    if not user.two_factor_enabled:
        raise TwoFactorError("Turn on two-factor authentication first.")
    codes = _replace_recovery_codes(session, user)
    auth_events.record(session, auth_events.RECOVERY_CODES_RENEWED, user, source=source, actor=user)
    return codes


def disable(session: Session, user: User, *, source: str, actor: User | None) -> None:
    """Turn two-factor off: a patient's own choice, or (``actor`` = staff or CLI) a reset after a lost phone.

    Staff and doctors are asked to enrol again at their next sign-in.
    """
    if actor is not None and actor.id == user.id and is_required(user):
        raise TwoFactorError("Two-factor authentication is required for your role.")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    action = auth_events.TWO_FACTOR_DISABLED if actor is not None and actor.id == user.id \
        else auth_events.TWO_FACTOR_RESET
    auth_events.record(session, action, user, source=source, actor=actor)


def _replace_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    now = utcnow()
    session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(code), created_at=now)
                    for code in codes)
    session.flush()
    return codes
