"""Profile the hot requests in process, on a seeded PostgreSQL clinic (no HTTP server, no load generator).

    .venv/bin/python bench/profile_requests.py [--requests 200] [--profile slots]
                                               [--keep-database | --database NAME]

Seeds a clinic the way the HTTP benchmark (bench/http_bench/) does (or reuses one kept with
``--keep-database``), signs a load-test patient in through the API, then sends each request kind
many times through Flask's test client and prints, per request: wall time, this process's CPU
time, and SQL statements. ``--profile KIND`` runs that kind under pyinstrument and prints the
call tree (``.venv/bin/pip install pyinstrument``). It is the quick loop for optimising; the
figures that count are the HTTP benchmark's, under gunicorn.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.http_bench import seeding, settings  # noqa: E402

KINDS = ("trivial", "signed-in", "slots", "doctors", "booking", "appointments")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", settings.DEFAULT_SERVER_URL))
    parser.add_argument("--database", help="reuse this already seeded database (made with --keep-database)")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--patient", type=int, default=0,
                        help="which load-test patient books (0-3): each has its calendar filled by earlier runs")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--sql", action="store_true", help="print the statements that took the most time")
    parser.add_argument("--profile", choices=KINDS, help="print a pyinstrument tree for this kind")
    args = parser.parse_args()
    # The seeding options seeding.seed_clinic reads, at their defaults.
    args.doctors, args.seed_patients, args.patients, args.history_days = 20, 2000, 4, 180
    args.booked_share, args.seed = 0.6, 20260301
    return args


def main() -> int:
    args = parse_args()
    from sqlalchemy import event, make_url

    name = args.database or f"carebook_profile_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    env = {
        "CAREBOOK_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url,
        "SECRETS_ENCRYPTION_KEYS": secrets.token_hex(32),
        "CAREBOOK_INSTANCE_PATH": tempfile.mkdtemp(prefix="carebook-profile-"),
        "CLINIC_TIMEZONE": settings.TIMEZONE, "BOOKING_HORIZON_DAYS": str(settings.HORIZON_DAYS),
        "BOOKING_MIN_NOTICE_MINUTES": str(settings.MIN_NOTICE_MINUTES), "RATELIMIT_ENABLED": "false",
    }
    if not args.database:
        info = seeding.prepare_database(args.database_url, name, env, args)
        doctor_ids, email = info.doctor_ids, info.patient_emails[0]
        print(f"  seeded {name}" + (" (kept: pass --database to reuse it)" if args.keep_database else ""))
    else:
        doctor_ids, email = None, f"load{args.patient:03d}@bench.example"
    try:
        return run(args, env, doctor_ids, email, event)
    finally:
        if not args.database and not args.keep_database:
            seeding.drop_database(args.database_url, name)


def run(args, env, doctor_ids, email, event) -> int:
    from carebook.app import create_app
    from carebook.clock import utcnow
    from carebook.extensions import db
    from models import Doctor

    app = create_app(env=env)
    client = app.test_client()
    # Production settings make the test client speak https, where CSRF checks the Referer too.
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    token = client.get("/api/csrf-token").get_json()["csrf_token"]
    response = client.post("/api/session", json={"email": email, "password": settings.LOAD_PASSWORD},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    token = response.get_json()["csrf_token"]
    with app.app_context():
        if doctor_ids is None:
            doctor_ids = list(db.session.scalars(db.select(Doctor.id).order_by(Doctor.id)))
        statements = [0]
        sql_time: dict[str, list[float]] = {}

        def before(conn, cursor, statement, parameters, context, executemany):
            statements[0] += 1
            conn.info["query_started"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            spent = sql_time.setdefault(" ".join(statement.split())[:150], [0, 0.0])
            spent[0] += 1
            spent[1] += time.perf_counter() - conn.info.pop("query_started", time.perf_counter())

        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        today = utcnow().astimezone(app.config["CLINIC"].timezone).date()
    first, last = today + timedelta(days=1), today + timedelta(days=settings.SLOT_DAYS)
    free = []
    for doctor_id in doctor_ids:
        response = client.get(f"/api/doctors/{doctor_id}/slots?from={today + timedelta(days=3)}"
                              f"&to={today + timedelta(days=60)}")
        free.extend((doctor_id, slot["start_at"], slot["end_at"]) for slot in response.get_json()["slots"])
    # One patient books them all, so no two may overlap (the database would refuse the second).
    # Nor overlap what the patient booked in an earlier run on a kept database.
    held = [(a["start_at"], a["end_at"]) for a in client.get("/api/appointments").get_json()
            if a["status"] == "booked"]
    chosen, busy_until = [], ""
    for doctor_id, start_at, end_at in sorted(free, key=lambda slot: slot[1]):
        if start_at >= busy_until and not any(s < end_at and start_at < e for s, e in held):
            chosen.append((doctor_id, start_at))
            busy_until = end_at
    free = chosen[::-1]
    counter = iter(range(10**9))

    def request(kind: str):
        n = next(counter)
        if kind == "trivial":
            return client.get("/healthz")
        if kind == "signed-in":  # the floor of any signed-in request: the session is loaded, little else
            return client.get("/api/csrf-token")
        if kind == "slots":
            return client.get(f"/api/doctors/{doctor_ids[n % len(doctor_ids)]}/slots?from={first}&to={last}")
        if kind == "doctors":
            return client.get("/api/doctors")
        if kind == "appointments":
            return client.get("/api/appointments")
        doctor_id, start_at = free.pop()
        return client.post("/api/appointments", json={"doctor_id": doctor_id, "start_at": start_at},
                           headers={"X-CSRFToken": token})

    def backend_ticks() -> int:
        """CPU ticks of the PostgreSQL backends serving this process's pool (Linux /proc)."""
        total = 0
        for pid in backend_pids:
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                pass
        return total

    with app.app_context():
        backend_pids = {row[0] for row in db.session.execute(db.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'carebook'"))}
        db.session.rollback()
    tick = os.sysconf("SC_CLK_TCK")
    print(f"  {'request':<14}{'wall ms':>10}{'CPU ms':>10}{'PG CPU ms':>10}{'SQL/req':>10}  statuses")
    for kind in [k for k in args.kinds.split(",") if k]:
        runs = args.requests if kind != "doctors" else max(10, args.requests // 10)
        for _ in range(5):
            request(kind)  # warm caches and prepared statements
        statuses: dict[int, int] = {}
        statements[0] = 0
        sql_time.clear()
        wall, cpu, pg = time.perf_counter(), time.process_time(), backend_ticks()
        for _ in range(runs):
            status = request(kind).status_code
            statuses[status] = statuses.get(status, 0) + 1
        wall, cpu, pg = time.perf_counter() - wall, time.process_time() - cpu, (backend_ticks() - pg) / tick
        print(f"  {kind:<14}{1000 * wall / runs:>10.2f}{1000 * cpu / runs:>10.2f}{1000 * pg / runs:>10.2f}"
              f"{statements[0] / runs:>10.1f}  {statuses}")
        if args.sql:
            for text, (count, seconds) in sorted(sql_time.items(), key=lambda item: -item[1][1])[:8]:
                print(f"      {1000 * seconds / runs:7.2f} ms/req  {count / runs:4.1f}x  {text}")
        sql_time.clear()
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        with profiler:
            for _ in range(args.requests):
                request(args.profile)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
