"""The connection as requests see it: reads in autocommit, writes in a transaction (PostgreSQL)."""
from __future__ import annotations

import pytest
from flask import jsonify

from carebook.access import public
from carebook.extensions import db

pytestmark = [pytest.mark.postgres_only, pytest.mark.own_app]  # own_app: the probe adds a route


@pytest.fixture
def probe(app):
    """A route answering whether its connection is in autocommit, for GET and POST alike."""

    @app.route("/test-probe/connection", methods=["GET", "POST"])
    @public
    def connection_probe():
        connection = db.session.connection().connection.dbapi_connection
        return jsonify(autocommit=connection.autocommit)

    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    return "/test-probe/connection"


def test_a_get_reads_in_autocommit(client, probe):
    assert client.get(probe).get_json()["autocommit"] is True


def test_a_post_works_in_a_transaction(client, probe):
    assert client.post(probe).get_json()["autocommit"] is False


def test_the_connection_goes_back_to_the_pool_in_transaction_mode(app, client, probe):
    client.get(probe)
    pool = db.engine.pool
    idle = [pool.connect() for _ in range(pool.checkedin())]
    try:
        assert idle and not any(connection.dbapi_connection.autocommit for connection in idle)
    finally:
        for connection in idle:
            connection.close()


def test_work_outside_requests_is_never_in_autocommit(app, client, probe):
    client.get(probe)
    with db.engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is False
