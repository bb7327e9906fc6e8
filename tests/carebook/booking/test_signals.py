"""Every change the booking service makes to an appointment is announced on one signal, in its transaction."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from carebook import audit, booking, clock
from carebook.booking.signals import EVENTS, appointment_changed
from models import AppointmentStatus
from tests.factories import make_patient

# Tue 2 June 2026, 10:00 in London (BST) — bookable from the default frozen "now".
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)


def actor_for(patient):
    return audit.Actor(patient.user, "portal")


@pytest.fixture
def heard():
    """What the signal announced while the test ran: (sender, event, appointment id, previous start)."""
    announced = []

    def receiver(sender, *, event, appointment, previous_start_at):
        announced.append((sender, event, appointment.id, previous_start_at))

    with appointment_changed.connected_to(receiver):
        yield announced


def test_listeners_hear_every_change_in_the_same_transaction(service, doctor, patient, heard):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.reschedule(actor_for(patient), appointment, TUESDAY_10 + timedelta(hours=1))
    service.cancel(actor_for(patient), appointment)
    assert [(event, appointment_id, previous) for _sender, event, appointment_id, previous in heard] == [
        ("booked", appointment.id, None), ("rescheduled", appointment.id, TUESDAY_10),
        ("cancelled", appointment.id, None)]
    assert all(sender is service.session for sender, *_rest in heard)


def test_flags_and_outcomes_are_announced_too(service, doctor, patient, heard):
    staff = audit.Actor(None, "admin")
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.flag_for_attention(staff, appointment, why="availability_changed")
    service.clear_attention(staff, appointment, "Called the patient.")
    clock.freeze(TUESDAY_10 + timedelta(minutes=5))
    service.mark_outcome(staff, appointment, AppointmentStatus.NO_SHOW)
    service.mark_outcome(staff, appointment, AppointmentStatus.COMPLETED)
    events = [event for _sender, event, _id, _previous in heard]
    assert events == ["booked", "flagged", "attention_cleared", "no_show", "completed"]
    assert set(events) <= set(EVENTS)


def test_a_refused_change_announces_nothing(service, doctor, patient, heard):
    service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    other = make_patient()
    with pytest.raises(booking.SlotTaken):
        service.book(actor_for(other), doctor=doctor, patient=other, start_at=TUESDAY_10)
    assert [event for _sender, event, _id, _previous in heard] == ["booked"]


def test_clearing_a_flag_that_is_not_set_announces_nothing(service, doctor, patient, heard):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.clear_attention(audit.Actor(None, "admin"), appointment, "Nothing to do.")
    assert [event for _sender, event, _id, _previous in heard] == ["booked"]


def test_a_receiver_connected_twice_is_called_once(service, doctor, patient):
    calls = []

    def receiver(sender, **_change):
        calls.append(sender)

    appointment_changed.connect(receiver)
    appointment_changed.connect(receiver)
    try:
        service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    finally:
        appointment_changed.disconnect(receiver)
    assert len(calls) == 1
