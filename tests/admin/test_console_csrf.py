"""Every console form carries a CSRF token, and a POST without one changes nothing."""
from __future__ import annotations

import re

from sqlalchemy import select

from carebook.extensions import db
from models import Appointment, AppointmentStatus, Patient
from tests.admin.conftest import TUESDAY, book, local
from tests.factories import make_doctor, make_patient


def forms_without_token(page: str) -> list[str]:
    forms = re.findall(r'<form[^>]*method="(?:post|POST)"[^>]*>.*?</form>', page, re.S)
    return [form[:80] for form in forms if 'name="csrf_token"' not in form]


def test_every_post_form_on_the_console_pages_carries_a_token(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    for url in ("/admin/", "/admin/patients/", "/admin/doctors/", "/admin/appointments/", "/admin/patients/new/",
                f"/admin/patients/edit/?id={patient.id}", "/admin/doctors/new/", f"/admin/doctors/{doctor.id}/",
                f"/admin/patients/{patient.id}/", f"/admin/appointments/{appointment.id}/",
                f"/admin/appointments/{appointment.id}/reschedule/",
                f"/admin/appointments/book/?patient_id={patient.id}&doctor_id={doctor.id}&day={TUESDAY}"):
        page = staff_client.get(url).get_data(as_text=True)
        assert "<form" in page
        assert forms_without_token(page) == [], url


def test_creating_a_patient_without_a_token_is_refused(app, staff_client):
    response = staff_client.post("/admin/patients/new/", data={
        "full_name": "No Token", "email": "no.token@example.com", "phone": "07700 900555",
        "date_of_birth": "1985-03-14"})
    assert response.status_code == 400
    assert db.session.scalars(select(Patient)).all() == []


def test_cancelling_without_a_token_is_refused(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    response = staff_client.post(f"/admin/appointments/{appointment.id}/cancel/", data={"cancel_reason": "x"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status is AppointmentStatus.BOOKED


def test_a_list_action_without_a_token_is_refused(app, staff_client):
    patient = make_patient()
    db.session.commit()
    response = staff_client.post("/admin/patients/action/", data={"action": "deactivate", "rowid": patient.id})
    assert response.status_code == 400
    db.session.expire_all()
    assert patient.user.is_active is True
