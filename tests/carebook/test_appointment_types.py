"""Keeping the clinic's appointment types: checked changes, audit rows, nothing deleted."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from carebook import appointment_types as types
from carebook import audit
from carebook.appointment_types import AppointmentTypeError
from carebook.extensions import db
from carebook.services import booking_service
from models import AppointmentType, Audience, AuditEntry, DoctorAppointmentType
from tests.factories import make_doctor, make_patient, make_staff

TUESDAY = date(2026, 6, 2)
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def staff(app):
    return audit.Actor(make_staff(), "admin")


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type.in_(
        ["appointment_type", "doctor"])).order_by(AuditEntry.id)))


def test_staff_create_a_type_with_every_field_and_an_audit_row(session, staff):
    created = types.create_type(session, staff, name="  First visit ", description="Bring your letters.",
                                duration_minutes=30, buffer_minutes=10, colour="#146C43", bookable_online=False,
                                audience="new_patients")
    assert (created.name, created.description, created.duration_minutes, created.buffer_minutes, created.colour,
            created.bookable_online, created.audience, created.is_active) == (
        "First visit", "Bring your letters.", 30, 10, "#146c43", False, Audience.NEW_PATIENTS, True)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment_type.created"))
    assert entry.details["audience"] == "new_patients" and entry.actor_id == staff.user_id


@pytest.mark.parametrize("field, value", [
    ("name", "   "), ("name", "x" * 81), ("duration_minutes", 4), ("duration_minutes", 241),
    ("duration_minutes", "30"), ("buffer_minutes", 121), ("buffer_minutes", -1), ("colour", "red"),
    ("colour", "#12345g"), ("audience", "everyone"), ("description", "x" * 2001), ("name", "nul\x00"),
])
def test_a_bad_value_is_refused_naming_its_field_and_writes_nothing(session, staff, field, value):
    fields = {"name": "Check-up", "duration_minutes": 20, field: value}
    with pytest.raises(AppointmentTypeError) as refused:
        types.create_type(session, staff, **fields)
    assert refused.value.field == field
    assert session.scalar(select(AppointmentType).where(AppointmentType.name == "Check-up")) is None


def test_an_update_changes_new_bookings_only_and_is_audited_with_the_old_values(session, staff):
    doctor, patient = make_doctor(), make_patient()
    check_up = types.create_type(session, staff, name="Check-up", duration_minutes=30)
    types.offer_type(session, staff, doctor, check_up)
    booked = booking_service().book(staff, doctor=doctor, patient=patient, start_at=TUESDAY_10,
                                    appointment_type=check_up)
    types.update_type(session, staff, check_up, duration_minutes=60, name="Long check-up")
    assert booked.end_at - booked.start_at == (TUESDAY_10.replace(hour=9, minute=30) - TUESDAY_10)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment_type.updated"))
    assert (entry.details["duration_minutes"], entry.details["previous_duration_minutes"]) == (60, 30)
    # Hour slots now, around the booked 10:00-10:30 (London): 09:00, then 11:00 to 16:00.
    assert len(booking_service().free_slots(doctor, TUESDAY, TUESDAY, check_up.id)) == 7


def test_a_retired_type_stays_on_its_appointments_and_can_come_back(session, staff):
    doctor, patient = make_doctor(), make_patient()
    check_up = types.create_type(session, staff, name="Check-up", duration_minutes=30)
    types.offer_type(session, staff, doctor, check_up)
    booked = booking_service().book(staff, doctor=doctor, patient=patient, start_at=TUESDAY_10,
                                    appointment_type=check_up)
    types.retire_type(session, staff, check_up)
    assert session.get(AppointmentType, check_up.id) is not None and booked.appointment_type is check_up
    assert booking_service().doctor_free_slots(doctor.id, TUESDAY, TUESDAY, check_up.id) is None
    types.reactivate_type(session, staff, check_up)
    assert booking_service().doctor_free_slots(doctor.id, TUESDAY, TUESDAY, check_up.id)
    assert actions(session)[-2:] == ["appointment_type.retired", "appointment_type.reactivated"]


def test_a_doctors_default_type_cannot_be_retired_nor_withdrawn(session, staff):
    doctor = make_doctor()
    default = session.get(AppointmentType, doctor.default_appointment_type_id)
    with pytest.raises(AppointmentTypeError):
        types.retire_type(session, staff, default)
    with pytest.raises(AppointmentTypeError):
        types.withdraw_type(session, staff, doctor, default)
    assert default.is_active


def test_offering_with_an_own_length_and_withdrawing(session, staff):
    doctor = make_doctor()
    first_visit = types.create_type(session, staff, name="First visit", duration_minutes=30)
    types.offer_type(session, staff, doctor, first_visit, duration_minutes=40, doctor_may_change_duration=True)
    assert [t.id for t in types.offered_types(session, doctor.id)] == [doctor.default_appointment_type_id,
                                                                       first_visit.id]
    assert types.terms_for(session, doctor.id, first_visit.id).duration_minutes == 40
    types.withdraw_type(session, staff, doctor, first_visit)
    assert session.get(DoctorAppointmentType, (doctor.id, first_visit.id)) is None
    assert session.get(AppointmentType, first_visit.id).is_active  # the type itself stays
    assert actions(session)[-2:] == ["appointment_type.offered", "appointment_type.withdrawn"]


def test_a_doctor_changes_their_own_length_only_where_staff_allow_it(session, staff):
    doctor = make_doctor()
    as_doctor = audit.Actor(doctor.user, "portal")
    allowed = types.create_type(session, staff, name="First visit", duration_minutes=30)
    fixed = types.create_type(session, staff, name="Vaccination", duration_minutes=10)
    types.offer_type(session, staff, doctor, allowed, doctor_may_change_duration=True)
    types.offer_type(session, staff, doctor, fixed)
    types.set_own_duration(session, as_doctor, doctor, allowed, 40)
    assert types.terms_for(session, doctor.id, allowed.id).duration_minutes == 40
    with pytest.raises(AppointmentTypeError):
        types.set_own_duration(session, as_doctor, doctor, fixed, 20)
    types.set_own_duration(session, staff, doctor, fixed, 15)  # staff may
    assert types.terms_for(session, doctor.id, fixed.id).duration_minutes == 15
    with pytest.raises(AppointmentTypeError):
        types.set_own_duration(session, as_doctor, doctor, allowed, 300)


def test_only_offered_online_types_are_listed_for_patients(session, staff):
    doctor = make_doctor()
    staff_only = types.create_type(session, staff, name="Minor surgery", duration_minutes=30, bookable_online=False)
    types.offer_type(session, staff, doctor, staff_only)
    assert staff_only.id not in [t.id for t in types.offered_types(session, doctor.id, online_only=True)]
    assert staff_only.id in [t.id for t in types.offered_types(session, doctor.id)]


def test_changing_a_default_type_changes_its_doctors_length_and_buffer_with_it(session, staff):
    doctor = make_doctor(minutes=30)
    default = session.get(AppointmentType, doctor.default_appointment_type_id)
    types.update_type(session, staff, default, duration_minutes=20, buffer_minutes=10)
    assert (doctor.appointment_minutes, doctor.buffer_minutes) == (20, 10)
    assert booking_service().free_slots(doctor, TUESDAY, TUESDAY)[0].end_at == TUESDAY_10.replace(hour=8, minute=20)
    with pytest.raises(AppointmentTypeError):
        types.offer_type(session, staff, doctor, default, duration_minutes=40)


def test_a_colour_outside_the_named_palette_is_refused(app):
    with pytest.raises(AppointmentTypeError) as refused:
        types.create_type(db.session, audit.Actor(None, "admin"), name="Yellow", duration_minutes=10,
                          colour="#ffff00")
    assert refused.value.field == "colour" and "Blue" in refused.value.message
