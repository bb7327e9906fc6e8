"""Embedded mode: a due reminder reaches the mail folder exactly once, however many workers run."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from carebook import clock
from carebook.extensions import db
from lambda_handler.handler import handler
from models import LocalReminder, OutboxMessage, OutboxStatus
from reminders.backends.local import sqs_event
from reminders.relay import relay_once
from reminders.state import get_state
from tests.factories import make_patient
from tests.reminders.helpers import TUESDAY_10, book, folder_emails, reminder_emails

ROOT = Path(__file__).resolve().parents[2]
APPOINTMENTS = 6


@pytest.fixture
def due_reminders(app, doctor):
    """Six booked appointments whose local reminders are all due now."""
    for number in range(APPOINTMENTS):
        book(doctor, make_patient(email=f"patient{number}@example.test"), TUESDAY_10 + timedelta(minutes=30 * number))
    relay_once(app)
    assert db.session.scalar(select(db.func.count()).select_from(LocalReminder)) == APPOINTMENTS
    clock.freeze(TUESDAY_10 - timedelta(hours=12))
    return APPOINTMENTS


def delivered_ids(app) -> Counter:
    return Counter(message["X-Carebook-Reminder-Id"] for message in reminder_emails(app))


def run_workers_in_threads(app, workers: int = 2, passes: int = 3) -> list[BaseException]:
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work():
        try:
            with app.app_context():
                start.wait()
                for _ in range(passes):
                    relay_once(app, batch_size=2)
                db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_worker_threads_deliver_each_due_reminder_exactly_once(app, due_reminders):
    assert run_workers_in_threads(app) == []
    counts = delivered_ids(app)
    assert (len(counts), set(counts.values())) == (due_reminders, {1})


def test_two_worker_threads_relay_each_outbox_row_exactly_once(app, doctor):
    for number in range(APPOINTMENTS):
        book(doctor, make_patient(email=f"patient{number}@example.test"), TUESDAY_10 + timedelta(minutes=30 * number))
    assert run_workers_in_threads(app) == []
    confirmations = Counter(message["To"] for message in folder_emails(app)
                            if message["X-Carebook-Email"] == "send_confirmation")
    db.session.expire_all()
    assert (len(confirmations), set(confirmations.values())) == (APPOINTMENTS, {1})
    assert set(db.session.scalars(select(OutboxMessage.status))) == {OutboxStatus.DONE}
    assert db.session.scalar(select(db.func.count()).select_from(LocalReminder)) == APPOINTMENTS


def test_two_worker_threads_leave_no_reminder_behind(app, due_reminders):
    run_workers_in_threads(app)
    db.session.expire_all()
    assert db.session.scalars(select(LocalReminder)).all() == []


WORKER_SCRIPT = """
import sys
from datetime import datetime
from carebook import clock
from carebook.app import create_app
from reminders.relay import relay_once

clock.freeze(datetime.fromisoformat(sys.argv[1]))
app = create_app()
with app.app_context():
    for _ in range(3):
        relay_once(app, batch_size=2)
"""


@pytest.mark.postgres_only
def test_two_worker_processes_deliver_each_due_reminder_exactly_once(app, database_url, due_reminders):
    env = {**os.environ, "DATABASE_URL": database_url, "CAREBOOK_INSTANCE_PATH": app.instance_path,
           "CAREBOOK_ENV": "test", "SECRET_KEY": "x" * 40, "CLINIC_NAME": "Test Clinic",
           # The keys of the app that enrolled the doctors: others could not read their authenticator keys.
           "SECRETS_ENCRYPTION_KEYS": ",".join(app.config["SECRETS_ENCRYPTION_KEYS"]),
           "CLINIC_TIMEZONE": "Europe/London", "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, clock.utcnow().isoformat()], env=env,
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [worker.communicate(timeout=120)[0].decode() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    counts = delivered_ids(app)
    assert (len(counts), set(counts.values())) == (due_reminders, {1})


def test_the_same_reminder_handed_to_the_handler_twice_is_sent_once(app, doctor, patient):
    book(doctor, patient)
    relay_once(app)
    row = db.session.scalar(select(LocalReminder))
    services = get_state(app).handler_services()
    for _ in range(2):  # e.g. a claim ran out while the first worker was still sending
        event, _ = sqs_event([row])
        assert handler(event, None, services=services) == {"batchItemFailures": []}
    assert len(reminder_emails(app)) == 1


def test_a_reminder_the_handler_rejects_is_retried_then_parked_as_failed(app, doctor, patient, monkeypatch):
    from models.outbox import LocalReminderStatus
    from reminders.backends import local

    book(doctor, patient)
    relay_once(app)
    row = db.session.scalar(select(LocalReminder))
    row.payload = {**row.payload, "version": 99}
    db.session.commit()
    monkeypatch.setattr(local, "MAX_DELIVERIES", 2)
    for hours in (12, 11):
        clock.freeze(TUESDAY_10 - timedelta(hours=hours))
        relay_once(app)
    db.session.expire_all()
    row = db.session.scalar(select(LocalReminder))
    assert (row.status, row.attempts) == (LocalReminderStatus.FAILED, 2)
    assert reminder_emails(app) == []
