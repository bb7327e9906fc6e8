"""Everything held about a patient, gathered for them (GDPR Art. 15, HIPAA right of access)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from flask import current_app
from sqlalchemy import select, text

from carebook import audit, clock
from carebook.extensions import db
from carebook.patient_data import export
from carebook.services import booking_service
from carebook.waitlist import entries
from models import AuditEntry, ContactPreference, Patient, RecoveryCode
from models.waitlist import WaitlistOffer
from reminders import deliveries
from reminders.relay import relay_once
from tests.carebook.patient_data.history import (BORN, EMAIL, NAME, NEXT_REASON, NEXT_VISIT, PAST_REASON, PAST_VISIT,
                                                 STORED_PHONE, patient_with_history)
from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD, TOTP_SECRET, enrol_two_factor, make_patient, make_staff


def collected(patient) -> export.PatientData:
    return export.collect(db.session, patient, clinic=current_app.config["CLINIC"], now=clock.utcnow())


def test_it_holds_the_account_and_contact_details(app):
    history = patient_with_history(app)
    data = collected(history.patient).as_json()
    assert data["format"] == "carebook-patient-data" and data["version"] == 2
    assert data["account"]["email"] == EMAIL and data["account"]["full_name"] == NAME
    assert data["account"]["role"] == "patient" and data["account"]["can_sign_in"] is True
    assert data["contact_details"] == {"patient_id": history.patient.id, "date_of_birth": BORN.isoformat(),
                                       "phone": STORED_PHONE, "contact_preference": "email"}
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


# -- the waitlist, delivery records and the contact choice (format version 2) ------------------------


def test_the_contact_details_hold_how_they_chose_to_hear_from_the_clinic(app):
    history = patient_with_history(app)
    history.patient.contact_preference = ContactPreference.BOTH
    db.session.commit()
    assert collected(history.patient).as_json()["contact_details"]["contact_preference"] == "both"


def waitlisted(app, history):
    """Jane waits for Dr Lovelace on 4 June (herself) and for any GP in June (added by a receptionist named Stella);
    Olga cancels Thursday 10:00, which is offered to Jane. Returns (own entry, staff's entry, offer)."""
    staff = make_staff(name="Stella Staffmember")
    other = make_patient(name="Olga Otherperson", email="olga@example.test")
    db.session.commit()
    thursday = datetime(2026, 6, 4, 9, 0, tzinfo=timezone.utc)
    booked = booking_service().book(audit.Actor(other.user, "portal"), doctor=history.doctor, patient=other,
                                    start_at=thursday)
    tz = current_app.config["CLINIC"].timezone
    own = entries.join(db.session, audit.Actor(history.patient.user, "portal"), history.patient,
                       entries.Wish(earliest_date=date(2026, 6, 4), latest_date=date(2026, 6, 4), doctor=history.doctor,
                                    times_of_day=0b001, min_notice_minutes=180), tz)
    by_staff = entries.join(db.session, audit.Actor(staff, "admin"), history.patient,
                            entries.Wish(earliest_date=date(2026, 6, 8), latest_date=date(2026, 6, 30),
                                         specialty="General practice", weekdays=0b0000011), tz)
    db.session.commit()
    booking_service().cancel(audit.Actor(other.user, "portal"), booked)
    db.session.commit()
    relay_once(app)  # the offer is made and its email sent
    relay_once(app)
    [offer] = db.session.scalars(select(WaitlistOffer)).all()
    return own, by_staff, offer


def test_it_holds_every_waitlist_entry_with_what_they_waited_for(app):
    history = patient_with_history(app)
    own, by_staff, _ = waitlisted(app, history)
    data = collected(history.patient).as_json()
    assert [e["id"] for e in data["waitlist_entries"]] == [own.id, by_staff.id]
    first, second = data["waitlist_entries"]
    assert first == {
        "id": own.id, "waited_for": "Dr Ada Lovelace", "doctor": "Dr Ada Lovelace", "specialty": "General practice",
        "type": "the usual appointment", "earliest_date": "2026-06-04", "latest_date": "2026-06-04",
        "weekdays": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        "times_of_day": ["Morning"], "min_notice_minutes": 180, "earlier_than_appointment_id": None,
        "status": "active", "created_at": DEFAULT_NOW.isoformat(), "ended_at": None, "added_by": "you"}
    assert (second["waited_for"], second["doctor"], second["weekdays"], second["added_by"]) == (
        "any General practice doctor", None, ["Monday", "Tuesday"], "the clinic")


def test_an_earlier_time_request_names_the_appointment_it_would_move(app):
    history = patient_with_history(app)
    entry = entries.join_earlier(db.session, audit.Actor(history.patient.user, "portal"), history.patient,
                                 history.upcoming, current_app.config["CLINIC"].timezone)
    db.session.commit()
    [record] = collected(history.patient).as_json()["waitlist_entries"]
    assert (record["id"], record["earlier_than_appointment_id"]) == (entry.id, history.upcoming.id)


def test_it_holds_every_offer_made_to_them(app):
    history = patient_with_history(app)
    own, _, offer = waitlisted(app, history)
    [record] = collected(history.patient).as_json()["waitlist_offers"]
    assert record == {
        "id": offer.id, "entry_id": own.id, "doctor": "Dr Ada Lovelace", "specialty": "General practice",
        "start_at": "2026-06-04T09:00:00+00:00", "end_at": offer.end_at.isoformat(),
        "sent_at": DEFAULT_NOW.isoformat(), "held_until": offer.expires_at.isoformat(), "status": "pending",
        "channels": ["email"], "offered_by": "the clinic's system", "claimed_at": None, "appointment_id": None,
        "closed_at": None}


def test_the_messages_hold_each_delivery_of_their_appointments_and_offers_per_channel(app):
    history = patient_with_history(app)
    _, _, offer = waitlisted(app, history)
    deliveries.record(db.session, appointment_id=history.upcoming.id, message_id="outbox-1", event="confirmation",
                      channel="sms", outcome="skipped", detail="no_mobile")
    db.session.commit()
    messages = collected(history.patient).as_json()["messages"]
    [offered] = [m for m in messages if m["offer_id"] == offer.id]
    assert (offered["appointment_id"], offered["message"], offered["channel"], offered["status"]) == (
        None, "Waitlist offer by email", "email", "sent")
    assert offered["done_at"] == DEFAULT_NOW.isoformat()
    [skipped] = [m for m in messages if m["channel"] == "sms"]
    assert (skipped["appointment_id"], skipped["message"], skipped["status"], skipped["detail"]) == (
        history.upcoming.id, "Booking confirmation by text message (SMS)", "not sent", "no mobile number")
    past = [(m["message"], m["status"]) for m in messages if m["appointment_id"] == history.past.id]
    assert ("Booking confirmation by email", "sent") in past


def test_the_waitlist_part_holds_nothing_of_anyone_else_nor_the_staff_members_name(app):
    history = patient_with_history(app)
    waitlisted(app, history)
    other = db.session.scalars(select(Patient).where(Patient.id != history.patient.id)).first()
    entries.join(db.session, audit.Actor(other.user, "portal"), other,
                 entries.Wish(earliest_date=date(2026, 6, 4), latest_date=date(2026, 6, 4), doctor=history.doctor),
                 current_app.config["CLINIC"].timezone)
    deliveries.record(db.session, appointment_id=None, message_id="waitlist-offer-999", event="waitlist_offer",
                      channel="sms", outcome="sent")
    db.session.commit()
    data = collected(history.patient).as_json()
    text_of_it = json.dumps(data)
    assert "Stella" not in text_of_it and "Olga" not in text_of_it and "olga@example.test" not in text_of_it
    assert len(data["waitlist_entries"]) == 2 and len(data["waitlist_offers"]) == 1
    assert all(m["offer_id"] != 999 for m in data["messages"])


def test_the_page_shows_the_waitlist_the_deliveries_and_the_contact_choice(app):
    history = patient_with_history(app)
    waitlisted(app, history)
    page = _rendered(collected(history.patient))
    assert "any General practice doctor" in page and "Times offered from the waitlist (1)" in page
    assert "Waitlist offer by email" in page and "How the clinic contacts you" in page and "By email" in page


def _rendered(data) -> str:
    clinic = current_app.config["CLINIC"]
    template = current_app.jinja_env.from_string(
        "{% import 'patient_data/_report.html' as r with context %}{{ r.report(data) }}")
    return template.render(data=data, clinic=clinic, timezone_name=clinic.timezone.key)
