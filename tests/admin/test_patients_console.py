"""Patients in the console: created for a phone booking (no password), found, edited, and their history."""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from carebook.extensions import db
from models import AuditEntry, Patient
from tests.admin.conftest import TUESDAY, book, local
from tests.factories import make_doctor, make_patient, make_phone_patient

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
    assert (patient.name, patient.user.email, patient.phone) == ("Pat New", "pat.new@example.com", "+447700900999")  # E.164
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


PHONE_ONLY = {"full_name": "Olive Older", "email": "", "phone": "07700 900456", "date_of_birth": "1938-04-01"}


def test_staff_create_a_patient_with_no_email_and_book_for_them(app, staff_client):
    doctor = make_doctor(name="Dr Grace Hopper")
    db.session.commit()
    response = staff_client.submit("/admin/patients/new/", PHONE_ONLY)
    assert response.status_code == 302
    patient = db.session.scalars(select(Patient)).one()
    assert (patient.user.email, patient.phone, patient.contact_preference.value) == (None, "+447700900456", "sms")
    booked = staff_client.submit("/admin/appointments/book/", {"patient_id": patient.id, "doctor_id": doctor.id,
                                                               "day": TUESDAY.isoformat(),
                                                               "start_at": local(TUESDAY, 10).isoformat()})
    assert booked.status_code == 302
    history = staff_client.get(f"/admin/patients/{patient.id}/").get_data(as_text=True)
    assert "Tue 2 Jun, 10:00" in history and "No email, no login" in history and "Text message" in history


def test_a_patient_without_email_cannot_be_set_to_hear_by_email_in_the_console(app, staff_client):
    response = staff_client.submit("/admin/patients/new/", {**PHONE_ONLY, "contact_preference": "both"})
    assert response.status_code == 200
    assert "Without an email address the clinic can only send text messages" in response.get_data(as_text=True)
    assert db.session.scalars(select(Patient)).all() == []


@pytest.mark.parametrize("phone, message", [("0770 090", "not a valid phone number for GB"),
                                            ("call me", "Use digits, spaces, brackets or dashes"),
                                            ("", "Enter a phone number.")])
def test_a_bad_number_gets_a_clear_error_in_the_console(app, staff_client, phone, message):
    response = staff_client.submit("/admin/patients/new/", {**NEW_PATIENT, "phone": phone})
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(Patient)).all() == []


def test_the_list_shows_numbers_as_people_write_them_and_flags_unreadable_ones(app, staff_client):
    make_patient(name="Ann Abroad", phone="+33 6 12 34 56 78")
    home = make_patient(name="Hal Home", phone="020 7946 0018")
    odd = make_phone_patient(name="Ola Odd")
    odd.phone, odd.phone_needs_check = "ring the ward", True
    db.session.commit()
    page = staff_client.get("/admin/patients/").get_data(as_text=True)
    assert "+33 6 12 34 56 78" in page and "020 7946 0018" in page and "+442079460018" not in page
    assert "Check this number" in page and "No email" in page
    assert "Hal Home" in staff_client.get("/admin/patients/", query_string={"search": "02079460018"}).get_data(
        as_text=True)
    assert home.phone == "+442079460018"


def test_the_edit_form_shows_the_number_as_people_write_it_and_saving_clears_the_flag(app, staff_client):
    patient = make_patient(email="flagged@example.com", phone="07700 900123")
    patient.phone, patient.phone_needs_check = "07700 90012x", True
    db.session.commit()
    form = staff_client.get(f"/admin/patients/edit/?id={patient.id}").get_data(as_text=True)
    assert 'value="07700 90012x"' in form
    response = staff_client.submit(f"/admin/patients/edit/?id={patient.id}", {
        "full_name": patient.name, "email": patient.user.email, "phone": "07700 900124",
        "date_of_birth": patient.date_of_birth.isoformat(), "contact_preference": "both"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (patient.phone, patient.phone_needs_check, patient.contact_preference.value) == (
        "+447700900124", False, "both")


def test_an_email_someone_signs_in_with_cannot_be_removed(app, staff_client):
    patient = make_patient(email="keep@example.com")
    db.session.commit()
    response = staff_client.submit(f"/admin/patients/edit/?id={patient.id}", {
        "full_name": patient.name, "email": "", "phone": "07700 900124",
        "date_of_birth": patient.date_of_birth.isoformat(), "contact_preference": "sms"})
    assert "Enter an email address: it is the login." in response.get_data(as_text=True)
    db.session.expire_all()
    assert patient.user.email == "keep@example.com"


def test_the_audit_log_names_a_patient_without_email_and_shows_the_skipped_email(app, staff_client):
    doctor = make_doctor(name="Dr Grace Hopper")
    db.session.commit()
    staff_client.submit("/admin/patients/new/", PHONE_ONLY)
    patient = db.session.scalars(select(Patient)).one()
    staff_client.submit("/admin/appointments/book/", {"patient_id": patient.id, "doctor_id": doctor.id,
                                                      "day": TUESDAY.isoformat(),
                                                      "start_at": local(TUESDAY, 10).isoformat()})
    page = staff_client.get("/admin/audit/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "notification.skipped" in text and "Olive Older" in text
