"""When Redis goes away, signing in still works on per-process counters, and they move back by themselves.

A TCP proxy sits between the app and the machine's Redis (never stopped: other tests use
it); the tests cut it (connections dropped, new ones refused), stall it (a black hole)
and restore it, and watch sign-ins through both doors, the throttles and the probes.
"""
from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from carebook import throttle_store
from carebook.app import create_app
from carebook.extensions import db
from tests.conftest import Browser, _test_env
from tests.deploy.tcp_proxy import TcpProxy
from tests.factories import PASSWORD, current_code, make_patient, make_staff
from tests.redis_server import REDIS_URL, ProbeClock, counts_with, key_prefix, needs_redis

pytestmark = needs_redis

WRONG = "not the password at all"


@pytest.fixture
def proxy():
    parts = urlsplit(REDIS_URL)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    yield proxy
    proxy.close()


@pytest.fixture
def probe_clock(monkeypatch) -> ProbeClock:
    clock = ProbeClock()
    monkeypatch.setattr(throttle_store, "time", clock)
    return clock


@pytest.fixture
def prefix() -> str:
    return key_prefix()


@pytest.fixture
def proxied_app(app, database_url, proxy, prefix, tmp_path):
    """A second app, like another container, that reaches Redis only through the proxy."""
    parts = urlsplit(REDIS_URL)
    url = urlunsplit((parts.scheme, f"127.0.0.1:{proxy.port}", parts.path, parts.query, ""))
    proxied = create_app({"RATELIMIT_KEY_PREFIX": prefix},
                         env={**_test_env(database_url, tmp_path), "PASSWORD_HASHING": "fast-for-tests",
                              "REDIS_URL": url})
    proxied.test_client_class = Browser
    yield proxied
    with proxied.app_context():
        db.engine.dispose()


def timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def test_pages_sign_in_through_an_outage_and_the_counters_return_to_redis(proxy, proxied_app, prefix,
                                                                           probe_clock, caplog):
    patient = make_patient()
    db.session.commit()
    email = patient.user.email
    assert proxied_app.test_client().login(email).status_code == 302
    assert sum(counts_with(prefix).values()) > 0  # counted in Redis

    proxy.cut()
    caplog.set_level(logging.INFO, logger="carebook.throttle_store")
    response, seconds = timed(lambda: proxied_app.test_client().login(email))
    assert response.status_code == 302 and seconds < 1.5
    assert any("Redis unreachable" in record.getMessage() and record.levelno == logging.WARNING
               for record in caplog.records)
    # Still throttled, by this process: five failures from one address, then that address waits.
    guesser = proxied_app.test_client()
    assert [guesser.login(email, WRONG).status_code for _ in range(5)] == [400] * 5
    assert guesser.login(email).status_code == 429

    proxy.restore()
    before = sum(counts_with(prefix).values())
    probe_clock.advance(throttle_store.PROBE_SECONDS + 1)
    assert proxied_app.test_client().login(email).status_code == 302
    assert any("answers again" in record.getMessage() for record in caplog.records)
    assert sum(counts_with(prefix).values()) > before  # counting in Redis again


def test_api_sign_in_with_a_code_works_through_an_outage(proxy, proxied_app, probe_clock):
    staff = make_staff()
    db.session.commit()
    client = proxied_app.test_client()
    proxy.cut()
    wrong = client.api("POST", "/api/session", json={"email": staff.email, "password": WRONG})
    assert wrong.status_code == 401
    wrong_code = client.api("POST", "/api/session", json={"email": staff.email, "password": PASSWORD,
                                                          "code": "000000"})
    assert wrong_code.status_code == 401
    signed_in = client.api("POST", "/api/session", json={"email": staff.email, "password": PASSWORD,
                                                         "code": current_code()})
    assert signed_in.status_code == 200


def test_the_per_account_limit_holds_in_memory_during_an_outage(proxy, proxied_app, probe_clock):
    patient = make_patient()
    db.session.commit()
    proxy.cut()
    for attempt in range(10):
        client = proxied_app.test_client()
        address = {"REMOTE_ADDR": f"198.51.100.{attempt + 1}"}
        assert client.submit("/login", {"email": patient.user.email, "password": WRONG},
                             environ_base=address).status_code == 400
    late = proxied_app.test_client().submit("/login", {"email": patient.user.email, "password": PASSWORD},
                                            environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert late.status_code == 429


def test_readyz_says_redis_is_degraded_but_keeps_the_instance_in_service(proxy, proxied_app):
    client = proxied_app.test_client()
    assert client.get("/readyz").get_json() == {"status": "ok", "redis": "ok"}

    proxy.cut()
    response, seconds = timed(lambda: client.get("/readyz"))
    assert response.status_code == 200 and seconds < 1.5
    assert response.get_json()["status"] == "degraded" and response.get_json()["redis"] == "degraded"
    assert client.get("/healthz").status_code == 200

    proxy.restore()
    # The probe itself notices: no sign-in is needed to move the counters back.
    assert client.get("/readyz").get_json() == {"status": "ok", "redis": "ok"}


def test_a_redis_that_does_not_answer_costs_a_sign_in_its_timeouts_not_an_error(proxy, proxied_app, probe_clock):
    patient = make_patient()
    db.session.commit()
    proxy.stall()
    response, seconds = timed(lambda: proxied_app.test_client().login(patient.user.email))
    assert response.status_code == 302
    # One wait of (connect or read) timeout, and its one retry; then the process counts in memory.
    assert seconds < 4 * throttle_store.REDIS_TIMEOUT_SECONDS + 1
    response, seconds = timed(lambda: proxied_app.test_client().login(patient.user.email))
    assert response.status_code == 302 and seconds < 1

    proxy.restore()
    probe_clock.advance(throttle_store.PROBE_SECONDS + 1)
    assert proxied_app.test_client().login(patient.user.email).status_code == 302
    assert not proxied_app.extensions["limiter"].pop().storage.degraded
