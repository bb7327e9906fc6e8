"""The Redis server the tests may use (TEST_REDIS_URL; database 15 of the local one by default).

Tests that need it are marked ``needs_redis``: skipped with the reason when it cannot be
reached, an error under CI=true. Each test isolates its counters with a key prefix of its own.
"""
from __future__ import annotations

import os
import time
import uuid

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return str(error)
    return None


REDIS_PROBLEM = _redis_problem()
needs_redis = pytest.mark.skipif(
    bool(REDIS_PROBLEM) and os.environ.get("CI") != "true",
    reason=f"Redis not reachable at {REDIS_URL} ({REDIS_PROBLEM}); set TEST_REDIS_URL to run this test")


def key_prefix() -> str:
    """A RATELIMIT_KEY_PREFIX of this test's own."""
    return f"test-{uuid.uuid4().hex}"


def counts_with(prefix: str) -> dict[str, int]:
    """The counters in Redis made under ``prefix``, by key."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    return {key: int(client.get(key) or 0) for key in client.scan_iter(match=f"*{prefix}*")}


class ProbeClock:
    """The monotonic clock of carebook.throttle_store's probes, moved on by the test instead of by sleeping."""

    def __init__(self):
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
