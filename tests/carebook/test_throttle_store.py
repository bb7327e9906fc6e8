"""The throttle counters' store: Redis while it answers, this process's memory while it does not."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask

from carebook import throttle_store
from tests.deploy.tcp_proxy import TcpProxy
from tests.redis_server import REDIS_URL, ProbeClock, needs_redis


@pytest.mark.parametrize("url", ["redis://cache:6379/0", "rediss://:secret@cache.example:6380/1",
                                 "redis+unix:///run/redis.sock"])
def test_a_redis_url_gets_the_fallback_and_short_timeouts(url):
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = url
    throttle_store.configure(app)
    assert app.config["RATELIMIT_STORAGE_URI"] == "fallback+" + url
    options = app.config["RATELIMIT_STORAGE_OPTIONS"]
    assert options["socket_timeout"] == options["socket_connect_timeout"] == throttle_store.REDIS_TIMEOUT_SECONDS
    assert options["retry"].get_retries() == 1


def test_without_redis_the_counters_stay_in_memory_and_readiness_says_nothing():
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    throttle_store.configure(app)
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert throttle_store.readiness(None) == {}


@pytest.fixture
def store(monkeypatch):
    parts = urlsplit(REDIS_URL)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    clock = ProbeClock()
    monkeypatch.setattr(throttle_store, "time", clock)
    url = urlunsplit((parts.scheme, f"127.0.0.1:{proxy.port}", parts.path, "", ""))
    store = throttle_store.RedisWithFallback("fallback+" + url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                             retry=throttle_store.Retry(throttle_store.NoBackoff(), 1))
    yield store, proxy, clock
    proxy.close()


@needs_redis
def test_counts_fall_back_to_memory_with_one_warning_and_return(store, caplog):
    store, proxy, clock = store
    key = f"test-store-{id(store)}"
    assert store.incr(key, 60) == 1 and not store.degraded
    proxy.cut()
    with caplog.at_level(logging.WARNING, logger="carebook.throttle_store"):
        counts = [store.incr(key, 60) for _ in range(3)]
    assert counts == [1, 2, 3] and store.degraded  # a fresh count, in this process
    assert [record.getMessage() for record in caplog.records].count(
        "throttle counters: Redis unreachable (ConnectionError); counting in this process until it answers") == 1
    assert throttle_store.readiness(store)["redis"] == "degraded"

    proxy.restore()
    assert store.incr(key, 60) == 4  # not probed yet: still in memory
    clock.advance(throttle_store.PROBE_SECONDS + 0.1)
    assert store.incr(key, 60) == 2 and not store.degraded  # Redis's count goes on
    assert throttle_store.readiness(store) == {"redis": "ok"}
    store.clear(key)
