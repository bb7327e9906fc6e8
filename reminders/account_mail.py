"""Emails about the account itself: the password reset link, the registration email, and "your
email address was changed".

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
* "Your email address was changed" is sent right after the request's commit
  (:func:`send_email_changed`): it follows a change made by a signed-in user and tells nothing
  to anyone else. A failed send is logged without the address and reported to the caller.
"""
from __future__ import annotations

import logging
from email.utils import formataddr

from flask import Flask, render_template
from sqlalchemy import insert
from sqlalchemy.orm import Session

from carebook import registration, reset
from carebook.clock import utcnow
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


def send_email_changed(app: Flask, user: User, previous_email: str) -> bool:
    """Tell the previous address, so that its owner notices a change they did not make."""
    clinic = app.config["CLINIC"]
    message = _message(app, user.first_name, previous_email, "email_changed",
                       f"Your email address at {clinic.name} was changed", new_email=user.email)
    try:
        _mailer(app).send(message)
    except Exception as error:  # any transport failure (SES, SMTP, disk)
        logger.error("email_changed email for user %s not sent: %s", user.id, type(error).__name__)
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
