"""Emails about the account itself: the password reset link, "your email address was changed",
and "someone keeps failing to sign in to your account".

They leave through the app's email path, the reminder backend's mailer (SES in AWS
mode, SMTP or the local mail folder otherwise), right after the request's commit.
They are not put in the outbox: a reset email would leave a live token in a table.
A failed send is logged without the link and reported to the caller; the user can
simply ask again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import formataddr

from flask import Flask, render_template

from carebook.invitations import InvitationLink
from carebook.reset import ResetLink
from carebook.timefmt import format_datetime
from messaging.message import build_message
from models import User
from reminders.state import get_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """Who an account email is for, read before the request's objects are gone."""

    user_id: int
    first_name: str
    email: str

    @classmethod
    def of(cls, user: User) -> Recipient:
        return cls(user.id, user.first_name, user.email)


def send_reset_link(app: Flask, link: ResetLink) -> bool:
    clinic = app.config["CLINIC"]
    return _send(app, Recipient.of(link.user), link.user.email, "password_reset",
                 f"Choose a new password for {clinic.name}",
                 reset_url=link.url, expires=format_datetime(link.expires_at, clinic.timezone))


def send_invitation(app: Flask, link: InvitationLink) -> bool:
    """Email a staff invitation to go online, to a patient who has an address (carebook/invitations.py)."""
    clinic = app.config["CLINIC"]
    return _send(app, Recipient.of(link.user), link.emailed_to, "invitation",
                 f"Manage your appointments at {clinic.name} online",
                 invitation_url=link.url, expires=format_datetime(link.expires_at, clinic.timezone))


def send_email_changed(app: Flask, user: User, previous_email: str) -> bool:
    """Tell the previous address, so that its owner notices a change they did not make (if there was one)."""
    if not previous_email:
        return True  # a patient adding their first address: nobody else to tell
    clinic = app.config["CLINIC"]
    return _send(app, Recipient.of(user), previous_email, "email_changed",
                 f"Your email address at {clinic.name} was changed", new_email=user.email)


def send_failed_sign_ins(app: Flask, recipient: Recipient, failures: int, minutes: int) -> bool:
    """Tell the owner that someone keeps failing to sign in to their account (carebook/sign_in_alerts.py)."""
    clinic = app.config["CLINIC"]
    return _send(app, recipient, recipient.email, "failed_sign_ins",
                 f"Failed sign-ins to your account at {clinic.name}", failures=failures, minutes=minutes,
                 forgot_url=app.config["BASE_URL"].rstrip("/") + "/password/forgot")


def _send(app: Flask, user: Recipient, recipient: str, template: str, subject: str, **context) -> bool:
    state = get_state(app)
    clinic = app.config["CLINIC"]
    context = {"first_name": user.first_name, "clinic": clinic, "subject": subject, **context}
    message = build_message(
        sender=formataddr((clinic.name, state.settings.email_sender)), recipient=recipient, subject=subject,
        text=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
        headers={"X-Carebook-Email": template})
    try:
        state.backend.mailer.send(message)
    except Exception as error:  # any transport failure (SES, SMTP, disk)
        logger.error("%s email for user %s not sent: %s", template, user.user_id, type(error).__name__)
        return False
    return True
