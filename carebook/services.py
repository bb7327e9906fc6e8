"""The domain services of the current request, for the views of the portal and the staff console.

Each is bound to the request's session (the unit of work, committed once at the edge:
carebook/unit_of_work.py) and to the clinic's settings. Views import this module; it
imports no view, so the web layer has no import cycle.
"""
from __future__ import annotations

from flask import current_app

from carebook.availability import AvailabilityService
from carebook.booking import BookingService
from carebook.extensions import db


def booking_service() -> BookingService:
    """The booking service bound to this request's session and the clinic's settings."""
    return BookingService(db.session, current_app.config["CLINIC"].timezone,
                          current_app.config["BOOKING_POLICY"], cache=current_app.extensions.get("slot_cache"))


def availability_service() -> AvailabilityService:
    """The doctors' availability service, bound the same way."""
    return AvailabilityService(db.session, current_app.config["CLINIC"].timezone,
                               current_app.config["BOOKING_POLICY"])
