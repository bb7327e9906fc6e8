"""Erasing a patient at their request (GDPR Art. 17): identity gone, future cancelled, history kept pseudonymised."""
from __future__ import annotations

import email
import email.policy
import threading
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest
from sqlalchemy import select, text

from carebook import accounts, audit
from carebook.booking import PatientErased
from carebook.extensions import db
from carebook.patient_data import erasure
from carebook.services import booking_service
from models import (Appointment, AppointmentStatus, AuditEntry, IdempotencyRecord, LocalReminder, OutboxKind,
                    OutboxMessage, OutboxStatus, PasswordResetToken, RecoveryCode, User, UserSession)
from models.outbox import ERASE_AFTER_SENDING, ERASED_PAYLOAD
from reminders.relay import relay_once
from reminders.state import get_state
from tests.carebook.patient_data.history import (BORN, EMAIL, NAME, NEXT_REASON, PAST_REASON, STORED_PHONE,
                                                 patient_with_history)
from tests.factories import PASSWORD, enrol_two_factor, make_staff

#: What identifies the patient (or says something about their health) and must be found nowhere after erasure.
IDENTIFYING = (NAME, EMAIL, STORED_PHONE, BORN.isoformat(), PAST_REASON, NEXT_REASON)


@pytest.fixture
def history(app):
    return patient_with_history(app)


@pytest.fixture
def desk(app):
    staff = make_staff(name="Rita Reception")
    db.session.commit()
    return audit.Actor(staff, "admin")


def erase(history, desk) -> erasure.ErasureResult:
    result = erasure.erase_patient(db.session, booking_service(), desk, history.patient)
    db.session.commit()
    return result


def folder_emails(app) -> list[EmailMessage]:
    """The emails the local backend wrote to the mail folder."""
    folder = get_state(app).settings.mail_folder
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))] if folder.exists() else []


def every_value_in_the_database() -> str:
    """Every row of every table, as text."""
    return "\n".join(" | ".join(str(value) for value in row) for table in db.metadata.sorted_tables
                     for row in db.session.execute(text(f"SELECT * FROM {table.name}")))


def test_future_appointments_are_cancelled_through_the_booking_service(app, history, desk):
    result = erase(history, desk)
    assert (result.appointments_cancelled, result.appointments_kept) == (1, 2)
    db.session.expire_all()
    upcoming = db.session.get(Appointment, history.upcoming.id)
    assert upcoming.status is AppointmentStatus.CANCELLED and upcoming.cancelled_by_id == desk.user_id
    [cancelled] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "appointment.cancelled")).all()
    assert cancelled.entity_id == history.upcoming.id and cancelled.actor_id == desk.user_id
    # The booking service's signal wrote the usual rows: remove the reminder, tell the patient.
    kinds = db.session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.appointment_id == history.upcoming.id, OutboxMessage.status == OutboxStatus.PENDING)).all()
    assert sorted(kinds) == sorted([OutboxKind.DELETE_REMINDER, OutboxKind.SEND_CANCELLATION])
    assert db.session.get(Appointment, history.past.id).status is AppointmentStatus.COMPLETED


def test_the_patient_is_told_and_their_reminder_removed_by_the_relay_and_then_the_address_is_gone(app, history, desk):
    assert db.session.scalars(select(LocalReminder.appointment_id)).all() == [history.upcoming.id]
    erase(history, desk)
    relay_once(app)
    cancellations = [m for m in folder_emails(app) if "cancelled" in m["Subject"]]
    assert [m["To"] for m in cancellations] == [EMAIL]
    assert db.session.scalars(select(LocalReminder)).all() == []
    db.session.expire_all()
    payloads = db.session.scalars(select(OutboxMessage.payload).where(OutboxMessage.kind.in_(
        [OutboxKind.SEND_CONFIRMATION, OutboxKind.SEND_CANCELLATION]))).all()
    assert payloads and all(payload == ERASED_PAYLOAD for payload in payloads)


def test_nothing_that_identifies_the_patient_is_left_in_the_database(app, history, desk, client):
    client.login(EMAIL)
    enrol_two_factor(history.patient.user)
    db.session.add_all([RecoveryCode(user_id=history.patient.user.id, code_hash="a" * 64),
                        PasswordResetToken(user_id=history.patient.user.id, token_hash="b" * 64,
                                           expires_at=datetime(2026, 6, 2, tzinfo=timezone.utc)),
                        IdempotencyRecord(user_id=history.patient.user.id, key="k", request_fingerprint="c" * 64,
                                          status_code=201, response_body={"reason": NEXT_REASON})])
    db.session.commit()
    for needle in IDENTIFYING:
        assert needle in every_value_in_the_database(), needle  # (there before)
    erase(history, desk)
    relay_once(app)  # the cancellation email goes, and its row forgets the address
    everything = every_value_in_the_database()
    assert [needle for needle in IDENTIFYING if needle in everything] == []
    for table in (UserSession, RecoveryCode, PasswordResetToken, IdempotencyRecord):
        assert db.session.scalars(select(table)).all() == [], table


def test_the_account_is_pseudonymised_and_can_no_longer_sign_in(app, history, desk, client):
    erase(history, desk)
    db.session.expire_all()
    patient = history.patient
    user = db.session.get(User, patient.user.id)
    assert user.full_name == f"Erased patient #{patient.id}"
    assert user.email == f"erased-patient-{patient.id}@erased.invalid"
    assert (user.password_hash, user.is_active, user.totp_secret, user.totp_enabled_at) == (None, False, None, None)
    assert (patient.date_of_birth, patient.phone, patient.is_erased) == (None, "", True)
    assert accounts.authenticate(db.session, EMAIL, PASSWORD) is None
    response = client.login(EMAIL)
    assert response.status_code == 400 and b"Email or password is not right." in response.data


def test_the_history_keeps_when_with_whom_and_the_outcome_but_no_reason(app, history, desk):
    erase(history, desk)
    db.session.expire_all()
    kept = db.session.scalars(select(Appointment).order_by(Appointment.start_at)).all()
    assert [(a.start_at, a.doctor_id, a.status, a.reason, a.cancellation_reason) for a in kept] == [
        (history.past.start_at, history.doctor.id, AppointmentStatus.COMPLETED, "", ""),
        (history.upcoming.start_at, history.doctor.id, AppointmentStatus.CANCELLED, "", ""),
    ]


def test_the_audit_log_records_that_it_happened_not_what_was_erased(app, history, desk, client):
    client.login(EMAIL)  # a sign-in event with the client's address
    note = audit.Actor(desk.user, "admin")
    audit.record(db.session, note, "doctor.hours_changed", "doctor", history.doctor.id,
                 note=f"moved at the request of {EMAIL}")
    db.session.commit()
    erase(history, desk)
    db.session.expire_all()
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.erased")).all()
    assert (row.entity_type, row.entity_id, row.actor_id, row.source) == ("patient", history.patient.id,
                                                                          desk.user_id, "admin")
    assert row.details == {"appointments_cancelled": 1}
    user_id = history.patient.user.id
    about = db.session.scalars(select(AuditEntry).where(
        (AuditEntry.actor_id == user_id) | ((AuditEntry.entity_type == "user") & (AuditEntry.entity_id == user_id))))
    events = [(entry.action, entry.details) for entry in about]
    assert ("auth.login_succeeded", {"endpoint": "auth.login", "method": "password"}) in events
    assert all("address" not in details for _, details in events)
    [elsewhere] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "doctor.hours_changed")).all()
    assert elsewhere.details == {"note": "moved at the request of [erased]"}


def test_an_erased_patient_cannot_be_erased_again_nor_booked(app, history, desk):
    erase(history, desk)
    with pytest.raises(erasure.ErasureError):
        erasure.erase_patient(db.session, booking_service(), desk, history.patient)
    db.session.rollback()
    with pytest.raises(PatientErased):
        booking_service().book(desk, doctor=history.doctor, patient=history.patient,
                               start_at=history.upcoming.start_at + timedelta(days=1))


def test_pending_emails_are_marked_to_forget_the_address_once_sent(app, history, desk):
    erase(history, desk)
    [pending] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_CANCELLATION)).all()
    assert pending.payload["email"] == EMAIL and pending.payload[ERASE_AFTER_SENDING] is True


@pytest.mark.postgres_only
def test_a_booking_racing_the_erasure_waits_for_it_and_is_refused(app, history, desk):
    """The erasure holds the patient's row; a booking for them reads it under a share lock, so it waits."""
    patient_id, doctor_id, user_id = history.patient.id, history.doctor.id, desk.user_id
    erasing = threading.Event()
    outcome: list = []

    def book_meanwhile():
        from models import Doctor, Patient

        with app.app_context():
            erasing.wait(10)
            try:
                booking_service().book(audit.Actor(db.session.get(User, user_id), "admin"),
                                       doctor=db.session.get(Doctor, doctor_id),
                                       patient=db.session.get(Patient, patient_id),
                                       start_at=history.upcoming.start_at + timedelta(days=1))
                db.session.commit()
                outcome.append("booked")
            except PatientErased:
                outcome.append("refused")
            finally:
                db.session.remove()

    booker = threading.Thread(target=book_meanwhile)
    booker.start()
    erasure.erase_patient(db.session, booking_service(), desk, history.patient)
    erasing.set()
    booker.join(0.5)
    assert booker.is_alive()  # waiting for the erasure's lock on the patient
    db.session.commit()
    booker.join(10)
    assert outcome == ["refused"]


def test_a_patient_registered_by_phone_without_an_email_can_be_erased(app, desk):
    from tests.factories import make_doctor, make_phone_patient

    patient = make_phone_patient(name="Phil Phoneonly")
    doctor = make_doctor()
    booking_service().book(desk, doctor=doctor, patient=patient,
                           start_at=datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc))
    db.session.commit()
    result = erasure.erase_patient(db.session, booking_service(), desk, patient)
    db.session.commit()
    assert result.appointments_cancelled == 1
    assert patient.is_erased and "Phil Phoneonly" not in patient.name


# -- the waitlist and delivery records -----------------------------------------------------------------

THURSDAY_10 = datetime(2026, 6, 4, 9, 0, tzinfo=timezone.utc)


def waiting_with_offer(app, history, *, sent: bool):
    """Jane (email and SMS) waits for Thursday; Thursday 10:00 is offered to her (and sent, if ``sent``)."""
    from datetime import date

    from flask import current_app

    from carebook import waitlist
    from carebook.waitlist import entries
    from models import ContactPreference

    history.patient.contact_preference = ContactPreference.BOTH
    entry = entries.join(db.session, audit.Actor(history.patient.user, "portal"), history.patient,
                         entries.Wish(earliest_date=date(2026, 6, 4), latest_date=date(2026, 6, 4),
                                      doctor=history.doctor), current_app.config["CLINIC"].timezone)
    db.session.commit()
    [offer] = waitlist.offering_rules().offer_freed(history.doctor.id, THURSDAY_10, THURSDAY_10 + timedelta(minutes=30))
    db.session.commit()
    if sent:
        relay_once(app)
    return entry, offer


def offer_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SEND_WAITLIST_OFFER)).all()


def test_the_sent_waitlist_offers_forget_the_address_and_mobile_and_the_entry_ends(app, history, desk):
    from models import NotificationDelivery
    from models.waitlist import OfferStatus, WaitlistStatus

    entry, offer = waiting_with_offer(app, history, sent=True)
    rows = offer_rows()
    assert len(rows) == 2 and all(row.status is OutboxStatus.DONE for row in rows)
    assert {row.channel for row in db.session.scalars(select(NotificationDelivery).where(
        NotificationDelivery.message_id == f"waitlist-offer-{offer.id}"))} == {"email", "sms"}
    erase(history, desk)
    assert [row.payload for row in offer_rows()] == [ERASED_PAYLOAD, ERASED_PAYLOAD]
    db.session.refresh(entry)
    db.session.refresh(offer)
    assert (entry.status, offer.status) == (WaitlistStatus.WITHDRAWN, OfferStatus.WITHDRAWN)
    relay_once(app)  # the cancellation email of the upcoming visit goes, and its row forgets the address
    everything = every_value_in_the_database()
    assert [needle for needle in (*IDENTIFYING, "Jane") if needle in everything] == []


def test_delivery_records_hold_no_address_nor_phone_number(app, history, desk):
    from models import NotificationDelivery

    waiting_with_offer(app, history, sent=True)
    records = db.session.scalars(select(NotificationDelivery)).all()
    assert records
    text_of_them = " ".join(str(getattr(record, column.key)) for record in records
                            for column in NotificationDelivery.__table__.columns)
    assert EMAIL not in text_of_them and STORED_PHONE not in text_of_them and NAME not in text_of_them


def test_an_offer_still_to_send_is_not_sent_and_forgets_the_address_once_dealt_with(app, history, desk):
    waiting_with_offer(app, history, sent=False)
    assert all(row.status is OutboxStatus.PENDING for row in offer_rows())
    erase(history, desk)
    assert all(row.payload.get(ERASE_AFTER_SENDING) for row in offer_rows())
    relay_once(app)
    assert not [m for m in folder_emails(app) if "A time is free" in m["Subject"]]
    assert [row.payload for row in offer_rows()] == [ERASED_PAYLOAD, ERASED_PAYLOAD]
