"""Emails about the account itself: the password reset link, the registration email, "your
email address was changed", and "someone keeps failing to sign in to your account".

They leave through the app's email path, the reminder backend's mailer (SES in AWS mode,
SMTP or the local mail folder otherwise), and only after the change that asks for them is
committed:

* The password reset link and the registration email go through the outbox: the request
  writes one row (:func:`queue_password_reset`, :func:`queue_registration_email`) whether or
  not the address has an account, and the relay sends the email after the response
  (:func:`deliver`). So "forgot password" and "register" cost the same, and answer the same,
  for every address; what differs is only what the mailbox receives: a reset link or nothing,
  a link to finish registering or "you already have an account". The link's token is made by
  the relay just before it sends it, so no live token ever sits in the outbox; a failed send
  is retried with the outbox's backoff, and the token made for it is rolled back with it.
* "Your email address was changed" (:func:`send_email_changed`) and "someone keeps failing to
  sign in" (:func:`send_failed_sign_ins`, carebook/sign_in_alerts.py) are sent right after the
  request's commit: they answer no question about an address (the first follows a change made
  by a signed-in user, the second goes to the owner whatever the address asked for), so they
  need not wait for the relay. A failed send is logged without the address and reported to
  the caller.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import formataddr

from flask import Flask, render_template
from sqlalchemy import insert
from sqlalchemy.orm import Session

from carebook import registration, reset
from carebook.clock import utcnow
from carebook.invitations import InvitationLink
from carebook.timefmt import format_datetime
from messaging.message import build_message
from models import OutboxKind, OutboxMessage, RegistrationRequest, User
from reminders.state import get_state

logger = logging.getLogger(__name__)

_INSERT = insert(OutboxMessage.__table__)
KINDS = (OutboxKind.SEND_PASSWORD_RESET, OutboxKind.SEND_REGISTRATION_EMAIL)
#: Pages the emails point at (the relay has no request to build URLs from).
LOGIN_PATH = "/login"
FORGOT_PASSWORD_PATH = "/password/forgot"


# --------------------------------------------------------------------------- queued in the request


def queue_password_reset(session: Session, user_id: int | None) -> None:
    """Queue the reset email for the active account ``user_id`` asked for.

    None (no such account) writes the same row, which the relay marks done without sending
    anything: the request does the same work for every address.
    """
    _queue(session, OutboxKind.SEND_PASSWORD_RESET, {"user_id": user_id})


def queue_registration_email(session: Session, request: RegistrationRequest) -> None:
    """Queue the email that answers ``request`` (a link to finish, or "you already have an account")."""
    _queue(session, OutboxKind.SEND_REGISTRATION_EMAIL, {"registration_id": request.id})


def _queue(session: Session, kind: OutboxKind, payload: dict) -> None:
    now = utcnow()
    # Account emails belong to no appointment: no lane, so none waits behind another.
    session.execute(_INSERT, [{"kind": kind, "topic": kind.topic, "appointment_id": None, "payload": payload,
                               "next_attempt_at": now, "created_at": now}])


# --------------------------------------------------------------------------- sent by the relay


def deliver(app: Flask, session: Session, row: OutboxMessage) -> str:
    """Send the email of an account row (in the relay's unit of work for it); say what was done.

    Raises on a failed send, so that the relay retries the row (and rolls back the link made
    for it).
    """
    if row.kind is OutboxKind.SEND_PASSWORD_RESET:
        return _deliver_reset(app, session, row.payload.get("user_id"))
    if row.kind is OutboxKind.SEND_REGISTRATION_EMAIL:
        return _deliver_registration(app, session, row.payload.get("registration_id"))
    raise ValueError(f"not an account email: {row.kind}")


def _deliver_reset(app: Flask, session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        return "no active account: nothing sent"
    clinic = app.config["CLINIC"]
    link = reset.issue_link(session, user, lifetime=app.config["PASSWORD_RESET_LIFETIME"],
                            base_url=app.config["BASE_URL"])
    _mailer(app).send(_message(app, user.first_name, user.email, "password_reset",
                               f"Choose a new password for {clinic.name}", reset_url=link.url,
                               expires=format_datetime(link.expires_at, clinic.timezone)))
    return "sent"


def _deliver_registration(app: Flask, session: Session, registration_id: int | None) -> str:
    request = session.get(RegistrationRequest, registration_id) if isinstance(registration_id, int) else None
    if request is None:
        return "registration request gone: nothing sent"
    clinic = app.config["CLINIC"]
    base = app.config["BASE_URL"].rstrip("/")
    prepared = registration.prepare_email(session, request, base_url=base)
    if isinstance(prepared, registration.AlreadyRegistered):
        user = prepared.user
        registration.forget(session, request)
        _mailer(app).send(_message(app, user.first_name, user.email, "account_exists",
                                   f"You already have an account at {clinic.name}",
                                   login_url=base + LOGIN_PATH, forgot_url=base + FORGOT_PASSWORD_PATH))
        return "account exists: notice sent"
    first_name = request.full_name.split()[0] if request.full_name.split() else request.full_name
    _mailer(app).send(_message(app, first_name, request.email, "registration",
                               f"Finish creating your account at {clinic.name}", confirm_url=prepared.url,
                               expires=format_datetime(prepared.expires_at, clinic.timezone)))
    return "link sent"


# --------------------------------------------------------------------------- sent after the request's commit


@dataclass(frozen=True)
class Recipient:
    """Who an account email is for, read before the request's objects are gone."""

    user_id: int
    first_name: str
    email: str

    @classmethod
    def of(cls, user: User) -> Recipient:
        return cls(user.id, user.first_name, user.email)


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
                 forgot_url=app.config["BASE_URL"].rstrip("/") + FORGOT_PASSWORD_PATH)


def _send(app: Flask, user: Recipient, recipient: str, template: str, subject: str, **context) -> bool:
    """Send now; a failed send is logged (without the address) and reported as False."""
    message = _message(app, user.first_name, recipient, template, subject, **context)
    try:
        _mailer(app).send(message)
    except Exception as error:  # any transport failure (SES, SMTP, disk)
        logger.error("%s email for user %s not sent: %s", template, user.user_id, type(error).__name__)
        return False
    return True


def _mailer(app: Flask):
    return get_state(app).backend.mailer


def _message(app: Flask, first_name: str, recipient: str, template: str, subject: str, **context):
    state = get_state(app)
    clinic = app.config["CLINIC"]
    context = {"first_name": first_name, "clinic": clinic, "subject": subject, **context}
    return build_message(
        sender=formataddr((clinic.name, state.settings.email_sender)), recipient=recipient, subject=subject,
        text=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
        headers={"X-Carebook-Email": template})
