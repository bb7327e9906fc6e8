"""The waitlist: a freed slot finds the patient who wants it (issue 17).

* :mod:`~carebook.waitlist.entries`: joining ("any time that suits", or "earlier than this
  appointment"), leaving, and the end of entries whose range has passed.
* :mod:`~carebook.waitlist.freed`: the outbox row written in the transaction that frees a
  doctor's time (cancellation, move away, more hours, time off removed), and the closing of
  open offers when anyone books their time.
* :mod:`~carebook.waitlist.offering`: after the commit, the relay offers the freed slots that
  the slot engine finds free to the longest-waiting matching patients, a few at a time, with
  a hold-free window and next rounds; staff may offer one by hand.
* :mod:`~carebook.waitlist.matching`: the patient's wish against a slot (pure).
* :mod:`~carebook.waitlist.claiming`: a claim goes through the booking service.
* :mod:`~carebook.waitlist.delivery`: the channels of an offer (one function) and its outbox rows.
* :mod:`~carebook.waitlist.queries`: what the portal and the console show (Flask-free).

Like the booking service, nothing here commits: the edge does (the request, the relay's unit of work).
"""
from __future__ import annotations

import os
from typing import Mapping

from flask import Flask, current_app

from carebook.booking import BookingService, appointment_changed
from carebook.extensions import db
from carebook.waitlist import freed
from carebook.waitlist.offering import Offering
from carebook.waitlist.settings import current_settings, settings


def init_app(app: Flask, env: Mapping[str, str] | None = None) -> None:
    """Read the waitlist's settings and listen for booking changes (freed time, booked time)."""
    app.config.update(settings(os.environ if env is None else env, app.config))
    # A module-level receiver, connected once however many apps are built (blinker keeps one).
    appointment_changed.connect(freed.on_appointment_changed)


def offering_rules(session=None) -> Offering:
    """The offering rules on ``session`` (default: the app's), with a slot finder that keeps nothing."""
    booking = BookingService(session if session is not None else db.session, current_app.config["CLINIC"].timezone,
                             current_app.config["BOOKING_POLICY"])
    return Offering(booking, current_settings())
