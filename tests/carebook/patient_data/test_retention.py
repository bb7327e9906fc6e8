"""The retention rule: an erased patient's pseudonymised history goes RECORDS_RETENTION_YEARS after each appointment."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from carebook import audit, clock
from carebook.app import create_app
from carebook.config import ConfigError
from carebook.extensions import db
from carebook.patient_data import erasure, retention
from carebook.services import booking_service
from models import Appointment, AuditEntry, OutboxMessage, ReminderDelivery
from tests.carebook.patient_data.history import patient_with_history
from tests.conftest import _test_env
from tests.factories import make_staff

#: Eight years and a day after the past visit.
EIGHT_YEARS_ON = datetime(2034, 5, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def erased_history(app):
    history = patient_with_history(app)
    desk = audit.Actor(make_staff(), "admin")
    erasure.erase_patient(db.session, booking_service(), desk, history.patient)
    db.session.commit()
    return history


def appointment_ids() -> list[int]:
    return db.session.scalars(select(Appointment.id).order_by(Appointment.id)).all()


def test_the_period_defaults_to_eight_years_and_is_a_setting(app, database_url, tmp_path):
    assert app.config["RECORDS_RETENTION_YEARS"] == 8
    env = {**_test_env(database_url, tmp_path), "RECORDS_RETENTION_YEARS": "10"}
    assert create_app(env=env).config["RECORDS_RETENTION_YEARS"] == 10


@pytest.mark.parametrize("value", ["0", "eight"])
def test_a_bad_period_stops_the_start(tmp_path, value):
    env = {**_test_env(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path), "RECORDS_RETENTION_YEARS": value}
    with pytest.raises(ConfigError, match="RECORDS_RETENTION_YEARS"):
        create_app(env=env)


def test_history_within_the_period_is_kept(app, erased_history):
    clock.freeze(datetime(2034, 5, 18, 9, 0, tzinfo=timezone.utc))
    result = retention.purge_expired(db.session, audit.Actor(None, "cli"), years=8, now=clock.utcnow())
    assert result.appointments_deleted == 0
    assert appointment_ids() == [erased_history.past.id, erased_history.upcoming.id]


def test_history_older_than_the_period_goes_with_its_messages(app, erased_history):
    past_id = erased_history.past.id
    result = retention.purge_expired(db.session, audit.Actor(None, "cli"), years=8, now=EIGHT_YEARS_ON)
    db.session.commit()
    assert result.appointments_deleted == 1
    assert appointment_ids() == [erased_history.upcoming.id]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.appointment_id == past_id)) == 0
    assert db.session.scalars(select(ReminderDelivery.reminder_id)).all() == []
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patients.history_purged")).all()
    assert row.details == {"appointments_deleted": 1, "retention_years": 8}


def test_patients_who_were_not_erased_are_not_affected(app):
    history = patient_with_history(app)
    retention.purge_expired(db.session, audit.Actor(None, "cli"), years=1, now=EIGHT_YEARS_ON)
    assert appointment_ids() == [history.past.id, history.upcoming.id]


def test_the_command_uses_the_setting(app, erased_history):
    clock.freeze(EIGHT_YEARS_ON)
    result = app.test_cli_runner().invoke(args=["patients", "purge-expired"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 appointment(s) of erased patients that ended before 2026-05-20" in result.output
    assert appointment_ids() == [erased_history.upcoming.id]


def test_the_cutoff_of_29_february_is_the_28th():
    assert retention.cutoff_for(datetime(2028, 2, 29, tzinfo=timezone.utc), 1) == datetime(2027, 2, 28,
                                                                                           tzinfo=timezone.utc)


# -- the waitlist and delivery records ---------------------------------------------------------------


def test_the_waitlist_and_delivery_records_go_with_the_history(app, erased_history_with_waitlist):
    from models import NotificationDelivery
    from models.waitlist import WaitlistEntry, WaitlistOffer

    history, earlier = erased_history_with_waitlist
    past_id = history.past.id
    assert db.session.scalars(select(NotificationDelivery).where(NotificationDelivery.appointment_id == past_id)).all()
    retention.purge_expired(db.session, audit.Actor(None, "cli"), years=8, now=EIGHT_YEARS_ON)
    db.session.commit()
    assert db.session.scalars(select(NotificationDelivery).where(NotificationDelivery.appointment_id == past_id)).all() == []
    assert db.session.scalars(select(WaitlistEntry.id)).all() == [earlier.id]  # ended in 2026: not 8 years ago yet
    clock.freeze(datetime(2034, 6, 3, 9, 0, tzinfo=timezone.utc))
    result = retention.purge_expired(db.session, audit.Actor(None, "cli"), years=8, now=clock.utcnow())
    db.session.commit()
    assert result.appointments_deleted == 1  # the upcoming (cancelled) one, with the entry that pointed at it
    assert db.session.scalars(select(WaitlistEntry)).all() == []
    assert db.session.scalars(select(WaitlistOffer)).all() == []
    assert db.session.scalars(select(NotificationDelivery)).all() == []


def test_a_waitlist_of_a_patient_not_erased_is_kept(app):
    history = patient_with_history(app)
    entry = _earlier_than(history)
    retention.purge_expired(db.session, audit.Actor(None, "cli"), years=1, now=EIGHT_YEARS_ON)
    db.session.commit()
    from models.waitlist import WaitlistEntry
    assert db.session.scalars(select(WaitlistEntry.id)).all() == [entry.id]


def _earlier_than(history):
    from flask import current_app

    from carebook.waitlist import entries

    entry = entries.join_earlier(db.session, audit.Actor(history.patient.user, "portal"), history.patient,
                                 history.upcoming, current_app.config["CLINIC"].timezone)
    db.session.commit()
    return entry


@pytest.fixture
def erased_history_with_waitlist(app):
    history = patient_with_history(app)
    entry = _earlier_than(history)
    erasure.erase_patient(db.session, booking_service(), audit.Actor(make_staff(), "admin"), history.patient)
    db.session.commit()
    return history, entry
