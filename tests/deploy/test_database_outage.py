"""When the database goes away, requests fail fast with a clear 503, and the app recovers by itself.

A TCP proxy sits between the app and PostgreSQL; the tests cut it (connections dropped,
new ones refused), stall it (a black hole) and restore it, and watch what patients see.
"""
from __future__ import annotations

import logging
import time
import uuid

import pytest
from sqlalchemy import make_url

from carebook import database
from carebook.app import create_app
from carebook.database import UNAVAILABLE_MESSAGE
from carebook.extensions import db
from tests.conftest import Browser
from tests.deploy.tcp_proxy import TcpProxy
from tests.factories import make_doctor, make_patient

pytestmark = pytest.mark.postgres_only

#: libpq's smallest connect timeout: a stalled database costs a request about this long.
CONNECT_TIMEOUT = 2


@pytest.fixture
def proxy(database_url):
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_app(app, database_url, proxy, tmp_path):
    """A second app, like another container, that reaches the test database only through the proxy."""
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    proxied = create_app(env={
        "CAREBOOK_ENV": "test", "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DATABASE_URL": url.render_as_string(hide_password=False), "CAREBOOK_INSTANCE_PATH": str(tmp_path),
        "CLINIC_TIMEZONE": "Europe/London", "DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "DATABASE_PING_AFTER_IDLE": "1",
    })
    proxied.test_client_class = Browser
    yield proxied
    with proxied.app_context():
        db.engine.dispose()


@pytest.fixture
def patient_client(app, proxied_app):
    make_doctor(name="Dr Always There")
    patient = make_patient()
    db.session.commit()
    client = proxied_app.test_client()
    assert client.login(patient.user.email).status_code == 302
    return client


class PoolClock:
    """The monotonic clock of carebook.database's idle pings, moved on by the test instead of by sleeping."""

    def __init__(self):
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def pool_clock(monkeypatch) -> PoolClock:
    clock = PoolClock()
    monkeypatch.setattr(database, "time", clock)
    return clock


def timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def test_api_requests_fail_fast_with_a_json_503_and_recover_when_the_database_returns(proxy, patient_client):
    assert patient_client.get("/api/doctors").status_code == 200

    proxy.cut()
    response, seconds = timed(lambda: patient_client.get("/api/doctors"))
    assert response.status_code == 503 and seconds < 1.5
    assert response.get_json() == {"error": {"code": "service_unavailable", "message": UNAVAILABLE_MESSAGE}}
    assert response.headers["Retry-After"].isdigit()
    # Still down: a new connection is refused, fast.
    response, seconds = timed(lambda: patient_client.get("/api/appointments"))
    assert response.status_code == 503 and seconds < 1.5

    proxy.restore()
    response = patient_client.get("/api/doctors")
    assert response.status_code == 200 and response.get_json()[0]["name"] == "Dr Always There"


def test_pages_fail_fast_with_a_clear_503_page_and_recover(proxy, patient_client):
    assert patient_client.get("/doctors").status_code == 200

    proxy.cut()
    response, seconds = timed(lambda: patient_client.get("/doctors"))
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and seconds < 1.5
    assert UNAVAILABLE_MESSAGE in page and "<html" in page

    proxy.restore()
    assert patient_client.get("/doctors").status_code == 200


def test_the_probes_tell_the_load_balancer(proxy, proxied_app):
    client = proxied_app.test_client()
    assert client.get("/readyz").status_code == 200
    proxy.cut()
    assert client.get("/healthz").status_code == 200  # the process itself is fine: do not restart it
    response, seconds = timed(lambda: client.get("/readyz"))
    assert response.status_code == 503 and seconds < 1.5  # but send it no traffic
    proxy.restore()
    assert client.get("/readyz").status_code == 200


def test_a_database_that_does_not_answer_costs_a_request_the_connect_timeout_not_a_worker(proxy, patient_client):
    proxy.stall()
    response, seconds = timed(lambda: patient_client.get("/api/doctors"))
    assert response.status_code == 503 and seconds < CONNECT_TIMEOUT + 3

    proxy.restore()
    assert patient_client.get("/api/doctors").status_code == 200


def test_connections_that_died_while_the_pool_was_idle_are_replaced_without_an_error(proxy, patient_client,
                                                                                      pool_clock):
    # A failover at night: nothing runs while the database restarts, so no request notices.
    assert patient_client.get("/api/doctors").status_code == 200
    proxy.cut()
    proxy.restore()
    pool_clock.advance(1.2)  # longer than DATABASE_PING_AFTER_IDLE: the pooled connection is pinged first
    assert patient_client.get("/api/doctors").status_code == 200


# -- telling a wrong DATABASE_URL from an outage in the log ---------------------------------------------------


def _database_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if "database" in record.getMessage()]


def test_a_database_that_does_not_exist_is_logged_as_a_wrong_setting_not_as_an_outage(database_url, tmp_path,
                                                                                        caplog):
    missing = f"carebook_never_created_{uuid.uuid4().hex[:8]}"
    wrong = create_app(env={
        "CAREBOOK_ENV": "test", "SECRET_KEY": "test-secret-key-" + "x" * 32, "CAREBOOK_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": make_url(database_url).set(database=missing).render_as_string(hide_password=False)})
    wrong.test_client_class = Browser
    client = wrong.test_client()
    try:
        with caplog.at_level(logging.WARNING):
            response = client.submit("/login", {"email": "someone@example.test", "password": "whatever it is"})
            ready = client.get("/readyz")
    finally:
        with wrong.app_context():
            db.engine.dispose()
    assert response.status_code == 503 and ready.status_code == 503  # to the patient: briefly unavailable
    lines = _database_lines(caplog)
    assert len(lines) == 2 and all(record.levelno == logging.ERROR for record in lines)
    for record in lines:
        message = record.getMessage()
        assert "database misconfigured" in message and f'database "{missing}", which does not exist' in message
        assert "DATABASE_URL" in message and "unavailable (" not in message


def test_an_outage_is_logged_as_the_database_being_unavailable_not_as_a_wrong_setting(proxy, patient_client,
                                                                                       caplog):
    proxy.cut()
    with caplog.at_level(logging.WARNING):
        assert patient_client.get("/api/doctors").status_code == 503
    [line] = _database_lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.getMessage().startswith("database unavailable") and "misconfigured" not in line.getMessage()
