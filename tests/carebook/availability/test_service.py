"""The availability service: affected appointments (across DST too), confirm, flag, cancel, audit."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from carebook import audit, clock
from carebook.availability import (AddTimeOff, InvalidChange, NeedsConfirmation, RemoveWeeklyHours,
                                   SetAppointmentLength, SetOneOff, SetWeeklyHours)
from carebook.booking.signals import appointment_changed
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, AuditEntry, DateOverride, WeeklyHours
from tests.carebook.availability.helpers import TUESDAY, UTC, at, book, weekly
from tests.factories import make_patient, make_staff


# --------------------------------------------------------------------------- affected appointments


def test_closing_tuesdays_from_a_date_affects_only_tuesdays_from_then(service, doctor, patient):
    before = book(doctor, patient, at(date(2026, 6, 2), 10))
    after = book(doctor, patient, at(date(2026, 6, 9), 10))
    wednesday = book(doctor, patient, at(date(2026, 6, 10), 10))
    affected = service.affected_appointments(weekly(doctor, date(2026, 6, 8), {TUESDAY: []}))
    assert affected == [after]
    assert before not in affected and wednesday not in affected


def test_afternoon_only_hours_affect_morning_appointments(service, doctor, patient):
    morning = book(doctor, patient, at(date(2026, 6, 3), 9, 30))
    afternoon = book(doctor, patient, at(date(2026, 6, 3), 13, 0))
    change = SetWeeklyHours(doctor.id, date(2026, 6, 1), {day: [(time(13), time(17))] for day in range(5)})
    assert service.affected_appointments(change) == [morning]
    assert afternoon.needs_attention is False


def test_affected_appointments_across_the_spring_clock_change(app, service, doctor, patient):
    """Hours change from Mon 23 March to 13:00-17:00; on 30 March London is on BST (UTC+1).

    13:00 and 16:30 BST are 12:00 and 15:30 UTC: inside the new hours. A computation in
    UTC or in GMT would wrongly call them outside, and would miss 12:30 GMT on the 24th.
    """
    clock.freeze(datetime(2026, 3, 16, 8, 0, tzinfo=UTC))
    before_the_change = book(doctor, patient, at(date(2026, 3, 24), 12, 30))  # GMT: 12:30 UTC
    bst_morning = book(doctor, patient, at(date(2026, 3, 30), 9, 0))  # 08:00 UTC
    bst_one_pm = book(doctor, patient, at(date(2026, 3, 30), 13, 0))  # 12:00 UTC
    bst_last = book(doctor, patient, at(date(2026, 3, 30), 16, 30))  # 15:30 UTC, ends 17:00 BST
    assert bst_one_pm.start_at == datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    change = SetWeeklyHours(doctor.id, date(2026, 3, 23), {day: [(time(13), time(17))] for day in range(5)})
    affected = service.affected_appointments(change)
    assert affected == [before_the_change, bst_morning]
    assert bst_one_pm not in affected and bst_last not in affected


def test_days_off_across_the_spring_change_affect_the_last_day_in_summer_time(app, service, doctor, patient):
    clock.freeze(datetime(2026, 3, 16, 8, 0, tzinfo=UTC))
    last_afternoon = book(doctor, patient, at(date(2026, 3, 30), 16, 30))  # Monday, BST
    next_morning = book(doctor, patient, at(date(2026, 3, 31), 9, 0))
    affected = service.affected_appointments(AddTimeOff(doctor.id, date(2026, 3, 28), date(2026, 3, 30)))
    assert affected == [last_afternoon]
    assert next_morning not in affected


def test_part_of_a_day_off_affects_only_what_it_overlaps(service, doctor, patient):
    inside = book(doctor, patient, at(date(2026, 6, 2), 13, 30))
    touching = book(doctor, patient, at(date(2026, 6, 2), 14, 0))
    change = AddTimeOff(doctor.id, date(2026, 6, 2), date(2026, 6, 2), time(12), time(14))
    assert service.affected_appointments(change) == [inside]
    assert touching.needs_attention is False


def test_a_closed_one_off_day_affects_that_days_appointments(service, doctor, patient):
    that_day = book(doctor, patient, at(date(2026, 6, 4), 11))
    next_day = book(doctor, patient, at(date(2026, 6, 5), 11))
    assert service.affected_appointments(SetOneOff(doctor.id, date(2026, 6, 4))) == [that_day]
    assert next_day.needs_attention is False


def test_extra_hours_affect_nothing(service, doctor, patient):
    book(doctor, patient, at(date(2026, 6, 4), 11))
    change = SetOneOff(doctor.id, date(2026, 6, 4), ((time(18), time(20)),), adds_to_usual=True)
    assert service.affected_appointments(change) == []


def test_removing_planned_hours_affects_appointments_booked_in_them(service, doctor, patient):
    longer = {day: [(time(9), time(19))] for day in range(5)}
    service.apply(SetWeeklyHours(doctor.id, date(2026, 6, 8), longer), audit.Actor(doctor.user, "portal"))
    evening = book(doctor, patient, at(date(2026, 6, 9), 18))
    assert service.affected_appointments(RemoveWeeklyHours(doctor.id, date(2026, 6, 8))) == [evening]


def test_appointments_booked_outside_hours_by_staff_are_not_blamed_on_a_change(service, doctor, patient):
    staff = make_staff()
    outside = booking_service().book(audit.Actor(staff, "admin"), doctor=doctor, patient=patient,
                                     start_at=at(date(2026, 6, 2), 18), allow_outside_hours=True,
                                     override_note="Only time the patient could come")
    assert service.affected_appointments(weekly(doctor, date(2026, 6, 1), {TUESDAY: [(time(13), time(17))]})) == []
    assert outside.is_booked


def test_cancelled_and_past_appointments_are_not_affected(service, doctor, patient):
    cancelled = book(doctor, patient, at(date(2026, 6, 9), 10))
    booking_service().cancel(audit.Actor(patient.user, "portal"), cancelled)
    past = Appointment(doctor=doctor, patient=patient, start_at=at(date(2026, 5, 26), 10),
                       end_at=at(date(2026, 5, 26), 10, 30))
    db.session.add(past)
    db.session.flush()
    assert service.affected_appointments(weekly(doctor, date(2026, 6, 1), {TUESDAY: []})) == []


def test_a_new_appointment_length_affects_nothing(service, doctor, patient):
    book(doctor, patient, at(date(2026, 6, 2), 10))
    assert service.affected_appointments(SetAppointmentLength(doctor.id, 60, 15)) == []


# --------------------------------------------------------------------------- applying


def test_a_change_that_hits_appointments_needs_confirmation_and_writes_nothing(service, doctor, doctor_actor,
                                                                                patient, session):
    appointment = book(doctor, patient, at(date(2026, 6, 9), 10))
    with pytest.raises(NeedsConfirmation) as raised:
        service.apply(weekly(doctor, date(2026, 6, 8), {TUESDAY: []}), doctor_actor)
    assert raised.value.affected == [appointment]
    assert session.scalar(select(func.count()).select_from(WeeklyHours).where(
        WeeklyHours.valid_from == date(2026, 6, 8))) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.like("availability.%"))) == 0
    assert appointment.needs_attention is False


def test_confirming_keeps_the_appointments_booked_and_flags_them(service, doctor, doctor_actor, patient, session):
    appointment = book(doctor, patient, at(date(2026, 6, 9), 10))
    result = service.apply(weekly(doctor, date(2026, 6, 8), {TUESDAY: []}), doctor_actor, confirm_affected=True)
    assert result.flagged == [appointment]
    assert appointment.status is AppointmentStatus.BOOKED and appointment.needs_attention is True
    free = booking_service().free_slots(doctor, date(2026, 6, 9), date(2026, 6, 9))
    assert free == []


def test_a_change_that_hits_nothing_applies_without_confirmation(service, doctor, doctor_actor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 10), 10))
    result = service.apply(weekly(doctor, date(2026, 6, 8), {TUESDAY: []}), doctor_actor)
    assert result.flagged == [] and appointment.needs_attention is False


def test_an_appointment_booked_after_the_list_was_shown_needs_a_new_confirmation(service, doctor, doctor_actor,
                                                                                   patient):
    shown = book(doctor, patient, at(date(2026, 6, 9), 10))
    change = weekly(doctor, date(2026, 6, 8), {TUESDAY: []})
    shown_ids = [a.id for a in service.affected_appointments(change)]
    late = book(doctor, make_patient(), at(date(2026, 6, 16), 10))
    with pytest.raises(NeedsConfirmation) as raised:
        service.apply(change, doctor_actor, confirm_affected=True, shown_ids=shown_ids)
    assert raised.value.affected == [shown, late]


def test_flagging_and_cancelling_go_through_the_booking_service_and_its_signal(service, doctor, doctor_actor,
                                                                              patient):
    flagged = book(doctor, patient, at(date(2026, 6, 9), 10))
    cancelled = book(doctor, patient, at(date(2026, 6, 4), 10))
    heard = []

    def receiver(sender, *, event, appointment, previous_start_at):
        heard.append((event, appointment.id))

    with appointment_changed.connected_to(receiver):
        service.apply(weekly(doctor, date(2026, 6, 8), {TUESDAY: []}), doctor_actor, confirm_affected=True)
        service.cancel_affected(SetOneOff(doctor.id, date(2026, 6, 4)), doctor_actor, reason="The doctor is ill.")
    assert heard == [("flagged", flagged.id), ("cancelled", cancelled.id)]


def test_applying_writes_an_audit_row_per_change_and_per_flagged_appointment(service, doctor, doctor_actor,
                                                                             patient, session):
    appointment = book(doctor, patient, at(date(2026, 6, 9), 10))
    service.apply(weekly(doctor, date(2026, 6, 8), {TUESDAY: [(time(13), time(17))]}), doctor_actor,
                  confirm_affected=True)
    change_row = session.scalar(select(AuditEntry).where(AuditEntry.action == "availability.weekly_hours_set"))
    assert (change_row.actor_id, change_row.source, change_row.entity_type, change_row.entity_id) == (
        doctor.user.id, "portal", "doctor", doctor.id)
    assert change_row.details["valid_from"] == "2026-06-08"
    assert change_row.details["hours"]["Tuesday"] == ["13:00–17:00"]
    assert change_row.details["flagged_appointment_ids"] == [appointment.id]
    flag_row = session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.flagged"))
    assert flag_row.entity_id == appointment.id


def test_new_hours_change_the_free_slots_at_once(service, doctor, doctor_actor):
    service.apply(weekly(doctor, date(2026, 6, 1), {TUESDAY: [(time(13), time(17))]}), doctor_actor)
    free = booking_service().free_slots(doctor, date(2026, 6, 2), date(2026, 6, 2))
    assert [slot.start_at for slot in free][:1] == [at(date(2026, 6, 2), 13).astimezone(UTC)]
    assert len(free) == 8


def test_cancelling_the_affected_appointments_goes_through_the_booking_service(service, doctor, doctor_actor,
                                                                              patient, session):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10))  # tomorrow: inside the patients' cut-off
    change = SetOneOff(doctor.id, date(2026, 6, 2))
    result = service.cancel_affected(change, doctor_actor, reason="The doctor is ill.")
    assert result.cancelled == [appointment]
    assert appointment.status is AppointmentStatus.CANCELLED
    assert (appointment.cancellation_reason, appointment.cancelled_by_id) == ("The doctor is ill.", doctor.user.id)
    assert appointment.needs_attention is False
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["appointment.cancelled", "availability.one_off_set"]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "availability.one_off_set"))
    assert entry.details["cancelled_appointment_ids"] == [appointment.id]


def test_cancelling_needs_a_reason(service, doctor, doctor_actor, patient):
    appointment = book(doctor, patient, at(date(2026, 6, 2), 10))
    with pytest.raises(InvalidChange) as raised:
        service.cancel_affected(SetOneOff(doctor.id, date(2026, 6, 2)), doctor_actor, reason="  ")
    assert raised.value.messages("reason") == ["Give a reason for cancelling."]
    assert appointment.is_booked


def test_the_service_flushes_but_never_commits(service, doctor, doctor_actor, session):
    session.commit()
    service.apply(SetOneOff(doctor.id, date(2026, 6, 4)), doctor_actor)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(DateOverride)) == 0
