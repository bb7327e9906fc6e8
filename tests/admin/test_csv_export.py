"""The appointments CSV: opens in a spreadsheet, in clinic time, and carries no formulas from user input."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from admin.csv_export import phone_cell, spreadsheet_safe
from carebook.extensions import db
from tests.admin.conftest import TUESDAY, book, local
from tests.factories import make_doctor, make_patient, make_phone_patient

EXPORT = "/admin/appointments/csv/"


def export(client, start=TUESDAY, end=TUESDAY, **extra):
    return client.get(EXPORT, query_string={"start": start.isoformat(), "end": end.isoformat(), **extra})


def rows(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_export_is_a_utf8_csv_download_with_a_byte_order_mark(app, staff_client):
    response = export(staff_client)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="appointments-2026-06-02-to-2026-06-02.csv"')
    assert response.get_data().startswith("\ufeff".encode("utf-8"))


def test_each_appointment_is_a_row_in_clinic_time(app, staff_client):
    doctor = make_doctor(name="Dr Zoë Ångström")
    patient = make_patient(name="Siân O'Brien, Jr.", phone="07700 900111")
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10), reason='Knee, "clicking"\nsince May')
    header, row = rows(export(staff_client))
    record = dict(zip(header, row))
    assert record["Appointment"] == str(appointment.id)
    assert (record["Date"], record["Start"], record["End"]) == ("2026-06-02", "10:00", "10:30")  # BST, not UTC
    assert record["Doctor"] == "Dr Zoë Ångström"
    assert record["Patient"] == "Siân O'Brien, Jr."
    assert record["Reason for visit"] == 'Knee, "clicking"\nsince May'
    assert record["Status"] == "booked"


def test_only_appointments_in_the_date_range_are_exported(app, staff_client):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    inside = book(doctor, patient, local(TUESDAY, 9))
    book(doctor, patient, local(TUESDAY + timedelta(days=1), 9))
    exported = rows(export(staff_client))[1:]
    assert [row[0] for row in exported] == [str(inside.id)]


def test_the_export_can_be_limited_to_one_doctor(app, staff_client):
    doctor, other_doctor, patient, other_patient = make_doctor(), make_doctor(), make_patient(), make_patient()
    db.session.commit()
    mine = book(doctor, patient, local(TUESDAY, 9))
    book(other_doctor, other_patient, local(TUESDAY, 9))
    exported = rows(export(staff_client, doctor_id=doctor.id))[1:]
    assert [row[0] for row in exported] == [str(mine.id)]


def test_a_formula_typed_as_a_name_comes_out_as_text(app, staff_client):
    doctor = make_doctor()
    patient = make_patient(name='=HYPERLINK("http://x")')
    db.session.commit()
    book(doctor, patient, local(TUESDAY, 10), reason="@SUM(A1:A9)")
    response = export(staff_client)
    header, row = rows(response)
    record = dict(zip(header, row))
    assert record["Patient"] == "'=HYPERLINK(\"http://x\")"
    assert record["Reason for visit"] == "'@SUM(A1:A9)"
    # Quoted as RFC 4180 wants: the cell in quotes, its quotes doubled.
    assert '"\'=HYPERLINK(""http://x"")"' in response.get_data().decode("utf-8-sig")


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@cmd", "\tx", "\rx"])
def test_every_formula_trigger_is_defused(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["Anne", "07700 900000", "", "a=b"])
def test_ordinary_text_is_left_alone(text):
    assert spreadsheet_safe(text) == text


def test_a_range_ending_before_it_starts_is_refused(app, staff_client):
    response = export(staff_client, start=TUESDAY, end=TUESDAY - timedelta(days=1))
    assert response.status_code == 400
    assert "The end date must not be before the start date." in response.get_data(as_text=True)


def test_without_a_range_the_export_page_offers_the_form(app, staff_client):
    response = staff_client.get(EXPORT)
    assert response.status_code == 200
    assert "Download CSV" in response.get_data(as_text=True)


def test_phone_numbers_are_exported_in_e164_as_text_with_the_contact_choice(app, staff_client):
    doctor = make_doctor()
    patient = make_patient(phone="07700 900111")
    no_email = make_phone_patient(phone="+33 6 12 34 56 78")
    kept = make_patient(phone="07700 900222")
    kept.phone, kept.phone_needs_check = "0770 09", True  # an old number the migration could not read
    db.session.commit()
    book(doctor, patient, local(TUESDAY, 9))
    book(doctor, no_email, local(TUESDAY, 10))
    book(doctor, kept, local(TUESDAY, 11))
    header, *records = rows(export(staff_client))
    exported = [(record["Phone"], record["Email"], record["Contact by"])
                for record in (dict(zip(header, row)) for row in records)]
    assert exported == [("'+447700900111", patient.user.email, "email"), ("'+33612345678", "", "sms"),
                        ("'0770 09", kept.user.email, "email")]


@pytest.mark.parametrize("phone", ["+447700900111", "07700 900111", "=1+1"])
def test_every_phone_cell_is_text_to_a_spreadsheet_and_not_defused_twice(phone):
    assert spreadsheet_safe(phone_cell(phone)) == "'" + phone


def test_each_row_names_the_type_of_appointment(app, staff_client):
    doctor = make_doctor(name="Dr Dana Doctor")
    db.session.commit()
    book(doctor, make_patient(), local(TUESDAY, 10))
    header, row = rows(export(staff_client))
    assert dict(zip(header, row))["Type"] == "Appointment (30 min)"
