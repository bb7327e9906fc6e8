"""Fixtures of the reminder path: fake AWS credentials always, a moto stack, an AWS-backed app."""
from __future__ import annotations

import pytest
from moto import mock_aws

import reminders.wiring
from reminders.state import EXTENSION_KEY, get_state
from tests.factories import make_doctor, make_patient
from tests.reminders.aws_stack import create_stack, use_fake_credentials


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch, tmp_path):
    use_fake_credentials(monkeypatch, tmp_path)


@pytest.fixture
def stack():
    with mock_aws():
        yield create_stack()


@pytest.fixture
def aws_app(app, stack):
    """The test app switched to the AWS backend, pointed at the moto stack (and back afterwards)."""
    local = get_state(app)
    reminders.wiring.init_app(app, env=stack.app_settings())
    yield app
    app.extensions[EXTENSION_KEY] = local  # so the next test can have the shared app as it was (tests/conftest.py)


@pytest.fixture
def doctor(app):
    return make_doctor(name="Dr Dana Doctor")


@pytest.fixture
def patient(app):
    return make_patient(name="Pat Patient", email="pat@example.test")
