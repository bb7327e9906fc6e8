"""The migration step: `flask db upgrade` once per deployment, safe when two deployments overlap."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import make_url

from tests.conftest import POSTGRES_PROBLEM, POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"

pytestmark = pytest.mark.skipif(bool(POSTGRES_PROBLEM), reason=f"PostgreSQL not reachable: {POSTGRES_PROBLEM}")


@pytest.fixture
def empty_database():
    name = f"carebook_migrate_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_deployments_migrating_at_once_both_succeed_and_leave_the_schema_at_head(empty_database, tmp_path):
    env = {**os.environ, "FLASK_APP": "wsgi", "CAREBOOK_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
           "SECRETS_ENCRYPTION_KEYS": secrets.token_hex(32),
           "DATABASE_URL": empty_database, "CAREBOOK_INSTANCE_PATH": str(tmp_path), "PYTHONPATH": str(ROOT),
           "BASE_URL": "https://clinic.example", "SMTP_HOST": "mail.clinic.example"}
    processes = [subprocess.Popen([str(FLASK), "db", "upgrade"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=180)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    # The advisory lock queued one behind the other: the migrations ran exactly once in all.
    runs = [line for output in outputs for line in output.splitlines() if "Running upgrade  -> 0001" in line]
    assert len(runs) == 1, outputs

    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    with psycopg.connect(empty_database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        tables = {row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        constraints = {row[0] for row in connection.execute("SELECT conname FROM pg_constraint")}
    assert {"users", "doctors", "patients", "appointments", "audit_log", "weekly_hours", "user_sessions"} <= tables
    assert {"ex_appointments_doctor_overlap", "ex_appointments_patient_overlap"} <= constraints


def test_the_web_containers_do_not_migrate_at_start(tmp_path):
    # Neither the app factory nor the WSGI entry point runs migrations: only the explicit step does.
    for path in (ROOT / "wsgi.py", ROOT / "carebook" / "__init__.py", ROOT / "gunicorn.conf.py"):
        text = path.read_text()
        assert "upgrade(" not in text and "db upgrade" not in text, path
