"""Tests are kept apart although they share an app and commit for real (tests/conftest.py, tests/isolation.py).

The first test leaves behind what a test can: rows committed by a request, by the test's
session and by another connection (as a thread or a subprocess would), an id taken by a
rolled-back insert, kept slot lists, counted login failures and a file in the instance
folder. The second, run after it with the same app, finds none of it; it changes the app's
config, and the third gets an app without the change. (A file's tests run in order, in one
process also under pytest-xdist: scripts/test distributes whole files, --dist loadfile.)
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from carebook.config import normalise_database_url
from carebook.extensions import db
from carebook.services import booking_service
from models import DateOverride
from tests.factories import make_doctor, make_patient

TUESDAY = date(2026, 6, 2)
EMAIL = "same.patient@example.test"
#: backend -> the app the last of these tests had.
APPS = {}


def test_a_test_leaves_rows_ids_kept_slots_counters_and_a_file_behind(app, client, database_url, backend):
    doctor = make_doctor()
    patient = make_patient(email=EMAIL)
    db.session.commit()
    assert client.login(EMAIL).status_code == 302  # the request commits a session row
    elsewhere = create_engine(normalise_database_url(database_url))
    with elsewhere.begin() as connection:
        connection.execute(text("INSERT INTO time_off (doctor_id, start_at, end_at, reason) VALUES (:d, :s, :e, '')"),
                           {"d": doctor.id, "s": datetime(2026, 6, 3, 9, tzinfo=timezone.utc),
                            "e": datetime(2026, 6, 3, 10, tzinfo=timezone.utc)})
    elsewhere.dispose()
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=TUESDAY, start_time=time(10), end_time=time(12)))
    db.session.flush()  # takes an id (on PostgreSQL, for good)...
    db.session.rollback()  # ...but leaves no row
    booking_service().doctor_free_slots(doctor.id, TUESDAY, TUESDAY)
    for _ in range(3):
        assert client.login(EMAIL, "a wrong password").status_code == 400
    (Path(app.instance_path) / "left-behind.txt").write_text("x")

    assert patient.id and len(app.extensions["slot_cache"]) > 0
    APPS[backend] = app


def test_the_next_test_finds_empty_tables_fresh_ids_and_the_app_reset(app, client, backend):
    assert app is APPS.get(backend, app)  # the same app, reset rather than rebuilt
    with db.engine.connect() as connection:
        tables = [name for name in inspect(connection).get_table_names() if name != "alembic_version"]
        rows = {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() for name in tables}
    assert "time_off" in tables and rows == dict.fromkeys(tables, 0)
    assert len(app.extensions["slot_cache"]) == 0
    assert list(Path(app.instance_path).iterdir()) == []

    doctor = make_doctor()
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=TUESDAY, start_time=time(10), end_time=time(12)))
    make_patient(email=EMAIL)
    db.session.commit()
    assert doctor.id == 1 and doctor.user.id == 1
    assert db.session.scalar(text("SELECT id FROM date_overrides")) == 1
    # Five failures in 15 minutes block an address for an account: the last test's three were forgotten.
    for _ in range(4):
        assert client.login(EMAIL, "a wrong password").status_code == 400
    assert client.login(EMAIL).status_code == 302

    app.config["SLOT_DAYS_SHOWN"] = 1
    APPS[backend] = app


def test_after_a_config_change_the_next_test_gets_a_new_app(app, backend):
    assert app is not APPS.get(backend) and app.config["SLOT_DAYS_SHOWN"] == 14
