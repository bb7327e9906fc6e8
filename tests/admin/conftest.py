"""Helpers for the staff console's tests: a signed-in staff member and times in clinic terms."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment
from tests.factories import make_staff

LONDON = ZoneInfo("Europe/London")
#: Tue 2 Jun 2026 (British Summer Time, UTC+1): the doctors' first fully bookable day.
TUESDAY = date(2026, 6, 2)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A clinic wall time, as the aware instant the console stores (UTC)."""
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(ZoneInfo("UTC"))


def book(doctor, patient, start_at, reason: str = "") -> Appointment:
    """An appointment made through the booking service, as the portal would, committed."""
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=start_at, reason=reason)
    db.session.commit()
    return appointment


@pytest.fixture
def staff(app):
    user = make_staff()
    db.session.commit()
    return user


@pytest.fixture
def staff_client(client, staff):
    assert client.login(staff.email).status_code == 302
    return client
