"""Login throttling counters shared through Redis, as gunicorn workers share them."""
from __future__ import annotations

import os
import uuid

import pytest

from carebook.app import create_app
from carebook.extensions import db
from tests.conftest import Browser, _test_env
from tests.factories import make_patient

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


@needs_redis
def test_failed_logins_counted_by_one_worker_block_the_next_worker(app, database_url, tmp_path):
    patient = make_patient()
    db.session.commit()
    # Two app instances stand for two gunicorn workers; a unique prefix isolates this run's counters.
    env = {**_test_env(database_url, tmp_path), "REDIS_URL": REDIS_URL}
    overrides = {"RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    workers = [create_app(overrides, env=env) for _ in range(2)]
    for worker in workers:
        worker.test_client_class = Browser
    first, second = workers[0].test_client(), workers[1].test_client()
    for _ in range(5):
        assert first.login(patient.user.email, "wrong wrong wrong").status_code == 400
    assert second.login(patient.user.email).status_code == 429
