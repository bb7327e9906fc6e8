"""A patient with a history worth exporting or erasing: a past visit (with its emails and reminder) and a booking."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from carebook import audit, clock
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, Doctor, Patient
from reminders.relay import relay_once
from tests.conftest import DEFAULT_NOW
from tests.factories import make_doctor, make_patient

UTC = timezone.utc
NAME, EMAIL, BORN, PHONE = "Jane Example", "jane.example@example.test", date(1985, 3, 4), "07700 900321"
#: Tue 19 May 2026, 10:00 in London: a visit that took place.
PAST_VISIT = datetime(2026, 5, 19, 9, 0, tzinfo=UTC)
#: Tue 2 June 2026, 10:00 in London: booked, still to come.
NEXT_VISIT = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
PAST_REASON, NEXT_REASON = "Sore knee after a fall", "Persistent cough"


@dataclass
class History:
    patient: Patient
    doctor: Doctor
    past: Appointment
    upcoming: Appointment


def patient_with_history(app) -> History:
    """Booked, emailed, reminded and seen in May; booked again for 2 June (its reminder scheduled). Committed."""
    doctor = make_doctor(name="Dr Ada Lovelace", specialty="General practice")
    patient = make_patient(name=NAME, email=EMAIL, date_of_birth=BORN, phone=PHONE)
    db.session.commit()
    service = booking_service()
    clock.freeze(PAST_VISIT - timedelta(days=3))
    past = service.book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient, start_at=PAST_VISIT,
                        reason=PAST_REASON)
    db.session.commit()
    relay_once(app)  # the confirmation goes, the reminder is scheduled for 24 hours before
    clock.freeze(PAST_VISIT - timedelta(hours=23, minutes=59))
    relay_once(app)  # the reminder is sent
    clock.freeze(PAST_VISIT + timedelta(minutes=5))
    service.mark_outcome(audit.Actor(doctor.user, "portal"), past, AppointmentStatus.COMPLETED)
    db.session.commit()
    clock.freeze(DEFAULT_NOW)
    upcoming = service.book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                            start_at=NEXT_VISIT, reason=NEXT_REASON)
    db.session.commit()
    relay_once(app)
    return History(patient=patient, doctor=doctor, past=past, upcoming=upcoming)
