"""Editing the account behind a doctor or a patient: name and email, with the rules accounts keep."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebook.accounts import AccountError, optional_email
from models import Role, User

EMAIL_TAKEN = "An account with this email address already exists."


def update_account(session: Session, user: User, *, full_name: str, email: str | None) -> list[str]:
    """Change ``user``'s name and email; the names of the fields that changed.

    Emails are unique whatever their case (they are stored folded). Raises AccountError
    naming the field if the email belongs to someone else. Only a patient without a login
    (no password yet) may be left without one: an address someone signs in with stays.
    """
    changed = []
    email = optional_email(email)
    if email is None and (user.role is not Role.PATIENT or user.password_hash is not None):
        raise AccountError("Enter an email address: it is the login.", field="email")
    if email != user.email:
        if session.scalar(select(User.id).where(User.email == email, User.id != user.id)) is not None:
            raise AccountError(EMAIL_TAKEN, field="email")
        user.email = email
        changed.append("email")
    full_name = full_name.strip()
    if full_name != user.full_name:
        user.full_name = full_name
        changed.append("full_name")
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Someone took the address between the check and the write.
        raise AccountError(EMAIL_TAKEN, field="email") from None
    return changed


def put_error_on_form(form, error: AccountError, default_field: str = "email") -> None:
    field = getattr(form, error.field or default_field, None) or getattr(form, default_field)
    field.errors = [*field.errors, error.message]
