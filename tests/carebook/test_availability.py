"""The availability service: validation, affected appointments (across DST too), confirm, flag, cancel, audit."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from carebook import audit, clock
from carebook.availability import (AddTimeOff, AvailabilityService, InvalidChange, NeedsConfirmation,
                                   RemoveOneOff, RemoveTimeOff, RemoveWeeklyHours, SetAppointmentLength,
                                   SetOneOff, SetWeeklyHours, decode_change, encode_change, local_instant)
from carebook.extensions import db
from carebook.web import booking_service
from models import Appointment, AppointmentStatus, AuditEntry, DateOverride, TimeOff, WeeklyHours
from tests.factories import make_doctor, make_patient, make_staff

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
MONDAY, TUESDAY, WEDNESDAY = 0, 1, 2
# Mondays to Fridays 09:00-17:00, as make_doctor() sets them.
NINE_TO_FIVE = {day: [(time(9), time(17))] for day in range(5)}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A London wall-clock time as an aware datetime."""
    return datetime.combine(day, time(hour, minute), LONDON)


@pytest.fixture
def service(app):
    return AvailabilityService(db.session, LONDON, app.config["BOOKING_POLICY"])


@pytest.fixture
def doctor(app):
    return make_doctor()


@pytest.fixture
def doctor_actor(doctor):
    return audit.Actor(doctor.user, "portal")


@pytest.fixture
def patient(app):
    return make_patient(name="Alice Patient")


def book(doctor, patient, start: datetime, **kwargs) -> Appointment:
    return booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                  start_at=start, **kwargs)


def problems(service, change) -> dict[str, list[str]]:
    with pytest.raises(InvalidChange) as raised:
        service.validate(change)
    found: dict[str, list[str]] = {}
    for problem in raised.value.problems:
        found.setdefault(problem.field, []).append(problem.message)
    return found


def weekly(doctor, valid_from, ranges=None, **changes):
    return SetWeeklyHours(doctor.id, valid_from, {**NINE_TO_FIVE, **(ranges or {}), **changes})


# --------------------------------------------------------------------------- validation


def test_a_range_must_end_after_it_starts(service, doctor):
    change = weekly(doctor, date(2026, 6, 8), {MONDAY: [(time(12), time(9))]})
    assert problems(service, change) == {"ranges.0.0": ["The end must be after the start."]}


def test_ranges_on_the_same_day_must_not_overlap(service, doctor):
    change = weekly(doctor, date(2026, 6, 8), {TUESDAY: [(time(9), time(12)), (time(11, 30), time(17))]})
    assert problems(service, change) == {"ranges.1.1": ["Overlaps 09:00–12:00 on Tuesday."]}


def test_touching_ranges_and_several_ranges_a_day_are_fine(service, doctor):
    service.validate(weekly(doctor, date(2026, 6, 8), {MONDAY: [(time(9), time(12)), (time(12), time(13)),
                                                                (time(13, 30), time(17))]}))


def test_weekly_hours_cannot_start_in_the_past(service, doctor):
    assert problems(service, weekly(doctor, date(2026, 5, 31))) == {
        "valid_from": ["That date is in the past. Changes can start today (Mon 1 Jun) or later."]}


def test_weekly_hours_may_start_today(service, doctor):
    service.validate(weekly(doctor, date(2026, 6, 1)))


def test_weekly_hours_too_far_ahead_are_refused(service, doctor):
    assert "valid_from" in problems(service, weekly(doctor, date(2030, 1, 1)))


def test_weekly_hours_need_at_least_one_range(service, doctor):
    assert problems(service, SetWeeklyHours(doctor.id, date(2026, 6, 8), {})) == {
        "ranges": ["Enter at least one range of hours. To stop working for a while, add time off instead."]}


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


def test_a_one_off_change_cannot_be_in_the_past(service, doctor):
    assert list(problems(service, SetOneOff(doctor.id, date(2026, 5, 29)))) == ["on_date"]


def test_extra_hours_need_hours(service, doctor):
    assert problems(service, SetOneOff(doctor.id, date(2026, 6, 6), (), adds_to_usual=True)) == {
        "ranges": ["Enter the extra hours."]}


def test_removing_a_one_off_change_that_does_not_exist_says_so(service, doctor):
    assert problems(service, RemoveOneOff(doctor.id, date(2026, 6, 6))) == {
        "on_date": ["There is no one-off change on that date."]}


def test_time_off_cannot_end_before_its_first_day(service, doctor):
    assert problems(service, AddTimeOff(doctor.id, date(2026, 6, 10), date(2026, 6, 9))) == {
        "end_date": ["The last day cannot be before the first day."]}


def test_part_of_a_day_off_must_end_after_it_starts(service, doctor):
    change = AddTimeOff(doctor.id, date(2026, 6, 10), date(2026, 6, 10), time(14), time(13))
    assert problems(service, change) == {"end_time": ["Time off must end after it starts."]}


def test_time_off_cannot_start_in_the_past(service, doctor):
    assert list(problems(service, AddTimeOff(doctor.id, date(2026, 5, 1), date(2026, 6, 3)))) == ["start_date"]


def test_time_off_is_at_most_a_year_at_a_time(service, doctor):
    assert list(problems(service, AddTimeOff(doctor.id, date(2026, 6, 10), date(2027, 8, 1)))) == ["end_date"]


def test_past_time_off_cannot_be_removed(service, doctor):
    row = TimeOff(doctor_id=doctor.id, start_at=datetime(2026, 5, 1, tzinfo=UTC), end_at=datetime(2026, 5, 2, tzinfo=UTC))
    db.session.add(row)
    db.session.flush()
    assert problems(service, RemoveTimeOff(doctor.id, row.id)) == {
        "time_off": ["Past time off stays on record and cannot be removed."]}


def test_another_doctors_time_off_cannot_be_removed(service, doctor):
    other = make_doctor(name="Dr Other")
    row = TimeOff(doctor_id=other.id, start_at=at(date(2026, 6, 5), 9), end_at=at(date(2026, 6, 5), 12))
    db.session.add(row)
    db.session.flush()
    assert list(problems(service, RemoveTimeOff(doctor.id, row.id))) == ["time_off"]


# --------------------------------------------------------------------------- time off in wall-clock time


def test_whole_days_off_across_the_spring_change_end_at_local_midnight():
    # 28-30 March 2026: the clocks go forward on Sunday 29th, so the last midnight is in BST.
    service = AvailabilityService(None, LONDON, None)
    start, end = service._time_off_interval(AddTimeOff(1, date(2026, 3, 28), date(2026, 3, 30)))
    assert start == datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 30, 23, 0, tzinfo=UTC)


def test_a_time_skipped_by_the_spring_change_means_the_change_itself():
    assert local_instant(date(2026, 3, 29), time(1, 30), LONDON) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_a_repeated_autumn_time_means_its_first_pass():
    assert local_instant(date(2026, 10, 25), time(1, 30), LONDON) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


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


def test_setting_hours_from_a_date_that_has_a_pattern_replaces_it(service, doctor, doctor_actor, session):
    service.apply(weekly(doctor, date(2026, 6, 8), {TUESDAY: [(time(13), time(17))]}), doctor_actor)
    service.apply(SetWeeklyHours(doctor.id, date(2026, 6, 8), {MONDAY: [(time(8), time(12))]}), doctor_actor)
    rows = session.scalars(select(WeeklyHours).where(WeeklyHours.valid_from == date(2026, 6, 8))).all()
    assert [(r.weekday, r.start_time, r.end_time) for r in rows] == [(MONDAY, time(8), time(12))]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "availability.weekly_hours_set")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry.details["previous_hours"]["Tuesday"] == ["13:00–17:00"]


def test_new_hours_change_the_free_slots_at_once(service, doctor, doctor_actor):
    service.apply(weekly(doctor, date(2026, 6, 1), {TUESDAY: [(time(13), time(17))]}), doctor_actor)
    free = booking_service().free_slots(doctor, date(2026, 6, 2), date(2026, 6, 2))
    assert [slot.start_at for slot in free][:1] == [at(date(2026, 6, 2), 13).astimezone(UTC)]
    assert len(free) == 8


def test_appointment_length_is_applied_and_audited_with_the_old_values(service, doctor, doctor_actor, session):
    service.apply(SetAppointmentLength(doctor.id, 20, 10), doctor_actor)
    assert (doctor.appointment_minutes, doctor.buffer_minutes) == (20, 10)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "availability.appointment_length_set"))
    assert entry.details == {"appointment_minutes": 20, "buffer_minutes": 10, "previous_appointment_minutes": 30,
                             "previous_buffer_minutes": 0}


def test_extra_hours_are_stored_together_with_the_usual_ones(service, doctor, doctor_actor, session):
    service.apply(SetOneOff(doctor.id, date(2026, 6, 4), ((time(17), time(19)),), adds_to_usual=True), doctor_actor)
    rows = session.scalars(select(DateOverride).where(DateOverride.on_date == date(2026, 6, 4))).all()
    assert [(r.start_time, r.end_time) for r in rows] == [(time(9), time(19))]


def test_a_closed_day_is_one_row_without_times_and_removing_it_restores_the_hours(service, doctor, doctor_actor,
                                                                                   session):
    service.apply(SetOneOff(doctor.id, date(2026, 6, 4)), doctor_actor)
    rows = session.scalars(select(DateOverride)).all()
    assert [(r.on_date, r.start_time, r.end_time) for r in rows] == [(date(2026, 6, 4), None, None)]
    assert booking_service().free_slots(doctor, date(2026, 6, 4), date(2026, 6, 4)) == []
    service.apply(RemoveOneOff(doctor.id, date(2026, 6, 4)), doctor_actor)
    assert len(booking_service().free_slots(doctor, date(2026, 6, 4), date(2026, 6, 4))) == 16
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("availability.%"))).all()
    assert actions == ["availability.one_off_set", "availability.one_off_removed"]


def test_time_off_is_stored_in_utc_and_its_note_stays_out_of_the_audit_log(service, doctor, doctor_actor, session):
    change = AddTimeOff(doctor.id, date(2026, 6, 2), date(2026, 6, 2), time(12), time(14), note="dentist")
    service.apply(change, doctor_actor)
    row = session.scalar(select(TimeOff))
    assert (row.start_at, row.end_at) == (datetime(2026, 6, 2, 11, tzinfo=UTC), datetime(2026, 6, 2, 13, tzinfo=UTC))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "availability.time_off_added"))
    assert "dentist" not in str(entry.details) and entry.details["time_off_id"] == row.id
    service.apply(RemoveTimeOff(doctor.id, row.id), doctor_actor)
    assert session.scalar(select(func.count()).select_from(TimeOff)) == 0


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


@pytest.mark.parametrize("change", [
    SetWeeklyHours(7, date(2026, 6, 8), {1: ((time(9), time(12)), (time(13, 30), time(17)))}),
    RemoveWeeklyHours(7, date(2026, 6, 8)),
    SetAppointmentLength(7, 20, 5),
    SetOneOff(7, date(2026, 6, 8), ((time(10), time(12)),), adds_to_usual=True),
    SetOneOff(7, date(2026, 6, 8)),
    RemoveOneOff(7, date(2026, 6, 8)),
    AddTimeOff(7, date(2026, 6, 8), date(2026, 6, 9), time(12), None, "away"),
    RemoveTimeOff(7, 3),
])
def test_changes_survive_a_round_trip_through_json(change):
    import json

    assert decode_change(json.loads(json.dumps(encode_change(change)))) == change


def test_decoding_rubbish_is_a_value_error():
    with pytest.raises(ValueError):
        decode_change({"type": "SetOneOff", "doctor_id": 1, "on_date": "not a date"})
    with pytest.raises(ValueError):
        decode_change({"type": "DropTables"})
