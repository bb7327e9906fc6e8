"""Fixtures of the availability tests: the service, a doctor working 09:00-17:00 on weekdays, a patient."""
from __future__ import annotations

import pytest

from carebook import audit
from carebook.availability import AvailabilityService
from carebook.extensions import db
from tests.carebook.availability.helpers import LONDON
from tests.factories import make_doctor, make_patient


@pytest.fixture
def service(app):
    return AvailabilityService(db.session, LONDON, app.config["BOOKING_POLICY"])


@pytest.fixture
def doctor(app):
    return make_doctor()


@pytest.fixture
def doctor_actor(doctor):
    return audit.Actor(doctor.user, "portal")


@pytest.fixture
def patient(app):
    return make_patient(name="Alice Patient")
