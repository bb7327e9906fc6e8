"""The database's overlap constraints, read back as the booking errors they stand for.

PostgreSQL's exclusion constraints (SQLite: triggers) are the last word on double
booking. When two requests slip past each other's checks, the loser's flush fails
there, and it must look to the caller exactly like the service's own check.
"""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from carebook.booking.errors import BookingError, PatientBusy, SlotTaken
from models import DOCTOR_OVERLAP_CONSTRAINT, PATIENT_OVERLAP_CONSTRAINT

_ERRORS = {DOCTOR_OVERLAP_CONSTRAINT: SlotTaken, PATIENT_OVERLAP_CONSTRAINT: PatientBusy}


def overlap_error(error: IntegrityError) -> BookingError | None:
    """The booking error for an overlap constraint's violation; None for any other integrity error."""
    error_type = _ERRORS.get(violated_constraint(error))
    return error_type() if error_type is not None else None


def violated_constraint(error: IntegrityError) -> str | None:
    """Which overlap constraint an IntegrityError came from, on PostgreSQL or SQLite."""
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    text = str(error.orig)
    for constraint in _ERRORS:
        if constraint in text:
            return constraint
    return None
