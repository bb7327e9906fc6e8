"""Fixtures of the booking service's tests: the service of the test app, a doctor, a patient."""
from __future__ import annotations

import pytest

from carebook.services import booking_service
from tests.factories import make_doctor, make_patient


@pytest.fixture
def service(app):
    return booking_service()


@pytest.fixture
def doctor(app):
    return make_doctor()


@pytest.fixture
def patient(app):
    return make_patient()
