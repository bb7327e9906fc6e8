"""Migrations 0009-0010 on a database filled by the old schema: numbers move to E.164, nothing is lost."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from carebook.extensions import db

OLD_PHONES = {
    1: ("07700 900123", "+447700900123", False),
    2: ("+33 6 12 34 56 78", "+33612345678", False),
    3: ("(020) 7946-0018", "+442079460018", False),
    4: ("ring the ward desk", "ring the ward desk", True),
    5: ("12345", "12345", True),
}


def _fill_old_schema() -> None:
    """Users, patients and a session, written with the schema of revision 0006."""
    with db.engine.begin() as connection:
        for number, (phone, _, _) in OLD_PHONES.items():
            connection.execute(text(
                "INSERT INTO users (id, email, full_name, role, is_active, created_at) "
                "VALUES (:id, :email, :name, 'patient', true, '2026-01-01 00:00:00+00:00')"),
                {"id": number, "email": f"p{number}@example.test", "name": f"Patient {number}"})
            connection.execute(text(
                "INSERT INTO patients (id, user_id, date_of_birth, phone) VALUES (:id, :id, '1950-01-01', :phone)"),
                {"id": number, "phone": phone})
        connection.execute(text(
            "INSERT INTO user_sessions (id, user_id, created_at, last_seen_at) "
            "VALUES ('kept', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"))


@pytest.fixture()
def old_database(app):
    downgrade(revision="0006")
    _fill_old_schema()
    yield
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM user_sessions"))
        connection.execute(text("DELETE FROM patients"))
        connection.execute(text("DELETE FROM users"))


def test_stored_numbers_move_to_e164_and_unreadable_ones_are_kept_and_flagged(old_database):
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, phone, phone_needs_check FROM patients ORDER BY id")).all()
    assert {row.id: (row.phone, bool(row.phone_needs_check)) for row in rows} == {
        number: (stored, flagged) for number, (_, stored, flagged) in OLD_PHONES.items()}


def test_the_upgrade_keeps_every_account_its_sessions_and_contact_preference_email(old_database):
    upgrade()
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM users")) == len(OLD_PHONES)
        assert connection.scalar(text("SELECT count(*) FROM user_sessions")) == 1
        preferences = connection.execute(text("SELECT DISTINCT contact_preference FROM patients")).scalars().all()
    assert preferences == ["email"]


def test_after_the_upgrade_an_account_may_have_no_email_but_addresses_stay_unique(old_database):
    upgrade()
    with db.engine.begin() as connection:
        for number in (10, 11):  # two accounts without email do not collide
            connection.execute(text(
                "INSERT INTO users (id, email, full_name, role, is_active, created_at) "
                "VALUES (:id, NULL, 'No Email', 'patient', true, '2026-01-01 00:00:00+00:00')"), {"id": number})
    with pytest.raises(Exception), db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (id, email, full_name, role, is_active, created_at) "
            "VALUES (12, 'p1@example.test', 'Twin', 'patient', true, '2026-01-01 00:00:00+00:00')"))
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE email IS NULL"))


def test_downgrading_keeps_the_e164_numbers(old_database):
    upgrade()
    downgrade(revision="0006")
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT phone FROM patients WHERE id = 1")) == "+447700900123"
    upgrade()
