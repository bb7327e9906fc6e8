"""`flask reminders relay --once` and `flask reminders status`."""
from __future__ import annotations

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
