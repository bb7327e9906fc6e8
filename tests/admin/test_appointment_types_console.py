"""Appointment types in the console: the clinic's list kept by staff, and which doctors offer which."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from carebook.extensions import db
from models import AppointmentType, Audience, AuditEntry, DoctorAppointmentType
from tests.factories import make_doctor, make_type

NEW_TYPE = {"name": "Vaccination", "description": "A jab from the nurse.", "duration_minutes": "10",
            "buffer_minutes": "5", "colour": "#6f42c1", "booking": "staff", "audience": "anyone"}


def _actions() -> list[str]:
    return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


def test_staff_create_a_type_with_every_field(app, staff_client):
    response = staff_client.submit("/admin/appointment-types/new/", {**NEW_TYPE, "audience": "new_patients"})
    created = db.session.scalars(select(AppointmentType)).one()
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/appointment-types/{created.id}/")
    assert (created.name, created.description, created.duration_minutes, created.buffer_minutes, created.colour,
            created.bookable_online, created.audience, created.is_active) == (
        "Vaccination", "A jab from the nurse.", 10, 5, "#6f42c1", False, Audience.NEW_PATIENTS, True)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "appointment_type.created")).one()
    assert entry.source == "admin" and entry.details["name"] == "Vaccination"


def test_a_colour_outside_the_palette_is_refused_next_to_the_field(app, staff_client):
    response = staff_client.submit("/admin/appointment-types/new/", {**NEW_TYPE, "colour": "#ffff00"})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.scalars(select(AppointmentType)).all() == []


def test_a_length_out_of_range_is_refused(app, staff_client):
    response = staff_client.submit("/admin/appointment-types/new/", {**NEW_TYPE, "duration_minutes": "241"})
    assert response.status_code == 400 and "Between 5 and 240 minutes." in response.get_data(as_text=True)


def test_the_list_shows_each_type_with_its_colour_name_and_status(app, staff_client):
    doctor = make_doctor()
    make_type("Follow-up", doctors=[doctor])
    retired = make_type("Old check", colour="#b02a37")
    retired.is_active = False
    db.session.commit()
    page = staff_client.get("/admin/appointment-types/").get_data(as_text=True)
    assert 'type-badge type-colour-green">Follow-up' in page and "Green" in page
    assert 'type-colour-red">Old check' in page and "Retired" in page


def test_staff_edit_a_type_and_the_change_is_audited_with_the_previous_values(app, staff_client):
    follow_up = make_type("Follow-up", minutes=15)
    db.session.commit()
    response = staff_client.submit(f"/admin/appointment-types/{follow_up.id}/", {
        **NEW_TYPE, "name": "Follow-up visit", "duration_minutes": "20", "booking": "online"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (follow_up.name, follow_up.duration_minutes) == ("Follow-up visit", 20)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "appointment_type.updated")).one()
    assert entry.details["name"] == "Follow-up visit" and entry.details["previous_name"] == "Follow-up"
    assert entry.details["previous_duration_minutes"] == 15


def test_retiring_asks_first_then_keeps_the_type(app, staff_client):
    follow_up = make_type("Follow-up")
    db.session.commit()
    question = staff_client.get(f"/admin/appointment-types/{follow_up.id}/retire/").get_data(as_text=True)
    assert "Retire Follow-up?" in question and "Nothing is deleted" in question
    assert staff_client.submit(f"/admin/appointment-types/{follow_up.id}/retire/").status_code == 302
    db.session.expire_all()
    assert follow_up.is_active is False
    assert staff_client.submit(f"/admin/appointment-types/{follow_up.id}/reactivate/").status_code == 302
    db.session.expire_all()
    assert follow_up.is_active is True
    assert _actions()[-2:] == ["appointment_type.retired", "appointment_type.reactivated"]


def test_a_doctors_default_type_cannot_be_retired(app, staff_client):
    doctor = make_doctor(name="Dr Ada Okafor")
    db.session.commit()
    response = staff_client.submit(f"/admin/appointment-types/{doctor.default_appointment_type_id}/retire/",
                                   follow_redirects=True)
    assert "Dr Ada Okafor&#39;s default type: it cannot be retired." in response.get_data(as_text=True)
    assert db.session.get(AppointmentType, doctor.default_appointment_type_id).is_active


def test_staff_assign_a_type_to_a_doctor_with_an_own_length_and_the_switch(app, staff_client):
    doctor = make_doctor(name="Dr Priya Patel")
    first_visit = make_type("First visit", minutes=30)
    db.session.commit()
    response = staff_client.submit(f"/admin/appointment-types/{first_visit.id}/offers/", {
        "offer-doctor_id": str(doctor.id), "offer-duration_minutes": "40",
        "offer-doctor_may_change_duration": "y"})
    assert response.status_code == 302
    offer = db.session.get(DoctorAppointmentType, (doctor.id, first_visit.id))
    assert (offer.duration_minutes, offer.doctor_may_change_duration) == (40, True)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "appointment_type.offered")).one()
    assert entry.details["appointment_type"] == "First visit" and entry.details["duration_minutes"] == 40
    page = staff_client.get(f"/admin/doctors/{doctor.id}/").get_data(as_text=True)
    assert "First visit</a>:\n          40 min (their own)" in page and "they may change its length" in page


def test_staff_change_an_offer_then_withdraw_it(app, staff_client):
    doctor = make_doctor(name="Dr Priya Patel")
    first_visit = make_type("First visit", minutes=30, doctors=[doctor])
    db.session.commit()
    response = staff_client.submit(f"/admin/appointment-types/{first_visit.id}/offers/?doctor_id={doctor.id}", {
        f"offer-{doctor.id}-duration_minutes": "45"})
    assert response.status_code == 302
    offer = db.session.get(DoctorAppointmentType, (doctor.id, first_visit.id))
    assert (offer.duration_minutes, offer.doctor_may_change_duration) == (45, False)
    response = staff_client.submit(f"/admin/appointment-types/{first_visit.id}/offers/{doctor.id}/withdraw/")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(DoctorAppointmentType, (doctor.id, first_visit.id)) is None
    assert _actions()[-1] == "appointment_type.withdrawn"


def test_an_own_length_out_of_range_is_refused_at_the_field(app, staff_client):
    doctor = make_doctor()
    first_visit = make_type("First visit", doctors=[doctor])
    db.session.commit()
    response = staff_client.submit(f"/admin/appointment-types/{first_visit.id}/offers/?doctor_id={doctor.id}", {
        f"offer-{doctor.id}-duration_minutes": "3"})
    assert response.status_code == 400 and "Between 5 and 240 minutes." in response.get_data(as_text=True)


def test_an_unknown_type_is_404(app, staff_client):
    assert staff_client.get("/admin/appointment-types/999/").status_code == 404


# -- booking types from the console, the day schedule, the audit log ------------------------------

from datetime import timedelta  # noqa: E402

from carebook import audit  # noqa: E402
from carebook.services import booking_service  # noqa: E402
from models import Appointment  # noqa: E402
from tests.admin.conftest import TUESDAY, local  # noqa: E402
from tests.factories import make_patient  # noqa: E402


def test_staff_book_a_staff_only_type_from_its_own_free_slots(app, staff_client):
    doctor = make_doctor(name="Dr Ada Okafor")
    vaccination = make_type("Vaccination", minutes=10, doctors=[doctor], bookable_online=False, colour="#055160")
    patient = make_patient(name="Pia Named")
    db.session.commit()
    page = staff_client.get(f"/admin/appointments/book/?patient_id={patient.id}&doctor_id={doctor.id}"
                            f"&type_id={vaccination.id}&day={TUESDAY}").get_data(as_text=True)
    assert "Vaccination (10 min, staff only)" in page and page.count('name="start_at"') == 48  # 8 h in 10 min
    response = staff_client.submit("/admin/appointments/book/", {
        "patient_id": str(patient.id), "doctor_id": str(doctor.id), "type_id": str(vaccination.id),
        "day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 9, 10).isoformat()})
    assert response.status_code == 302
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.appointment_type_id == vaccination.id
    assert appointment.end_at - appointment.start_at == timedelta(minutes=10)


def test_staff_cannot_book_a_type_the_doctor_does_not_offer(app, staff_client):
    doctor = make_doctor()
    other = make_type("Not theirs", doctors=[make_doctor(name="Dr Other")])
    patient = make_patient()
    db.session.commit()
    response = staff_client.submit("/admin/appointments/book/", {
        "patient_id": str(patient.id), "doctor_id": str(doctor.id), "type_id": str(other.id),
        "day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 9).isoformat()})
    assert response.status_code in (409, 422)
    assert db.session.scalars(select(Appointment)).all() == []


def test_the_day_schedule_shows_each_appointments_type_and_colour(app, staff_client):
    doctor = make_doctor()
    follow_up = make_type("Follow-up", minutes=15, doctors=[doctor], colour="#a3216b")
    patient = make_patient()
    booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                           start_at=local(TUESDAY, 9), appointment_type=follow_up)
    db.session.commit()
    page = staff_client.get(f"/admin/schedule/?day={TUESDAY}").get_data(as_text=True)
    assert '<span class="type-badge type-colour-magenta schedule-type">Follow-up</span>' in page


def test_staff_move_an_appointment_to_another_type_and_the_audit_log_names_both(app, staff_client):
    doctor = make_doctor()
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    patient = make_patient()
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=local(TUESDAY, 9))
    db.session.commit()
    page = staff_client.get(f"/admin/appointments/{appointment.id}/reschedule/?type_id={long_visit.id}"
                            f"&day={TUESDAY}").get_data(as_text=True)
    assert "The type changes to" in page
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/", {
        "type_id": str(long_visit.id), "day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 11).isoformat(),
        "move_reason": "Needs longer"})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.appointment_type_id == long_visit.id
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "appointment.rescheduled")).one()
    assert entry.details["appointment_type"] == "Long visit"
    assert entry.details["previous_appointment_type"] == "Appointment (30 min)"
    log = staff_client.get("/admin/audit/?flt0_action_contains=rescheduled").get_data(as_text=True)
    assert "appointment_type: Long visit" in log and "type: Long visit" in log


def test_a_staff_move_keeps_the_type_and_a_cancel_names_it(app, staff_client):
    doctor = make_doctor()
    follow_up = make_type("Follow-up", minutes=15, doctors=[doctor])
    patient = make_patient()
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=local(TUESDAY, 9), appointment_type=follow_up)
    db.session.commit()
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/", {
        "type_id": str(follow_up.id), "day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 9, 15).isoformat(),
        "move_reason": "Asked"})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.appointment_type_id == follow_up.id
    booking_service().cancel(audit.Actor(None, "admin"), appointment, reason="Ill", enforce_cutoff=False)
    db.session.commit()
    details = db.session.scalars(select(AuditEntry.details).where(
        AuditEntry.action.in_(["appointment.rescheduled", "appointment.cancelled"])).order_by(AuditEntry.id)).all()
    assert [d["appointment_type"] for d in details] == ["Follow-up", "Follow-up"]
    assert "previous_appointment_type" not in details[0]


@pytest.mark.parametrize("how", ["retired", "withdrawn"])
def test_staff_moving_an_appointment_whose_type_is_no_longer_offered_see_times_of_its_own_length(
        app, staff_client, how):
    doctor = make_doctor()  # 30-minute default type
    follow_up = make_type("Follow-up", minutes=15, doctors=[doctor])
    patient = make_patient()
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=local(TUESDAY, 9), appointment_type=follow_up)
    if how == "retired":
        follow_up.is_active = False
    else:
        db.session.execute(delete(DoctorAppointmentType).where(DoctorAppointmentType.appointment_type_id == follow_up.id))
    db.session.commit()
    page = staff_client.get(f"/admin/appointments/{appointment.id}/reschedule/?day={TUESDAY}").get_data(as_text=True)
    # Every 15 minutes, as the service checks the kept type: 09:15 and 14:45 too, not only the 30-minute grid.
    for wall in ((9, 15), (14, 45), (16, 45)):
        assert f'value="{local(TUESDAY, *wall).isoformat()}"' in page
    assert f'value="{local(TUESDAY, 9).isoformat()}"' not in page  # its own time
    assert "Follow-up (kept)" in page
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/", {
        "type_id": str(follow_up.id), "day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 14, 45).isoformat(),
        "move_reason": "Asked"})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.appointment_type_id == follow_up.id and appointment.start_at == local(TUESDAY, 14, 45)
    assert appointment.end_at - appointment.start_at == timedelta(minutes=15)


def test_staff_cannot_newly_choose_a_retired_type_when_moving(app, staff_client):
    doctor = make_doctor()
    old_check = make_type("Old check", minutes=15, doctors=[doctor])
    patient = make_patient()
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=local(TUESDAY, 9))
    old_check.is_active = False
    db.session.commit()
    page = staff_client.get(f"/admin/appointments/{appointment.id}/reschedule/?day={TUESDAY}").get_data(as_text=True)
    assert "Old check" not in page
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/", {
        "type_id": str(old_check.id), "day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 14).isoformat(),
        "move_reason": "Asked"})
    assert response.status_code in (409, 422)
    db.session.expire_all()
    assert appointment.appointment_type_id == doctor.default_appointment_type_id
    assert appointment.start_at == local(TUESDAY, 9)
