"""Test fixtures: real databases built by the migrations, one app per database, a frozen clock, and helpers.

Integration tests run on SQLite and on PostgreSQL. The PostgreSQL server comes from
TEST_DATABASE_URL (default: postgresql://postgres@127.0.0.1:5432/postgres, used only
to create and drop throw-away databases). Without a reachable server those tests are
skipped with a message saying how to point them at one; under CI=true that is an error.
``--backend sqlite`` (what ``scripts/test --fast`` passes) leaves PostgreSQL out.

What keeps the suite fast, and its tests apart:

* Each test database (one per backend and pytest-xdist worker) has one app that the tests
  share. Before each test its per-test state is reset (rate-limit counters, kept slot
  lists, the instance folder); a test that changed the app (its config, hooks, routes or
  extensions) leaves it to be rebuilt for the next one. Flask refuses new routes on an
  app that has served requests, so a test that adds some is marked ``own_app``.
* After each test, the tables it wrote to are emptied (tests/isolation.py): tests commit
  for real, so rolling back a transaction could not undo them.
* The throw-away databases do not wait for the disk at commit, and the shared app hashes
  passwords with argon2's cheapest parameters (PASSWORD_HASHING=fast-for-tests; the
  standard ones are tested in tests/carebook/test_passwords.py).
"""
from __future__ import annotations

import contextvars
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine

from carebook import clock, totp
from carebook.app import create_app
from carebook.config import normalise_database_url
from carebook.extensions import db, limiter
from carebook.slot_cache import SlotCache
from tests.isolation import TableJanitor

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)
POSTGRES_HELP = (
    f"PostgreSQL not reachable at {make_url(POSTGRES_URL).render_as_string(hide_password=True)}; "
    "its tests were SKIPPED. To run them, point TEST_DATABASE_URL at a server where the user may "
    "create databases, e.g. TEST_DATABASE_URL=postgresql://user:password@localhost:5432/postgres"
)
#: A Monday, 08:00 in London (BST): the default "now" of every test.
DEFAULT_NOW = datetime(2026, 6, 1, 7, 0, tzinfo=timezone.utc)
BACKENDS = ("sqlite", "postgresql")
#: "gw0", "gw1"... under pytest-xdist: in the names of this worker's databases.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
#: Where the browser tests leave a screenshot of each journey's last page (tests/browser/conftest.py).
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR")
                      or Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots")
#: Why the PostgreSQL tests cannot run (None: they can); set in pytest_configure, before any test module is imported.
POSTGRES_PROBLEM: str | None = None


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def pytest_addoption(parser):
    parser.addoption("--backend", action="append", choices=BACKENDS, dest="backends",
                     help="run the database tests on this backend only (repeatable; default: both)")


def _backends(config) -> tuple[str, ...]:
    return tuple(config.getoption("backends") or BACKENDS)


def _postgres_wanted(config) -> bool:
    return "postgresql" in _backends(config)


def pytest_configure(config):
    global POSTGRES_PROBLEM
    POSTGRES_PROBLEM = _postgres_reachable() if _postgres_wanted(config) else "left out (--backend sqlite)"
    if _postgres_wanted(config) and POSTGRES_PROBLEM and os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true but {POSTGRES_HELP} ({POSTGRES_PROBLEM})")


def pytest_terminal_summary(terminalreporter, config):
    # Here rather than in tests/browser/conftest.py: under pytest-xdist, the process that writes
    # the summary loads only this conftest.
    reports = [report for kept in terminalreporter.stats.values() for report in kept if hasattr(report, "nodeid")]
    if any(report.nodeid.startswith("tests/browser/") for report in reports) and SCREENSHOT_DIR.is_dir():
        terminalreporter.section("browser screenshots")
        terminalreporter.write_line(f"last page of each journey: {SCREENSHOT_DIR}")
    if _postgres_wanted(config) and POSTGRES_PROBLEM:
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


def pytest_collection_modifyitems(config, items):
    """Leave out the runs on a backend that --backend did not ask for."""
    wanted = _backends(config)
    left_out = [item for item in items if _backend_of(item) not in (None, *wanted)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if _backend_of(item) in (None, *wanted)]


def _backend_of(item) -> str | None:
    return item.callspec.params.get("backend") if hasattr(item, "callspec") else None


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


@dataclass
class ThrowAwayDatabase:
    """A migrated throw-away database of one backend, for this worker, and the app its tests share."""

    url: str
    instance: Path  # the shared app's instance folder
    janitor: TableJanitor
    shared_app: Flask | None = None
    #: The shared app's config, hooks, routes and extensions as the current test got them.
    wiring: tuple = field(default=(), repr=False)


@pytest.fixture(scope="session")
def test_database(backend, tmp_path_factory):
    """A new database of this backend, migrated to head; dropped at the end of the run."""
    instance = tmp_path_factory.mktemp(f"instance-{backend}")
    if backend == "sqlite":
        url = f"sqlite:///{instance / 'test.sqlite3'}"
        _migrate(url, instance)
        yield from _opened(url, instance)
        return
    name = f"carebook_test_{WORKER}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # A throw-away database need not wait for the disk at commit (about 5 ms a commit here).
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url, instance)
        yield from _opened(url, instance)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _opened(url: str, instance: Path):
    """The migrated database at ``url`` as its tests use it; its shared app is disposed of at the end."""
    engine = create_engine(normalise_database_url(url))
    _skip_disk_sync_on_sqlite(engine)
    database = ThrowAwayDatabase(url, instance / "app", TableJanitor(engine))
    try:
        yield database
    finally:
        if database.shared_app is not None:
            _dispose(database.shared_app)
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(test_database) -> str:
    return test_database.url


@pytest.fixture(autouse=True)
def empty_written_tables(request):
    """After a test that used a test database, empty the tables it wrote to (tests/isolation.py)."""
    database = request.getfixturevalue("test_database") if "test_database" in request.fixturenames else None
    yield
    if database is not None:
        database.janitor.empty_written_tables()


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
def restored_logging():
    """An app built with LOG_FORMAT or LOG_LEVEL sets up the process's root logger (carebook/logging_setup.py);
    what one test set up must not print into the next one's output."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def frozen_now():
    """Every test starts at DEFAULT_NOW; call clock.freeze() to move."""
    clock.freeze(DEFAULT_NOW)
    yield DEFAULT_NOW
    clock.freeze(None)


#: What the apps of the ``app`` fixture add to _test_env: argon2's cheapest parameters make sign-ins
#: cost microseconds (tests/carebook/test_passwords.py covers the standard ones).
SHARED_APP_ENV = {"PASSWORD_HASHING": "fast-for-tests"}


def _build_app(database_url: str, instance: Path) -> Flask:
    app = create_app(env={**_test_env(database_url, instance), **SHARED_APP_ENV})
    app.test_client_class = Browser
    with app.app_context():
        _skip_disk_sync_on_sqlite(db.engine)
    return app


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(request, test_database, tmp_path):
    """The test database's shared app, reset for this test (or a new app of its own: ``own_app``)."""
    if request.node.get_closest_marker("own_app"):
        app = _build_app(test_database.url, tmp_path)
        with app.app_context():
            yield app
            db.session.remove()
        _dispose(app)
        return
    app = _checkout(test_database)
    with app.app_context():
        yield app
        db.session.remove()
    if _wiring(app) != test_database.wiring:
        _dispose(app)
        test_database.shared_app = None


def _checkout(database: ThrowAwayDatabase) -> Flask:
    """The shared app, with what one test may leave behind cleared."""
    if database.shared_app is None:
        database.shared_app = _build_app(database.url, database.instance)
    app = database.shared_app
    # Flask-Limiter keeps the first key prefix it was ever given; a test's own (tests/redis_server.py) must not stick.
    limiter._key_prefix = app.config.get("RATELIMIT_KEY_PREFIX", "")
    limiter.init_app(app)  # fresh counters; and apps made since (another test's) may have reconfigured it
    kept_slots = app.extensions.get("slot_cache")
    if kept_slots is not None:
        app.extensions["slot_cache"] = SlotCache(max_entries=kept_slots.max_entries, max_age=kept_slots.max_age)
    shutil.rmtree(app.instance_path)
    Path(app.instance_path).mkdir()
    database.wiring = _wiring(app)
    return app


def _wiring(app: Flask) -> tuple:
    """What a test could change on the app: config, extensions, request hooks, routes, error handlers, WSGI stack."""
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs,
             app.url_value_preprocessors, app.url_default_functions, app.template_context_processors)
    return (
        dict(app.config),
        dict(app.extensions),
        [{key: list(funcs) for key, funcs in hook.items()} for hook in hooks],
        list(app.teardown_appcontext_funcs),
        dict(app.view_functions),
        len(list(app.url_map.iter_rules())),
        # Looking a handler up adds empty entries to these defaultdicts: only handlers count.
        {(key, code): dict(handlers) for key, codes in app.error_handler_spec.items()
         for code, handlers in codes.items() if handlers},
        app.wsgi_app,
        app.test_client_class,
        dict(app.jinja_env.globals),
        dict(app.jinja_env.filters),
    )


def _skip_disk_sync_on_sqlite(engine: Engine) -> None:
    """A throw-away SQLite database need not wait for the disk at commit (about 4 ms a commit here)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def no_sync(dbapi_connection, connection_record):
        dbapi_connection.execute("PRAGMA synchronous = OFF")


@pytest.fixture
def client(app) -> Browser:
    return app.test_client()


@pytest.fixture
def session(app):
    return db.session
