"""The account page: a patient's phone number (checked, stored in E.164) and how the clinic reaches them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from carebook.extensions import db
from models import AuditEntry, ContactPreference, Patient
from tests.factories import PASSWORD, make_doctor, make_patient


@pytest.fixture
def patient_client(app, client):
    patient = make_patient(email="pat@example.com", phone="07700 900123")
    db.session.commit()
    client.login(patient.user.email)
    return client, patient


def _patient(patient_id) -> Patient:
    db.session.expire_all()
    return db.session.get(Patient, patient_id)


def test_the_account_page_shows_the_number_as_people_write_it_and_the_choice(patient_client):
    client, _ = patient_client
    page = client.get("/account/").get_data(as_text=True)
    assert "07700 900123" in page and "+447700900123" not in page
    assert "By email" in page and 'href="/account/contact"' in page


def test_the_form_starts_from_the_stored_details(patient_client):
    client, _ = patient_client
    page = client.get("/account/contact").get_data(as_text=True)
    assert 'value="07700 900123"' in page
    assert re.search(r'<input checked[^>]*value="email"', page)


def test_a_patient_changes_number_and_choice_and_it_is_audited(patient_client):
    client, patient = patient_client
    response = client.submit("/account/contact", {"phone": "+33 6 12 34 56 78", "contact_preference": "both",
                                                  "current_password": PASSWORD})
    assert response.status_code == 302
    saved = _patient(patient.id)
    assert (saved.phone, saved.contact_preference) == ("+33612345678", ContactPreference.BOTH)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.updated")).one()
    assert entry.source == "portal" and set(entry.details["fields"]) == {"phone", "contact_preference"}
    assert "+33" not in str(entry.details)


def test_a_bad_number_gets_a_clear_error_and_changes_nothing(patient_client):
    client, patient = patient_client
    response = client.submit("/account/contact", {"phone": "0770 090", "contact_preference": "sms",
                                                  "current_password": PASSWORD})
    assert response.status_code == 400
    assert "This is not a valid phone number for GB" in response.get_data(as_text=True)
    saved = _patient(patient.id)
    assert (saved.phone, saved.contact_preference) == ("+447700900123", ContactPreference.EMAIL)


def test_the_change_needs_the_current_password(patient_client):
    client, patient = patient_client
    response = client.submit("/account/contact", {"phone": "07700 900999", "contact_preference": "sms",
                                                  "current_password": "not it"})
    assert response.status_code == 400 and _patient(patient.id).phone == "+447700900123"


def test_an_unknown_choice_is_refused(patient_client):
    client, patient = patient_client
    response = client.submit("/account/contact", {"phone": "07700 900123", "contact_preference": "pigeon",
                                                  "current_password": PASSWORD})
    assert response.status_code == 400 and _patient(patient.id).contact_preference is ContactPreference.EMAIL


def test_doctors_have_no_contact_page(app, client):
    doctor = make_doctor()
    db.session.commit()
    client.login(doctor.user.email)
    assert client.get("/account/contact").status_code == 403


# -- the API -----------------------------------------------------------------------------------


def test_the_api_shows_and_changes_the_contact_details(patient_client):
    client, patient = patient_client
    assert client.get("/api/contact").get_json() == {
        "email": "pat@example.com", "phone": "+447700900123", "phone_display": "07700 900123",
        "contact_preference": "email"}
    response = client.api("POST", "/api/contact", json={"contact_preference": "sms"})
    assert response.status_code == 200 and response.get_json()["contact_preference"] == "sms"
    assert _patient(patient.id).contact_preference is ContactPreference.SMS


def test_the_api_refuses_a_bad_number_on_the_phone_field(patient_client):
    client, patient = patient_client
    response = client.api("POST", "/api/contact", json={"phone": "0770 090"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "not a valid phone number" in error["fields"]["phone"][0]
    assert _patient(patient.id).phone == "+447700900123"


def test_the_api_registration_refuses_a_bad_number_on_the_phone_field(client):
    response = client.api("POST", "/api/patients", json={
        "full_name": "Nia Newcomer", "email": "nia@example.com", "date_of_birth": "1991-02-03",
        "phone": "0770 090 12", "password": "a long and unusual passphrase"})
    assert response.status_code == 422
    assert "not a valid phone number" in response.get_json()["error"]["fields"]["phone"][0]


def test_the_web_registration_refuses_a_bad_number_with_a_clear_message(client):
    response = client.submit("/register", {"full_name": "Nia Newcomer", "email": "nia@example.com",
                                           "date_of_birth": "1991-02-03", "phone": "0770 090 12",
                                           "password": "a long and unusual passphrase"})
    assert response.status_code == 400 and "not a valid phone number for GB" in response.get_data(as_text=True)
