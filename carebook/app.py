"""The composition root: ``create_app`` builds the one Flask application and wires every part into it.

It imports everything (configuration, extensions, the portal's blueprints, the staff
console, the reminder path, the CLI) and nothing imports it but the entry points
(wsgi.py, migrations/env.py, the tests and the benchmarks); an import-linter contract in
setup.cfg keeps it so. Views reach the domain services through :mod:`carebook.services`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, g
from sqlalchemy import event
from sqlalchemy.engine import Engine

import reminders.wiring
from admin import init_admin
from carebook import (access, accounts, database, logging_setup, patient_data, secrets_at_rest, security,
                      static_assets, throttle_store, unit_of_work, waitlist, web)
from carebook.cli import register_commands
from carebook.config import load_config
from carebook.extensions import csrf, db, limiter, login_manager, migrate
from carebook.slot_cache import SlotCache
from portal import account, api, auth, doctor, health, patient
from portal import waitlist as patient_waitlist

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["create_app"]


def create_app(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Flask:
    """Build the application. ``overrides`` replace config keys (tests); ``env`` replaces os.environ."""
    environ = os.environ if env is None else env
    app = unit_of_work.UnitOfWorkFlask(
        "carebook",
        instance_path=environ.get("CAREBOOK_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(app.instance_path, environ))
    # The keys of the secrets the database holds; production must set them (carebook/secrets_at_rest.py).
    app.config.update(secrets_at_rest.settings(environ, app.config))
    # How long an erased patient's pseudonymised history is kept (carebook/patient_data/retention.py).
    app.config.update(patient_data.settings(environ))
    # Connection timeouts and idle pings instead of a ping per request (carebook/database.py).
    app.config.update(database.database_config(app.config["SQLALCHEMY_DATABASE_URI"], environ))
    if overrides:
        app.config.update(overrides)

    db.init_app(app)
    database.init_app(app)
    # After carebook.database: the request's transaction ends before its connection goes back.
    unit_of_work.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    # Registered before the CSRF check: a signed-in API operation called without a sign-in is a 401.
    app.before_request(access.refuse_anonymous_api_calls)
    csrf.init_app(app)
    # Redis with a fallback to this process's memory when it does not answer (carebook/throttle_store.py).
    throttle_store.configure(app)
    limiter.init_app(app)
    _init_login(app)
    if app.config["TRUSTED_PROXY_HOPS"]:
        # Behind a load balancer: take the client address from X-Forwarded-For, for that many hops only.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # Request ids on every log line and response; JSON logs in production (carebook/logging_setup.py).
    logging_setup.init_app(app, environ)
    # Static files from the CDN when STATIC_URL_BASE is set (carebook/static_assets.py).
    static_assets.init_app(app, environ)

    _register_web(app)
    reminders.wiring.init_app(app, environ)
    # The waitlist's settings, and its listener for freed and booked time (carebook/waitlist/).
    waitlist.init_app(app, environ)
    register_commands(app)
    # A key that cannot decrypt what the database holds stops the start here, with a message. Last:
    # every setting above is checked before the database is asked anything (an unreachable one is
    # logged, through the logging set up above).
    secrets_at_rest.init_app(app)
    return app


def _register_web(app: Flask) -> None:
    # First: loads the signed-in user (ending a timed-out session) before the access check reads it.
    security.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(patient.bp)
    app.register_blueprint(patient_waitlist.bp)
    app.register_blueprint(doctor.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    init_admin(app)

    if app.config["SLOT_CACHE_SECONDS"]:
        app.extensions["slot_cache"] = SlotCache(max_age=app.config["SLOT_CACHE_SECONDS"])
    app.before_request(access.enforce_declared_access)
    web.init_app(app)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # SQLite ignores foreign keys unless asked, and should wait for a writer rather than fail at once.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    # The cookie's session id is checked against the database on every request; the
    # extra "strong" protection would add nothing but surprise log-outs.
    login_manager.session_protection = None

    @login_manager.user_loader
    def load_user(session_id: str):
        user_session, bookkeeping = accounts.examine_session(db.session, session_id)
        if bookkeeping is not None:
            # Last seen, or a timed-out session ended: kept whatever becomes of the request.
            unit_of_work.apart(bookkeeping)
        if user_session is None:
            return None
        g.user_session = user_session
        user = user_session.user
        user.login_session_id = session_id
        return user
