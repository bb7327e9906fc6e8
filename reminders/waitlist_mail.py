"""The waitlist's outbox rows, acted on by the relay after the commit that wrote them.

* ``waitlist_slot_freed`` and ``waitlist_next_round``: offer the freed (or still unclaimed)
  slots to the patients waiting (carebook/waitlist/offering.py). The offers and their
  ``send_waitlist_offer`` rows are written in the relay's unit of work for the row: a failed
  pass keeps nothing and is retried; a committed one is never repeated (the row is done).
* ``send_waitlist_offer``: the offer on one channel, from the row's snapshot: the doctor, the
  time with its zone, until when it is held for the patient, and the claim link. Never the
  type or anything about health. The email is rendered and sent here; the SMS (``channel:
  sms``) goes to the reminder function like every SMS (reminders/notices.py). Both are
  recorded in ``notification_deliveries`` under the message id ``waitlist-offer-<offer id>``.
  An offer that was claimed, taken or withdrawn before it left is not sent (nothing to claim
  any more).

Their rows belong to no appointment: no lane, so none waits behind another.
"""
from __future__ import annotations

from datetime import datetime
from email.utils import formataddr
from typing import Any

from flask import Flask, render_template
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from carebook import timefmt, waitlist
from messaging.message import build_message
from models import OutboxKind, OutboxMessage
from models.waitlist import OfferStatus, WaitlistOffer
from reminders import deliveries, notices
from reminders.emails import InvalidSnapshot
from reminders.planning import local_time_text
from reminders.state import get_state

KINDS = (OutboxKind.WAITLIST_SLOT_FREED, OutboxKind.WAITLIST_NEXT_ROUND, OutboxKind.SEND_WAITLIST_OFFER)
CLAIM_PATH = "/waitlist/offers/{offer_id}"
SHORT_PATH = "/o/{offer_id}"


def deliver(app: Flask, session: Session, row: OutboxMessage) -> str:
    """Act on one waitlist row (in the relay's unit of work for it); say what was done. Raises on failure."""
    if row.kind is OutboxKind.SEND_WAITLIST_OFFER:
        return _send_offer(app, session, row.payload or {})
    offers = waitlist.offering_rules(session).handle(row.kind, row.payload)
    return f"{len(offers)} offer(s) made"


def claim_url(app: Flask, offer_id: int, *, short: bool = False) -> str:
    """The offer's page (the email's link), or its short link ``/o/<id>`` (the SMS's, which must stay short)."""
    base = app.config["BASE_URL"].rstrip("/")
    endpoint, path = ("patient_waitlist.short_offer", SHORT_PATH) if short else ("patient_waitlist.offer", CLAIM_PATH)
    try:
        return base + app.url_map.bind("localhost").build(endpoint, {"offer_id": offer_id})
    except BuildError:  # the portal is not mounted (some tests of the relay)
        return base + path.format(offer_id=offer_id)


def _send_offer(app: Flask, session: Session, data: dict[str, Any]) -> str:
    if notices.is_sms_payload(data):
        return _text_offer(app, session, data)
    try:
        offer_id = int(data["offer_id"])
        start_at, expires_at = datetime.fromisoformat(data["start_at"]), datetime.fromisoformat(data["expires_at"])
        recipient, first_name, doctor_name = data["email"], data["first_name"], data["doctor_name"]
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidSnapshot(f"send_waitlist_offer: {type(error).__name__}") from None
    offer = session.get(WaitlistOffer, offer_id)
    if offer is None or offer.status is not OfferStatus.PENDING:
        return "offer no longer open: nothing sent"
    clinic = app.config["CLINIC"]
    when = local_time_text(start_at, clinic.timezone)
    subject = f"A time is free with {doctor_name}: {timefmt.format_datetime(start_at, clinic.timezone, zoned=True)}"
    context = {"first_name": first_name, "when": when, "doctor_name": doctor_name, "clinic": clinic,
               "until": timefmt.format_datetime(expires_at, clinic.timezone, zoned=True),
               "claim_url": claim_url(app, offer_id), "subject": subject}
    state = get_state(app)
    message = build_message(
        sender=formataddr((clinic.name, state.settings.email_sender)), recipient=recipient, subject=subject,
        text=render_template("email/waitlist_offer.txt", **context),
        html=render_template("email/waitlist_offer.html", **context),
        headers={"X-Carebook-Email": OutboxKind.SEND_WAITLIST_OFFER.value})
    provider_id = state.backend.mailer.send(message)
    deliveries.record(session, appointment_id=None, message_id=notices.waitlist_offer_id(offer_id),
                      event="waitlist_offer", channel="email", outcome="sent",
                      provider_message_id=provider_id if isinstance(provider_id, str) else "")
    return "sent"


def _text_offer(app: Flask, session: Session, data: dict[str, Any]) -> str:
    """The offer by SMS: put on the reminder queue (or handed to the handler in the embedded mode)."""
    try:
        offer_id = int(data["offer_id"])
        message = notices.waitlist_offer_message(app, data, claim_url(app, offer_id, short=True))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidSnapshot(f"send_waitlist_offer (sms): {type(error).__name__}") from None
    offer = session.get(WaitlistOffer, offer_id)
    if offer is None or offer.status is not OfferStatus.PENDING:
        return "offer no longer open: nothing sent"
    return get_state(app).backend.send_notice(message)
