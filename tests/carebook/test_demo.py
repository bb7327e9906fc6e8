"""The demo clinic shows what the product does: types, a patient reached by SMS, a waitlist that refills."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, AppointmentType, ContactPreference, Doctor, Patient, User
from models.appointment_types import DoctorAppointmentType
from models.waitlist import WaitlistEntry, WaitlistOffer
from reminders.relay import relay_once


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def doctor_named(name: str) -> Doctor:
    return db.session.scalar(select(Doctor).join(User).where(User.full_name == name))


def test_the_demo_doctors_offer_types_besides_their_default(demo):
    okafor = doctor_named("Dr Amara Okafor")
    offered = db.session.scalars(select(AppointmentType.name).join(DoctorAppointmentType)
                                 .where(DoctorAppointmentType.doctor_id == okafor.id)).all()
    assert {"First visit", "Follow-up", "Vaccination"} <= set(offered)


def test_a_demo_doctor_has_a_length_of_their_own_for_a_type(demo):
    patel = doctor_named("Dr Priya Patel")
    own = db.session.scalar(select(DoctorAppointmentType.duration_minutes).join(AppointmentType)
                            .where(DoctorAppointmentType.doctor_id == patel.id, AppointmentType.name == "First visit"))
    assert own == 40


def test_the_demo_bookings_are_of_several_types(demo):
    kinds = db.session.scalars(select(Appointment.appointment_type_id).distinct()).all()
    assert len(kinds) >= 2


def test_the_demo_has_a_patient_without_email_who_hears_by_sms(demo):
    carol = db.session.scalar(select(Patient).join(User).where(User.full_name == "Carol Jones"))
    assert (carol.user.email, carol.contact_preference) == (None, ContactPreference.SMS)
    assert "Carol Jones" in demo


def test_cancelling_a_demo_appointment_offers_the_time_to_the_waitlist(app, demo):
    okafor = doctor_named("Dr Amara Okafor")
    waiting = set(db.session.scalars(select(WaitlistEntry.id)))
    appointment = db.session.scalar(select(Appointment).where(Appointment.doctor_id == okafor.id,
                                                              Appointment.status == AppointmentStatus.BOOKED)
                                    .order_by(Appointment.start_at).limit(1))
    booking_service().cancel(audit.Actor(appointment.patient.user, "portal"), appointment, enforce_cutoff=False)
    db.session.commit()
    relay_once(app)
    offered = db.session.scalars(select(WaitlistOffer).where(WaitlistOffer.start_at == appointment.start_at)).all()
    assert offered and {offer.entry_id for offer in offered} <= waiting
