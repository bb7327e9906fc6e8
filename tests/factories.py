"""Builders of real rows for tests. They go through the services where one exists."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import count

from flask import current_app

from carebook import accounts, audit, totp
from carebook.clock import utcnow
from carebook.extensions import db
from carebook.passwords import hash_password
from models import (AppointmentType, Audience, Doctor, DoctorAppointmentType, Patient, Role, TimeOff, User,
                    WeeklyHours)

PASSWORD = "correct horse battery staple"
#: The authenticator secret of every staff and doctor account the factories make (login helpers use it).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SYSTEM = audit.Actor(None, "system")
_numbers = count(1)


@lru_cache
def _password_hash(hashing: str) -> str:
    # Standard argon2 is slow on purpose: hash the shared test password once per setting.
    return hash_password(PASSWORD)


def _with_test_password(user: User) -> User:
    """The shared test password, hashed with the app's PASSWORD_HASHING (so no sign-in rehashes it)."""
    user.password_hash = _password_hash(current_app.config["PASSWORD_HASHING"])
    return user


def enrol_two_factor(user: User, secret: str = TOTP_SECRET) -> User:
    """Two-factor on, as if the user had enrolled with ``secret`` (codes: ``totp.current_code(secret)``)."""
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = None
    return user


def current_code(secret: str = TOTP_SECRET) -> str:
    return totp.current_code(secret)


def make_staff(name: str = "Sam Staff", email: str | None = None, two_factor: bool = True) -> User:
    """A staff member, enrolled in two-factor (required for staff) unless ``two_factor=False``."""
    email = email or f"staff{next(_numbers)}@clinic.test"
    user = accounts.create_user(db.session, SYSTEM, email=email, full_name=name, role=Role.STAFF, password=None)
    if two_factor:
        enrol_two_factor(user)
    return _with_test_password(user)


def make_patient(name: str = "Pat Patient", email: str | None = None,
                 date_of_birth: date = date(1990, 5, 17), phone: str = "07700 900000") -> Patient:
    email = email or f"patient{next(_numbers)}@example.test"
    patient = accounts.register_patient(db.session, SYSTEM, email=email, password=None, full_name=name,
                                        date_of_birth=date_of_birth, phone=phone)
    _with_test_password(patient.user)
    return patient


def make_phone_patient(name: str = "Phil Phoneonly", date_of_birth: date = date(1941, 9, 9),
                       phone: str = "07700 900321") -> Patient:
    """A patient registered by staff from a phone call: no email, no password, reached by SMS."""
    return accounts.register_patient(db.session, SYSTEM, email=None, password=None, full_name=name,
                                     date_of_birth=date_of_birth, phone=phone)


WEEKDAYS_9_TO_5 = {weekday: [(time(9), time(17))] for weekday in range(5)}


def make_doctor(name: str = "Dr Dana Doctor", specialty: str = "General practice", minutes: int = 30,
                weekly: dict[int, list[tuple[time, time]]] | None = None, valid_from: date = date(2026, 1, 1),
                email: str | None = None, buffer_minutes: int = 0, two_factor: bool = True) -> Doctor:
    """A doctor with weekly hours, enrolled in two-factor (required for doctors) unless ``two_factor=False``."""
    email = email or f"doctor{next(_numbers)}@clinic.test"
    doctor = accounts.create_doctor(db.session, SYSTEM, email=email, password=None, full_name=name,
                                    specialty=specialty, appointment_minutes=minutes,
                                    buffer_minutes=buffer_minutes)
    _with_test_password(doctor.user)
    if two_factor:
        enrol_two_factor(doctor.user)
    for weekday, ranges in (WEEKDAYS_9_TO_5 if weekly is None else weekly).items():
        for start, end in ranges:
            db.session.add(WeeklyHours(doctor_id=doctor.id, valid_from=valid_from, weekday=weekday,
                                       start_time=start, end_time=end))
    db.session.flush()
    return doctor


def add_time_off(doctor: Doctor, start_at: datetime, end_at: datetime) -> TimeOff:
    row = TimeOff(doctor_id=doctor.id, start_at=start_at, end_at=end_at, reason="Away")
    db.session.add(row)
    db.session.flush()
    return row


def make_type(name: str = "Follow-up", minutes: int = 15, buffer_minutes: int = 0, *, doctors=(),
              own_minutes: int | None = None, bookable_online: bool = True, audience: Audience = Audience.ANYONE,
              colour: str = "#146c43", description: str = "") -> AppointmentType:
    """A clinic appointment type, offered by ``doctors`` (each with ``own_minutes`` if given)."""
    appointment_type = AppointmentType(name=name, description=description, duration_minutes=minutes,
                                       buffer_minutes=buffer_minutes, colour=colour, bookable_online=bookable_online,
                                       audience=audience)
    db.session.add(appointment_type)
    db.session.flush()
    for doctor in doctors:
        db.session.add(DoctorAppointmentType(doctor_id=doctor.id, appointment_type_id=appointment_type.id,
                                             duration_minutes=own_minutes))
    db.session.flush()
    return appointment_type
