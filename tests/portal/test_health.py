"""The liveness and readiness probes."""
from __future__ import annotations

from flask_migrate import downgrade, upgrade


def test_healthz_answers_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_is_ok_with_the_schema_at_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_readyz_is_unavailable_when_migrations_are_behind(app, client):
    downgrade(revision="base")
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.get_json()["reason"] == "migrations not at head"
    finally:
        upgrade()
