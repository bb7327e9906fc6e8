"""The patient's journey with appointment types: choose a type (or a doctor, then a type), then a time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, Audience, DoctorAppointmentType
from tests.factories import make_doctor, make_patient, make_type

UTC = timezone.utc
TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # 10:00 in London
TUESDAY_0940 = datetime(2026, 6, 2, 8, 40, tzinfo=UTC)  # 09:40 in London: on the 40-minute grid


@pytest.fixture
def doctor(app):
    return make_doctor(name="Dr Priya Patel", specialty="General practice", minutes=30)


@pytest.fixture
def patient(app):
    return make_patient(name="Alice Patient")


@pytest.fixture
def first_visit(doctor):
    return make_type("First visit", minutes=40, doctors=[doctor], description="We get to know you.",
                     audience=Audience.NEW_PATIENTS)


@pytest.fixture
def follow_up(doctor):
    return make_type("Follow-up", minutes=20, doctors=[doctor], audience=Audience.RETURNING_PATIENTS)


@pytest.fixture
def signed_in(app, client, doctor, patient):
    db.session.commit()
    client.login(patient.user.email)
    return client


def _make_returning(doctor, patient):
    """A past completed appointment: the patient returns to this doctor."""
    db.session.add(Appointment(doctor=doctor, patient=patient, start_at=TUESDAY_10 - timedelta(days=30),
                               end_at=TUESDAY_10 - timedelta(days=30, minutes=-30),
                               buffer_end_at=TUESDAY_10 - timedelta(days=30, minutes=-30),
                               appointment_type_id=doctor.default_appointment_type_id,
                               status=AppointmentStatus.COMPLETED))
    db.session.commit()


def test_the_doctors_page_lists_the_types_they_offer_with_description_and_length(signed_in, doctor, first_visit):
    db.session.commit()
    page = signed_in.get(f"/doctors/{doctor.id}").get_data(as_text=True)
    assert "Type of appointment" in page
    assert "First visit</span> <span class=\"type-choice-length\">40 min" in page and "We get to know you." in page
    assert "Appointment (30 min)" in page


def test_choosing_a_type_lists_its_own_free_times(signed_in, doctor, first_visit):
    db.session.commit()
    page = signed_in.get(f"/doctors/{doctor.id}?type_id={first_visit.id}&day=2026-06-02").get_data(as_text=True)
    # 09:00-17:00 in 40-minute steps: 12 starts.
    assert page.count('name="start_at"') == 12
    assert f'name="type_id" value="{first_visit.id}"' in page and "Times for First visit" in page
    assert 'aria-current="true"' in page


def test_a_patient_books_a_chosen_type_for_its_length(signed_in, doctor, first_visit):
    db.session.commit()
    response = signed_in.submit(f"/doctors/{doctor.id}/book", {"start_at": TUESDAY_0940.isoformat(),
                                                                "type_id": str(first_visit.id)})
    assert response.status_code == 302
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.appointment_type_id == first_visit.id
    assert appointment.end_at - appointment.start_at == timedelta(minutes=40)


def test_a_returning_only_type_is_not_listed_for_a_new_patient_and_is_refused_if_sent(signed_in, doctor,
                                                                                     follow_up):
    db.session.commit()
    page = signed_in.get(f"/doctors/{doctor.id}").get_data(as_text=True)
    assert "Follow-up" not in page
    response = signed_in.submit(f"/doctors/{doctor.id}/book", {"start_at": TUESDAY_10.isoformat(),
                                                                "type_id": str(follow_up.id)})
    assert response.status_code == 422
    assert db.session.scalars(select(Appointment)).all() == []


def test_a_returning_patient_sees_returning_types_and_not_new_patient_ones(signed_in, doctor, patient, first_visit,
                                                                          follow_up):
    _make_returning(doctor, patient)
    page = signed_in.get(f"/doctors/{doctor.id}").get_data(as_text=True)
    assert "Follow-up" in page and "First visit" not in page


def test_a_staff_only_type_is_never_listed_and_is_refused_if_sent(signed_in, doctor):
    vaccination = make_type("Vaccination", minutes=10, doctors=[doctor], bookable_online=False)
    db.session.commit()
    assert "Vaccination" not in signed_in.get(f"/doctors/{doctor.id}").get_data(as_text=True)
    response = signed_in.submit(f"/doctors/{doctor.id}/book", {"start_at": TUESDAY_10.isoformat(),
                                                                "type_id": str(vaccination.id)})
    assert response.status_code == 422
    assert db.session.scalars(select(Appointment)).all() == []


def test_an_unknown_type_is_404(signed_in, doctor):
    response = signed_in.submit(f"/doctors/{doctor.id}/book", {"start_at": TUESDAY_10.isoformat(),
                                                                "type_id": "999999"})
    assert response.status_code == 404


def test_the_doctor_list_filters_by_type_with_the_first_free_time_per_type(signed_in, doctor, first_visit):
    other = make_doctor(name="Dr Only Default")
    db.session.commit()
    page = signed_in.get(f"/doctors?type_id={first_visit.id}").get_data(as_text=True)
    assert "Dr Priya Patel" in page and "Dr Only Default" not in page
    assert "First visit, 40 min" in page and "Next available for First visit: <strong>Mon 1 Jun, 10:20" in page
    assert f'href="/doctors/{doctor.id}?type_id={first_visit.id}"' in page
    plain = signed_in.get("/doctors").get_data(as_text=True)
    assert "Dr Only Default" in plain and "Offers: Appointment (30 min), First visit" in plain
    assert other.id


def test_a_type_filter_hides_doctors_for_whom_the_type_does_not_apply(signed_in, doctor, patient, first_visit):
    _make_returning(doctor, patient)
    page = signed_in.get(f"/doctors?type_id={first_visit.id}").get_data(as_text=True)
    assert "Dr Priya Patel" not in page


def test_rescheduling_keeps_the_type(signed_in, doctor, patient, first_visit):
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10 + timedelta(hours=1), appointment_type=first_visit)
    db.session.commit()
    page = signed_in.get(f"/appointments/{appointment.id}/reschedule?day=2026-06-02").get_data(as_text=True)
    assert page.count('name="start_at"') == 11  # 40-minute starts, less the booked one
    response = signed_in.submit(f"/appointments/{appointment.id}/reschedule", {"start_at": TUESDAY_0940.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.appointment_type_id == first_visit.id and appointment.start_at == TUESDAY_0940
    assert appointment.end_at - appointment.start_at == timedelta(minutes=40)


def test_rescheduling_to_another_type_checks_its_length(signed_in, doctor, patient, first_visit):
    long_visit = make_type("Long visit", minutes=60, doctors=[doctor])
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10)
    db.session.commit()
    page = signed_in.get(f"/appointments/{appointment.id}/reschedule?type_id={long_visit.id}&day=2026-06-02"
                         ).get_data(as_text=True)
    assert f'name="type_id" value="{long_visit.id}"' in page
    response = signed_in.submit(f"/appointments/{appointment.id}/reschedule", {
        "start_at": datetime(2026, 6, 2, 10, 0, tzinfo=UTC).isoformat(), "type_id": str(long_visit.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.appointment_type_id == long_visit.id
    assert appointment.end_at - appointment.start_at == timedelta(minutes=60)


def _take_away(appointment_type, doctor, how: str) -> None:
    """Retire the type clinic-wide, or withdraw it from the doctor: either way it is no longer offered."""
    if how == "retired":
        appointment_type.is_active = False
    else:
        db.session.execute(delete(DoctorAppointmentType).where(
            DoctorAppointmentType.doctor_id == doctor.id,
            DoctorAppointmentType.appointment_type_id == appointment_type.id))
    db.session.commit()


@pytest.mark.parametrize("how", ["retired", "withdrawn"])
def test_moving_an_appointment_whose_type_is_no_longer_offered_lists_times_of_its_own_length(
        signed_in, doctor, patient, first_visit, how):
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10 + timedelta(hours=1), appointment_type=first_visit)
    db.session.commit()
    _take_away(first_visit, doctor, how)
    page = signed_in.get(f"/appointments/{appointment.id}/reschedule?day=2026-06-02").get_data(as_text=True)
    # The 40-minute grid less the booked 11:00, not the doctor's 30-minute default type's times.
    assert page.count('name="start_at"') == 11
    assert f'value="{TUESDAY_0940.isoformat()}"' in page
    assert f'value="{(TUESDAY_10 - timedelta(minutes=30)).isoformat()}"' not in page  # 09:30
    response = signed_in.submit(f"/appointments/{appointment.id}/reschedule", {"start_at": TUESDAY_0940.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.appointment_type_id == first_visit.id and appointment.start_at == TUESDAY_0940
    assert appointment.end_at - appointment.start_at == timedelta(minutes=40)


def test_every_time_listed_for_moving_a_retired_type_is_accepted(signed_in, doctor, patient, first_visit):
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10 + timedelta(hours=1), appointment_type=first_visit)
    db.session.commit()
    _take_away(first_visit, doctor, "retired")
    service = booking_service()
    listed = service.move_slots(appointment, TUESDAY_10.date(), TUESDAY_10.date())
    assert listed
    for slot in listed:
        with db.session.begin_nested() as attempt:
            service.reschedule(audit.Actor(patient.user, "portal"), appointment, slot.start_at)
            attempt.rollback()
        db.session.expire_all()


def test_a_retired_type_cannot_be_newly_chosen_when_moving(signed_in, doctor, patient, first_visit):
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10)
    db.session.commit()
    _take_away(first_visit, doctor, "retired")
    page = signed_in.get(f"/appointments/{appointment.id}/reschedule?day=2026-06-02").get_data(as_text=True)
    assert "First visit" not in page
    response = signed_in.submit(f"/appointments/{appointment.id}/reschedule", {
        "start_at": TUESDAY_0940.isoformat(), "type_id": str(first_visit.id)})
    assert response.status_code in (409, 422)
    db.session.expire_all()
    assert appointment.appointment_type_id == doctor.default_appointment_type_id and appointment.start_at == TUESDAY_10
