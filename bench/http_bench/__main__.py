"""The command line: ``python -m bench.http_bench [options]``. Reads the options, then runs the
benchmark from end to end (database, servers, load generator, report) and cleans up after it,
also on Ctrl-C or ``kill``."""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import make_url

from . import report
from .engine import run_slot_engine
from .generator import run_load_generator
from .rush import verify_rush
from .scenarios import MIXED_SCENARIOS, SCENARIOS
from .seeding import SeedInfo, drop_database, prepare_database
from .server import Gunicorn, free_port
from .settings import DEFAULT_SERVER_URL, HORIZON_DAYS, MIN_NOTICE_MINUTES, ROOT, RUSH_CLIENTS, RUSH_SLOTS, TIMEZONE


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(prog="python -m bench.http_bench",
                                     description="End-to-end HTTP benchmark of Carebook under gunicorn.")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop users (default 16)")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests per second (default 100)")
    parser.add_argument("--workers", type=int, default=2 * cores + 1,
                        help=f"gunicorn sync workers (default 2 x cores + 1 = {2 * cores + 1})")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL),
                        help="PostgreSQL server where a throw-away database may be created "
                             "(default: $TEST_DATABASE_URL or %(default)s)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="closed-loop scenarios, comma-separated (default: %(default)s)")
    parser.add_argument("--open-scenarios", default="trivial,slots,slots-mixed,booking,booking-mixed",
                        help="open-loop scenarios at --rate (default: %(default)s; '' for none)")
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per scenario (default 0.5)")
    parser.add_argument("--patients", type=int, default=16,
                        help="load-test patients signed in through the API (default 16; each login "
                             "costs an argon2 verification, ~0.25 s of CPU)")
    parser.add_argument("--seed-patients", type=int, default=2000, help="background patients (default 2000)")
    parser.add_argument("--doctors", type=int, default=20, help="doctors (default 20)")
    parser.add_argument("--mixed-doctors", type=int, default=10,
                        help="doctors of the mixed-types clinic beside them, each offering every type of "
                             "settings.MIXED_TYPES, for the *-mixed scenarios (default 10; 0: no mixed scenarios)")
    parser.add_argument("--history-days", type=int, default=180,
                        help="days of past appointments behind today (default 180)")
    parser.add_argument("--booked-share", type=float, default=0.6, help="share of slots booked (default 0.6)")
    parser.add_argument("--engine-runs", type=int, default=10, help="runs of bench/slot_engine.py (0 to skip)")
    parser.add_argument("--seed", type=int, default=20260301, help="random seed")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--no-rush", dest="rush", action="store_false",
                        help=f"skip the booking rushes ({RUSH_CLIENTS} clients after {RUSH_SLOTS} slots, on one "
                             "server and on two)")
    parser.add_argument("--rush-second-workers", type=int, default=3,
                        help="gunicorn workers of the second app server in the two-server rush (default 3)")
    args = parser.parse_args()
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.open_scenarios = [s for s in args.open_scenarios.split(",") if s]
    for name in args.scenarios + args.open_scenarios:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    if args.mixed_doctors <= 0:
        args.mixed_doctors = 0
        args.scenarios = [s for s in args.scenarios if s not in MIXED_SCENARIOS]
        args.open_scenarios = [s for s in args.open_scenarios if s not in MIXED_SCENARIOS]
    return args


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def server_environment(database_url: str, instance: Path) -> dict:
    """The servers' environment: production settings on the benchmark's database, over the caller's."""
    bench_env = {
        "CAREBOOK_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),  # 64 characters, new every run
        "SECRETS_ENCRYPTION_KEYS": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "CAREBOOK_INSTANCE_PATH": str(instance),
        # Required in production. Only emails use them, and no reminder worker runs: nothing is sent.
        "BASE_URL": "https://bench.carebook.example",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "2525",
        "CLINIC_TIMEZONE": TIMEZONE,
        "BOOKING_HORIZON_DAYS": str(HORIZON_DAYS),
        "BOOKING_MIN_NOTICE_MINUTES": str(MIN_NOTICE_MINUTES),
    }
    return {**os.environ, **bench_env, "PYTHONPATH": str(ROOT)}


def prepare(args, name: str, env: dict, cleanup: ExitStack) -> SeedInfo:
    try:
        return prepare_database(args.database_url, name, env, args)
    finally:
        if not args.keep_database:
            cleanup.callback(drop_database, args.database_url, name)


def start_server(workers: int, port: int, env: dict, log_path: Path, cleanup: ExitStack) -> Gunicorn:
    server = Gunicorn(workers, port, env, log_path)
    cleanup.callback(server.stop)
    server.start()
    return server


def check_rushes(database_url: str, rushes: list[dict]) -> list[tuple[dict, dict]]:
    """Each rush with what the database holds for its slots, printed as it is checked."""
    checks = []
    if rushes:
        report.print_rush_heading()
        for rush in rushes:
            check = verify_rush(database_url, rush)
            checks.append((rush, check))
            report.print_rush(rush, check)
    return checks


def main() -> int:
    args = parse_args()
    # A plain `kill` should clean up as Ctrl-C does: stop gunicorn, drop the database.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    cores = os.cpu_count() or 1
    name = f"carebook_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    database_url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    port = free_port()
    instance = Path(tempfile.mkdtemp(prefix="carebook-bench-"))
    env = server_environment(database_url, instance)
    report.print_heading(args, cores, name)

    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, instance, ignore_errors=True)
        started = time.perf_counter()
        info = prepare(args, name, env, cleanup)
        servers = [start_server(args.workers, port, env, instance / "gunicorn.log", cleanup)]
        trivial_path = servers[0].trivial_path()
        print(f"  {servers[0].describe()} up after {time.perf_counter() - started:.1f} s of setup", flush=True)
        rushes = []
        if args.rush:
            # A second, separate app server (its own gunicorn master) on the same database.
            second = start_server(args.rush_second_workers, free_port(), env, instance / "gunicorn-second.log",
                                  cleanup)
            servers.append(second)
            print(f"  second app server: {second.describe()}", flush=True)
            rushes = [{"name": f"rush: one server ({args.workers} workers)", "ports": [port]},
                      {"name": f"rush: two servers (ports {port} and {second.port})", "ports": [port, second.port]}]

        plan = {
            "port": port, "workers": args.workers, "concurrency": args.concurrency, "rate": args.rate,
            "duration": args.duration, "warmup": args.warmup, "scenarios": args.scenarios,
            "open_scenarios": args.open_scenarios, "doctor_ids": info.doctor_ids,
            "patient_emails": info.patient_emails, "today": info.today.isoformat(),
            "min_notice_minutes": MIN_NOTICE_MINUTES, "seed": args.seed,
            "server_pid": servers[0].process.pid, "database_name": name, "trivial_path": trivial_path,
            "rushes": rushes, "rush_sessions": info.rush_sessions,
            "mixed_doctor_ids": info.mixed_doctor_ids, "mixed_types": info.mixed_types,
        }
        results = run_load_generator(plan, cleanup)
        problems = []
        for server in servers:
            problems += server.problems()
            server.stop()

        by_key = {r["key"]: r for r in results["results"]}
        trivial = by_key.get("closed:trivial")
        trivial_rps = trivial["rps"] if trivial else None
        report.print_results(results, trivial_rps, trivial_path, args.workers, cores, problems)
        report.print_mixed_types(by_key, args.mixed_doctors)
        rush_checks = check_rushes(database_url, results.get("rushes"))
        engine_ms = None
        if args.engine_runs > 0:
            print("\nIn-process slot engine (bench/slot_engine.py, no HTTP, no database):")
            engine_ms = run_slot_engine(args.engine_runs)
        report.print_targets(by_key, trivial_rps, engine_ms, rush_checks)
        print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted (gunicorn stopped, database dropped)", file=sys.stderr)
        sys.exit(130)
