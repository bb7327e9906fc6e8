"""Claiming an offer: through the booking service, exactly like a booking (or a move) made by hand.

The claim books the offered slot for the patient, or, for "an earlier time than this", moves
their appointment there (the booking service's reschedule: atomically, the old time freed in
the same transaction, so it is offered on in turn). The booking service re-checks the slot
under the doctor's lock and the database's overlap guards have the last word, so when
someone else was faster (a walk-in, another offered patient), the claim fails with the
booking service's own conflict (``SlotTaken``), which the pages show as they show any
booking conflict: "just taken" and the next free times. Only then is the offer closed as
taken (:func:`record_taken`, after the failed attempt was rolled back).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from carebook import audit
from carebook.booking import BookingService
from carebook.clock import utcnow
from carebook.waitlist import entries
from carebook.waitlist.errors import OfferEnded
from models import Appointment, Patient
from models.waitlist import OfferStatus, WaitlistOffer, WaitlistStatus

#: Offers that may still be claimed: open, or closed as taken (the booking service decides whether it
#: still is: the time may have been freed again since).
CLAIMABLE = (OfferStatus.PENDING, OfferStatus.TAKEN)


def check_claimable(offer: WaitlistOffer) -> None:
    """Raise OfferEnded, with a message saying why, for an offer that can no longer be claimed."""
    now = utcnow()
    if offer.status is OfferStatus.CLAIMED:
        raise OfferEnded("You have already claimed this time.")
    if offer.entry.status is not WaitlistStatus.ACTIVE or offer.status is OfferStatus.WITHDRAWN:
        raise OfferEnded("This offer ended with your waitlist entry.")
    if offer.status not in CLAIMABLE or (offer.status is OfferStatus.PENDING and offer.expires_at <= now):
        raise OfferEnded("This offer has ended: the time was offered to the next patients waiting.")


def claim(booking: BookingService, actor: audit.Actor, patient: Patient, offer: WaitlistOffer) -> Appointment:
    """Book (or move to) the offered slot for ``patient``; raise OfferEnded or the booking service's error."""
    if offer.entry.patient_id != patient.id:
        raise LookupError("not this patient's offer")  # views answer 404 before this
    check_claimable(offer)
    entry = offer.entry
    if entry.earlier_than_appointment_id is not None:
        appointment = booking.reschedule(actor, entry.earlier_than, offer.start_at)
    else:
        appointment = booking.book(actor, doctor=offer.doctor, patient=patient, start_at=offer.start_at,
                                   appointment_type=offer.appointment_type)
    now = utcnow()
    # The booking just closed every open offer of this time as taken (freed.close_offers_overlapping);
    # this one is the one that won.
    offer.status, offer.claimed_at, offer.closed_at, offer.appointment_id = OfferStatus.CLAIMED, now, now, appointment.id
    booking.session.flush()
    entries.end(booking.session, entry, WaitlistStatus.FULFILLED)
    audit.record(booking.session, actor, "waitlist.claimed", "waitlist_offer", offer.id, entry_id=entry.id,
                 appointment_id=appointment.id, doctor_id=offer.doctor_id, start_at=offer.start_at.isoformat(),
                 moved=entry.earlier_than_appointment_id is not None)
    return appointment


def record_taken(session: Session, actor: audit.Actor, offer: WaitlistOffer, code: str) -> None:
    """After a claim lost (and its attempt was rolled back): close the offer as taken, on record."""
    if offer.status is OfferStatus.PENDING:
        offer.status, offer.closed_at = OfferStatus.TAKEN, utcnow()
        session.flush()
    audit.record(session, actor, "waitlist.claim_failed", "waitlist_offer", offer.id, entry_id=offer.entry_id,
                 code=code)
