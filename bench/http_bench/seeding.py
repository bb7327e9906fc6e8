"""The benchmark's database: created, migrated and seeded with a realistic clinic (accounts and
hours through the services, the volume as bulk rows), rush patients signed in ahead, and dropped
at the end. Runs in the main process, which imports the app.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as wall

import psycopg
from flask import g, session as flask_session
from flask_migrate import upgrade
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, insert, select, text

from carebook import accounts, audit, slots
from carebook import appointment_types as types
from carebook.app import create_app
from carebook.booking import BookingService
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.passwords import hash_password
from models import Appointment, AppointmentStatus, Patient, Role, TimeOff, User, WeeklyHours
from portal import sign_in

from .settings import HORIZON_DAYS, LOAD_PASSWORD, MIXED_TYPES, RUSH_CLIENTS

FIRST_NAMES = ["Amara", "Erik", "Priya", "Julien", "Sofia", "Kwame", "Hannah", "Mateo", "Aisha", "Liam",
               "Yuki", "Noah", "Fatima", "Oliver", "Chloe", "Ravi", "Ingrid", "Tom", "Leila", "Marcus"]
LAST_NAMES = ["Okafor", "Lindqvist", "Patel", "Moreau", "Rossi", "Mensah", "Schmidt", "Garcia", "Khan",
              "Murphy", "Tanaka", "Cohen", "Haddad", "Walker", "Dubois", "Iyer", "Berg", "Evans", "Nasser",
              "Brown"]
SPECIALTIES = ["General practice"] * 10 + ["Dermatology", "Paediatrics", "Cardiology", "Physiotherapy",
                                            "Gynaecology", "Psychiatry", "Orthopaedics", "ENT", "Ophthalmology",
                                            "Nutrition"]
APPOINTMENT_MINUTES = [15, 15, 15, 20, 30]
REASONS = ["Check-up", "Follow-up", "Prescription review", "Test results", ""]


@dataclass
class SeedInfo:
    doctor_ids: list[int]
    patient_emails: list[str]
    today: date
    counts: dict
    rush_user_ids: list[int] = field(default_factory=list)
    rush_sessions: list[tuple[str, str]] = field(default_factory=list)  # (Cookie header, CSRF token)
    #: The mixed-types clinic: its doctors, and its types as (id, buffer minutes).
    mixed_doctor_ids: list[int] = field(default_factory=list)
    mixed_types: list[tuple[int, int]] = field(default_factory=list)


def prepare_database(admin_url: str, name: str, env: dict, args) -> SeedInfo:
    """Create database ``name`` on the server of ``admin_url``, migrate it, seed it, sign the rush in.

    ``args`` carries the seeding sizes: doctors, mixed_doctors, seed_patients, patients,
    history_days, booked_share and seed.
    """
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    app = create_app(env=env)
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        print(f"  migrated (flask_migrate.upgrade) in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        info = seed_clinic(app, args, random.Random(args.seed))
        info.rush_sessions = mint_sessions(app, info.rush_user_ids)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        db.session.remove()
        db.engine.dispose()
    print(f"  seeded in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(info.counts.items())), flush=True)
    return info


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"  dropped database {name}", flush=True)


def mint_sessions(app, user_ids: list[int]) -> list[tuple[str, str]]:
    """Sign these users in without their passwords: (Cookie header, CSRF token) for each.

    A rush needs hundreds of signed-in patients; signing each in through the API would cost
    an argon2 verification apiece and run into the sign-in throttle. So, in a request
    context of the benchmark's own app (same SECRET_KEY as the server), the portal's own
    sign_in.start_session() starts a real server-side session, and the app's session interface writes
    the cookie the browser would get.
    """
    minted = []
    for user_id in user_ids:
        with app.test_request_context("/", base_url="https://localhost"):
            g.pop("csrf_token", None)  # the app context (and its g) outlives each request context here
            sign_in.start_session(db.session.get(User, user_id))
            token = generate_csrf()
            response = app.response_class()
            app.session_interface.save_session(app, flask_session, response)
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
            minted.append((cookie, token))
    db.session.commit()
    return minted


def seed_clinic(app, args, rng: random.Random) -> SeedInfo:
    """A realistic clinic, through the services for accounts and hours, bulk rows for the volume.

    The steps draw from ``rng`` in a fixed order, so one seed always gives the same clinic.
    """
    began = time.perf_counter()
    session = db.session
    actor = audit.Actor(None, "cli")
    tz = app.config["CLINIC"].timezone
    service = BookingService(session, tz, app.config["BOOKING_POLICY"])
    shared_hash = hash_password(LOAD_PASSWORD)  # argon2 once; every account shares it
    now = utcnow()
    today = now.astimezone(tz).date()
    history_start = today - timedelta(days=args.history_days)
    last_day = today + timedelta(days=HORIZON_DAYS)

    doctors = _create_doctors(session, actor, args.doctors, shared_hash, history_start)
    _add_time_off(session, service, doctors, rng, tz, today, history_start, args.history_days)
    patient_ids = _create_patients(session, rng, args.seed_patients, shared_hash, now)
    load_emails = _create_load_patients(session, actor, args.patients, shared_hash)
    rush_user_ids = _create_rush_patients(session, shared_hash, now)
    counts = Counter()
    counts["seconds: accounts"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()

    grid = _slot_grid(service, doctors, tz, history_start, last_day, args.history_days)
    # The mixed-types clinic beside it, from a random stream of its own: with or without it, the
    # single-type clinic above is the same.
    mixed_rng = random.Random(args.seed + 1)
    mixed_doctors = _create_doctors(session, actor, args.mixed_doctors, shared_hash, history_start,
                                    first=args.doctors)
    mixed_types = _create_mixed_types(session, actor, mixed_doctors)
    _add_time_off(session, service, mixed_doctors, mixed_rng, tz, today, history_start, args.history_days)
    grid += _mixed_tiles(service, mixed_doctors, mixed_types, tz, history_start, last_day, mixed_rng)
    grid.sort(key=lambda slot: slot[:3])
    rows = _appointment_rows(grid, patient_ids, rng, args.booked_share, now, counts)
    counts["seconds: slot grid"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    _insert_appointments(session, rows)
    session.commit()
    counts["seconds: appointment insert"] = round(time.perf_counter() - began, 1)
    counts["appointment rows"] = session.scalar(select(func.count()).select_from(Appointment))
    counts["patients"] = len(patient_ids) + len(load_emails)
    return SeedInfo([d.id for d in doctors], load_emails, today, dict(counts), rush_user_ids=list(rush_user_ids),
                    mixed_doctor_ids=[d.id for d in mixed_doctors],
                    mixed_types=[(type_id, buffer) for type_id, _minutes, buffer in mixed_types])


def _create_doctors(session, actor, count: int, shared_hash: str, history_start: date, first: int = 0) -> list:
    """Doctors through the accounts service, with weekly hours: Mon-Fri with a lunch break.

    ``first``: how many were made before (numbers and names go on from there)."""
    doctors = []
    for i in range(first, first + count):
        doctor = accounts.create_doctor(
            session, actor, email=f"doctor{i + 1:02d}@bench.example", password=None,
            full_name=f"Dr {FIRST_NAMES[i % 20]} {LAST_NAMES[(i * 7) % 20]}",
            specialty=SPECIALTIES[i % len(SPECIALTIES)], appointment_minutes=APPOINTMENT_MINUTES[i % 5])
        doctor.user.password_hash = shared_hash
        if i % 4 == 3:
            ranges = [(wall(9), wall(13)), (wall(14), wall(18))]
        else:
            ranges = [(wall(8, 30), wall(12, 30)), (wall(13, 30), wall(17, 30))]
        for weekday in range(5):
            for start, end in ranges:
                session.add(WeeklyHours(doctor_id=doctor.id, valid_from=history_start - timedelta(days=7),
                                        weekday=weekday, start_time=start, end_time=end))
        doctors.append(doctor)
    session.flush()
    return doctors


def _create_mixed_types(session, actor, doctors: list) -> list[tuple[int, int, int]]:
    """The clinic's types of MIXED_TYPES through the types service, each offered by every one of
    ``doctors``: (id, minutes, buffer minutes) of each."""
    if not doctors:
        return []
    made = []
    for name, minutes, buffer in MIXED_TYPES:
        appointment_type = types.create_type(session, actor, name=name, duration_minutes=minutes,
                                             buffer_minutes=buffer)
        for doctor in doctors:
            types.offer_type(session, actor, doctor, appointment_type)
        made.append((appointment_type.id, minutes, buffer))
    return made


def _mixed_tiles(service: BookingService, doctors: list, mixed_types: list[tuple[int, int, int]], tz,
                 first_day: date, last_day: date, rng: random.Random) -> list[tuple]:
    """The mixed doctors' days cut into appointments of random types, each followed by its own buffer
    (none inside time off): the places where _appointment_rows may book, as _slot_grid's are."""
    if not doctors:
        return []
    availabilities = service.availabilities(doctors, first_day, last_day)
    tiles = []
    for doctor in doctors:
        availability = availabilities[doctor.id]
        day = first_day
        while day <= last_day:
            for opening, closing in slots.working_intervals(availability, day, tz):
                cursor = opening
                while True:
                    type_id, minutes, buffer = rng.choice(mixed_types)
                    end_at = cursor + timedelta(minutes=minutes)
                    if end_at > closing:
                        break
                    buffer_end_at = end_at + timedelta(minutes=buffer)
                    if not any(start < buffer_end_at and cursor < end for start, end in availability.time_off):
                        tiles.append((cursor, end_at, doctor.id, type_id, buffer_end_at))
                    cursor = buffer_end_at
            day += timedelta(days=1)
    return tiles


def _add_time_off(session, service: BookingService, doctors: list, rng: random.Random, tz, today: date,
                  history_start: date, history_days: int) -> None:
    """For each doctor: a holiday ahead, an afternoon off, a holiday in the past."""
    for doctor in doctors:
        holiday = today + timedelta(days=rng.randrange(7, HORIZON_DAYS - 7))
        start, end = service.utc_window(holiday, holiday + timedelta(days=rng.randint(1, 4)))
        session.add(TimeOff(doctor_id=doctor.id, start_at=start, end_at=end, reason="Annual leave"))
        afternoon = today + timedelta(days=rng.randrange(1, HORIZON_DAYS))
        session.add(TimeOff(doctor_id=doctor.id, reason="Training",
                            start_at=datetime.combine(afternoon, wall(13), tz).astimezone(timezone.utc),
                            end_at=datetime.combine(afternoon, wall(18), tz).astimezone(timezone.utc)))
        if history_days > 30:
            past = history_start + timedelta(days=rng.randrange(0, history_days - 10))
            start, end = service.utc_window(past, past + timedelta(days=rng.randint(2, 6)))
            session.add(TimeOff(doctor_id=doctor.id, start_at=start, end_at=end, reason="Annual leave"))
    session.flush()


def _create_patients(session, rng: random.Random, count: int, shared_hash: str, now: datetime) -> list[int]:
    """The background patients: many, in bulk, one precomputed password hash. Returns patient ids."""
    user_rows = [dict(email=f"patient{i:05d}@bench.example", role=Role.PATIENT, password_hash=shared_hash,
                      full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", is_active=True,
                      created_at=now) for i in range(count)]
    user_ids = session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), user_rows).all()
    patient_rows = [dict(user_id=uid, date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randrange(30000)),
                         phone=f"07700 9{rng.randrange(100000):05d}") for uid in user_ids]
    return session.scalars(insert(Patient).returning(Patient.id, sort_by_parameter_order=True),
                           patient_rows).all()


def _create_load_patients(session, actor, count: int, shared_hash: str) -> list[str]:
    """Load-test patients, through the registration service; they start with no appointments."""
    emails = []
    for i in range(count):
        patient = accounts.register_patient(
            session, actor, email=f"load{i:03d}@bench.example", password=None, full_name=f"Load Tester {i}",
            date_of_birth=date(1985, 1, 1) + timedelta(days=i), phone="07700 900000")
        patient.user.password_hash = shared_hash
        emails.append(patient.user.email)
    session.flush()
    return emails


def _create_rush_patients(session, shared_hash: str, now: datetime) -> list[int]:
    """Rush patients: many at once, so in bulk; they sign in through mint_sessions, not the API.
    Returns user ids."""
    rush_rows = [dict(email=f"rush{i:03d}@bench.example", role=Role.PATIENT, password_hash=shared_hash,
                      full_name=f"Rush Patient {i}", is_active=True, created_at=now)
                 for i in range(RUSH_CLIENTS)]
    user_ids = session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), rush_rows).all()
    session.execute(insert(Patient), [dict(user_id=uid, date_of_birth=date(1970, 1, 1), phone="07700 900001")
                                      for uid in user_ids])
    return user_ids


def _slot_grid(service: BookingService, doctors: list, tz, history_start: date, last_day: date,
               history_days: int) -> list[tuple[datetime, datetime, int, int, datetime]]:
    """Every slot of every doctor, past and future, on the slot engine's own grid, in time order:
    (start, end, doctor id, the doctor's default type, end of its buffer)."""
    availabilities = service.availabilities(doctors, history_start, last_day)
    long_ago = datetime.combine(history_start - timedelta(days=1), wall(0), tz)
    grid = []
    for doctor in doctors:
        for slot in slots.bookable_slots(availabilities[doctor.id], first_day=history_start, last_day=last_day,
                                         tz=tz, now=long_ago, minimum_notice=timedelta(0),
                                         horizon=timedelta(days=history_days + HORIZON_DAYS + 30)):
            grid.append((slot.start_at, slot.end_at, doctor.id, doctor.default_appointment_type_id,
                         slot.end_at + timedelta(minutes=doctor.buffer_minutes)))
    grid.sort()
    return grid


def _appointment_rows(grid: list, patient_ids: list[int], rng: random.Random, booked_share: float,
                      now: datetime, counts: Counter) -> list[dict]:
    """A share of the grid booked (history completed, no-show or cancelled), some freed slots
    keeping a cancelled row; the rest stays free. Counts each kind into ``counts``."""
    rows = []
    patient_turn = 0
    for start_at, end_at, doctor_id, type_id, buffer_end_at in grid:
        future = start_at >= now
        status = _choose_status(start_at, now, rng, booked_share)
        if status is None:
            if future:
                counts["free future slots"] += 1
            continue
        # Cycling through thousands of patients in time order: no patient is ever double-booked.
        patient_id = patient_ids[patient_turn % len(patient_ids)]
        patient_turn += 1
        cancelled = status is AppointmentStatus.CANCELLED
        created = min(now, start_at) - timedelta(days=rng.randint(1, 30))
        rows.append(dict(doctor_id=doctor_id, patient_id=patient_id, start_at=start_at, end_at=end_at,
                         appointment_type_id=type_id, buffer_end_at=buffer_end_at, status=status, reason=rng.choice(REASONS),
                         needs_attention=False, created_at=created, updated_at=created,
                         cancelled_at=created + timedelta(hours=5) if cancelled else None,
                         cancellation_reason="Cancelled by the patient online" if cancelled else ""))
        counts[("future " if future else "past ") + status.value] += 1
    return rows


def _choose_status(start_at: datetime, now: datetime, rng: random.Random, booked_share: float):
    """The status of the slot's appointment row, or None for a free slot with no row."""
    future = start_at >= now
    if rng.random() < booked_share:
        if future or start_at >= now - timedelta(days=2):
            return AppointmentStatus.BOOKED
        r = rng.random()
        return (AppointmentStatus.COMPLETED if r < 0.90 else
                AppointmentStatus.NO_SHOW if r < 0.94 else AppointmentStatus.CANCELLED)
    if future and start_at < now + timedelta(days=HORIZON_DAYS) and rng.random() < 0.08:
        return AppointmentStatus.CANCELLED  # churn: a freed slot keeps its cancelled row
    return None


def _insert_appointments(session, rows: list[dict]) -> None:
    # Core executemany: column defaults apply, no ORM bookkeeping. It sends one INSERT a row, and
    # the trigger that moves the doctor's calendar_version (migration 0004) would run for each:
    # a bulk load switches it off and moves every doctor's version once at the end instead.
    connection = session.connection()
    connection.exec_driver_sql("ALTER TABLE appointments DISABLE TRIGGER appointments_insert_calendar_version")
    for chunk in range(0, len(rows), 5000):
        connection.execute(insert(Appointment.__table__), rows[chunk:chunk + 5000])
    connection.exec_driver_sql("ALTER TABLE appointments ENABLE TRIGGER appointments_insert_calendar_version")
    connection.exec_driver_sql("UPDATE doctors SET calendar_version = nextval('calendar_versions')")
