"""Patients without email, phone numbers in E.164, and how each patient wants to hear from the clinic."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from carebook import accounts
from carebook.accounts import AccountError
from carebook.extensions import db
from models import ContactPreference, Role, User
from models.users import ContactPreferenceError
from tests.factories import SYSTEM, make_patient, make_phone_patient


def register(**overrides):
    values = {"email": None, "password": None, "full_name": "Olive Older", "date_of_birth": date(1938, 4, 1),
              "phone": "07700 900456"}
    return accounts.register_patient(db.session, SYSTEM, **{**values, **overrides})


def test_a_patient_can_be_registered_without_email_and_is_reached_by_sms(app):
    patient = register()
    assert (patient.user.email, patient.phone, patient.contact_preference) == (
        None, "+447700900456", ContactPreference.SMS)


def test_two_patients_without_email_do_not_collide_but_addresses_stay_unique_in_any_case(app):
    register(full_name="One")
    register(full_name="Two", phone="07700 900457")
    make_patient(email="taken@example.test")
    with pytest.raises(AccountError, match="already exists"):
        register(email="TAKEN@example.test")


def test_a_blank_email_counts_as_none(app):
    assert register(email="   ").user.email is None


def test_a_self_registration_with_a_password_needs_an_email(app):
    with pytest.raises(AccountError) as refused:
        register(password="a long enough passphrase")
    assert refused.value.field == "email"


def test_doctors_and_staff_always_have_an_email(app):
    with pytest.raises(AccountError):
        accounts.create_user(db.session, SYSTEM, email=None, full_name="No Mail", role=Role.STAFF, password=None)


def test_a_bad_phone_number_is_refused_on_the_phone_field_and_nothing_is_saved(app):
    with pytest.raises(AccountError) as refused:
        register(phone="0770")
    assert refused.value.field == "phone" and "not a valid phone number" in refused.value.message
    db.session.rollback()
    assert db.session.scalars(select(User)).all() == []


@pytest.mark.parametrize("choice", ["email", "both", ContactPreference.EMAIL])
def test_a_patient_without_email_cannot_choose_email(app, choice):
    with pytest.raises(AccountError) as refused:
        register(contact_by=choice)
    assert refused.value.field == "contact_preference"
    patient = make_phone_patient()
    with pytest.raises(AccountError):
        accounts.update_contact(db.session, patient, contact_by=choice)
    assert patient.contact_preference is ContactPreference.SMS


def test_the_model_refuses_email_for_a_patient_without_email_whatever_the_door(app):
    patient = make_phone_patient()
    patient.contact_preference = ContactPreference.BOTH
    with pytest.raises(ContactPreferenceError):
        db.session.flush()


def test_a_patient_with_email_chooses_any_channel_and_gets_email_by_default(app):
    patient = make_patient(email="choosy@example.test")
    assert patient.contact_preference is ContactPreference.EMAIL
    for choice in ("sms", "both", "email"):
        assert accounts.update_contact(db.session, patient, contact_by=choice) == ["contact_preference"]
        assert patient.contact_preference.value == choice
    with pytest.raises(AccountError, match="Choose email, SMS or both"):
        accounts.update_contact(db.session, patient, contact_by="pigeon")


def test_a_new_number_is_stored_in_e164_and_clears_the_staff_flag(app):
    patient = make_patient()
    patient.phone, patient.phone_needs_check = "ring the ward", True
    assert accounts.update_contact(db.session, patient, phone="+33 6 12 34 56 78") == ["phone"]
    assert (patient.phone, patient.phone_needs_check) == ("+33612345678", False)
    assert accounts.update_contact(db.session, patient, phone="+33612345678") == []


def test_a_patient_without_email_cannot_sign_in_or_be_found_by_an_empty_address(app):
    register()
    assert accounts.user_by_email(db.session, "") is None
    assert accounts.authenticate(db.session, "", "") is None


def test_numbers_are_read_in_the_clinic_region_setting(app):
    app.config["CLINIC"] = type(app.config["CLINIC"])(**{**app.config["CLINIC"].__dict__, "phone_region": "FR"})
    assert register(phone="06 12 34 56 78").phone == "+33612345678"
