"""How an offer reaches the patient: the channel choice (one function) and the outbox rows it leads to.

:func:`offer_channels` is the one place that decides which channels an offer goes out on, from
the patient's contact choice (email, SMS or both; patients without an email address are SMS
only). Each channel gets its own outbox row (``send_waitlist_offer``), sent by the relay after
the commit: the email like every other email (a snapshot with the patient's first name and
address, the doctor, the time and the offer's id; never the type or reason, nothing about
health), the SMS through the reminder function like every other SMS (reminders/notices.py).
An offer made in the clinic's quiet hours (SMS_QUIET_HOURS) has its SMS row due when they end,
or none if the slot closes first (on record). A patient with no channel at all is recorded
(``notification.skipped``); staff see "call them".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from carebook import audit
from models import ContactPreference, OutboxKind, OutboxMessage, Patient
from models.waitlist import WaitlistOffer

EMAIL, SMS = "email", "sms"
_INSERT = insert(OutboxMessage.__table__)
KIND = OutboxKind.SEND_WAITLIST_OFFER


@dataclass(frozen=True)
class Recipient:
    """Who an offer is for, as plain values (the offering pass reads them with the entries, in one query)."""

    patient_id: int
    full_name: str
    email: str | None
    phone: str | None
    contact_preference: ContactPreference

    @classmethod
    def of(cls, patient: Patient) -> Recipient:
        return cls(patient.id, patient.user.full_name, patient.user.email, patient.phone, patient.contact_preference)

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0] if self.full_name.strip() else self.full_name


def offer_channels(recipient: Recipient, *, sms: bool = True) -> tuple[str, ...]:
    """The channels an offer to ``recipient`` goes out on, in the order they are tried: the one place that
    decides. ``sms=False``: no SMS may go for this offer (the slot closes before the quiet hours end)."""
    preference = ContactPreference(recipient.contact_preference)
    channels = []
    if preference.by_email and recipient.email:
        channels.append(EMAIL)
    if sms and preference.by_sms and recipient.phone:
        channels.append(SMS)
    return tuple(channels)


def queue_offers(session: Session, offers: Sequence[tuple[WaitlistOffer, Recipient]], doctor_name: str,
                 now: datetime, sms_at: datetime | None) -> None:
    """Write what delivers each offer (flushed, with its id) on its patient's channels, in this transaction.

    One ``send_waitlist_offer`` row per offer and channel, all in one insert: the email's snapshot
    has the address and is due now; the SMS's has the mobile number (``channel: sms``; the relay
    hands it to the reminder function like any SMS) and is due at ``sms_at``: now, or the end of
    the clinic's quiet hours. The channels are the offer's own (``offer.channels``, from
    :func:`offer_channels` when it was made). With ``sms_at`` None no SMS goes, and that is on
    record (``notification.skipped``, ``quiet_hours``), as is an offer with no channel at all.
    """
    rows = []
    for offer, recipient in offers:
        channels = offer.channels.split("+") if offer.channels else []
        if sms_at is None and SMS in offer_channels(recipient):
            audit.write_row(session, None, "system", "notification.skipped", "waitlist_offer", offer.id,
                            {"channel": SMS, "kind": "waitlist_offer", "reason": "quiet_hours"})
        elif not channels:
            audit.write_row(session, None, "system", "notification.skipped", "waitlist_offer", offer.id,
                            {"channel": "none", "kind": "waitlist_offer", "reason": "no_channel"})
        common = {"offer_id": offer.id, "first_name": recipient.first_name, "doctor_name": doctor_name,
                  "start_at": offer.start_at.isoformat(), "expires_at": offer.expires_at.isoformat()}
        rows += [{"kind": KIND, "topic": KIND.topic, "appointment_id": None, "created_at": now,
                  "next_attempt_at": now if channel == EMAIL else sms_at,
                  "payload": {**common, "email": recipient.email} if channel == EMAIL
                  else {**common, "channel": SMS, "phone": recipient.phone}}
                 for channel in channels]
    if rows:
        session.execute(_INSERT, rows)
