"""Carebook: appointment booking for one medical clinic.

``create_app`` builds the one Flask application that serves the patient and
doctor portal, the JSON API and the staff console.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, g
from sqlalchemy import event
from sqlalchemy.engine import Engine

from carebook import database, logging_setup, static_assets
from carebook.config import ConfigError, load_config
from carebook.extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ConfigError", "create_app"]


def create_app(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Flask:
    """Build the application. ``overrides`` replace config keys (tests); ``env`` replaces os.environ."""
    environ = os.environ if env is None else env
    app = Flask(
        __name__,
        instance_path=environ.get("CAREBOOK_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(app.instance_path, environ))
    # Connection timeouts and idle pings instead of a ping per request (carebook/database.py).
    app.config.update(database.database_config(app.config["SQLALCHEMY_DATABASE_URI"], environ))
    if overrides:
        app.config.update(overrides)

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
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

    from carebook import web
    web.init_app(app)

    import reminders.wiring
    reminders.wiring.init_app(app, environ)

    from carebook.cli import register_commands
    register_commands(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # SQLite ignores foreign keys unless asked, and should wait for a writer rather than fail at once.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _init_login(app: Flask) -> None:
    from carebook import accounts

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    # The cookie's session id is checked against the database on every request; the
    # extra "strong" protection would add nothing but surprise log-outs.
    login_manager.session_protection = None

    @login_manager.user_loader
    def load_user(session_id: str):
        user_session = accounts.load_session(db.session, session_id)
        if user_session is None:
            return None
        g.user_session = user_session
        user = user_session.user
        user.login_session_id = user_session.id
        return user
