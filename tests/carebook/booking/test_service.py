"""The booking service: every rule it enforces, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from carebook import audit, booking, clock
from models import Appointment, AppointmentStatus, AuditEntry, DateOverride
from tests.factories import add_time_off, make_doctor, make_patient

UTC = timezone.utc
# Tue 2 June 2026, 10:00 in London (BST) — bookable from the default frozen "now".
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)


def actor_for(patient):
    return audit.Actor(patient.user, "portal")


def test_book_creates_a_booked_appointment_of_the_doctors_length(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    assert appointment.status is AppointmentStatus.BOOKED
    assert appointment.end_at - appointment.start_at == timedelta(minutes=30)


def test_book_writes_an_audit_row_without_the_reason(service, session, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10,
                               reason="private symptoms")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.booked"))
    assert (entry.entity_id, entry.actor_id, entry.source) == (appointment.id, patient.user.id, "portal")
    assert "private symptoms" not in str(entry.details)


def test_booked_slot_leaves_the_free_list(service, doctor, patient):
    service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    free = service.free_slots(doctor, date(2026, 6, 2), date(2026, 6, 2))
    assert TUESDAY_10 not in [slot.start_at for slot in free]
    assert len(free) == 15


def test_booking_a_taken_slot_is_slot_taken(service, doctor, patient):
    service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    other = make_patient()
    with pytest.raises(booking.SlotTaken):
        service.book(actor_for(other), doctor=doctor, patient=other, start_at=TUESDAY_10)


def test_booking_outside_hours_is_outside_availability(service, doctor, patient):
    with pytest.raises(booking.OutsideAvailability):
        service.book(actor_for(patient), doctor=doctor, patient=patient,
                     start_at=datetime(2026, 6, 2, 18, 0, tzinfo=UTC))


def test_booking_off_the_slot_grid_is_outside_availability(service, doctor, patient):
    with pytest.raises(booking.OutsideAvailability):
        service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10 + timedelta(minutes=7))


def test_booking_after_the_doctor_closed_the_day_is_outside_availability(service, session, doctor, patient):
    session.add(DateOverride(doctor_id=doctor.id, on_date=date(2026, 6, 2)))
    session.flush()
    with pytest.raises(booking.OutsideAvailability):
        service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)


def test_booking_during_time_off_is_outside_availability(service, doctor, patient):
    add_time_off(doctor, TUESDAY_10 - timedelta(hours=1), TUESDAY_10 + timedelta(hours=2))
    with pytest.raises(booking.OutsideAvailability):
        service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)


def test_booking_in_the_past_is_refused(service, doctor, patient):
    with pytest.raises(booking.InThePast):
        service.book(actor_for(patient), doctor=doctor, patient=patient,
                     start_at=clock.utcnow() - timedelta(hours=1))


def test_booking_inside_the_minimum_notice_is_refused(service, doctor, patient):
    # Now is 08:00 London; 09:00 is within the two hours' notice.
    with pytest.raises(booking.OutsideBookingWindow):
        service.book(actor_for(patient), doctor=doctor, patient=patient,
                     start_at=datetime(2026, 6, 1, 8, 0, tzinfo=UTC))


def test_booking_beyond_the_horizon_is_refused(service, doctor, patient):
    with pytest.raises(booking.OutsideBookingWindow):
        service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10 + timedelta(days=70))


#: The last instant of the calendar, and times whose UTC or day-after falls off either end of it.
END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
BEYOND_THE_CALENDAR = [END_OF_TIME, datetime(9999, 12, 31, 12, 0, tzinfo=timezone(timedelta(hours=-12))),
                       datetime(9999, 12, 30, 23, 0, tzinfo=UTC)]


@pytest.mark.parametrize("start_at", BEYOND_THE_CALENDAR)
@pytest.mark.parametrize("outside_hours", [False, True])
def test_booking_at_the_end_of_the_calendar_is_outside_the_booking_window(service, doctor, patient, start_at,
                                                                          outside_hours):
    with pytest.raises(booking.OutsideBookingWindow):
        service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=start_at,
                     allow_outside_hours=outside_hours, override_note="staff" if outside_hours else "")


@pytest.mark.parametrize("start_at", BEYOND_THE_CALENDAR)
@pytest.mark.parametrize("outside_hours", [False, True])
def test_moving_to_the_end_of_the_calendar_is_outside_the_booking_window(service, doctor, patient, start_at,
                                                                         outside_hours):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    with pytest.raises(booking.OutsideBookingWindow):
        service.reschedule(actor_for(patient), appointment, start_at, allow_outside_hours=outside_hours)
    assert appointment.start_at == TUESDAY_10


def test_booking_before_the_calendar_begins_in_utc_is_in_the_past(service, doctor, patient):
    with pytest.raises(booking.InThePast):
        service.book(actor_for(patient), doctor=doctor, patient=patient,
                     start_at=datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))))


def test_staff_may_still_book_outside_hours_years_ahead(service, doctor, patient):
    far = datetime(2031, 6, 3, 21, 0, tzinfo=UTC)
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=far,
                               allow_outside_hours=True, override_note="by arrangement")
    assert appointment.start_at == far


def test_booking_an_inactive_doctor_is_refused(service, doctor, patient):
    doctor.is_active = False
    with pytest.raises(booking.DoctorInactive):
        service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)


def test_patient_cannot_hold_two_overlapping_appointments(service, doctor, patient):
    other_doctor = make_doctor(name="Dr Other", minutes=20)
    service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    with pytest.raises(booking.PatientBusy):
        service.book(actor_for(patient), doctor=other_doctor, patient=patient,
                     start_at=TUESDAY_10 + timedelta(minutes=20))


def test_naive_start_is_refused(service, doctor, patient):
    with pytest.raises(ValueError):
        service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=datetime(2026, 6, 2, 10, 0))


def test_staff_may_book_outside_hours_but_never_over_another_booking(service, doctor, patient):
    staff_actor = audit.Actor(None, "admin")
    evening = datetime(2026, 6, 2, 17, 0, tzinfo=UTC)
    service.book(staff_actor, doctor=doctor, patient=patient, start_at=evening, allow_outside_hours=True,
                 override_note="urgent")
    other = make_patient()
    with pytest.raises(booking.SlotTaken):
        service.book(staff_actor, doctor=doctor, patient=other, start_at=evening + timedelta(minutes=10),
                     allow_outside_hours=True, override_note="urgent")


def test_cancel_frees_the_slot(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.cancel(actor_for(patient), appointment)
    assert appointment.status is AppointmentStatus.CANCELLED
    assert TUESDAY_10 in [s.start_at for s in service.free_slots(doctor, date(2026, 6, 2), date(2026, 6, 2))]


def test_cancel_within_the_cutoff_is_refused_for_patients(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    clock.freeze(TUESDAY_10 - timedelta(hours=23))
    with pytest.raises(booking.CancellationTooLate):
        service.cancel(actor_for(patient), appointment)


def test_staff_may_cancel_within_the_cutoff(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    clock.freeze(TUESDAY_10 - timedelta(hours=1))
    service.cancel(audit.Actor(None, "admin"), appointment, enforce_cutoff=False)
    assert appointment.status is AppointmentStatus.CANCELLED


def test_cancelling_twice_is_not_booked(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.cancel(actor_for(patient), appointment)
    with pytest.raises(booking.NotBooked):
        service.cancel(actor_for(patient), appointment)


def test_reschedule_moves_the_appointment_and_frees_the_old_time(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    later = TUESDAY_10 + timedelta(hours=2)
    service.reschedule(actor_for(patient), appointment, later)
    free = [s.start_at for s in service.free_slots(doctor, date(2026, 6, 2), date(2026, 6, 2))]
    assert appointment.start_at == later and TUESDAY_10 in free and later not in free


def test_reschedule_to_an_adjacent_overlapping_time_of_its_own_works(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.reschedule(actor_for(patient), appointment, TUESDAY_10 + timedelta(minutes=30))
    assert appointment.start_at == TUESDAY_10 + timedelta(minutes=30)


def test_failed_reschedule_changes_nothing(service, session, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    other = make_patient()
    taken = TUESDAY_10 + timedelta(hours=1)
    service.book(actor_for(other), doctor=doctor, patient=other, start_at=taken)
    with pytest.raises(booking.SlotTaken):
        service.reschedule(actor_for(patient), appointment, taken)
    session.expire_all()
    assert session.get(Appointment, appointment.id).start_at == TUESDAY_10
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "appointment.rescheduled")) == 0


def test_slots_across_the_spring_daylight_saving_change_keep_local_hours(service, patient):
    clock.freeze(datetime(2026, 3, 25, 12, 0, tzinfo=UTC))
    doctor = make_doctor(weekly={weekday: [(time(9), time(12))] for weekday in range(7)})
    free = service.free_slots(doctor, date(2026, 3, 28), date(2026, 3, 30))
    local_starts = {(s.start_at.astimezone(service.timezone).date(), s.start_at.astimezone(service.timezone).time())
                    for s in free}
    for day in (date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)):
        assert {t for d, t in local_starts if d == day} == {time(9), time(9, 30), time(10), time(10, 30),
                                                            time(11), time(11, 30)}
    # 09:00 London is 09:00 UTC before the change and 08:00 UTC after it.
    assert datetime(2026, 3, 28, 9, 0, tzinfo=UTC) in [s.start_at for s in free]
    assert datetime(2026, 3, 30, 8, 0, tzinfo=UTC) in [s.start_at for s in free]


def test_booking_across_the_autumn_change_lands_on_local_nine(service, patient):
    clock.freeze(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    doctor = make_doctor()
    monday_nine_gmt = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # clocks went back on Sun 25 Oct
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=monday_nine_gmt)
    assert appointment.start_at.astimezone(service.timezone).time() == time(9)


def test_outcome_can_be_marked_once_the_appointment_started(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    clock.freeze(TUESDAY_10 + timedelta(minutes=5))
    service.mark_outcome(audit.Actor(doctor.user, "portal"), appointment, AppointmentStatus.NO_SHOW)
    assert appointment.status is AppointmentStatus.NO_SHOW


def test_outcome_cannot_be_marked_before_the_start(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    with pytest.raises(booking.NotStartedYet):
        service.mark_outcome(audit.Actor(doctor.user, "portal"), appointment, AppointmentStatus.COMPLETED)


def test_cancelled_appointment_cannot_get_an_outcome(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.cancel(actor_for(patient), appointment)
    clock.freeze(TUESDAY_10 + timedelta(minutes=5))
    with pytest.raises(booking.NotBooked):
        service.mark_outcome(audit.Actor(doctor.user, "portal"), appointment, AppointmentStatus.COMPLETED)


def test_flagging_keeps_the_appointment_booked_and_audits_why(service, session, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.flag_for_attention(audit.Actor(doctor.user, "portal"), appointment, why="availability_changed",
                               change="availability.one_off_set")
    assert appointment.is_booked and appointment.needs_attention is True
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.flagged"))
    assert (entry.entity_id, entry.details) == (appointment.id, {"why": "availability_changed",
                                                                 "change": "availability.one_off_set"})


def test_a_cancelled_appointment_cannot_be_flagged(service, doctor, patient):
    appointment = service.book(actor_for(patient), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    service.cancel(actor_for(patient), appointment)
    with pytest.raises(booking.NotBooked):
        service.flag_for_attention(audit.Actor(doctor.user, "portal"), appointment, why="availability_changed")
    assert appointment.needs_attention is False


def test_next_free_slot_is_the_first_of_the_free_list(service, doctor, patient):
    first, last = service.bookable_days()
    service.book(actor_for(patient), doctor=doctor, patient=patient,
                 start_at=service.free_slots(doctor, first, last)[0].start_at)
    assert service.next_free_slots([doctor], first, last)[doctor.id] == service.free_slots(doctor, first, last)[0]


def test_next_free_slot_looks_past_a_fully_booked_fortnight(service, doctor):
    add_time_off(doctor, datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 20, tzinfo=UTC))
    first, last = service.bookable_days()
    assert service.next_free_slots([doctor], first, last)[doctor.id].start_at == datetime(2026, 6, 22, 8, 0, tzinfo=UTC)


def test_inactive_doctor_has_no_next_free_slot(service, doctor):
    doctor.is_active = False
    first, last = service.bookable_days()
    assert service.next_free_slots([doctor], first, last) == {doctor.id: None}
