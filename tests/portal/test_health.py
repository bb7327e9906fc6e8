"""The liveness and readiness probes."""
from __future__ import annotations

import pytest
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


def test_healthz_touches_no_database(app, client):
    from sqlalchemy import event

    from carebook.extensions import db

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get("/healthz").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert statements == []


def test_readyz_reads_the_migration_scripts_once(app, client, monkeypatch):
    from alembic.script import ScriptDirectory

    assert client.get("/readyz").status_code == 200
    monkeypatch.setattr(ScriptDirectory, "get_heads", lambda self: pytest.fail("read the scripts again"))
    assert client.get("/readyz").status_code == 200
