"""Everything held about a patient, gathered for them (GDPR Art. 15, HIPAA right of access)."""
from __future__ import annotations

import json

from flask import current_app
from sqlalchemy import select, text

from carebook import audit, clock
from carebook.extensions import db
from carebook.patient_data import export
from models import AuditEntry, RecoveryCode
from tests.carebook.patient_data.history import (BORN, EMAIL, NAME, NEXT_REASON, NEXT_VISIT, PAST_REASON, PAST_VISIT,
                                                 PHONE, patient_with_history)
from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD, TOTP_SECRET, enrol_two_factor, make_patient, make_staff


def collected(patient) -> export.PatientData:
    return export.collect(db.session, patient, clinic=current_app.config["CLINIC"], now=clock.utcnow())


def test_it_holds_the_account_and_contact_details(app):
    history = patient_with_history(app)
    data = collected(history.patient).as_json()
    assert data["format"] == "carebook-patient-data" and data["version"] == 1
    assert data["account"]["email"] == EMAIL and data["account"]["full_name"] == NAME
    assert data["account"]["role"] == "patient" and data["account"]["can_sign_in"] is True
    assert data["contact_details"] == {"patient_id": history.patient.id, "date_of_birth": BORN.isoformat(),
                                       "phone": PHONE}
    assert data["generated_at"] == DEFAULT_NOW.isoformat()


def test_it_holds_every_appointment_with_doctor_status_and_the_reason_typed(app):
    history = patient_with_history(app)
    appointments = collected(history.patient).as_json()["appointments"]
    assert [(a["start_at"], a["doctor"], a["specialty"], a["status"], a["reason"], a["booked_by"])
            for a in appointments] == [
        (PAST_VISIT.isoformat(), "Dr Ada Lovelace", "General practice", "completed", PAST_REASON, "you"),
        (NEXT_VISIT.isoformat(), "Dr Ada Lovelace", "General practice", "booked", NEXT_REASON, "you"),
    ]


def test_it_holds_the_emails_and_reminders_sent_and_when(app):
    history = patient_with_history(app)
    messages = collected(history.patient).as_json()["messages"]
    past = [(m["message"], m["status"]) for m in messages if m["appointment_id"] == history.past.id]
    assert ("Booking confirmation email", "done") in past
    assert ("Reminder email scheduled", "done") in past
    [sent] = [m for m in messages if m["message"] == "Reminder email"]
    assert sent["appointment_id"] == history.past.id and sent["status"] == "sent"
    assert sent["done_at"].startswith("2026-05-18T09:01")  # 24 hours before the visit, when the worker ran
    upcoming = [(m["message"], m["status"]) for m in messages if m["appointment_id"] == history.upcoming.id]
    assert ("Reminder email due", "scheduled") in upcoming


def test_it_holds_the_sign_in_history_with_the_addresses(app, client):
    history = patient_with_history(app)
    client.login(EMAIL, "not the password")
    client.login(EMAIL)
    events = collected(history.patient).as_json()["sign_in_history"]
    assert [e["code"] for e in events] == ["auth.login_failed", "auth.login_succeeded"]
    assert events[1]["event"] == "Signed in" and events[1]["through"] == "website" and events[1]["by"] == "you"
    assert events[1]["details"]["address"] == "127.0.0.1" and events[1]["details"]["method"] == "password"
    assert len(collected(history.patient).sessions) == 1


def test_the_account_history_says_the_clinic_acted_without_naming_the_staff_member(app):
    history = patient_with_history(app)
    staff = make_staff(name="Stella Staffmember")
    audit.record(db.session, audit.Actor(staff, "admin"), "patient.updated", "patient", history.patient.id,
                 fields=["phone"])
    data = collected(history.patient).as_json()
    [change] = [e for e in data["account_history"] if e["code"] == "patient.updated"]
    assert change["by"] == "the clinic" and change["details"] == {"fields": ["phone"]}
    assert "Stella" not in json.dumps(data)


def test_it_holds_no_secret_and_nothing_of_anyone_else(app, client):
    history = patient_with_history(app)
    enrol_two_factor(history.patient.user)
    db.session.add(RecoveryCode(user_id=history.patient.user.id, code_hash="f" * 64))
    other = make_patient(name="Olga Otherperson", email="olga@example.test")
    db.session.commit()
    client.login(EMAIL, secret=TOTP_SECRET)
    data = json.dumps(collected(history.patient).as_json())
    user = history.patient.user
    session_ids = db.session.scalars(text("SELECT id FROM user_sessions")).all()
    for secret in (TOTP_SECRET, PASSWORD, user.password_hash, "f" * 64, *session_ids):
        assert secret not in data
    assert "Olga" not in data and other.user.email not in data
    assert collected(history.patient).account.recovery_codes_left == 1


def test_each_copy_is_audited_without_the_data(app):
    history = patient_with_history(app)
    export.record_export(db.session, audit.Actor(history.patient.user, "portal"), history.patient, "json")
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.data_exported")).all()
    assert (row.entity_type, row.entity_id, row.actor_id, row.source, row.details) == (
        "patient", history.patient.id, history.patient.user.id, "portal", {"format": "json"})
