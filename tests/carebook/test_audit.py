"""The audit log's writer: plain inserts in the caller's transaction, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carebook import audit
from models import AuditEntry
from tests.factories import make_staff


def test_record_writes_who_did_what_from_where(app, session):
    staff = make_staff()
    audit.record(session, audit.Actor(staff, "admin"), "doctor.created", "doctor", 7, specialty="Dermatology")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "doctor.created"))
    assert (entry.actor_id, entry.source, entry.action, entry.entity_type, entry.entity_id) == (
        staff.id, "admin", "doctor.created", "doctor", 7)
    assert entry.details == {"specialty": "Dermatology"}
    assert entry.at is not None


def test_record_by_the_system_has_no_actor(app, session):
    audit.record(session, audit.Actor(None, "system"), "auth.session_expired", "user", 1)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.session_expired"))
    assert entry.actor_id is None


def test_a_recorded_row_rolls_back_with_its_transaction(app, session):
    staff = make_staff()
    session.commit()
    audit.record(session, audit.Actor(staff, "admin"), "user.disabled", "user", staff.id)
    session.rollback()
    assert session.scalar(select(func.count()).where(AuditEntry.action == "user.disabled")) == 0


def test_an_actor_from_an_unknown_door_is_refused():
    with pytest.raises(ValueError, match="unknown audit source"):
        audit.Actor(None, "backdoor")
