"""What a cancellation costs when 1,000 patients wait for that doctor, against the same with nobody waiting.

    .venv/bin/python bench/waitlist.py [--waiting 1000] [--few 200] [--cancellations 30]
    .venv/bin/python bench/waitlist.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Throw-away clinics, identical but for the waitlist: one doctor (Mon-Fri 09:00-17:00, 30-minute
slots), bookings on the coming days; in the others, ``--few`` and ``--waiting`` patients wait for
that doctor (varied days, parts of the day and notice, a tenth of them for any doctor of the
specialty). Each run books a slot (not timed), then times:

* the cancellation itself: the booking service's cancel and the commit (the patient's request);
* the relay's work for it after the commit (the worker), unit of work by unit of work, each with
  its commit: the reminder deleted, the cancellation email written and, with the waitlist, the
  freed slot's offers computed and written (the ``waitlist_slot_freed`` row), and then each
  offer's email sent (a ``send_waitlist_offer`` row; to the local mail folder).

The issue's target: a cancellation with 1,000 waiting stays within 2x of one with nobody
waiting. It prints that ratio for the cancellation the patient waits for, and for the
cancellation with everything the waitlist makes the relay do for it but sending the offers:
each offer is one more email, costing what the cancellation email costs, and there are
``WAITLIST_OFFER_BATCH`` (3) of them whether 4 or 10,000 patients wait. Their cost, and the ratio
all told, are printed too, and the ``--few`` clinic shows what the length of the queue itself adds.
Mail goes to a folder in a temporary directory, SQLite by default (a file there too) or new
PostgreSQL databases that are dropped at the end. In-process: no HTTP.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time as timer
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NOW = datetime(2026, 6, 1, 7, 0, tzinfo=timezone.utc)  # Monday 08:00 in London
FIRST_DAY = date(2026, 6, 2)


def build_app(database_url: str, folder: Path):
    from carebook.app import create_app

    env = {"CAREBOOK_ENV": "test", "SECRET_KEY": "bench-" + "x" * 40, "DATABASE_URL": database_url,
           "CAREBOOK_INSTANCE_PATH": str(folder / "instance"), "PASSWORD_HASHING": "fast-for-tests",
           "MAIL_FOLDER": str(folder / "mail"), "SLOT_CACHE_SECONDS": "0"}
    app = create_app(env=env)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


def seed(app, waiting: int, rng: random.Random):
    """One doctor, an extra patient per booking to cancel, and ``waiting`` patients on its waitlist."""
    from sqlalchemy import insert, select, text

    from carebook import accounts, audit
    from carebook.extensions import db
    from models import Patient, User, WaitlistEntry, WeeklyHours
    from models.users import Role

    system = audit.Actor(None, "system")
    doctor = accounts.create_doctor(db.session, system, email="dr@bench.example", password=None,
                                    full_name="Dr Bench", specialty="General practice", appointment_minutes=30,
                                    buffer_minutes=0)
    for weekday in range(5):
        db.session.add(WeeklyHours(doctor_id=doctor.id, valid_from=date(2026, 1, 1), weekday=weekday,
                                   start_time=time(9), end_time=time(17)))
    db.session.flush()
    count = waiting + 200
    db.session.execute(insert(User.__table__), [
        {"email": f"p{n}@bench.example", "full_name": f"Patient {n}", "role": Role.PATIENT.value, "is_active": True,
         "created_at": NOW} for n in range(count)])
    user_ids = db.session.scalars(select(User.id).where(User.role == Role.PATIENT).order_by(User.id)).all()
    db.session.execute(insert(Patient.__table__), [
        {"user_id": user_id, "date_of_birth": date(1980, 1, 1), "phone": "+447700900123",
         "contact_preference": "email", "phone_needs_check": False} for user_id in user_ids])
    patient_ids = db.session.scalars(select(Patient.id).order_by(Patient.id)).all()
    bookers, waiters = patient_ids[:200], patient_ids[200:]
    entries = []
    for n, patient_id in enumerate(waiters):
        by_specialty = n % 10 == 9
        entries.append({
            "patient_id": patient_id, "doctor_id": None if by_specialty else doctor.id,
            "specialty": "General practice" if by_specialty else None, "appointment_type_id": None,
            "earliest_date": FIRST_DAY + timedelta(days=rng.randrange(3)),
            "latest_date": FIRST_DAY + timedelta(days=rng.randrange(14, 40)),
            "weekdays": rng.choice([0b1111111, 0b0011111, 0b0010101, 0b0001010]),
            "times_of_day": rng.choice([0b111, 0b001, 0b011, 0b110]),
            "min_notice_minutes": rng.choice([0, 0, 180, 1440]), "status": "active",
            "created_at": NOW - timedelta(days=30) + timedelta(minutes=n)})
    if entries:
        db.session.execute(insert(WaitlistEntry.__table__), entries)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))  # as autovacuum would have, in a clinic that has run a while
        db.session.commit()
    return doctor.id, bookers


def slots(count: int) -> list[datetime]:
    """Weekday slots from Tuesday 2 June on, 09:00-16:30 London (UTC+1)."""
    found, day = [], FIRST_DAY
    while len(found) < count:
        if day.weekday() < 5:
            found += [datetime.combine(day, time(8 + hour // 2, 30 * (hour % 2)), timezone.utc) for hour in range(16)]
        day += timedelta(days=1)
    return found[:count]


OFFER_SENDING = "send_waitlist_offer"


class UnitClock:
    """Times each of the relay's units of work by its row's kind: from the row's turn to its commit."""

    def __init__(self, relay_module, session):
        self.relay, self.session = relay_module, session
        self.timed: list[tuple[str, float]] = []
        self._open: tuple[str, float] | None = None

    def install(self) -> None:
        self._relay_row, self._commit = self.relay._relay_row, self.session.commit

        def relay_row(app, session, token, row, result):
            self._open = (row.kind.value, timer.perf_counter())
            return self._relay_row(app, session, token, row, result)

        def commit():
            self._commit()
            if self._open is not None:  # the unit's commit (the claims' commits come between units)
                kind, started = self._open
                self.timed.append((kind, (timer.perf_counter() - started) * 1000))
                self._open = None

        self.relay._relay_row, self.session.commit = relay_row, commit

    def uninstall(self) -> None:
        self.relay._relay_row = self._relay_row
        del self.session.commit


class Clinic:
    """One throw-away clinic: its database, app, doctor and the patients who book the slots to cancel."""

    def __init__(self, database_url: str | None, folder: Path, waiting: int, seed_value: int):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.url, self.drop = database_url_for(database_url, folder)
        self.app = build_app(self.url, folder)
        with self.app.app_context():
            self.doctor_id, self.bookers = seed(self.app, waiting, random.Random(seed_value))
        self.figures: dict[str, list[float]] = defaultdict(list)

    def cancel_one(self, n: int, start_at: datetime) -> None:
        """Book ``start_at`` (not timed), then time its cancellation and the relay's work for it."""
        from carebook import audit, clock
        from carebook.extensions import db
        from carebook.services import booking_service
        from models import Appointment, Doctor, Patient
        from reminders import relay as relay_module

        app = self.app
        with app.test_request_context():
            clock.freeze(NOW)
            doctor = db.session.get(Doctor, self.doctor_id)
            patient = db.session.get(Patient, self.bookers[n])
            appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                                 start_at=start_at)
            db.session.commit()
            relay_module.relay_once(app)  # the booking's own rows: not what is measured
            appointment_id = appointment.id
            db.session.expire_all()
            units = UnitClock(relay_module, db.session)
            units.install()
            try:
                started = timer.perf_counter()
                appointment = db.session.get(Appointment, appointment_id)
                booking_service().cancel(audit.Actor(patient.user, "portal"), appointment)
                db.session.commit()
                cancelled = timer.perf_counter()
                relay_module.relay_once(app)
                relayed = timer.perf_counter()
            finally:
                units.uninstall()
            sending = sum(ms for kind, ms in units.timed if kind == OFFER_SENDING)
            for kind, ms in units.timed:
                self.figures["unit:" + kind].append(ms)
            self.figures["cancel"].append((cancelled - started) * 1000)
            self.figures["relay"].append((relayed - cancelled) * 1000)
            self.figures["total"].append((relayed - started) * 1000)
            self.figures["sending"].append(sending)
            self.figures["offering"].append((relayed - started) * 1000 - sending)
            db.session.remove()
            clock.freeze(None)

    def offers(self) -> int:
        from sqlalchemy import func, select

        from carebook.extensions import db
        from models import WaitlistOffer

        with self.app.app_context():
            return db.session.scalar(select(func.count()).select_from(WaitlistOffer))

    def close(self) -> None:
        with self.app.app_context():
            from carebook.extensions import db

            db.engine.dispose()
        self.drop()


def database_url_for(server_url: str | None, folder: Path):
    if server_url is None:
        return f"sqlite:///{folder / 'bench.sqlite3'}", lambda: None
    import psycopg
    from sqlalchemy import make_url

    name = f"carebook_waitlist_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=1000, help="patients waiting for the doctor (default 1000)")
    parser.add_argument("--few", type=int, default=200,
                        help="patients waiting in a third clinic, to show what the queue's length adds (default 200; "
                             "0 leaves it out)")
    parser.add_argument("--cancellations", type=int, default=30, help="cancellations timed per clinic (default 30)")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (a throw-away database is made there); "
                                               "default: SQLite in a temporary folder")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"waitlist benchmark on {backend}: {args.cancellations} cancellations per clinic, taken in turns")
    sizes = [0] + ([args.few] if args.few else []) + [args.waiting]
    with tempfile.TemporaryDirectory(prefix="carebook-waitlist-bench-") as folder:
        clinics = []
        try:
            for size in sizes:
                clinics.append(Clinic(args.database_url, Path(folder) / f"waiting-{size}", size, args.seed))
            # In turns, so that whatever else the machine does weighs on all alike.
            for n, start_at in enumerate(slots(args.cancellations)):
                for clinic in clinics:
                    clinic.cancel_one(n, start_at)
            report(sizes, clinics)
        finally:
            for clinic in clinics:
                clinic.close()


LINES = (("cancel", "the cancellation (service + commit)"),
         ("offering", "the cancellation and the offers it makes"),
         ("sending", "sending the offers (one email each)"),
         ("total", "all told"))


def report(sizes: list[int], clinics: list[Clinic]) -> None:
    """Medians per clinic, the ratio of the last (``--waiting``) to the first (nobody waiting), the targets."""
    figures = [clinic.figures for clinic in clinics]
    heads = ["nobody waiting" if size == 0 else f"{size} waiting" for size in sizes]
    print(f"{'median ms':<46}" + "".join(f"{head:>16}" for head in heads) + f"{'ratio':>8}")
    for key, label in LINES:
        medians = [statistics.median(f[key]) for f in figures]
        cells = "".join(f"{m:>16.2f}" if (m or key != "sending") else f"{'-':>16}" for m in medians)
        ratio = f"{medians[-1] / medians[0]:>7.2f}x" if medians[0] else ""
        print(f"{label:<46}{cells}{ratio}")
    print("the relay's units of work, by outbox row (median ms, each with its commit):")
    kinds = sorted({key for f in figures for key in f if key.startswith("unit:")})
    for key in kinds:
        cells = "".join(f"{statistics.median(f[key]):>16.2f}" if f.get(key) else f"{'-':>16}" for f in figures)
        print(f"  {key[5:]:<44}{cells}   ({len(figures[-1].get(key, []))} rows)")
    print("offers made: " + ", ".join(f"{clinic.offers()} with {head}" for clinic, head in zip(clinics, heads))
          + " (up to 3 per freed slot)")
    base, loaded = figures[0], figures[-1]
    for key, what in (("cancel", "the cancellation (the patient's request)"),
                      ("offering", "the cancellation and the offers it makes (all but sending them)")):
        ratio = statistics.median(loaded[key]) / statistics.median(base[key])
        verdict = "within" if ratio <= 2 else "NOT within"
        print(f"ratio, {what}, {sizes[-1]} waiting to none: {ratio:.2f}x ({verdict} the 2x target)")
    email = statistics.median(base["unit:send_cancellation"])
    offer = statistics.median(loaded["unit:send_waitlist_offer"])
    total = statistics.median(loaded["total"]) / statistics.median(base["total"])
    print(f"all told, with the offers' emails: {total:.2f}x; each offer email {offer:.2f} ms, "
          f"the cancellation email {email:.2f} ms: the batch's messages, not the queue's length")


if __name__ == "__main__":
    main()
