"""Login throttling counters shared through Redis, as gunicorn workers share them."""
from __future__ import annotations

from carebook.app import create_app
from carebook.extensions import db
from tests.conftest import Browser, _test_env
from tests.factories import make_patient
from tests.redis_server import REDIS_URL, counts_with, key_prefix, needs_redis


@needs_redis
def test_failed_logins_counted_by_one_worker_block_the_next_worker(app, database_url, tmp_path):
    patient = make_patient()
    db.session.commit()
    # Two app instances stand for two gunicorn workers; a unique prefix isolates this run's counters.
    env = {**_test_env(database_url, tmp_path), "REDIS_URL": REDIS_URL}
    overrides = {"RATELIMIT_KEY_PREFIX": key_prefix()}
    workers = [create_app(overrides, env=env) for _ in range(2)]
    for worker in workers:
        worker.test_client_class = Browser
    first, second = workers[0].test_client(), workers[1].test_client()
    for _ in range(5):
        assert first.login(patient.user.email, "wrong wrong wrong").status_code == 400
    assert second.login(patient.user.email).status_code == 429


@needs_redis
def test_the_counters_in_redis_hold_no_client_or_email_address(app, database_url, tmp_path):
    patient = make_patient(email="kept.private@example.test")
    db.session.commit()
    prefix = key_prefix()
    worker = create_app({"RATELIMIT_KEY_PREFIX": prefix},
                        env={**_test_env(database_url, tmp_path), "REDIS_URL": REDIS_URL})
    worker.test_client_class = Browser
    client = worker.test_client()
    for _ in range(3):
        client.submit("/login", {"email": patient.user.email, "password": "wrong wrong wrong"},
                      environ_base={"REMOTE_ADDR": "203.0.113.77"})
    keys = list(counts_with(prefix))
    assert any("account:" in key for key in keys) and any("address:" in key for key in keys)
    assert not [key for key in keys if "203.0.113.77" in key or "kept.private" in key]
