"""Migration 0013 on a database filled by the 0012 schema: the delivery records table, and nothing lost."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from carebook.extensions import db


@pytest.fixture()
def at_0012(app):
    downgrade(revision="0012")
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO reminder_outbox (id, kind, topic, appointment_id, payload, status, attempts, "
            "next_attempt_at, last_error, created_at) VALUES (1, 'send_confirmation', 'email', 7, '{}', 'done', 0, "
            "'2026-01-01 00:00:00+00:00', '', '2026-01-01 00:00:00+00:00')"))
    yield
    upgrade()
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM reminder_outbox"))


def insert_delivery(connection, receipt_id: str, channel: str = "sms", outcome: str = "sent") -> None:
    connection.execute(text(
        "INSERT INTO notification_deliveries (receipt_id, appointment_id, message_id, event, channel, outcome, "
        "detail, provider_message_id, occurred_at, recorded_at) VALUES (:receipt, 7, 'outbox-1', 'confirmation', "
        ":channel, :outcome, '', '', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"),
        {"receipt": receipt_id, "channel": channel, "outcome": outcome})


def test_the_upgrade_adds_the_table_and_keeps_the_outbox(at_0012):
    assert "notification_deliveries" not in inspect(db.engine).get_table_names()
    upgrade()
    assert "notification_deliveries" in inspect(db.engine).get_table_names()
    with db.engine.begin() as connection:
        assert connection.scalar(text("SELECT count(*) FROM reminder_outbox")) == 1
        insert_delivery(connection, "a")
        connection.execute(text("DELETE FROM notification_deliveries"))


@pytest.mark.parametrize(("channel", "outcome"), [("fax", "sent"), ("sms", "unknown")])
def test_unknown_channels_and_outcomes_are_refused(at_0012, channel, outcome):
    upgrade()
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        insert_delivery(connection, "b", channel, outcome)


def test_a_receipt_is_recorded_once(at_0012):
    upgrade()
    with db.engine.begin() as connection:
        insert_delivery(connection, "c")
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        insert_delivery(connection, "c")
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM notification_deliveries"))


def test_downgrade_drops_the_table(at_0012):
    upgrade()
    downgrade(revision="0012")
    assert "notification_deliveries" not in inspect(db.engine).get_table_names()
