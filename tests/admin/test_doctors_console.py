"""Doctors in the console: created with their login, edited, deactivated instead of deleted."""
from __future__ import annotations

from sqlalchemy import select

from carebook.extensions import db
from models import AuditEntry, Doctor, User
from tests.admin.conftest import TUESDAY, book, local
from tests.factories import make_doctor, make_patient

NEW_DOCTOR = {"full_name": "Dr Rosalind Franklin", "email": "Rosalind@Example.com", "specialty": "Radiology",
              "appointment_minutes": "20", "buffer_minutes": "5", "password": "x-ray crystallography 51"}


def test_staff_create_a_doctor_who_can_then_log_in(app, staff_client, client):
    response = staff_client.submit("/admin/doctors/new/", NEW_DOCTOR)
    assert response.status_code == 302
    doctor = db.session.scalars(select(Doctor)).one()
    assert (doctor.name, doctor.user.email, doctor.specialty) == ("Dr Rosalind Franklin", "rosalind@example.com",
                                                                  "Radiology")
    assert (doctor.appointment_minutes, doctor.buffer_minutes) == (20, 5)
    assert response.headers["Location"].endswith(f"/admin/doctors/{doctor.id}/")
    other_browser = app.test_client()
    assert other_browser.login("rosalind@example.com", NEW_DOCTOR["password"]).status_code == 302


def test_a_weak_initial_password_is_refused(app, staff_client):
    response = staff_client.submit("/admin/doctors/new/", {**NEW_DOCTOR, "password": "password123"})
    assert response.status_code == 200  # the form again, with the error
    assert "This password is too common" in response.get_data(as_text=True)
    assert db.session.scalars(select(Doctor)).all() == []


def test_an_email_already_in_use_in_another_case_is_refused(app, staff_client):
    make_patient(email="rosalind@example.com")
    db.session.commit()
    response = staff_client.submit("/admin/doctors/new/", NEW_DOCTOR)
    assert "An account with this email address already exists." in response.get_data(as_text=True)
    assert db.session.scalars(select(Doctor)).all() == []


def test_staff_edit_a_doctors_profile_and_appointment_length(app, staff_client):
    doctor = make_doctor(name="Dr Old Name", minutes=30, email="old.name@example.com")
    db.session.commit()
    response = staff_client.submit(f"/admin/doctors/edit/?id={doctor.id}", {
        "full_name": "Dr New Name", "email": doctor.user.email, "specialty": "Dermatology",
        "appointment_minutes": "15", "buffer_minutes": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (doctor.name, doctor.specialty, doctor.appointment_minutes) == ("Dr New Name", "Dermatology", 15)
    profile = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "doctor.updated")).one()
    assert profile.source == "admin" and set(profile.details["fields"]) == {"full_name", "specialty"}
    length = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "availability.appointment_length_set")).one()
    assert length.source == "admin" and length.details["previous_appointment_minutes"] == 30


def test_an_appointment_length_out_of_range_is_refused(app, staff_client):
    doctor = make_doctor(minutes=30, email="length@example.com")
    db.session.commit()
    response = staff_client.submit(f"/admin/doctors/edit/?id={doctor.id}", {
        "full_name": doctor.name, "email": doctor.user.email, "specialty": doctor.specialty,
        "appointment_minutes": "500", "buffer_minutes": "0"})
    assert "Number must be between 5 and 240." in response.get_data(as_text=True)
    db.session.expire_all()
    assert doctor.appointment_minutes == 30


def test_deactivating_stops_bookings_disables_the_login_and_lists_future_appointments(app, staff_client):
    doctor = make_doctor(name="Dr Leaving")
    patient = make_patient(name="Still Booked")
    db.session.commit()
    book(doctor, patient, local(TUESDAY, 10))
    response = staff_client.submit(f"/admin/doctors/{doctor.id}/deactivate/", {"disable_login": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert doctor.is_active is False and doctor.user.is_active is False
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Future appointments to handle" in page and "Still Booked" in page
    assert "1 future appointment still booked" in page


def test_a_deactivated_doctor_is_no_longer_bookable(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    staff_client.submit(f"/admin/doctors/{doctor.id}/deactivate/", {})
    response = staff_client.submit("/admin/appointments/book/", {
        "patient_id": patient.id, "doctor_id": doctor.id, "day": TUESDAY.isoformat(),
        "start_at": local(TUESDAY, 10).isoformat()})
    assert response.status_code == 409


def test_deactivating_may_keep_the_doctors_login(app, staff_client):
    doctor = make_doctor()
    db.session.commit()
    staff_client.submit(f"/admin/doctors/{doctor.id}/deactivate/", {})
    db.session.expire_all()
    assert doctor.is_active is False and doctor.user.is_active is True


def test_reactivating_makes_the_doctor_bookable_again(app, staff_client):
    doctor = make_doctor()
    db.session.commit()
    staff_client.submit(f"/admin/doctors/{doctor.id}/deactivate/", {"disable_login": "y"})
    staff_client.submit(f"/admin/doctors/{doctor.id}/reactivate/", {})
    db.session.expire_all()
    assert doctor.is_active is True and doctor.user.is_active is True


def test_doctors_cannot_be_deleted_from_the_console(app, staff_client):
    doctor = make_doctor()
    db.session.commit()
    staff_client.submit("/admin/doctors/delete/", {"id": doctor.id})
    staff_client.submit("/admin/doctors/action/", {"action": "delete", "rowid": doctor.id})
    db.session.expire_all()
    assert db.session.get(Doctor, doctor.id) is not None


def test_the_list_filters_by_specialty(app, staff_client):
    make_doctor(name="Dr Heart", specialty="Cardiology")
    make_doctor(name="Dr Skin", specialty="Dermatology")
    db.session.commit()
    page = staff_client.get("/admin/doctors/", query_string={"flt0_specialty_equals": "Cardiology"})
    assert "Dr Heart" in page.get_data(as_text=True) and "Dr Skin" not in page.get_data(as_text=True)


def test_the_list_searches_by_name(app, staff_client):
    make_doctor(name="Dr Heart")
    make_doctor(name="Dr Skin")
    db.session.commit()
    page = staff_client.get("/admin/doctors/", query_string={"search": "heart"}).get_data(as_text=True)
    assert "Dr Heart" in page and "Dr Skin" not in page


def test_the_list_links_each_doctor_to_their_calendar(app, staff_client):
    doctor = make_doctor()
    db.session.commit()
    page = staff_client.get("/admin/doctors/").get_data(as_text=True)
    assert f'href="/doctor/{doctor.id}/week"' in page


def test_created_doctors_are_audited_as_admin(app, staff_client, staff):
    staff_client.submit("/admin/doctors/new/", NEW_DOCTOR)
    user = db.session.scalars(select(User).where(User.email == "rosalind@example.com")).one()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.created",
                                                        AuditEntry.entity_id == user.id)).one()
    assert (entry.source, entry.actor_id) == ("admin", staff.id)
