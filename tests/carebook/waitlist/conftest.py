"""Fixtures of the waitlist's tests: a doctor, patients, and helpers that act at the edge (commit)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from carebook import audit, waitlist
from carebook.extensions import db
from carebook.services import booking_service
from carebook.waitlist import entries
from models.waitlist import OfferStatus, WaitlistOffer
from reminders.relay import relay_once
from tests.factories import make_doctor, make_patient

UTC = timezone.utc
TUESDAY = date(2026, 6, 2)
#: Tue 2 June 2026, 10:00 in London (BST).
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
TUESDAY_11 = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
#: Fri 5 June 2026, 15:00 in London.
FRIDAY_15 = datetime(2026, 6, 5, 14, 0, tzinfo=UTC)
LONDON = "Europe/London"


@pytest.fixture
def doctor(app):
    return make_doctor(name="Dr Dana Doctor")


@pytest.fixture
def booker(app):
    return make_patient(name="Ann Booker", email="ann@example.test")


@pytest.fixture
def waiter(app):
    return make_patient(name="Ben Waiter", email="ben@example.test")


def tz():
    from flask import current_app
    return current_app.config["CLINIC"].timezone


def book(doctor, patient, start_at=TUESDAY_10, source="portal"):
    appointment = booking_service().book(audit.Actor(patient.user, source), doctor=doctor, patient=patient,
                                         start_at=start_at)
    db.session.commit()
    return appointment


def cancel(appointment, patient=None):
    booking_service().cancel(audit.Actor(patient.user if patient else None, "portal" if patient else "system"),
                             appointment, enforce_cutoff=False)
    db.session.commit()


def join(patient, doctor=None, *, specialty=None, first=TUESDAY, last=TUESDAY, **choices):
    entry = entries.join(db.session, audit.Actor(patient.user, "portal"), patient,
                         entries.Wish(earliest_date=first, latest_date=last, doctor=doctor, specialty=specialty,
                                      **choices), tz())
    db.session.commit()
    return entry


def relay(app):
    """One relay pass, as the worker runs it after the requests' commits."""
    return relay_once(app)


def offers(status: OfferStatus | None = None) -> list[WaitlistOffer]:
    db.session.expire_all()
    query = select(WaitlistOffer).order_by(WaitlistOffer.id)
    if status is not None:
        query = query.where(WaitlistOffer.status == status)
    return list(db.session.scalars(query))


def claim(offer, patient):
    appointment = waitlist.claiming.claim(booking_service(), audit.Actor(patient.user, "portal"), patient, offer)
    db.session.commit()
    return appointment
