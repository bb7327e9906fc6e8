"""`flask reminders relay --once` and `flask reminders status`."""
from __future__ import annotations

import logging

import pytest

from reminders.relay import relay_once
from tests.reminders.helpers import book


def test_relay_once_reports_what_it_did(app, doctor, patient):
    appointment = book(doctor, patient)
    result = app.test_cli_runner().invoke(args=["reminders", "relay", "--once"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "outbox: 2 done, 0 to retry, 0 dead",
        f"  schedule_reminder appointment {appointment.id}: created",
        f"  send_confirmation appointment {appointment.id}: sent",
    ]


def test_relay_once_with_nothing_to_do(app):
    result = app.test_cli_runner().invoke(args=["reminders", "relay", "--once"])
    assert (result.exit_code, result.output) == (0, "outbox: 0 done, 0 to retry, 0 dead\n")


def test_status_counts_outbox_rows_and_local_reminders(app, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    result = app.test_cli_runner().invoke(args=["reminders", "status"])
    assert result.output.splitlines() == ["Backend: local", "Outbox: pending 0, done 2, dead 0",
                                          "Local reminders: scheduled 1"]


def test_relay_loop_stops_when_asked(app, monkeypatch):
    import threading

    from reminders import cli

    class StopAtOnce(threading.Event):
        def wait(self, timeout=None):
            self.set()
            return True

    monkeypatch.setattr(cli.threading, "Event", StopAtOnce)
    result = app.test_cli_runner().invoke(args=["reminders", "relay", "--interval", "0.1"])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "Reminder relay stopped."


def test_relay_loop_goes_on_after_a_failed_pass(app, monkeypatch):
    import threading

    from sqlalchemy.exc import OperationalError

    from reminders import cli
    from reminders.relay import RelayResult

    passes = []

    def relay_once(app, batch_size):
        passes.append(batch_size)
        if len(passes) == 1:
            raise OperationalError("SELECT 1", {}, ConnectionError("the database is restarting"))
        return RelayResult()

    class StopAfterTwoPasses(threading.Event):
        def wait(self, timeout=None):
            if len(passes) >= 2:
                self.set()
            return self.is_set()

    monkeypatch.setattr(cli, "relay_once", relay_once)
    monkeypatch.setattr(cli.threading, "Event", StopAfterTwoPasses)
    result = app.test_cli_runner().invoke(args=["reminders", "relay", "--interval", "0.1"])
    assert (result.exit_code, len(passes)) == (0, 2)
    assert result.output.splitlines()[-1] == "Reminder relay stopped."


@pytest.mark.postgres_only
def test_relay_loop_logs_a_database_that_does_not_exist_as_a_wrong_setting_in_one_line(database_url, tmp_path,
                                                                                       monkeypatch, caplog):
    import threading
    import uuid

    from sqlalchemy import make_url

    from carebook.app import create_app
    from carebook.extensions import db
    from reminders import cli

    missing = f"carebook_never_created_{uuid.uuid4().hex[:8]}"
    wrong = create_app(env={"CAREBOOK_ENV": "test", "CAREBOOK_INSTANCE_PATH": str(tmp_path),
                            "DATABASE_URL": make_url(database_url).set(database=missing)
                            .render_as_string(hide_password=False)})

    class StopAfterOnePass(threading.Event):
        def wait(self, timeout=None):
            self.set()
            return True

    monkeypatch.setattr(cli.threading, "Event", StopAfterOnePass)
    with caplog.at_level(logging.WARNING):
        result = wrong.test_cli_runner().invoke(args=["reminders", "relay", "--interval", "0.1"])
    with wrong.app_context():
        db.engine.dispose()
    assert result.exit_code == 0
    [line] = [record for record in caplog.records if "relay pass failed" in record.getMessage()]
    assert line.levelno == logging.ERROR and line.exc_info is None
    assert f'database misconfigured: DATABASE_URL names the database "{missing}", which does not exist' \
        in line.getMessage()
