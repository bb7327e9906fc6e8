"""Test fixtures: real databases built by the migrations, a frozen clock, and helpers.

Integration tests run on SQLite and on PostgreSQL. The PostgreSQL server comes from
TEST_DATABASE_URL (default: postgresql://postgres@127.0.0.1:5432/postgres, used only
to create and drop throw-away databases). Without a reachable server those tests are
skipped with a message saying how to point them at one; under CI=true that is an error.
"""
from __future__ import annotations

import contextvars
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import make_url, text

from carebook import clock, create_app, totp
from carebook.extensions import db

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)
POSTGRES_HELP = (
    f"PostgreSQL not reachable at {make_url(POSTGRES_URL).render_as_string(hide_password=True)}; "
    "its tests were SKIPPED. To run them, point TEST_DATABASE_URL at a server where the user may "
    "create databases, e.g. TEST_DATABASE_URL=postgresql://user:password@localhost:5432/postgres"
)
#: A Monday, 08:00 in London (BST): the default "now" of every test.
DEFAULT_NOW = datetime(2026, 6, 1, 7, 0, tzinfo=timezone.utc)


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


POSTGRES_PROBLEM = _postgres_reachable()


def pytest_configure(config):
    if POSTGRES_PROBLEM and os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true but {POSTGRES_HELP} ({POSTGRES_PROBLEM})")


def pytest_terminal_summary(terminalreporter):
    if POSTGRES_PROBLEM:
        terminalreporter.section("PostgreSQL", sep="!")
        terminalreporter.write_line(POSTGRES_HELP)
        terminalreporter.write_line(f"reason: {POSTGRES_PROBLEM}")


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames:
        return
    postgres = pytest.param("postgresql", marks=pytest.mark.skipif(bool(POSTGRES_PROBLEM), reason=POSTGRES_HELP))
    if metafunc.definition.get_closest_marker("postgres_only"):
        params = [postgres]
    else:
        params = ["sqlite", postgres]
    metafunc.parametrize("backend", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request):
    return request.param


def _test_env(database_url: str, instance_path: Path) -> dict[str, str]:
    return {
        "CAREBOOK_ENV": "test",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DATABASE_URL": database_url,
        "CAREBOOK_INSTANCE_PATH": str(instance_path),
        "CLINIC_TIMEZONE": "Europe/London",
        "CLINIC_NAME": "Test Clinic",
        "CLINIC_PHONE": "01234 567890",
    }


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    """A new database of this backend, migrated to head; dropped at the end of the run."""
    instance = tmp_path_factory.mktemp(f"instance-{backend}")
    if backend == "sqlite":
        url = f"sqlite:///{instance / 'test.sqlite3'}"
        _migrate(url, instance)
        yield url
        return
    name = f"carebook_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url, instance)
        yield url
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(env=_test_env(url, instance))
    with app.app_context():
        upgrade()
        db.engine.dispose()


class Browser(FlaskClient):
    """A test client that fills in the CSRF token the way a browser's form would.

    Each request runs in a fresh context, as on a real server: it gets its own app
    context, ``g`` and database session instead of sharing the test's. So tests
    commit what they set up before making requests, and see the results after
    ``session.expire_all()``.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)

    def csrf_token(self) -> str:
        return self.get("/api/csrf-token").get_json()["csrf_token"]

    def submit(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, email: str, password: str | None = None, secret: str | None = None):
        """Log in as a person would; for an account with two-factor, also enter the app's current code.

        The code comes from ``secret`` (default: the factories' TOTP_SECRET) under the frozen
        clock. A code is good once, and with the clock frozen every login in a test would need
        the same one, so the account's replay guard is reset first (tests only).
        """
        from tests.factories import PASSWORD, TOTP_SECRET

        self.last_login = (email, password, secret)
        response = self.submit("/login", {"email": email, "password": password or PASSWORD})
        if response.status_code == 302 and response.headers["Location"].startswith("/login/code"):
            allow_code_reuse(email)
            response = self.submit("/login/code", {"code": totp.current_code(secret or TOTP_SECRET)})
        return response

    def log_in_again(self):
        """Repeat the last login: after moving the frozen clock by more than the idle timeout
        (SESSION_IDLE_MINUTES), the earlier session has ended, as it would for a real user."""
        response = self.login(*self.last_login)
        assert response.status_code == 302, response.status_code
        return response

    def api(self, method: str, url: str, json=None, headers: dict | None = None):
        headers = {"X-CSRFToken": self.csrf_token(), **(headers or {})}
        return self.open(url, method=method, json=json, headers=headers)


def allow_code_reuse(email: str) -> None:
    """Forget which authenticator code the account used last (tests log in many times at one frozen instant)."""
    from sqlalchemy import update

    from models import User

    db.session.execute(update(User).where(User.email == email.strip().lower()).values(totp_last_step=None))
    db.session.commit()


@pytest.fixture(autouse=True)
def frozen_now():
    """Every test starts at DEFAULT_NOW; call clock.freeze() to move."""
    clock.freeze(DEFAULT_NOW)
    yield DEFAULT_NOW
    clock.freeze(None)


@pytest.fixture
def app(database_url, tmp_path):
    # argon2's cheapest parameters: sign-ins cost microseconds (tests/carebook/test_passwords.py covers the standard ones).
    app = create_app(env={**_test_env(database_url, tmp_path), "PASSWORD_HASHING": "fast-for-tests"})
    app.test_client_class = Browser
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


def _empty_all_tables() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def client(app) -> Browser:
    return app.test_client()


@pytest.fixture
def session(app):
    return db.session
