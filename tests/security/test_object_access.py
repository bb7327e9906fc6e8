"""Every object is checked against the user, not just the route.

Generated from the url map: every route of the portal, the doctor's pages and the
API that names an object in its path is called by a patient and by a doctor (where
their role may use the route at all) with the id of an object that belongs to
someone else. The answer must be 404, it must not show the other person's data, and
nothing of theirs may change. A new object-bearing route whose path argument is not
classified below fails the first test until it is.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from carebook import access, audit
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, DateOverride, Role, TimeOff, WaitlistEntry, WaitlistOffer, WeeklyHours
from tests.factories import add_time_off, make_doctor, make_patient, make_staff

#: Path arguments that name an object, and the someone-else's object each role gets.
FOREIGN = {
    "appointment_id": {Role.PATIENT: "other_appointment", Role.DOCTOR: "other_appointment"},
    # Patients may see every active doctor: their foreign doctor is one that is not bookable.
    "doctor_id": {Role.PATIENT: "inactive_doctor", Role.DOCTOR: "other_doctor"},
    "time_off_id": {Role.DOCTOR: "other_time_off"},
    "entry_id": {Role.PATIENT: "other_entry"},
    "offer_id": {Role.PATIENT: "other_offer"},
}
#: Path arguments that are not objects: they are read inside the doctor named by the route.
SCOPED = {"valid_from": "2026-06-15", "on_date": "2026-06-15", "type_id": "1"}
#: The staff console: staff may see every object, so there is no one else's object to try.
ADMIN_ONLY = {Role.STAFF}
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in London
WEDNESDAY_11 = datetime(2026, 6, 3, 10, 0, tzinfo=timezone.utc)


def path_arguments(rule) -> set[str]:
    """The arguments written in the path (not those a default fills in, like the doctor's own id)."""
    return set(rule.arguments) - set(rule.defaults or {})


def object_routes(app):
    """(rule, method) for every rule with a path argument, outside the staff console and static files."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static") or not path_arguments(rule):
            continue
        roles = access.allowed_roles(app, rule.endpoint) or frozenset()
        if roles <= ADMIN_ONLY:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_object_bearing_route_is_classified(app):
    unknown = {(rule.rule, name) for rule, _ in object_routes(app) for name in path_arguments(rule)
               if name not in FOREIGN and name not in SCOPED}
    assert unknown == set(), "classify these path arguments in FOREIGN or SCOPED"
    assert any(True for _ in object_routes(app))


class World:
    """Two of everything: the signed-in actor's, and someone else's."""

    def __init__(self):
        self.own_doctor = make_doctor(name="Dr Own Doctor")
        self.other_doctor_row = make_doctor(name="Dr Other Doctor")
        self.inactive_doctor_row = make_doctor(name="Dr Gone Away")
        self.inactive_doctor_row.is_active = False
        self.own_patient = make_patient(name="Olive Ownpatient")
        self.other_patient = make_patient(name="Xavier Otherpatient")
        service = booking_service()
        self.own_appointment_row = service.book(audit.Actor(self.own_patient.user, "portal"),
                                                doctor=self.own_doctor, patient=self.own_patient,
                                                start_at=TUESDAY_10, reason="Own reason")
        self.other_appointment_row = service.book(audit.Actor(self.other_patient.user, "portal"),
                                                  doctor=self.other_doctor_row, patient=self.other_patient,
                                                  start_at=TUESDAY_10, reason="Secret other reason")
        self.other_entry_row, self.other_offer_row = _waitlist_entry_with_offer(self.other_patient,
                                                                                self.other_doctor_row)
        self.other_time_off_row = add_time_off(self.other_doctor_row, datetime(2026, 6, 20, tzinfo=timezone.utc),
                                               datetime(2026, 6, 21, tzinfo=timezone.utc))
        db.session.commit()
        self.other_appointment = self.other_appointment_row.id
        self.other_doctor = self.other_doctor_row.id
        self.inactive_doctor = self.inactive_doctor_row.id
        self.other_time_off = self.other_time_off_row.id
        self.other_entry = self.other_entry_row.id
        self.other_offer = self.other_offer_row.id

    def snapshot(self):
        """Everything of the other doctor and patient a refused request might have changed."""
        db.session.expire_all()
        appointment = db.session.get(Appointment, self.other_appointment)
        doctor_id = self.other_doctor
        return {
            "appointment": (appointment.status, appointment.start_at, appointment.needs_attention,
                            appointment.reason),
            "hours": db.session.scalar(select(func.count()).select_from(WeeklyHours)
                                       .where(WeeklyHours.doctor_id == doctor_id)),
            "one_offs": db.session.scalar(select(func.count()).select_from(DateOverride)
                                          .where(DateOverride.doctor_id == doctor_id)),
            "time_off": db.session.scalar(select(func.count()).select_from(TimeOff)
                                          .where(TimeOff.doctor_id == doctor_id)),
            "length": (self.other_doctor_row.appointment_minutes, self.other_doctor_row.buffer_minutes),
            "waitlist": (db.session.get(WaitlistEntry, self.other_entry).status,
                         db.session.get(WaitlistOffer, self.other_offer).status),
        }


def _waitlist_entry_with_offer(patient, doctor):
    """The other patient waits for their doctor and has an open offer of Wednesday 11:00."""
    from carebook import waitlist
    from carebook.waitlist import entries

    entry = entries.join(db.session, audit.Actor(patient.user, "portal"), patient,
                         entries.Wish(earliest_date=WEDNESDAY_11.date(), latest_date=WEDNESDAY_11.date(),
                                      doctor=doctor), doctor_timezone())
    [offer] = waitlist.offering_rules().offer_freed(doctor.id, WEDNESDAY_11, WEDNESDAY_11 + timedelta(minutes=30))
    return entry, offer


def doctor_timezone():
    from flask import current_app

    return current_app.config["CLINIC"].timezone


def _url(rule, world: World, role: Role) -> str | None:
    values = {}
    for name in path_arguments(rule):
        if name in FOREIGN:
            attribute = FOREIGN[name].get(role)
            if attribute is None:
                return None
            values[name] = getattr(world, attribute)
        else:
            values[name] = SCOPED[name]
    if not any(name in FOREIGN for name in values):
        return None  # only the actor's own calendar is named: nothing foreign to try
    return rule.build(values, append_unknown=False)[1]


#: Bodies that a route would act on if it forgot the object check.
FORM_DATA = {
    "start_at": WEDNESDAY_11.isoformat(), "reason": "changed", "outcome": "completed", "choice": "keep",
    "valid_from": "2026-06-15", "monday-0-start": "10:00", "monday-0-end": "12:00",
    "length-appointment_minutes": "20", "length-buffer_minutes": "5",
}
JSON_BODY = {"start_at": "2026-06-03T10:00:00Z", "reason": "changed"}


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR])
def test_someone_elses_object_is_404_and_untouched_on_every_route(app, role):
    world = World()
    actor = world.own_patient.user if role is Role.PATIENT else world.own_doctor.user
    client = app.test_client()
    assert client.login(actor.email).status_code == 302
    before = world.snapshot()
    tried, failures = [], []
    for rule, method in object_routes(app):
        if role not in (access.allowed_roles(app, rule.endpoint) or ()):
            continue
        url = _url(rule, world, role)
        if url is None:
            continue
        if rule.endpoint.startswith("api."):
            response = client.api(method, url, json=JSON_BODY if method == "POST" else None)
        elif method == "POST":
            response = client.submit(url, FORM_DATA)
        else:
            response = client.get(url)
        tried.append(f"{method} {url}")
        body = response.get_data(as_text=True)
        if response.status_code != 404:
            failures.append(f"{method} {url} as {role.value}: {response.status_code}")
        if "Xavier Otherpatient" in body or "Secret other reason" in body:
            failures.append(f"{method} {url} as {role.value} shows the other patient's data")
    assert failures == []
    assert world.snapshot() == before
    expected = {Role.PATIENT: 9, Role.DOCTOR: 16}[role]
    assert len(tried) >= expected, tried


def test_staff_reach_every_doctors_calendar_and_appointment(app):
    world = World()
    staff = make_staff()
    db.session.commit()
    client = app.test_client()
    client.login(staff.email)
    assert client.get(f"/doctor/{world.other_doctor}/week").status_code == 200
    assert client.get(f"/doctor/appointments/{world.other_appointment}").status_code == 200


def test_a_doctor_sees_their_own_patients_and_no_one_elses(app):
    world = World()
    client = app.test_client()
    client.login(world.own_doctor.user.email)
    day = client.get("/doctor/?day=2026-06-02").get_data(as_text=True)
    assert "Olive Ownpatient" in day and "Xavier Otherpatient" not in day
    week = client.get("/doctor/week?week=2026-06-02").get_data(as_text=True)
    assert "Olive Ownpatient" in week and "Xavier Otherpatient" not in week


def test_a_patient_lists_only_their_own_appointments(app):
    world = World()
    client = app.test_client()
    client.login(world.own_patient.user.email)
    page = client.get("/appointments").get_data(as_text=True)
    assert "Dr Own Doctor" in page and "Dr Other Doctor" not in page
    listed = client.get("/api/appointments").get_json()
    assert [a["id"] for a in listed] == [world.own_appointment_row.id]
