"""A believable demo clinic for trying the app (`flask seed-demo`)."""
from __future__ import annotations

from datetime import date, time, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebook import accounts, appointment_types, audit, totp
from carebook.booking import BookingService, PatientBusy
from carebook.clock import utcnow
from carebook.waitlist import entries
from models import Doctor, Patient, TimeOff, User, WeeklyHours
from models.appointment_types import Audience
from models.users import ContactPreference
from models.waitlist import PARTS_OF_DAY

DEMO_PASSWORD = "clinic-demo-2026"
ACTOR = audit.Actor(None, "cli")

STAFF = ("reception@clinic.example", "Rita Reception")
DOCTORS = [
    # email, name, specialty, minutes, weekly ranges (weekday -> ranges)
    ("dr.okafor@clinic.example", "Dr Amara Okafor", "General practice", 15,
     {d: [(time(8, 30), time(12, 30)), (time(13, 30), time(17, 30))] for d in range(5)}),
    ("dr.lindqvist@clinic.example", "Dr Erik Lindqvist", "Dermatology", 20,
     {0: [(time(9), time(13))], 2: [(time(9), time(13)), (time(14), time(18))], 4: [(time(9), time(12))]}),
    ("dr.patel@clinic.example", "Dr Priya Patel", "Paediatrics", 30,
     {1: [(time(10), time(16))], 3: [(time(10), time(16))], 5: [(time(9), time(12))]}),
    ("dr.moreau@clinic.example", "Dr Julien Moreau", "General practice", 10,
     {d: [(time(16), time(20))] for d in range(4)}),
]
PATIENTS = [
    # email, name, born, phone, how they hear from the clinic
    ("alice@example.com", "Alice Walker", date(1987, 4, 12), "07700 900123", ContactPreference.EMAIL),
    ("bob@example.com", "Bob Nguyen", date(1979, 11, 3), "07700 900456", ContactPreference.BOTH),
]
#: A patient who has no email (staff registered her when she phoned): the clinic texts her.
PHONE_ONLY = ("Carol Jones", date(1952, 2, 20), "07700 900789")
#: The clinic's types besides each doctor's default: name, minutes, buffer, colour, online, audience,
#: description, and the doctors (by index) who offer it, with their own length where it differs.
TYPES = [
    ("First visit", 30, 5, "#146c43", True, Audience.NEW_PATIENTS,
     "A longer first appointment: we get to know you and your history.", {0: None, 2: 40}),
    ("Follow-up", 15, 0, "#6f42c1", True, Audience.ANYONE,
     "A short visit about something you have already seen the doctor for.", {0: None, 3: None}),
    ("Vaccination", 10, 5, "#9c4200", False, Audience.ANYONE,
     "Booked by the front desk, who check which vaccine you need.", {0: None, 2: None}),
]
MORNINGS = 1 << PARTS_OF_DAY.index("Morning")  # the waitlist's bit for "mornings"


def has_users(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)))


def seed(session: Session, today: date) -> None:
    # Staff and doctors must sign in with a second factor. So that the demo works at once, they
    # share one authenticator key, new for every demo database and printed with the logins.
    demo_secret = totp.new_secret()
    staff = accounts.create_user(session, ACTOR, email=STAFF[0], full_name=STAFF[1],
                                 role=accounts.Role.STAFF, password=DEMO_PASSWORD)
    _enrol(staff, demo_secret)
    doctors = []
    for email, name, specialty, minutes, weekly in DOCTORS:
        doctor = accounts.create_doctor(session, ACTOR, email=email, password=DEMO_PASSWORD, full_name=name,
                                        specialty=specialty, appointment_minutes=minutes)
        _enrol(doctor.user, demo_secret)
        for weekday, ranges in weekly.items():
            for start, end in ranges:
                session.add(WeeklyHours(doctor_id=doctor.id, valid_from=today - timedelta(days=7),
                                        weekday=weekday, start_time=start, end_time=end))
        doctors.append(doctor)
    patients = [accounts.register_patient(session, ACTOR, email=email, password=DEMO_PASSWORD, full_name=name,
                                          date_of_birth=born, phone=phone, contact_by=contact_by)
                for email, name, born, phone, contact_by in PATIENTS]
    name, born, phone = PHONE_ONLY
    caller = accounts.register_patient(session, audit.Actor(staff, "admin"), email=None, password=None,
                                       full_name=name, date_of_birth=born, phone=phone)
    session.flush()
    _add_types(session, doctors, audit.Actor(staff, "admin"))

    service = BookingService(session, current_app.config["CLINIC"].timezone, current_app.config["BOOKING_POLICY"])
    # A week's holiday for one doctor, starting in a fortnight.
    holiday = service.utc_window(today + timedelta(days=14), today + timedelta(days=20))
    session.add(TimeOff(doctor_id=doctors[1].id, start_at=holiday[0], end_at=holiday[1], reason="Annual leave"))
    first_day, _ = service.bookable_days()
    # A few bookings of the doctors' types so the calendars are not empty.
    for index, doctor in enumerate(doctors[:3]):
        kinds = appointment_types.offered_types(session, doctor.id)
        for n, patient in enumerate(patients):
            kind = kinds[n % len(kinds)]
            free = service.free_slots(doctor, first_day + timedelta(days=1 + index), first_day + timedelta(days=9),
                                      kind.id)
            if len(free) <= 2 + 5 * n:
                continue
            try:
                service.book(audit.Actor(patient.user, "cli"), doctor=doctor, patient=patient,
                             start_at=free[2 + 5 * n].start_at, reason="Demo booking", appointment_type=kind)
            except PatientBusy:
                continue
    _add_waitlist(session, service, doctors[0], bob=patients[1], caller=caller, staff=staff, today=today)


def _add_types(session: Session, doctors: list[Doctor], staff: audit.Actor) -> None:
    for name, minutes, buffer, colour, online, audience, description, offered_by in TYPES:
        kind = appointment_types.create_type(session, staff, name=name, duration_minutes=minutes,
                                             buffer_minutes=buffer, colour=colour, bookable_online=online,
                                             audience=audience, description=description)
        for index, own_minutes in offered_by.items():
            appointment_types.offer_type(session, staff, doctors[index], kind, duration_minutes=own_minutes,
                                         doctor_may_change_duration=own_minutes is not None)


def _add_waitlist(session: Session, service: BookingService, doctor: Doctor, *, bob: Patient, caller: Patient,
                  staff: User, today: date) -> None:
    """Bob (any general practitioner, mornings) and Carol (Dr Okafor, by phone) wait for the coming
    fortnight: cancel one of Dr Okafor's appointments and they are offered the time."""
    fortnight = entries.Wish(earliest_date=today, latest_date=today + timedelta(days=14), doctor=doctor)
    entries.join(session, audit.Actor(staff, "admin"), caller, fortnight, service.timezone)
    entries.join(session, audit.Actor(bob.user, "portal"), bob,
                 entries.Wish(earliest_date=today, latest_date=today + timedelta(days=14),
                              specialty=doctor.specialty, times_of_day=MORNINGS), service.timezone)


def _enrol(user: User, secret: str) -> None:
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()


def logins_text(session: Session | None = None) -> str:
    rows = [("staff", STAFF[0])] + [("doctor", d[0]) for d in DOCTORS] + [("patient", p[0]) for p in PATIENTS]
    width = max(len(email) for _, email in rows)
    lines = ["Demo logins (password for all: %s)" % DEMO_PASSWORD]
    lines += [f"  {role:<8} {email:<{width}}" for role, email in rows]
    lines += ["", f"{PHONE_ONLY[0]}, a patient without email, has no login: the clinic texts her.",
              "Bob and Carol are on the waitlist for Dr Okafor: cancel one of Dr Okafor's appointments and",
              "the freed time is offered to them (Bob by email and SMS, Carol by SMS)."]
    secret = _demo_secret(session) if session is not None else None
    if secret:
        lines += ["",
                  "Staff and doctors also enter a code from an authenticator app. Add this key to one",
                  f"(Google Authenticator, FreeOTP, Aegis...): {secret}",
                  "or print the current code with:",
                  f"  .venv/bin/python -c 'import pyotp; print(pyotp.TOTP(\"{secret}\").now())'"]
    else:
        lines += ["", "Staff and doctors set up an authenticator app at their first login."]
    return "\n".join(lines)


def _demo_secret(session: Session) -> str | None:
    """The demo staff member's authenticator key, if the demo enrolment is still in place."""
    user = session.scalar(select(User).where(User.email == STAFF[0]))
    return user.totp_secret if user is not None and user.two_factor_enabled else None
