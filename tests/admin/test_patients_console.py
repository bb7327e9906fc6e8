"""Patients in the console: created for a phone booking (no password), found, edited, and their history."""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from carebook.extensions import db
from models import AuditEntry, Patient
from tests.admin.conftest import TUESDAY, book, local
from tests.factories import make_doctor, make_patient

NEW_PATIENT = {"full_name": "Phoebe Phone", "email": "Phoebe@Example.com", "phone": "07700 900555",
               "date_of_birth": "1985-03-14"}


def test_staff_create_a_patient_without_a_password(app, staff_client):
    response = staff_client.submit("/admin/patients/new/", NEW_PATIENT)
    assert response.status_code == 302
    patient = db.session.scalars(select(Patient)).one()
    assert (patient.name, patient.user.email, patient.date_of_birth) == ("Phoebe Phone", "phoebe@example.com",
                                                                         date(1985, 3, 14))
    assert patient.user.password_hash is None
    assert response.headers["Location"].endswith(f"/admin/patients/{patient.id}/")


def test_a_new_phone_patient_is_booked_and_the_booking_is_in_their_history(app, staff_client):
    doctor = make_doctor(name="Dr Grace Hopper")
    db.session.commit()
    staff_client.submit("/admin/patients/new/", NEW_PATIENT)
    patient = db.session.scalars(select(Patient)).one()
    staff_client.submit("/admin/appointments/book/", {"patient_id": patient.id, "doctor_id": doctor.id,
                                                      "day": TUESDAY.isoformat(),
                                                      "start_at": local(TUESDAY, 10).isoformat()})
    history = staff_client.get(f"/admin/patients/{patient.id}/").get_data(as_text=True)
    assert "Tue 2 Jun, 10:00" in history and "Dr Grace Hopper" in history


def test_creating_a_patient_from_the_booking_page_carries_on_booking(app, staff_client):
    doctor = make_doctor()
    db.session.commit()
    back = f"/admin/appointments/book/?doctor_id={doctor.id}&day={TUESDAY.isoformat()}"
    response = staff_client.submit("/admin/patients/new/?" + f"url={back.replace('&', '%26')}", NEW_PATIENT)
    patient = db.session.scalars(select(Patient)).one()
    location = urlsplit(response.headers["Location"])
    assert location.path == "/admin/appointments/book/"
    assert parse_qs(location.query) == {"doctor_id": [str(doctor.id)], "day": [TUESDAY.isoformat()],
                                        "patient_id": [str(patient.id)]}


def test_a_patient_email_taken_in_another_case_is_refused(app, staff_client):
    make_patient(email="phoebe@example.com")
    db.session.commit()
    response = staff_client.submit("/admin/patients/new/", NEW_PATIENT)
    assert "An account with this email address already exists." in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Patient)).all()) == 1


def test_staff_edit_a_patients_contact_details(app, staff_client):
    patient = make_patient(name="Pat Old", phone="07700 900000")
    db.session.commit()
    response = staff_client.submit(f"/admin/patients/edit/?id={patient.id}", {
        "full_name": "Pat New", "email": "PAT.NEW@example.com", "phone": "07700 900999",
        "date_of_birth": patient.date_of_birth.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    assert (patient.name, patient.user.email, patient.phone) == ("Pat New", "pat.new@example.com", "07700 900999")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.updated")).one()
    assert entry.source == "admin" and set(entry.details["fields"]) == {"full_name", "email", "phone"}


def test_editing_to_another_patients_email_in_another_case_is_refused(app, staff_client):
    make_patient(email="taken@example.com")
    patient = make_patient(email="mine@example.com")
    db.session.commit()
    response = staff_client.submit(f"/admin/patients/edit/?id={patient.id}", {
        "full_name": patient.name, "email": "Taken@Example.COM", "phone": patient.phone,
        "date_of_birth": patient.date_of_birth.isoformat()})
    assert "An account with this email address already exists." in response.get_data(as_text=True)
    db.session.expire_all()
    assert patient.user.email == "mine@example.com"


def test_patients_are_found_by_name_phone_or_date_of_birth(app, staff_client):
    make_patient(name="Wanted Person", phone="07700 900123", date_of_birth=date(1971, 2, 3))
    make_patient(name="Other Person", phone="07700 900999", date_of_birth=date(1990, 1, 1))
    db.session.commit()
    for search in ("wanted", "07700900123", "1971-02-03", "03/02/1971"):
        page = staff_client.get("/admin/patients/", query_string={"search": search}).get_data(as_text=True)
        assert "Wanted Person" in page and "Other Person" not in page, search


def test_a_patients_login_can_be_deactivated_but_not_the_patient_deleted(app, staff_client):
    patient = make_patient()
    db.session.commit()
    staff_client.submit(f"/admin/patients/{patient.id}/login/", {"active": "0"})
    staff_client.submit("/admin/patients/delete/", {"id": patient.id})
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).user.is_active is False


def test_the_deactivate_action_asks_first_naming_the_selected_patients(app, staff_client):
    chosen, other = make_patient(name="Chosen One"), make_patient(name="Other One")
    db.session.commit()
    response = staff_client.submit("/admin/patients/action/", {"action": "deactivate", "rowid": [chosen.id]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Deactivate 1 login?" in page
    assert "Chosen One" in page and "Other One" not in page
    db.session.expire_all()
    assert chosen.user.is_active is True


def test_the_deactivate_action_disables_the_selected_logins_once_confirmed(app, staff_client):
    chosen, other = make_patient(), make_patient()
    db.session.commit()
    staff_client.submit("/admin/patients/action/", {"action": "deactivate", "rowid": [chosen.id], "confirmed": "1"})
    db.session.expire_all()
    assert chosen.user.is_active is False and other.user.is_active is True


def test_the_history_lists_past_and_cancelled_appointments_too(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    staff_client.submit(f"/admin/appointments/{appointment.id}/cancel/", {"cancel_reason": "Changed plans"})
    page = staff_client.get(f"/admin/patients/{patient.id}/").get_data(as_text=True)
    assert "No upcoming appointments" in page and "Cancelled" in page
