"""Doctors and appointment types: they see the types they offer and change their own length where staff allow it."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from models import AuditEntry, DoctorAppointmentType
from tests.factories import make_doctor, make_patient, make_staff, make_type

TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in London


def _offer(doctor, appointment_type, *, may_change: bool) -> DoctorAppointmentType:
    offer = db.session.get(DoctorAppointmentType, (doctor.id, appointment_type.id))
    offer.doctor_may_change_duration = may_change
    db.session.commit()
    return offer


def test_a_doctor_sees_the_types_they_offer(app, client):
    doctor = make_doctor(name="Dr Priya Patel")
    make_type("First visit", minutes=30, doctors=[doctor], description="We get to know you.")
    make_type("Not mine", doctors=[make_doctor(name="Dr Other")])
    db.session.commit()
    client.login(doctor.user.email)
    page = client.get("/doctor/types").get_data(as_text=True)
    assert "First visit" in page and "We get to know you." in page and "Not mine" not in page
    assert "The clinic sets its length." in page and "type-" + "x" not in page


def test_a_doctor_changes_their_own_length_where_staff_allow_it(app, client):
    doctor = make_doctor(name="Dr Priya Patel")
    first_visit = make_type("First visit", minutes=30, doctors=[doctor])
    offer = _offer(doctor, first_visit, may_change=True)
    client.login(doctor.user.email)
    response = client.submit(f"/doctor/types/{first_visit.id}/length", {f"type-{first_visit.id}-duration_minutes": "40"})
    assert response.status_code == 302
    db.session.expire_all()
    assert offer.duration_minutes == 40
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "appointment_type.own_duration_set")).one()
    assert entry.actor_id == doctor.user.id and entry.details["duration_minutes"] == 40
    assert entry.details["appointment_type"] == "First visit"


def test_a_doctor_cannot_change_a_length_the_clinic_sets(app, client):
    doctor = make_doctor()
    first_visit = make_type("First visit", minutes=30, doctors=[doctor])
    offer = _offer(doctor, first_visit, may_change=False)
    client.login(doctor.user.email)
    response = client.submit(f"/doctor/types/{first_visit.id}/length", {f"type-{first_visit.id}-duration_minutes": "40"})
    assert response.status_code == 400
    assert "The clinic sets the length of this type" in response.get_data(as_text=True)
    db.session.expire_all()
    assert offer.duration_minutes is None


def test_an_own_length_out_of_range_is_refused(app, client):
    doctor = make_doctor()
    first_visit = make_type("First visit", minutes=30, doctors=[doctor])
    _offer(doctor, first_visit, may_change=True)
    client.login(doctor.user.email)
    response = client.submit(f"/doctor/types/{first_visit.id}/length", {f"type-{first_visit.id}-duration_minutes": "500"})
    assert response.status_code == 400 and "Between 5 and 240 minutes." in response.get_data(as_text=True)


def test_staff_change_a_doctors_length_on_their_calendar_pages(app, client):
    doctor = make_doctor()
    first_visit = make_type("First visit", minutes=30, doctors=[doctor])
    offer = _offer(doctor, first_visit, may_change=False)
    staff = make_staff()
    db.session.commit()
    client.login(staff.email)
    response = client.submit(f"/doctor/{doctor.id}/types/{first_visit.id}/length",
                             {f"type-{first_visit.id}-duration_minutes": "45"})
    assert response.status_code == 302
    db.session.expire_all()
    assert offer.duration_minutes == 45


def test_the_week_calendar_shows_each_appointments_type_and_colour(app, client):
    doctor = make_doctor()
    follow_up = make_type("Follow-up", minutes=15, doctors=[doctor], colour="#6f42c1")
    patient = make_patient(name="Pat Patient")
    booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                           appointment_type=follow_up)
    db.session.commit()
    client.login(doctor.user.email)
    page = client.get("/doctor/week").get_data(as_text=True)
    assert "type-edge-purple" in page
    assert '<span class="type-badge type-colour-purple appointment-type">Follow-up</span>' in page
