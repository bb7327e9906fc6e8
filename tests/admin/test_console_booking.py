"""Booking, moving and cancelling from the console go through the booking service: same rules, audited as "admin"."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from carebook import clock
from carebook.extensions import db
from models import Appointment, AppointmentStatus, AuditEntry
from tests.admin.conftest import TUESDAY, book, local
from tests.factories import make_doctor, make_patient

BOOK = "/admin/appointments/book/"


def booking_form(patient, doctor, **fields) -> dict:
    return {"patient_id": patient.id, "doctor_id": doctor.id, "day": TUESDAY.isoformat(), **fields}


def appointment_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Appointment))


def audit_rows(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_staff_book_a_free_slot_for_a_patient(app, staff_client, staff):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    start = local(TUESDAY, 10)
    response = staff_client.submit(BOOK, booking_form(patient, doctor, start_at=start.isoformat(),
                                                      reason="Phoned in: sore throat"))
    assert response.status_code == 302
    appointment = db.session.scalars(select(Appointment)).one()
    assert (appointment.patient_id, appointment.doctor_id, appointment.start_at) == (patient.id, doctor.id, start)
    assert appointment.created_by_id == staff.id
    assert response.headers["Location"].endswith(f"/admin/appointments/{appointment.id}/")


def test_a_console_booking_is_audited_as_admin(app, staff_client, staff):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    staff_client.submit(BOOK, booking_form(patient, doctor, start_at=local(TUESDAY, 10).isoformat()))
    [entry] = audit_rows("appointment.booked")
    assert (entry.source, entry.actor_id) == ("admin", staff.id)


def test_the_booking_page_offers_the_real_free_slots(app, staff_client):
    doctor, patient, other = make_doctor(), make_patient(), make_patient()
    db.session.commit()
    book(doctor, other, local(TUESDAY, 10))
    page = staff_client.get(BOOK, query_string={"patient_id": patient.id, "doctor_id": doctor.id,
                                                "day": TUESDAY.isoformat()}).get_data(as_text=True)
    assert f'value="{local(TUESDAY, 9, 30).isoformat()}"' in page
    assert f'value="{local(TUESDAY, 10).isoformat()}"' not in page  # taken
    assert f'value="{local(TUESDAY, 17).isoformat()}"' not in page  # after hours


def test_a_taken_slot_is_a_form_error_and_writes_nothing(app, staff_client):
    doctor, patient, other = make_doctor(), make_patient(), make_patient()
    db.session.commit()
    book(doctor, other, local(TUESDAY, 10))
    response = staff_client.submit(BOOK, booking_form(patient, doctor, start_at=local(TUESDAY, 10).isoformat()))
    assert response.status_code == 409
    assert "That time is already taken" in response.get_data(as_text=True)
    assert appointment_count() == 1


def test_a_patient_already_busy_at_that_time_is_refused(app, staff_client):
    doctor, other_doctor, patient = make_doctor(), make_doctor(), make_patient()
    db.session.commit()
    book(other_doctor, patient, local(TUESDAY, 10))
    response = staff_client.submit(BOOK, booking_form(patient, doctor, start_at=local(TUESDAY, 10).isoformat()))
    assert response.status_code == 409
    assert "The patient already has another appointment at that time." in response.get_data(as_text=True)
    assert appointment_count() == 1


def test_booking_outside_hours_needs_the_confirmation(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    response = staff_client.submit(BOOK, booking_form(patient, doctor, outside_time="18:00",
                                                      outside_reason="Only time the patient can come"))
    assert response.status_code == 400
    assert "Tick to confirm booking outside the doctor&#39;s hours." in response.get_data(as_text=True)
    assert appointment_count() == 0


def test_booking_outside_hours_needs_a_reason(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    response = staff_client.submit(BOOK, booking_form(patient, doctor, outside_time="18:00", confirm_outside="y"))
    assert response.status_code == 400
    assert "Give the reason for booking outside hours." in response.get_data(as_text=True)
    assert appointment_count() == 0


def test_a_confirmed_outside_hours_booking_is_made_and_its_reason_audited(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    response = staff_client.submit(BOOK, booking_form(patient, doctor, outside_time="18:00", confirm_outside="y",
                                                      outside_reason="Only time the patient can come"))
    assert response.status_code == 302
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.start_at == local(TUESDAY, 18)
    [entry] = audit_rows("appointment.booked")
    assert entry.details["outside_hours_note"] == "Only time the patient can come"
    assert entry.source == "admin"


def test_an_outside_hours_booking_never_overlaps(app, staff_client):
    doctor, patient, other = make_doctor(), make_patient(), make_patient()
    db.session.commit()
    book(doctor, other, local(TUESDAY, 10))
    response = staff_client.submit(BOOK, booking_form(patient, doctor, outside_time="10:15", confirm_outside="y",
                                                      outside_reason="Squeeze in"))
    assert response.status_code == 409
    assert "That time is already taken" in response.get_data(as_text=True)
    assert appointment_count() == 1


def test_a_slot_and_an_outside_hours_time_together_are_refused(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    response = staff_client.submit(BOOK, booking_form(patient, doctor, start_at=local(TUESDAY, 10).isoformat(),
                                                      outside_time="18:00", confirm_outside="y", outside_reason="x"))
    assert response.status_code == 400
    assert appointment_count() == 0


def test_booking_a_deactivated_doctor_is_refused_with_the_reason(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    doctor.is_active = False
    db.session.commit()
    response = staff_client.submit(BOOK, booking_form(patient, doctor, outside_time="10:00", confirm_outside="y",
                                                      outside_reason="x"))
    assert response.status_code == 409
    assert "This doctor is deactivated and takes no new bookings." in response.get_data(as_text=True)
    assert appointment_count() == 0


def test_a_booking_post_without_csrf_token_is_refused(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    response = staff_client.post(BOOK, data=booking_form(patient, doctor, start_at=local(TUESDAY, 10).isoformat()))
    assert response.status_code == 400
    assert appointment_count() == 0


def test_a_free_slot_link_prefills_the_booking_after_choosing_the_patient(app, staff_client):
    doctor, patient = make_doctor(), make_patient(name="Olive Oyl")
    db.session.commit()
    start = local(TUESDAY, 11).isoformat()
    chooser = staff_client.get(BOOK, query_string={"doctor_id": doctor.id, "start_at": start, "q": "olive"})
    assert "Book for Olive Oyl" in chooser.get_data(as_text=True)
    page = staff_client.get(BOOK, query_string={"patient_id": patient.id, "doctor_id": doctor.id, "start_at": start})
    assert f'value="{start}" checked' in page.get_data(as_text=True)


# -- moving ------------------------------------------------------------------------------------

def test_staff_reschedule_to_a_free_slot(app, staff_client, staff):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/",
                                   {"day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 15).isoformat(),
                                    "move_reason": "Patient asked for the afternoon"})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.start_at == local(TUESDAY, 15)
    [entry] = audit_rows("appointment.rescheduled")
    assert (entry.source, entry.actor_id) == ("admin", staff.id)
    assert entry.details["note"] == "Patient asked for the afternoon"


def test_staff_reschedule_needs_a_reason(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/",
                                   {"day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 15).isoformat()})
    assert response.status_code == 400 and "Give the reason for moving." in response.get_data(as_text=True)
    db.session.expire_all()
    assert appointment.start_at == local(TUESDAY, 10)


def test_staff_clear_a_needs_attention_flag_with_a_note(app, staff_client, staff):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    appointment.needs_attention = True
    db.session.commit()
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/clear-attention/",
                                   {"attention_note": "Called the patient; keeps the time"})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.needs_attention is False and appointment.is_booked
    [entry] = audit_rows("appointment.attention_cleared")
    assert (entry.source, entry.details["note"]) == ("admin", "Called the patient; keeps the time")


def test_rescheduling_onto_a_taken_slot_is_refused_and_changes_nothing(app, staff_client):
    doctor, patient, other = make_doctor(), make_patient(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    book(doctor, other, local(TUESDAY, 15))
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/",
                                   {"day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 15).isoformat(),
                                    "move_reason": "Patient asked for the afternoon"})
    assert response.status_code == 409
    assert "That time is already taken" in response.get_data(as_text=True)
    db.session.expire_all()
    assert appointment.start_at == local(TUESDAY, 10)
    assert audit_rows("appointment.rescheduled") == []


def test_staff_may_move_an_appointment_inside_the_patients_online_cutoff(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    clock.freeze(local(TUESDAY, 7))  # three hours before: too late for the patient online
    staff_client.log_in_again()  # the session of a day ago has timed out
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/reschedule/",
                                   {"day": TUESDAY.isoformat(), "start_at": local(TUESDAY, 15).isoformat(),
                                    "move_reason": "Patient asked for the afternoon"})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.start_at == local(TUESDAY, 15)


# -- cancelling and outcomes ------------------------------------------------------------------

def test_staff_cancel_with_a_reason(app, staff_client, staff):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/cancel/",
                                   {"cancel_reason": "Patient phoned: feeling better"})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.status is AppointmentStatus.CANCELLED
    assert appointment.cancellation_reason == "Patient phoned: feeling better"
    [entry] = audit_rows("appointment.cancelled")
    assert (entry.source, entry.actor_id) == ("admin", staff.id)


def test_cancelling_needs_a_reason(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/cancel/", {"cancel_reason": " "})
    assert response.status_code == 400
    assert "Give the reason for cancelling." in response.get_data(as_text=True)
    db.session.expire_all()
    assert appointment.status is AppointmentStatus.BOOKED


def test_a_cancelled_appointment_cannot_be_cancelled_again(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    staff_client.submit(f"/admin/appointments/{appointment.id}/cancel/", {"cancel_reason": "First"})
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/cancel/", {"cancel_reason": "Second"})
    assert response.status_code == 409
    assert len(audit_rows("appointment.cancelled")) == 1


def test_staff_mark_a_started_appointment_completed(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    clock.freeze(local(TUESDAY, 10, 20))
    staff_client.log_in_again()  # the session of a day ago has timed out
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/outcome/", {"outcome": "completed"})
    assert response.status_code == 302
    db.session.expire_all()
    assert appointment.status is AppointmentStatus.COMPLETED
    assert audit_rows("appointment.completed")[0].source == "admin"


def test_staff_mark_a_no_show(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    clock.freeze(local(TUESDAY, 11))
    staff_client.log_in_again()  # the session of a day ago has timed out
    staff_client.submit(f"/admin/appointments/{appointment.id}/outcome/", {"outcome": "no_show"})
    db.session.expire_all()
    assert appointment.status is AppointmentStatus.NO_SHOW


def test_an_outcome_before_the_start_is_refused(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    response = staff_client.submit(f"/admin/appointments/{appointment.id}/outcome/", {"outcome": "completed"})
    assert response.status_code == 409
    db.session.expire_all()
    assert appointment.status is AppointmentStatus.BOOKED


def test_appointments_cannot_be_deleted_from_the_console(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    staff_client.submit("/admin/appointments/delete/", {"id": appointment.id})
    staff_client.submit("/admin/appointments/action/", {"action": "delete", "rowid": appointment.id})
    assert appointment_count() == 1


def test_the_list_shows_upcoming_appointments_first(app, staff_client):
    doctor, patient = make_doctor(), make_patient(name="Early Bird")
    later_patient = make_patient(name="Late Comer")
    past_patient = make_patient(name="Long Gone")
    db.session.commit()
    book(doctor, later_patient, local(TUESDAY, 15))
    book(doctor, patient, local(TUESDAY, 10))
    book(doctor, past_patient, local(TUESDAY, 9))
    clock.freeze(datetime(2026, 6, 2, 8, 45, tzinfo=timezone.utc))  # 09:45 in London: the 09:00 one is over
    staff_client.log_in_again()  # the session of a day ago has timed out
    page = staff_client.get("/admin/appointments/").get_data(as_text=True)
    assert page.index("Early Bird") < page.index("Late Comer") < page.index("Long Gone")


def test_the_list_filters_by_doctor_and_day(app, staff_client):
    doctor, other_doctor = make_doctor(name="Dr One"), make_doctor(name="Dr Two")
    mine, theirs, later = make_patient(name="Mine Patient"), make_patient(name="Their Patient"), make_patient(
        name="Later Patient")
    db.session.commit()
    book(doctor, mine, local(TUESDAY, 10))
    book(other_doctor, theirs, local(TUESDAY, 10))
    book(doctor, later, local(TUESDAY + timedelta(days=1), 10))
    page = staff_client.get("/admin/appointments/", query_string={
        "flt0_doctor_equals": doctor.id, "flt1_date_on": TUESDAY.isoformat()}).get_data(as_text=True)
    assert "Mine Patient" in page
    assert "Their Patient" not in page and "Later Patient" not in page


def test_the_list_filters_flagged_appointments(app, staff_client):
    doctor = make_doctor()
    flagged, calm = make_patient(name="Flagged Patient"), make_patient(name="Calm Patient")
    db.session.commit()
    book(doctor, flagged, local(TUESDAY, 10)).needs_attention = True
    db.session.commit()
    book(doctor, calm, local(TUESDAY, 11))
    page = staff_client.get("/admin/appointments/", query_string={"flt0_needs_attention_equals": "1"})
    assert "Flagged Patient" in page.get_data(as_text=True)
    assert "Calm Patient" not in page.get_data(as_text=True)


def test_the_list_searches_by_patient_phone_without_spaces(app, staff_client):
    doctor = make_doctor()
    wanted, other = make_patient(name="Wanted Person", phone="07700 900123"), make_patient(name="Other Person")
    db.session.commit()
    book(doctor, wanted, local(TUESDAY, 10))
    book(doctor, other, local(TUESDAY, 11))
    page = staff_client.get("/admin/appointments/", query_string={"search": "07700900123"}).get_data(as_text=True)
    assert "Wanted Person" in page and "Other Person" not in page
