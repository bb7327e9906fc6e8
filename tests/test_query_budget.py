"""Query budget: the hot pages cost a fixed number of SQL statements, whatever the data (no N+1).

Each test counts the statements one request sends (a ``before_cursor_execute`` listener on
the app's engine: requests run in their own context and session, but on the same engine),
once with a small calendar and once with a big one (more doctors, more days, more
appointments), and expects the same count. The budgets below are the counts today: a
change that needs more statements per request should be a deliberate one.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, Audience, DoctorAppointmentType
from tests.factories import make_doctor, make_patient, make_staff, make_type

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 6, 1)  # "today" in every test (the clock is frozen at 08:00 London)
#: The working days of the next two weeks, from Tuesday 2 June.
WEEKDAYS = [MONDAY + timedelta(days=n) for n in range(1, 15) if (MONDAY + timedelta(days=n)).weekday() < 5]

# The most statements each request may send (the session lookup included).
SLOTS_API_BUDGET = 3
DOCTOR_LIST_BUDGET = 4
# With a type_id: the doctor and the type are checked (404 / 422 on type_id), then the type's terms and stamp.
MIXED_SLOTS_API_BUDGET = 5
# POST /api/appointments: 11 for the doctor's default type (the waitlist's open offers of the time
# included), one more for a named type's terms.
BOOKING_API_BUDGET = 12


@pytest.fixture
def count_statements(app):
    """``with count_statements() as counted:`` ... ``counted()`` is the statements sent inside the block."""
    engine = db.engine

    @contextmanager
    def counting():
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield lambda: len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting


def statements_for(count_statements, request) -> int:
    """Statements sent while ``request()`` runs. It must not touch the test's (expired) ORM objects:
    their refresh would be counted too, so tests read ids and emails before."""
    with count_statements() as counted:
        response = request()
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return counted()


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(timezone.utc)


def book_many(doctor, patients, days: int, per_day: int = 4) -> None:
    """Book ``per_day`` appointments a day with ``doctor`` for ``days`` weekdays from Tuesday, through the service."""
    service = booking_service()
    day, booked = MONDAY + timedelta(days=1), 0
    while booked < days:
        if day.weekday() < 5:
            for slot in range(per_day):
                patient = patients[(booked * per_day + slot) % len(patients)]
                service.book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                             start_at=local(day, 9 + 2 * slot))
            booked += 1
        day += timedelta(days=1)
    db.session.commit()


def add_history(doctor, patient, count: int) -> None:
    """Past appointments (the service only books the future), completed, of ``patient``."""
    for n in range(count):
        start = local(MONDAY - timedelta(days=7 * (n + 1)), 10)
        db.session.add(Appointment(doctor_id=doctor.id, patient_id=patient.id, start_at=start,
                                   end_at=start + timedelta(minutes=30), status=AppointmentStatus.COMPLETED,
                                   created_by_id=patient.user_id))
    db.session.commit()


@pytest.fixture
def patient(app):
    patient = make_patient(name="Budget Patient")
    db.session.commit()
    return patient


def sign_in(client, user) -> None:
    response = client.login(user.email)
    db.session.expire_all()
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


# -- slots: API and the doctor's page ------------------------------------------------------------


def test_the_slots_endpoint_costs_the_same_whatever_the_range_or_the_bookings(app, client, count_statements,
                                                                               patient):
    doctor = make_doctor(minutes=15)
    others = [make_patient() for _ in range(6)]
    db.session.commit()
    sign_in(client, patient.user)
    doctor_id = doctor.id

    def slots(days: int):
        last = MONDAY + timedelta(days=days)
        return lambda: client.get(f"/api/doctors/{doctor_id}/slots?from={MONDAY}&to={last}")

    one_day = statements_for(count_statements, slots(1))
    long_range = statements_for(count_statements, slots(40))
    # Unchanged calendar: the kept list, after reading the doctor's calendar stamp instead of the calendar.
    long_range_again = statements_for(count_statements, slots(40))
    book_many(doctor, others, days=10, per_day=4)
    # Changed calendar: the stamp, then the calendar read once more.
    long_range_busy = statements_for(count_statements, slots(40))
    assert one_day == long_range == long_range_again
    assert long_range_busy == long_range + 1 <= SLOTS_API_BUDGET


def test_the_doctors_page_costs_the_same_whatever_the_days_shown_or_the_bookings(app, client, count_statements,
                                                                                  patient):
    doctor = make_doctor(minutes=15)
    others = [make_patient() for _ in range(6)]
    db.session.commit()
    sign_in(client, patient.user)
    url = f"/doctors/{doctor.id}?day={MONDAY + timedelta(days=1)}"

    def page():
        return client.get(url)

    app.config["SLOT_DAYS_SHOWN"] = 1
    one_day = statements_for(count_statements, page)
    app.config["SLOT_DAYS_SHOWN"] = 28
    four_weeks = statements_for(count_statements, page)
    four_weeks_again = statements_for(count_statements, page)
    book_many(doctor, others, days=10, per_day=4)
    four_weeks_busy = statements_for(count_statements, page)
    assert one_day == four_weeks == four_weeks_again
    assert four_weeks_busy == four_weeks + 1  # the kept list's stamp is read, then the changed calendar


# -- the doctor list: API and page ---------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/doctors", "/doctors"])
def test_the_doctor_list_costs_the_same_for_one_doctor_or_many(app, client, count_statements, patient, url):
    first = make_doctor(name="Dr First")
    db.session.commit()
    sign_in(client, patient.user)
    one_doctor = statements_for(count_statements, lambda: client.get(url))

    doctors = [make_doctor(name=f"Dr Number {n}", specialty=("Cardiology", "Dermatology")[n % 2])
               for n in range(6)]
    db.session.commit()
    for doctor in [first, *doctors]:
        book_many(doctor, [make_patient(), make_patient()], days=3, per_day=2)
    many_doctors = statements_for(count_statements, lambda: client.get(url))
    assert one_doctor == many_doctors <= DOCTOR_LIST_BUDGET


def test_a_doctor_booked_solid_for_a_week_costs_the_doctor_list_one_more_statement_at_most(
        app, client, count_statements, patient):
    # The list reads each doctor's first week; only a doctor with no free time in it needs the rest.
    doctor = make_doctor(weekly={weekday: [(time(9), time(10))] for weekday in range(5)}, minutes=30)
    others = [make_patient() for _ in range(4)]
    db.session.commit()
    sign_in(client, patient.user)
    free_week = statements_for(count_statements, lambda: client.get("/api/doctors"))
    book_many(doctor, others, days=6, per_day=1)  # 09:00 of every weekday; 09:30 still free
    service = booking_service()
    day = MONDAY + timedelta(days=1)
    while day <= MONDAY + timedelta(days=8):
        if day.weekday() < 5:
            patient_for_day = others[day.day % len(others)]
            service.book(audit.Actor(patient_for_day.user, "portal"), doctor=doctor, patient=patient_for_day,
                         start_at=local(day, 9, 30))
        day += timedelta(days=1)
    db.session.commit()
    booked_solid = statements_for(count_statements, lambda: client.get("/api/doctors"))
    assert booked_solid <= free_week + 1


# -- "My appointments": page and API -------------------------------------------------------------


@pytest.mark.parametrize("url", ["/appointments", "/api/appointments"])
def test_my_appointments_cost_the_same_for_one_appointment_or_many(app, client, count_statements, patient, url):
    doctors = [make_doctor(name=f"Dr Visit {n}") for n in range(4)]
    db.session.commit()
    service = booking_service()
    service.book(audit.Actor(patient.user, "portal"), doctor=doctors[0], patient=patient,
                 start_at=local(WEEKDAYS[0], 10))
    db.session.commit()
    sign_in(client, patient.user)
    one = statements_for(count_statements, lambda: client.get(url))

    for day, doctor in zip(WEEKDAYS[1:], doctors):
        service.book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient, start_at=local(day, 11))
        add_history(doctor, patient, count=2)
    db.session.commit()
    many = statements_for(count_statements, lambda: client.get(url))
    assert one == many


# -- the staff console's appointment list ---------------------------------------------------------


def test_the_admin_appointment_list_costs_the_same_for_one_row_or_a_page_full(app, client, count_statements):
    staff = make_staff()
    doctors = [make_doctor(name=f"Dr Console {n}") for n in range(3)]
    patients = [make_patient(name=f"Console Patient {n}") for n in range(5)]
    db.session.commit()
    service = booking_service()
    service.book(audit.Actor(staff, "admin"), doctor=doctors[0], patient=patients[0],
                 start_at=local(WEEKDAYS[0], 9))
    db.session.commit()
    sign_in(client, staff)
    one = statements_for(count_statements, lambda: client.get("/admin/appointments/"))

    # Rows by different doctors, patients and bookers: the patients themselves, and several
    # receptionists (users that nothing else on the page loads).
    receptionists = [make_staff(name=f"Receptionist {n}") for n in range(4)]
    db.session.commit()
    for n in range(12):
        patient, doctor = patients[n % 5], doctors[n % 3]
        actor = audit.Actor(patient.user, "portal") if n % 3 == 0 else audit.Actor(receptionists[n % 4], "admin")
        service.book(actor, doctor=doctor, patient=patient, start_at=local(WEEKDAYS[1 + n // 3], 9 + n % 3))
    db.session.commit()
    many = statements_for(count_statements, lambda: client.get("/admin/appointments/"))
    assert one == many


# -- the staff console's audit log ------------------------------------------------------------------


def test_the_audit_log_names_its_records_at_the_same_cost_for_one_entry_or_a_page_full(app, client, count_statements):
    staff = make_staff()
    doctor = make_doctor(name="Dr Audit")
    patients = [make_patient(name=f"Audit Patient {n}") for n in range(5)]
    db.session.commit()
    service = booking_service()
    service.book(audit.Actor(staff, "admin"), doctor=doctor, patient=patients[0], start_at=local(WEEKDAYS[0], 9))
    db.session.commit()
    sign_in(client, staff)
    one = statements_for(count_statements, lambda: client.get("/admin/audit/?flt0_action_contains=appointment"))
    for n, patient in enumerate(patients[1:], start=1):
        service.book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                     start_at=local(WEEKDAYS[1], 9 + n))
    db.session.commit()
    many = statements_for(count_statements, lambda: client.get("/admin/audit/?flt0_action_contains=appointment"))
    assert one == many


# -- appointment types: the pages that list them ------------------------------------------------


def test_the_doctor_list_of_one_type_costs_the_same_for_one_doctor_or_many(app, client, count_statements, patient):
    first = make_doctor(name="Dr First")
    first_visit = make_type("First visit", minutes=40, doctors=[first], audience=Audience.NEW_PATIENTS)
    db.session.commit()
    sign_in(client, patient.user)
    url = f"/doctors?type_id={first_visit.id}"
    one_doctor = statements_for(count_statements, lambda: client.get(url))
    doctors = [make_doctor(name=f"Dr Number {n}") for n in range(6)]
    for doctor in doctors:
        make_type(f"Other {doctor.id}", doctors=[doctor])
        db.session.add(DoctorAppointmentType(doctor_id=doctor.id, appointment_type_id=first_visit.id))
    db.session.commit()
    for doctor in [first, *doctors]:
        book_many(doctor, [make_patient(), make_patient()], days=3, per_day=2)
    many_doctors = statements_for(count_statements, lambda: client.get(url))
    assert one_doctor == many_doctors <= DOCTOR_LIST_BUDGET + 1  # + the patient's returning doctors


def test_the_consoles_type_pages_and_a_doctors_types_cost_the_same_however_many_types(app, client,
                                                                                      count_statements):
    doctor = make_doctor()
    first = make_type("Type 0", doctors=[doctor])
    staff = make_staff()
    db.session.commit()
    sign_in(client, staff)
    pages = ["/admin/appointment-types/", f"/admin/appointment-types/{first.id}/", f"/doctor/{doctor.id}/types"]

    def counts():
        return [statements_for(count_statements, lambda: client.get(url)) for url in pages]

    one_type = counts()
    for n in range(1, 6):
        make_type(f"Type {n}", doctors=[doctor, make_doctor()])
    db.session.add(DoctorAppointmentType(doctor_id=make_doctor().id, appointment_type_id=first.id))
    db.session.commit()
    assert counts() == one_type


# -- appointment types: slots and booking with mixed lengths -------------------------------------

#: The benchmark's mixed clinic (bench/http_bench/settings.py): (name, minutes, buffer minutes).
MIXED_TYPES = [("Vaccination", 10, 5), ("Follow-up", 15, 0), ("Consultation", 30, 10), ("First visit", 40, 5)]


def mixed_types_doctor():
    """A doctor offering every one of MIXED_TYPES, and those types."""
    doctor = make_doctor(minutes=15)
    kinds = [make_type(name, minutes=minutes, buffer_minutes=buffer, doctors=[doctor])
             for name, minutes, buffer in MIXED_TYPES]
    return doctor, kinds


def book_mixed(doctor, kinds, patients, days: int) -> None:
    """Appointments of every type, at 09:00 and 13:00 (on every type's grid), ``days`` weekdays from Tuesday."""
    service = booking_service()
    for number, day in enumerate(WEEKDAYS[:days]):
        for slot, hour in enumerate((9, 13)):
            patient = patients[(2 * number + slot) % len(patients)]
            service.book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                         start_at=local(day, hour), appointment_type=kinds[(2 * number + slot) % len(kinds)])
    db.session.commit()


@pytest.mark.parametrize("kind", range(len(MIXED_TYPES)), ids=[name for name, _, _ in MIXED_TYPES])
def test_the_slots_endpoint_of_a_type_costs_the_same_whatever_the_range_or_the_mixed_bookings(
        app, client, count_statements, patient, kind):
    doctor, kinds = mixed_types_doctor()
    others = [make_patient() for _ in range(6)]
    db.session.commit()
    sign_in(client, patient.user)
    doctor_id, type_id = doctor.id, kinds[kind].id

    def slots(days: int):
        last = MONDAY + timedelta(days=days)
        return lambda: client.get(f"/api/doctors/{doctor_id}/slots?from={MONDAY}&to={last}&type_id={type_id}")

    one_day = statements_for(count_statements, slots(1))
    long_range = statements_for(count_statements, slots(40))
    # Unchanged calendar: the kept list, after reading the type's terms and stamp (always read: one
    # statement less than computing it, where the doctor's default type trades the stamp for the calendar).
    long_range_again = statements_for(count_statements, slots(40))
    book_mixed(doctor, kinds, others, days=10)
    # Changed calendar: the stamp, then the calendar once more.
    long_range_busy = statements_for(count_statements, slots(40))
    assert one_day == long_range == long_range_busy <= MIXED_SLOTS_API_BUDGET
    assert long_range_again == long_range - 1


@pytest.mark.parametrize("kind", [None, *range(len(MIXED_TYPES))],
                         ids=["default type", *(name for name, _, _ in MIXED_TYPES)])
def test_booking_costs_the_same_on_a_quiet_or_a_busy_calendar_of_mixed_types(app, client, count_statements,
                                                                              patient, kind):
    doctor, kinds = mixed_types_doctor()
    others = [make_patient() for _ in range(6)]
    db.session.commit()
    sign_in(client, patient.user)
    doctor_id = doctor.id
    fields = {"type_id": kinds[kind].id} if kind is not None else {}

    def book(day: date):
        return lambda: client.api("POST", "/api/appointments", json={
            "doctor_id": doctor_id, "start_at": local(day, 11).isoformat(), **fields})

    def statements_of_booking(day: date) -> int:
        client.csrf_token()  # the token request before the one counted, as a client does
        with count_statements() as counted:
            response = book(day)()
        assert response.status_code == 201, response.get_data(as_text=True)[:500]
        return counted()

    quiet = statements_of_booking(WEEKDAYS[0])
    book_mixed(doctor, kinds, others, days=10)
    busy = statements_of_booking(WEEKDAYS[5])
    assert quiet == busy <= BOOKING_API_BUDGET


# -- the patient's copy of their data ---------------------------------------------------------------


def add_waitlist(doctors, patient, staff) -> None:
    """Entries of ``patient`` for each doctor and for any doctor of a specialty (some by staff, some ended),
    one offer to each, and the delivery records of those offers by email and SMS."""
    from carebook.waitlist import entries as waitlist_entries
    from models import NotificationDelivery
    from models.waitlist import OfferStatus, WaitlistOffer, WaitlistStatus
    from reminders import deliveries

    tz = LONDON
    made = []
    for n, doctor in enumerate(doctors):
        actor = audit.Actor(patient.user if n % 2 == 0 else staff, "portal" if n % 2 == 0 else "admin")
        wish = waitlist_entries.Wish(earliest_date=WEEKDAYS[n], latest_date=WEEKDAYS[n + 1],
                                     doctor=doctor if n % 3 else None, specialty=None if n % 3 else doctor.specialty)
        made.append((waitlist_entries.join(db.session, actor, patient, wish, tz), doctor, n))
    db.session.flush()
    for entry, doctor, n in made:
        start = local(WEEKDAYS[n], 15)
        offer = WaitlistOffer(entry_id=entry.id, doctor_id=doctor.id,
                              appointment_type_id=doctor.default_appointment_type_id, start_at=start,
                              end_at=start + timedelta(minutes=30), expires_at=start - timedelta(hours=3),
                              status=OfferStatus.EXPIRED if n % 2 else OfferStatus.PENDING, channels="email+sms",
                              offered_by_id=staff.id if n % 2 else None)
        db.session.add(offer)
        db.session.flush()
        for channel in ("email", "sms"):
            deliveries.record(db.session, appointment_id=None, message_id=f"waitlist-offer-{offer.id}",
                              event="waitlist_offer", channel=channel, outcome="sent")
        if n % 2:
            waitlist_entries.end(db.session, entry, WaitlistStatus.WITHDRAWN)
    assert db.session.query(NotificationDelivery).count() >= 2 * len(doctors)
    db.session.commit()


@pytest.mark.parametrize("url", ["/account/data", "/account/data.json"])
def test_the_copy_of_a_patients_data_costs_the_same_however_much_they_have(app, client, count_statements,
                                                                            patient, url):
    doctors = [make_doctor(name=f"Dr Data {n}", specialty=f"Specialty {n % 2}") for n in range(5)]
    staff = make_staff(name="Desk Person")
    db.session.commit()
    service = booking_service()
    service.book(audit.Actor(patient.user, "portal"), doctor=doctors[0], patient=patient,
                 start_at=local(WEEKDAYS[0], 10))
    db.session.commit()
    sign_in(client, patient.user)
    one = statements_for(count_statements, lambda: client.get(url))

    for day, doctor in zip(WEEKDAYS[1:], doctors[1:]):
        service.book(audit.Actor(staff, "admin"), doctor=doctor, patient=patient, start_at=local(day, 11))
        add_history(doctor, patient, count=2)
    db.session.commit()
    add_waitlist(doctors, patient, staff)
    many = statements_for(count_statements, lambda: client.get(url))
    assert one == many
