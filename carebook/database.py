"""The database connection: how the pool talks to PostgreSQL, and what a request sees when it is away.

* No ``pool_pre_ping``: that is a round trip before every request. A connection is pinged
  only when it has sat idle in the pool for a while (after a quiet night, or a failover
  while nothing was running); a busy pool finds a dead connection by using it.
* Short ``connect_timeout``, TCP keepalives: a database that is down or unreachable
  costs a request a few seconds at most, never a hung worker.
* When the database is unreachable, a request answers 503 at once (a JSON error under
  ``/api``, a page elsewhere) and is logged without the SQL or its parameters. The first
  such error invalidates the whole pool of that process, so when the database returns
  the next request connects afresh: the app recovers by itself.
* A DATABASE_URL that names a database the server does not have, a user it refuses or a
  host that does not exist is not an outage but a wrong setting: :func:`connection_problem`
  tells the two apart, the entry points stop on it at start-up with one line
  (:func:`check_connection`), and at run time it is logged as such, at ERROR.
"""
from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from flask import Flask, current_app, g, has_request_context, jsonify, render_template, request
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from carebook.config import int_setting

#: A pooled connection unused for longer than this is pinged before it is handed out.
DEFAULT_PING_AFTER_IDLE_SECONDS = 10
DEFAULT_CONNECT_TIMEOUT_SECONDS = 3
#: Recycled well before any idle timeout of a proxy or the server (RDS Proxy: 30 minutes).
DEFAULT_POOL_RECYCLE_SECONDS = 1200
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "The service is briefly unavailable. Please try again in a minute."

# SQLSTATEs that mean "no usable connection": class 08 (connection exception), and the
# server shutting down or not yet accepting connections.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03"}


def _seconds(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    return int_setting(env, name, default, minimum=minimum, unit="seconds")


def database_config(database_url: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The config keys for the connection to ``database_url``, from the environment.

    DATABASE_CONNECT_TIMEOUT (seconds, default 3; libpq waits at least 2),
    DATABASE_POOL_RECYCLE (seconds, default 1200) and DATABASE_PING_AFTER_IDLE
    (seconds, default 10; 0 pings on every checkout, as pool_pre_ping would).
    """
    options: dict[str, Any] = {
        "pool_recycle": _seconds(env, "DATABASE_POOL_RECYCLE", DEFAULT_POOL_RECYCLE_SECONDS, 1),
        # Error messages (and so logs) never carry the statement's parameters: they can be personal data.
        "hide_parameters": env.get("CAREBOOK_ENV", "development") == "production",
    }
    connect_timeout = _seconds(env, "DATABASE_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT_SECONDS, 1)
    ping_after = _seconds(env, "DATABASE_PING_AFTER_IDLE", DEFAULT_PING_AFTER_IDLE_SECONDS, 0)
    if database_url.startswith("postgresql"):
        options["connect_args"] = {
            "connect_timeout": connect_timeout,
            # Instants come back as UTC (datetime.timezone.utc), the form the app works in.
            "options": "-c timezone=UTC",
            "application_name": "carebook",
            # Notice a silently dropped connection (a failover, a NAT timeout) in about a minute.
            "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
        }
    return {"SQLALCHEMY_ENGINE_OPTIONS": options, "DATABASE_PING_AFTER_IDLE": ping_after}


def init_app(app: Flask) -> None:
    """Idle pings on the app's engine, and the 503 answer when the database is away."""
    with app.app_context():
        from carebook.extensions import db

        engine = db.engine
    ping_after = app.config.get("DATABASE_PING_AFTER_IDLE")
    if ping_after is not None and engine.dialect.name == "postgresql":
        _ping_idle_connections(engine, ping_after)

    if engine.dialect.name == "postgresql":
        _autocommit_safe_requests(app, engine)

    for error_class in (exc.DBAPIError, exc.TimeoutError, exc.DisconnectionError):
        app.register_error_handler(error_class, _database_error)


def _ping_idle_connections(engine: Engine, after_seconds: int) -> None:
    @event.listens_for(engine, "checkin")
    def remember_when(dbapi_connection, record) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                # The pool drops this connection and tries a new one (which fails fast if the server is away).
                raise exc.DisconnectionError("stale pooled connection") from error
            raise


#: Methods that never change state: every route that changes something takes POST (access.py).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_AUTOCOMMIT_FLAG = "_database_autocommit"


def _autocommit_safe_requests(app: Flask, engine: Engine) -> None:
    """Reads run in autocommit: a GET costs no BEGIN and no ROLLBACK, two round trips of four.

    A request that only reads needs no transaction around its statements: each sees the
    newest committed data, and nothing it reads is later written back. (The slot list,
    which reads twice, is built for that: carebook/slot_cache.py.) The few writes a GET
    does (a session's last-seen time, ending a timed-out session) are single statements,
    atomic on their own. The connection is switched at checkout, on the client side (no
    round trip), and switched back when it returns to the pool, so POSTs, the CLI and the
    relay always work in transactions.
    """
    from carebook.extensions import db

    @app.before_request
    def mark_safe_request() -> None:
        if request.method in SAFE_METHODS:
            setattr(g, _AUTOCOMMIT_FLAG, True)

    @app.teardown_request
    def release_connection(error: BaseException | None) -> None:
        if g.pop(_AUTOCOMMIT_FLAG, False):
            db.session.close()  # back to the pool, out of autocommit, before anything else uses it

    @event.listens_for(engine, "checkout")
    def autocommit_if_safe(dbapi_connection, record, proxy) -> None:
        if has_request_context() and g.get(_AUTOCOMMIT_FLAG):
            dbapi_connection.autocommit = True
            record.info[_AUTOCOMMIT_FLAG] = True

    @event.listens_for(engine, "checkin")
    def back_to_transactions(dbapi_connection, record) -> None:
        if record is not None and record.info.pop(_AUTOCOMMIT_FLAG, False) and dbapi_connection is not None:
            dbapi_connection.autocommit = False


@contextmanager
def separate_session(engine: Engine) -> Iterator[Session]:
    """A session on a connection of its own, in a transaction of its own, committed on leaving.

    Never in a safe request's autocommit (see above): what is written here is written together.
    """
    autocommit = g.pop(_AUTOCOMMIT_FLAG, None) if has_request_context() else None
    try:
        with Session(engine) as session, session.begin():
            yield session
    finally:
        if autocommit is not None:
            setattr(g, _AUTOCOMMIT_FLAG, autocommit)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached (rather than a bug or a constraint)."""
    if isinstance(error, (exc.TimeoutError, exc.DisconnectionError)):
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is None:
        # PostgreSQL errors always carry a SQLSTATE; one without is the driver's own (connect
        # refused or timed out, server closed the connection). SQLite's have none either, but
        # "database is locked" and friends are not an outage.
        return type(error.orig).__module__.startswith("psycopg")
    return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


@dataclass(frozen=True)
class ConnectionProblem:
    """Why a connection to the database failed, in one line that never holds the password."""

    #: True: DATABASE_URL names something that is not there (fix the setting); False: the
    #: server is away or unreachable (an outage: wait, the pool recovers by itself).
    misconfigured: bool
    text: str


# libpq's words for the server's refusals (the server sends them before any SQLSTATE reaches
# psycopg 3, whose connection errors carry none).
_MISSING_DATABASE = re.compile(r'database "([^"]*)" does not exist')
_LOGIN_REFUSED = re.compile(r'password authentication failed for user "[^"]*"|role "[^"]*" does not exist'
                            r'|no pg_hba\.conf entry[^\n]*|authentication failed[^\n]*|password is required[^\n]*'
                            r'|server does not support SSL[^\n]*|SSL[^\n]*required[^\n]*')
_UNKNOWN_HOST = re.compile(r"failed to resolve host|could not translate host name|Name or service not known")


def connection_problem(error: BaseException, url: URL | None) -> ConnectionProblem | None:
    """What a failed connection to ``url`` says about DATABASE_URL; None if ``error`` is no connection failure."""
    orig = getattr(error, "orig", error)
    if isinstance(error, exc.DBAPIError) and not isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        return None
    if getattr(orig, "sqlstate", None) is not None or not type(orig).__module__.startswith("psycopg"):
        return None  # the server answered a statement (or it is SQLite): not a connection failure
    reason = str(orig)
    where = _server(url)
    missing = _MISSING_DATABASE.search(reason)
    if missing:
        return ConnectionProblem(True, f'DATABASE_URL names the database "{missing.group(1)}", which does not '
                                       f"exist on {where} (create it, or correct the name)")
    refused = _LOGIN_REFUSED.search(reason)
    if refused:
        return ConnectionProblem(True, f"DATABASE_URL: {where} refused the login ({refused.group(0).strip()})")
    if _UNKNOWN_HOST.search(reason):
        host = url.host if url is not None and url.host else "?"
        return ConnectionProblem(True, f'DATABASE_URL names the host "{host}", which cannot be resolved')
    detail = _short_reason(reason)
    return ConnectionProblem(False, f"cannot reach the database server at {where} (DATABASE_URL): {detail}")


def _server(url: URL | None) -> str:
    if url is None:
        return "the database server"
    host = url.host or "the local socket"
    return f"{host}:{url.port or 5432}" if url.host else host


def _short_reason(reason: str) -> str:
    # libpq: "connection failed: connection to server at "h", port 1 failed: Connection refused\n\tIs the server..."
    first = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
    return first.rsplit("failed: ", 1)[-1].strip() or first


def check_connection(engine: Engine) -> ConnectionProblem | None:
    """Connect once (PostgreSQL only) and say what went wrong, if anything; the pool is left empty."""
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.connect():
            pass
    except exc.DBAPIError as error:
        return connection_problem(error, engine.url)
    finally:
        engine.dispose()
    return None


def _database_error(error: Exception):
    if not is_unavailable(error):
        raise error
    from carebook.extensions import db

    problem = connection_problem(error, db.engine.url)
    if problem is not None and problem.misconfigured:
        current_app.logger.error("database misconfigured: %s; answering 503", problem.text)
    else:
        # The error's text would name the statement; its class is enough to tell what happened.
        current_app.logger.warning("database unavailable (%s%s); answering 503",
                                   type(getattr(error, "orig", error)).__name__,
                                   f": {_short_reason(str(error.orig))}" if problem is not None else "")
    # The page's frame asks who is signed in: do not ask the database again.
    g._login_user = current_app.login_manager.anonymous_user()
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.blueprint == "api" or request.path.startswith("/api/"):
        body = {"error": {"code": "service_unavailable", "message": UNAVAILABLE_MESSAGE}}
        return jsonify(body), 503, headers
    return render_template("error.html", status=503, message=UNAVAILABLE_MESSAGE), 503, headers
