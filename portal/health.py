"""Liveness and readiness probes for the load balancer and the container runtime."""
from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from carebook import throttle_store
from carebook.access import public
from carebook.database import connection_problem
from carebook.extensions import db, limiter

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
def healthz():
    """The process is up and serving. Touches nothing else (also the benchmark's ceiling)."""
    return jsonify(status="ok")


def _expected_heads() -> set[str]:
    # The migration scripts ship with the code and never change under a running process:
    # read them once, not on every probe of every load balancer node.
    heads = current_app.extensions.get("migration_heads")
    if heads is None:
        heads = current_app.extensions["migration_heads"] = set(
            ScriptDirectory(current_app.extensions["migrate"].directory).get_heads())
    return heads


@bp.route("/readyz")
@public
def readyz():
    """Ready for traffic: the database answers and its schema is at the newest migration.

    With REDIS_URL set it also says whether Redis answers; without it, sign-in still works
    (its throttle counters fall back to each process's memory, carebook/throttle_store.py),
    so the answer is "degraded" with a 200: the load balancer keeps sending traffic.
    """
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        problem = connection_problem(error, db.engine.url)
        if problem is not None and problem.misconfigured:
            current_app.logger.error("readiness: database misconfigured: %s", problem.text)
        else:
            current_app.logger.warning("readiness: database unreachable")
        return jsonify(status="unavailable", reason="database unreachable"), 503
    if current != _expected_heads():
        return jsonify(status="unavailable", reason="migrations not at head"), 503
    counters = throttle_store.readiness(limiter.storage if limiter.initialized and limiter.enabled else None)
    return jsonify(status="degraded" if counters.get("redis") == "degraded" else "ok", **counters)
