"""Where the throttle counters live: in Redis, shared by every worker and container, or in this process.

Without ``REDIS_URL`` the counters are in this process's memory (one process: the
embedded mode). With it they are in Redis, but a clinic's sign-in must not depend on a
throttle cache: when Redis cannot be reached (refused, timed out, a failover), every
counter falls back at once to this process's memory, with a warning in the log, and
moves back to Redis by itself once Redis answers again (a request checks at most every
``PROBE_SECONDS``, and so does every ``/readyz``). While it lasts each worker counts on
its own: the limits hold per worker, and what Redis had counted is counted afresh.
``/readyz`` reports Redis as degraded, with a 200: the instance stays in the load balancer.

This is a storage of the ``limits`` library, the one under Flask-Limiter, registered as
``fallback+redis://`` (``fallback+rediss://``, ``fallback+redis+unix://``); :func:`configure`
points Flask-Limiter at it. Flask-Limiter's own limits and the app's own counters
(:mod:`carebook.throttling`) both go through it, so every Redis use of the sign-in path
falls back the same way.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask
from limits.storage import MemoryStorage, RedisStorage, Storage
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

SCHEME_PREFIX = "fallback+"
#: How often, at most, a worker counting in memory asks whether Redis is back.
PROBE_SECONDS = 5.0
#: Redis answers in well under a millisecond; a worker waits this long at most (per try) when it does not.
REDIS_TIMEOUT_SECONDS = 0.5


class RedisWithFallback(Storage):
    """Redis while it answers, this process's memory while it does not (see the module's docstring)."""

    STORAGE_SCHEME = [SCHEME_PREFIX + scheme for scheme in ("redis", "rediss", "redis+unix")]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.redis = RedisStorage(uri[len(SCHEME_PREFIX):], **options)
        self.memory = MemoryStorage()
        self._lock = threading.Lock()
        self._down = False
        self._next_probe = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return self.redis.base_exceptions

    @property
    def degraded(self) -> bool:
        """Counting in memory because Redis did not answer."""
        return self._down

    def probe(self) -> bool:
        """Ask Redis whether it answers (a PING); move the counters back to it, or away from it."""
        answered = self.redis.check()
        with self._lock:
            if answered and self._down:
                self._down = False
                log.warning("throttle counters: Redis answers again; counting there again")
            elif not answered:
                self._mark_down("no answer to PING")
        return answered

    def _mark_down(self, why: str) -> None:
        if not self._down:
            log.warning("throttle counters: Redis unreachable (%s); counting in this process until it answers",
                        why)
        self._down = True
        self._next_probe = time.monotonic() + PROBE_SECONDS

    def _run(self, operation: str, *args: Any) -> Any:
        if self._down and time.monotonic() >= self._next_probe:
            self.probe()
        if not self._down:
            try:
                return getattr(self.redis, operation)(*args)
            except self.redis.base_exceptions as error:
                with self._lock:
                    self._mark_down(type(error).__name__)  # never the message: it may name the server
        return getattr(self.memory, operation)(*args)

    # -- the Storage interface (what the fixed-window strategy uses) --------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._run("incr", key, expiry, amount)

    def get(self, key: str) -> int:
        return self._run("get", key)

    def get_expiry(self, key: str) -> float:
        return self._run("get_expiry", key)

    def clear(self, key: str) -> None:
        return self._run("clear", key)

    def check(self) -> bool:
        return self.probe()

    def reset(self) -> int | None:
        self.memory.reset()
        return self._run("reset")


def configure(app: Flask) -> None:
    """Before Flask-Limiter's init_app: a Redis URL (from REDIS_URL) gets the fallback, and short timeouts."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.split("://", 1)[0] in ("redis", "rediss", "redis+unix"):
        app.config["RATELIMIT_STORAGE_URI"] = SCHEME_PREFIX + uri
    options = app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {})
    if app.config["RATELIMIT_STORAGE_URI"].startswith(SCHEME_PREFIX):
        options.setdefault("socket_connect_timeout", REDIS_TIMEOUT_SECONDS)
        options.setdefault("socket_timeout", REDIS_TIMEOUT_SECONDS)
        # redis-py retries three times with backoff of up to seconds: one quick retry (a pooled
        # connection that died in a failover) is all a request should wait for.
        options.setdefault("retry", Retry(NoBackoff(), 1))


def readiness(storage: Storage | None) -> dict[str, str]:
    """What /readyz says about the counters: nothing without Redis; Redis "ok" or "degraded"."""
    if not isinstance(storage, RedisWithFallback):
        return {}
    if storage.probe():
        return {"redis": "ok"}
    return {"redis": "degraded", "throttle_counters": "kept per process until Redis answers"}
