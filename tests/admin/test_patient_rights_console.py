"""The desk's part in patients' rights: a copy of a patient's data, and erasure after a confirmation naming them."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from carebook.extensions import db
from models import Appointment, AppointmentStatus, AuditEntry, Patient, User
from tests.carebook.patient_data.history import (EMAIL, NAME, NEXT_REASON, NEXT_VISIT, PAST_REASON, PAST_VISIT,
                                                 patient_with_history)


@pytest.fixture
def history(app):
    return patient_with_history(app)


def erase(staff_client, history, typed=NAME):
    return staff_client.submit(f"/admin/patients/{history.patient.id}/erase/", {"confirm_name": typed})


def fresh_patient(history) -> Patient:
    db.session.expire_all()
    return db.session.get(Patient, history.patient.id)


# -- a copy of their data ---------------------------------------------------------------------------


def test_the_patients_page_offers_their_data_and_erasure(app, staff_client, history):
    page = staff_client.get(f"/admin/patients/{history.patient.id}/").get_data(as_text=True)
    for link in ("data/", "data.json", "erase/"):
        assert f'href="/admin/patients/{history.patient.id}/{link}"' in page


def test_staff_see_the_same_data_for_a_patient_at_the_desk_and_it_is_audited(app, staff_client, staff, history):
    response = staff_client.get(f"/admin/patients/{history.patient.id}/data/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert len(re.findall(r"<h1[\s>]", page)) == 1
    for expected in (f"Data held about {NAME}", EMAIL, PAST_REASON, NEXT_REASON, "Reminder email",
                     "Sign-in history"):
        assert expected in page, expected
    download = staff_client.get(f"/admin/patients/{history.patient.id}/data.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="patient-{history.patient.id}-data-2026-06-01.json"')
    assert download.get_json()["account"]["email"] == EMAIL
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.data_exported")).all()
    assert [(row.details, row.source, row.actor_id, row.entity_id) for row in rows] == [
        ({"format": "html"}, "admin", staff.id, history.patient.id),
        ({"format": "json"}, "admin", staff.id, history.patient.id),
    ]


def test_an_unknown_patient_is_404(app, staff_client):
    for path in ("data/", "data.json", "erase/"):
        assert staff_client.get(f"/admin/patients/999/{path}").status_code == 404


# -- erasure ----------------------------------------------------------------------------------------


def test_erasure_asks_first_naming_the_patient_and_saying_what_happens(app, staff_client, history):
    response = staff_client.get(f"/admin/patients/{history.patient.id}/erase/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"Erase {NAME}?" in page and "born 04 Mar 1985" in page
    assert "1 future appointment will be" in page and "cannot be undone" in page
    assert 'for="confirm_name"' in page and f"Erase {NAME}</button>" in page
    assert fresh_patient(history).erased_at is None


@pytest.mark.parametrize("typed", ["", "Jane Exampel", "Someone Else"])
def test_a_wrong_or_missing_name_erases_nothing(app, staff_client, history, typed):
    response = erase(staff_client, history, typed)
    assert response.status_code == 400
    assert "Not erased" in response.get_data(as_text=True)
    patient = fresh_patient(history)
    assert patient.erased_at is None and patient.user.email == EMAIL
    assert db.session.get(Appointment, history.upcoming.id).status is AppointmentStatus.BOOKED


def test_the_name_is_matched_whatever_the_case_and_spacing(app, staff_client, history):
    response = erase(staff_client, history, "  jane   EXAMPLE ")
    assert response.status_code == 302
    assert fresh_patient(history).is_erased


def test_erasing_cancels_the_future_and_leaves_a_pseudonym(app, staff_client, staff, history):
    response = erase(staff_client, history)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/patients/{history.patient.id}/")
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 future appointment cancelled; the patient is told by email." in page
    assert f"Erased patient #{history.patient.id}" in page and "Erased at the patient's request" in page
    assert NAME not in page and EMAIL not in page and "Erase this patient" not in page
    assert db.session.get(Appointment, history.upcoming.id).status is AppointmentStatus.CANCELLED
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.erased")).all()
    assert (row.actor_id, row.source, row.details) == (staff.id, "admin", {"appointments_cancelled": 1})


def test_an_erased_patient_is_signed_out_at_once(app, staff_client, history):
    patient_browser = app.test_client()
    patient_browser.login(EMAIL)
    assert patient_browser.get("/appointments").status_code == 200
    erase(staff_client, history)
    response = patient_browser.get("/appointments")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert patient_browser.login(EMAIL).status_code == 400


def test_an_erased_patient_cannot_be_edited_reactivated_booked_or_erased_again(app, staff_client, history):
    erase(staff_client, history)
    patient_id = history.patient.id
    edit = staff_client.get(f"/admin/patients/edit/?id={patient_id}")
    assert edit.status_code == 302 and edit.headers["Location"].endswith(f"/admin/patients/{patient_id}/")
    staff_client.submit(f"/admin/patients/{patient_id}/login/", {"active": "1"})
    staff_client.submit("/admin/patients/action/", {"action": "reactivate", "rowid": str(patient_id)})
    assert db.session.get(User, fresh_patient(history).user_id).is_active is False
    book = staff_client.get(f"/admin/appointments/book/?patient_id={patient_id}")
    assert book.status_code == 302 and book.headers["Location"].endswith(f"/admin/patients/{patient_id}/")
    found = staff_client.get("/admin/appointments/book/?q=Erased").get_data(as_text=True)
    assert f"Erased patient #{patient_id}" not in found
    again = staff_client.get(f"/admin/patients/{patient_id}/erase/")
    assert again.status_code == 302


def test_nothing_else_breaks_for_an_erased_patient(app, staff_client, history):
    erase(staff_client, history)
    pseudonym = f"Erased patient #{history.patient.id}"
    doctor_id = history.doctor.id
    pages = {
        "/admin/": None,
        "/admin/patients/": pseudonym,
        f"/admin/patients/{history.patient.id}/": pseudonym,
        f"/admin/patients/{history.patient.id}/data/": pseudonym,
        "/admin/appointments/": pseudonym,
        f"/admin/appointments/{history.past.id}/": pseudonym,
        f"/admin/schedule/?day={PAST_VISIT.date().isoformat()}": pseudonym,
        "/admin/audit/": None,
        f"/doctor/{doctor_id}/?day={PAST_VISIT.date().isoformat()}": pseudonym,
        f"/doctor/{doctor_id}/week?week={PAST_VISIT.date().isoformat()}": pseudonym,
        f"/doctor/appointments/{history.past.id}": pseudonym,
        f"/doctor/appointments/{history.upcoming.id}": pseudonym,
    }
    for path, expected in pages.items():
        response = staff_client.get(path)
        assert response.status_code == 200, path
        if expected:
            assert expected in response.get_data(as_text=True), path

    report = staff_client.get("/admin/appointments/csv/", query_string={
        "start": PAST_VISIT.date().isoformat(), "end": NEXT_VISIT.date().isoformat()})
    assert report.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(report.get_data().decode("utf-8-sig"))))
    columns = [dict(zip(header, row)) for row in rows]
    assert [(c["Patient"], c["Date of birth"], c["Phone"], c["Email"], c["Status"], c["Reason for visit"])
            for c in columns] == [(pseudonym, "", "", "", "completed", ""), (pseudonym, "", "", "", "cancelled", "")]
