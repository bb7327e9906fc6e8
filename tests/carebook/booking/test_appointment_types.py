"""The booking service with appointment types: lengths, buffers, who may book what, and through which door."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from flask import current_app
from sqlalchemy import select

from carebook import audit, booking
from carebook.booking import BookingService
from carebook.availability.changes import SetAppointmentLength
from carebook.extensions import db
from carebook.services import availability_service
from carebook.slot_cache import SlotCache
from models import Appointment, AppointmentStatus, AppointmentType, Audience, AuditEntry
from tests.factories import SYSTEM, make_doctor, make_patient, make_staff, make_type

UTC = timezone.utc
TUESDAY = date(2026, 6, 2)
TUESDAY_9 = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)  # 09:00 BST, the doctor's first hour
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # 10:00 BST
PAST = datetime(2026, 5, 26, 9, 0, tzinfo=UTC)


def portal(patient):
    return audit.Actor(patient.user, "portal")


def starts(found):
    return [slot.start_at for slot in found]


def test_a_new_doctor_offers_a_default_type_made_from_their_length_and_buffer(session):
    doctor = make_doctor(minutes=20, buffer_minutes=5)
    default = session.get(AppointmentType, doctor.default_appointment_type_id)
    assert (default.name, default.duration_minutes, default.buffer_minutes) == ("Appointment (20 min)", 20, 5)
    assert (default.bookable_online, default.audience, default.is_active) == (True, Audience.ANYONE, True)


def test_booking_without_a_type_books_the_doctors_default_type(service, doctor, patient):
    appointment = service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    assert appointment.appointment_type_id == doctor.default_appointment_type_id


def test_booking_a_type_stores_it_and_takes_its_length_and_buffer(service, doctor, patient):
    follow_up = make_type("Follow-up", minutes=15, buffer_minutes=5, doctors=[doctor])
    appointment = service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                               appointment_type=follow_up)
    assert appointment.appointment_type is follow_up
    assert appointment.end_at == TUESDAY_10 + timedelta(minutes=15)
    assert appointment.buffer_end_at == TUESDAY_10 + timedelta(minutes=20)


def test_the_doctors_own_length_for_a_type_wins(service, doctor, patient):
    first_visit = make_type("First visit", minutes=20, doctors=[doctor], own_minutes=30)
    appointment = service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                               appointment_type=first_visit)
    assert appointment.end_at == TUESDAY_10 + timedelta(minutes=30)


def test_the_booking_audit_row_names_the_type(service, session, doctor, patient):
    follow_up = make_type("Follow-up", doctors=[doctor])
    service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=follow_up)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.booked"))
    assert (entry.details["appointment_type_id"], entry.details["appointment_type"]) == (follow_up.id, "Follow-up")


def test_a_type_the_doctor_does_not_offer_is_refused(service, doctor, patient):
    elsewhere = make_type("Vaccination", minutes=10, doctors=[make_doctor()])
    with pytest.raises(booking.TypeNotOffered):
        service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=elsewhere)


def test_a_retired_type_is_refused(service, doctor, patient):
    retired = make_type("Old check-up", doctors=[doctor])
    retired.is_active = False
    with pytest.raises(booking.TypeNotOffered):
        service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=retired)


@pytest.mark.parametrize("source", ["portal", "api"])
def test_a_staff_only_type_is_refused_to_patients_online(service, doctor, patient, source):
    staff_only = make_type("Minor surgery", minutes=30, doctors=[doctor], bookable_online=False)
    with pytest.raises(booking.StaffOnlyType):
        service.book(audit.Actor(patient.user, source), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                     appointment_type=staff_only)


def test_staff_may_book_a_staff_only_type_from_the_console(service, doctor, patient):
    staff_only = make_type("Minor surgery", minutes=30, doctors=[doctor], bookable_online=False)
    appointment = service.book(audit.Actor(make_staff(), "admin"), doctor=doctor, patient=patient,
                               start_at=TUESDAY_10, appointment_type=staff_only)
    assert appointment.appointment_type is staff_only


def completed_visit(doctor, patient, status=AppointmentStatus.COMPLETED):
    db.session.add(Appointment(doctor=doctor, patient=patient, start_at=PAST, end_at=PAST + timedelta(minutes=30),
                               status=status))
    db.session.flush()


def test_a_new_patients_only_type_refuses_a_patient_with_a_past_completed_visit(service, doctor, patient):
    first_visit = make_type("First visit", minutes=30, doctors=[doctor], audience=Audience.NEW_PATIENTS)
    completed_visit(doctor, patient)
    with pytest.raises(booking.NewPatientsOnly):
        service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                     appointment_type=first_visit)


@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
def test_a_cancelled_or_missed_visit_does_not_make_a_patient_returning(service, doctor, patient, status):
    first_visit = make_type("First visit", minutes=30, doctors=[doctor], audience=Audience.NEW_PATIENTS)
    completed_visit(doctor, patient, status)
    service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=first_visit)


def test_a_visit_completed_with_another_doctor_does_not_make_a_patient_returning(service, doctor, patient):
    first_visit = make_type("First visit", minutes=30, doctors=[doctor], audience=Audience.NEW_PATIENTS)
    completed_visit(make_doctor(), patient)
    service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=first_visit)


def test_a_returning_patients_only_type_needs_a_past_completed_visit(service, doctor, patient):
    follow_up = make_type("Follow-up", minutes=15, doctors=[doctor], audience=Audience.RETURNING_PATIENTS)
    with pytest.raises(booking.ReturningPatientsOnly):
        service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=follow_up)
    completed_visit(doctor, patient)
    assert service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                        appointment_type=follow_up).appointment_type is follow_up


def test_staff_are_held_to_the_audience_too(service, doctor, patient):
    follow_up = make_type("Follow-up", minutes=15, doctors=[doctor], audience=Audience.RETURNING_PATIENTS)
    with pytest.raises(booking.ReturningPatientsOnly):
        service.book(audit.Actor(make_staff(), "admin"), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                     appointment_type=follow_up)


def test_a_longer_type_is_refused_where_only_a_shorter_one_fits(service, doctor, patient):
    # 10:30-11:00 is booked: at 10:00 an hour does not fit, a 30-minute visit does.
    other = make_patient()
    service.book(portal(other), doctor=doctor, patient=other, start_at=TUESDAY_10 + timedelta(minutes=30))
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    with pytest.raises(booking.SlotTaken):
        service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=long_visit)
    service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)


def test_slots_are_listed_per_type(service, doctor, patient):
    # 09:00-17:00 on the default grid (each type's duration): the 30-minute default has 16 slots,
    # a 60-minute type with a 15-minute buffer 8, one an hour (its buffer is checked against bookings).
    long_visit = make_type("Long visit", minutes=60, buffer_minutes=15, doctors=[doctor])
    assert len(service.free_slots(doctor, TUESDAY, TUESDAY)) == 16
    found = service.free_slots(doctor, TUESDAY, TUESDAY, long_visit.id)
    assert [slot.end_at - slot.start_at for slot in found] == [timedelta(minutes=60)] * 8
    assert starts(found)[:2] == [datetime(2026, 6, 2, 8, 0, tzinfo=UTC), datetime(2026, 6, 2, 9, 0, tzinfo=UTC)]


def grid_service(grid) -> BookingService:
    """The booking service of a clinic whose SLOT_GRID_MINUTES is ``grid``."""
    policy = replace(current_app.config["BOOKING_POLICY"], slot_grid=grid)
    return BookingService(db.session, current_app.config["CLINIC"].timezone, policy)


def test_on_the_duration_plus_buffer_grid_a_buffered_type_is_listed_back_to_back(app, doctor):
    long_visit = make_type("Long visit", minutes=60, buffer_minutes=15, doctors=[doctor])
    found = grid_service("duration+buffer").free_slots(doctor, TUESDAY, TUESDAY, long_visit.id)
    assert [slot.end_at - slot.start_at for slot in found] == [timedelta(minutes=60)] * 6
    assert starts(found)[:2] == [datetime(2026, 6, 2, 8, 0, tzinfo=UTC), datetime(2026, 6, 2, 9, 15, tzinfo=UTC)]


def test_on_a_grid_of_minutes_every_type_starts_on_it(app, doctor):
    long_visit = make_type("Long visit", minutes=60, buffer_minutes=15, doctors=[doctor])
    found = starts(grid_service(20).free_slots(doctor, TUESDAY, TUESDAY, long_visit.id))
    assert found[:3] == [datetime(2026, 6, 2, 8, 0, tzinfo=UTC), datetime(2026, 6, 2, 8, 20, tzinfo=UTC),
                         datetime(2026, 6, 2, 8, 40, tzinfo=UTC)]
    assert found[-1] == datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # 16:00-17:00 London, the last hour that fits


@pytest.mark.parametrize("grid, refused, accepted", [
    # 09:30 is on the 30-minute grid, but the 09:00 visit's buffer runs to 09:40; 09:40 is off it.
    ("duration", {30: booking.SlotTaken, 40: booking.OutsideAvailability}, 60),
    ("duration+buffer", {30: booking.OutsideAvailability}, 40),
    (5, {35: booking.SlotTaken, 42: booking.OutsideAvailability}, 40),
])
def test_the_booking_service_checks_a_time_on_the_clinics_grid(app, doctor, patient, grid, refused, accepted):
    dressing = make_type("Dressing", minutes=30, buffer_minutes=10, doctors=[doctor])
    service = grid_service(grid)
    service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_9, appointment_type=dressing)
    other = make_patient()
    for minutes, error in refused.items():
        with pytest.raises(error):
            service.book(portal(other), doctor=doctor, patient=other, start_at=TUESDAY_9 + timedelta(minutes=minutes),
                         appointment_type=dressing)
    service.book(portal(other), doctor=doctor, patient=other, start_at=TUESDAY_9 + timedelta(minutes=accepted),
                 appointment_type=dressing)


def test_slots_of_a_type_the_doctor_does_not_offer_are_none(service, doctor):
    elsewhere = make_type("Vaccination", minutes=10, doctors=[make_doctor()])
    assert service.doctor_free_slots(doctor.id, TUESDAY, TUESDAY, elsewhere.id) is None


def test_an_appointment_keeps_its_buffer_when_a_shorter_type_is_listed_next_to_it(service, doctor, patient):
    with_buffer = make_type("Dressing", minutes=20, buffer_minutes=10, doctors=[doctor])
    service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=with_buffer)
    # 10:00-10:20 plus 10 minutes: the doctor's 30-minute default grid's 10:30 slot is free, 10:00 is not.
    found = starts(service.free_slots(doctor, TUESDAY, TUESDAY))
    assert TUESDAY_10 not in found and TUESDAY_10 + timedelta(minutes=30) in found


def test_staff_booking_outside_hours_may_not_start_inside_a_buffer(service, doctor, patient):
    with_buffer = make_type("Dressing", minutes=20, buffer_minutes=10, doctors=[doctor])
    service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10, appointment_type=with_buffer)
    staff = audit.Actor(make_staff(), "admin")
    with pytest.raises(booking.SlotTaken):
        service.book(staff, doctor=doctor, patient=make_patient(), start_at=TUESDAY_10 + timedelta(minutes=25),
                     allow_outside_hours=True, override_note="squeeze in")
    service.book(staff, doctor=doctor, patient=make_patient(), start_at=TUESDAY_10 + timedelta(minutes=30),
                 allow_outside_hours=True, override_note="right after the buffer")


def test_reschedule_keeps_the_type(service, doctor, patient):
    follow_up = make_type("Follow-up", minutes=15, buffer_minutes=5, doctors=[doctor])
    appointment = service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                               appointment_type=follow_up)
    new_start = TUESDAY_10 + timedelta(hours=2)
    service.reschedule(portal(patient), appointment, new_start)
    assert appointment.appointment_type is follow_up
    assert (appointment.end_at, appointment.buffer_end_at) == (new_start + timedelta(minutes=15),
                                                               new_start + timedelta(minutes=20))


def test_a_change_of_type_on_reschedule_rechecks_the_longer_range(service, doctor, patient):
    follow_up = make_type("Follow-up", minutes=30, doctors=[doctor])
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    appointment = service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                               appointment_type=follow_up)
    service.book(portal(make_patient()), doctor=doctor, patient=make_patient(),
                 start_at=TUESDAY_10 + timedelta(minutes=30))
    with pytest.raises(booking.SlotTaken):
        service.reschedule(portal(patient), appointment, TUESDAY_10, appointment_type=long_visit)
    later = TUESDAY_10 + timedelta(hours=3)
    service.reschedule(portal(patient), appointment, later, appointment_type=long_visit)
    assert (appointment.appointment_type, appointment.end_at) == (long_visit, later + timedelta(minutes=60))


def test_the_doctors_length_change_moves_their_default_type_with_it(service, session, doctor):
    availability_service().apply(SetAppointmentLength(doctor.id, 20, 10), SYSTEM)
    default = session.get(AppointmentType, doctor.default_appointment_type_id)
    assert (default.name, default.duration_minutes, default.buffer_minutes) == ("Appointment (20 min)", 20, 10)


def test_a_kept_slot_list_is_per_type_and_recomputed_when_the_type_changes(app, doctor):
    service = BookingService(db.session, app.config["CLINIC"].timezone, app.config["BOOKING_POLICY"],
                             cache=SlotCache())
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    default_list = service.free_slots(doctor, TUESDAY, TUESDAY)
    long_list = service.free_slots(doctor, TUESDAY, TUESDAY, long_visit.id)
    assert len(default_list) == 16 and len(long_list) == 8
    long_visit.duration_minutes = 120
    db.session.flush()
    assert len(service.free_slots(doctor, TUESDAY, TUESDAY, long_visit.id)) == 4
    assert len(service.free_slots(doctor, TUESDAY, TUESDAY)) == 16


def test_the_times_to_move_to_keep_the_types_terms_while_the_doctor_offers_it(service, doctor, patient):
    follow_up = make_type("Follow-up", minutes=20, doctors=[doctor])
    appointment = service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_9,
                               appointment_type=follow_up)
    assert starts(service.move_slots(appointment, TUESDAY, TUESDAY)) == \
        starts(service.free_slots(doctor, TUESDAY, TUESDAY, follow_up.id))


def test_the_times_to_move_a_retired_type_to_are_of_the_appointments_own_length_and_buffer(
        service, doctor, patient):
    dressing = make_type("Dressing", minutes=20, buffer_minutes=10, doctors=[doctor])
    appointment = service.book(portal(patient), doctor=doctor, patient=patient, start_at=TUESDAY_9,
                               appointment_type=dressing)
    dressing.is_active = False
    dressing.duration_minutes = 45  # what the type says later does not change the booked length
    db.session.flush()
    found = service.move_slots(appointment, TUESDAY, TUESDAY)
    assert {slot.end_at - slot.start_at for slot in found} == {timedelta(minutes=20)}
    assert starts(found)[:2] == [TUESDAY_9 + timedelta(minutes=40), TUESDAY_9 + timedelta(minutes=60)]
