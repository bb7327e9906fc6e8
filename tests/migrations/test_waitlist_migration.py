"""Migration 0014 on a database filled by the old schema: the outbox keeps its rows and takes the new kinds."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from carebook.extensions import db

OLD_ROWS = (("schedule_reminder", "reminder", 7), ("send_confirmation", "email", 7), ("send_password_reset", "email", None))


def _insert_outbox(connection, kind: str, topic: str, appointment_id) -> None:
    connection.execute(text(
        "INSERT INTO reminder_outbox (kind, topic, appointment_id, payload, status, attempts, next_attempt_at, "
        "last_error, created_at) VALUES (:kind, :topic, :appointment_id, '{}', 'pending', 0, "
        "'2026-06-01 07:00:00+00:00', '', '2026-06-01 07:00:00+00:00')"),
        {"kind": kind, "topic": topic, "appointment_id": appointment_id})


@pytest.fixture()
def old_database(app):
    downgrade(revision="0013")
    with db.engine.begin() as connection:
        for row in OLD_ROWS:
            _insert_outbox(connection, *row)
    yield
    upgrade()
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM reminder_outbox"))


def test_the_upgrade_keeps_every_outbox_row_and_accepts_the_waitlist_kinds(old_database):
    upgrade()
    with db.engine.begin() as connection:
        kept = connection.execute(text("SELECT kind, topic, appointment_id FROM reminder_outbox ORDER BY id")).all()
        assert [tuple(row) for row in kept] == list(OLD_ROWS)
        _insert_outbox(connection, "waitlist_slot_freed", "email", None)
        assert {"waitlist_entries", "waitlist_offers"} <= set(db.inspect(connection).get_table_names())


def test_the_upgraded_outbox_still_refuses_an_unknown_kind(old_database):
    upgrade()
    with pytest.raises(IntegrityError):
        with db.engine.begin() as connection:
            _insert_outbox(connection, "send_carrier_pigeon", "email", None)


def test_the_downgrade_drops_the_waitlist_and_its_rows_only(old_database):
    upgrade()
    with db.engine.begin() as connection:
        _insert_outbox(connection, "send_waitlist_offer", "email", None)
    downgrade(revision="0013")
    with db.engine.connect() as connection:
        kinds = connection.execute(text("SELECT kind FROM reminder_outbox ORDER BY id")).scalars().all()
        assert kinds == [kind for kind, _, _ in OLD_ROWS]
        assert "waitlist_entries" not in set(db.inspect(connection).get_table_names())
