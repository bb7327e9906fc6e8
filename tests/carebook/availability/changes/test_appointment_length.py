"""Appointment length and buffer: their limits, and the old values kept in the audit log."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from carebook.availability import SetAppointmentLength
from models import AuditEntry
from tests.carebook.availability.helpers import problems


@pytest.mark.parametrize("minutes, buffer, field", [
    (4, 0, "appointment_minutes"), (241, 0, "appointment_minutes"), (30, -1, "buffer_minutes"),
    (30, 121, "buffer_minutes"),
])
def test_appointment_length_and_buffer_must_be_sane(service, doctor, minutes, buffer, field):
    found = problems(service, SetAppointmentLength(doctor.id, minutes, buffer))
    assert list(found) == [field]
    assert found[field][0] in ("Appointment length must be between 5 and 240 minutes.",
                               "The buffer must be between 0 and 120 minutes.")


@pytest.mark.parametrize("minutes", [5, 10, 15, 20, 30, 60, 240])
def test_usual_appointment_lengths_are_accepted(service, doctor, minutes):
    service.validate(SetAppointmentLength(doctor.id, minutes, 0))


def test_appointment_length_is_applied_and_audited_with_the_old_values(service, doctor, doctor_actor, session):
    service.apply(SetAppointmentLength(doctor.id, 20, 10), doctor_actor)
    assert (doctor.appointment_minutes, doctor.buffer_minutes) == (20, 10)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "availability.appointment_length_set"))
    assert entry.details == {"appointment_minutes": 20, "buffer_minutes": 10, "previous_appointment_minutes": 30,
                             "previous_buffer_minutes": 0}


@pytest.mark.parametrize("change, sentence", [
    (SetAppointmentLength(1, 20, 5), "appointments of 20 minutes with 5 minutes between"),
    (SetAppointmentLength(1, 30, 0), "appointments of 30 minutes"),
])
def test_a_length_is_described_in_a_sentence_on_the_hours_page(change, sentence):
    assert (change.describe(), change.section) == (sentence, "hours")
