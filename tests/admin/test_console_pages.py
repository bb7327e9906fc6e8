"""The dashboard, the day schedule and the audit log; and that nothing users typed is run as markup."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, url_for
from markupsafe import escape
from sqlalchemy import func, select

from carebook.extensions import db
from models import AuditEntry
from tests.admin.conftest import TUESDAY, book, local
from tests.factories import make_doctor, make_patient

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# -- dashboard ---------------------------------------------------------------------------------

def test_the_dashboard_shows_todays_totals_per_doctor(app, staff_client):
    doctor = make_doctor(name="Dr Busy")
    make_doctor(name="Dr Idle")
    patient = make_patient()
    db.session.commit()
    book(doctor, patient, local(TUESDAY - timedelta(days=1), 11))  # Monday 1 June, "today"
    page = staff_client.get("/admin/").get_data(as_text=True)
    assert "Today, Monday 1 June 2026" in page
    busy_row = page[page.index("Dr Busy"):page.index("</tr>", page.index("Dr Busy"))]
    assert [cell.strip() for cell in busy_row.split('<td class="text-right">')[1:]][:1] == ["1</td>"]
    assert "Dr Idle" in page


def test_the_dashboard_lists_appointments_flagged_as_needing_attention(app, staff_client):
    doctor = make_doctor()
    flagged, calm = make_patient(name="Flagged Patient"), make_patient(name="Calm Patient")
    db.session.commit()
    book(doctor, flagged, local(TUESDAY, 10)).needs_attention = True
    db.session.commit()
    book(doctor, calm, local(TUESDAY, 11))
    page = staff_client.get("/admin/").get_data(as_text=True)
    section = page[page.index("Needs attention"):]
    assert "Flagged Patient" in section and "Calm Patient" not in section


def test_the_dashboard_links_to_the_common_tasks(app, staff_client):
    page = staff_client.get("/admin/").get_data(as_text=True)
    for href in ('href="/admin/appointments/book/"', 'href="/admin/schedule/"', 'href="/admin/patients/new/"',
                 'href="/admin/appointments/csv/"'):
        assert href in page


# -- day schedule ------------------------------------------------------------------------------

def test_the_schedule_has_one_column_per_active_doctor(app, staff_client):
    make_doctor(name="Dr Alpha")
    make_doctor(name="Dr Beta")
    make_doctor(name="Dr Gone").is_active = False
    db.session.commit()
    page = staff_client.get("/admin/schedule/", query_string={"day": TUESDAY.isoformat()}).get_data(as_text=True)
    assert "Dr Alpha" in page and "Dr Beta" in page and "Dr Gone" not in page


def test_the_schedule_shows_appointments_and_links_free_slots_to_booking(app, staff_client):
    doctor, patient = make_doctor(), make_patient(name="Booked Patient")
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    page = staff_client.get("/admin/schedule/", query_string={"day": TUESDAY.isoformat()}).get_data(as_text=True)
    assert "Booked Patient" in page and f"/admin/appointments/{appointment.id}/" in page
    assert free_slot_link(doctor, local(TUESDAY, 10, 30)) in page
    assert free_slot_link(doctor, local(TUESDAY, 10)) not in page  # taken


def free_slot_link(doctor, start_at) -> str:
    with current_app.test_request_context():
        url = url_for("appointments.book", doctor_id=doctor.id, day=TUESDAY.isoformat(), start_at=start_at.isoformat())
    return str(escape(url))


def test_the_schedule_navigates_by_day(app, staff_client):
    page = staff_client.get("/admin/schedule/", query_string={"day": TUESDAY.isoformat()}).get_data(as_text=True)
    assert "Tuesday 2 June 2026" in page
    assert 'href="/admin/schedule/?day=2026-06-01"' in page and 'href="/admin/schedule/?day=2026-06-03"' in page


def test_the_schedule_shows_a_long_appointment_across_its_rows(app, staff_client):
    long_doctor, short_doctor = make_doctor(minutes=60), make_doctor(minutes=20)
    patient = make_patient()
    db.session.commit()
    book(long_doctor, patient, local(TUESDAY, 10))
    page = staff_client.get("/admin/schedule/", query_string={"day": TUESDAY.isoformat()}).get_data(as_text=True)
    assert 'rowspan="3"' in page  # 10:00, 10:20, 10:40 of the 20-minute doctor


# -- audit log ---------------------------------------------------------------------------------

def test_the_audit_log_shows_who_did_what_from_where(app, staff_client, staff):
    doctor, patient = make_doctor(), make_patient()
    db.session.commit()
    staff_client.submit("/admin/appointments/book/", {"patient_id": patient.id, "doctor_id": doctor.id,
                                                      "day": TUESDAY.isoformat(),
                                                      "start_at": local(TUESDAY, 10).isoformat()})
    page = staff_client.get("/admin/audit/", query_string={"flt0_through_equals": "admin"}).get_data(as_text=True)
    assert "appointment.booked" in page and staff.full_name in page and "Staff console" in page
    assert "user.created" not in page  # made by the test factories, as "system"
    assert "Tue 2 Jun, 10:00" in page  # the booked time, in clinic time


def test_the_audit_log_names_the_records_instead_of_showing_their_ids(app, staff_client):
    doctor, patient = make_doctor(name="Dr Ada Okafor"), make_patient(name="Pia Named")
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY, 10))
    page = staff_client.get("/admin/audit/", query_string={"flt0_action_contains": "appointment.booked"})
    text = page.get_data(as_text=True)
    assert f'href="/admin/appointments/{appointment.id}/">Tue 2 Jun, 10:00 · Pia Named with Dr Ada Okafor</a>' in text
    assert "doctor: Dr Ada Okafor" in text and "patient: Pia Named" in text
    assert f"doctor_id: {doctor.id}" not in text and f"patient_id: {patient.id}" not in text


def test_the_audit_log_cannot_be_changed_from_the_console(app, staff_client):
    make_patient()
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    entry_id = db.session.scalar(select(AuditEntry.id))
    assert staff_client.get("/admin/audit/new/").status_code == 302
    assert staff_client.get(f"/admin/audit/edit/?id={entry_id}").status_code == 302
    staff_client.submit("/admin/audit/delete/", {"id": entry_id})
    staff_client.submit("/admin/audit/new/", {"action": "forged", "source": "admin", "entity_type": "x"})
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


# -- escaping ----------------------------------------------------------------------------------

def test_a_patient_named_like_a_script_is_escaped_everywhere(app, staff_client):
    doctor = make_doctor()
    patient = make_patient(name=SCRIPT)
    db.session.commit()
    appointment = book(doctor, patient, local(TUESDAY - timedelta(days=1), 11), reason=SCRIPT)
    appointment.needs_attention = True
    db.session.commit()
    for url in ("/admin/", "/admin/appointments/", "/admin/patients/", f"/admin/patients/{patient.id}/",
                f"/admin/appointments/{appointment.id}/", "/admin/schedule/", f"/admin/doctors/{doctor.id}/",
                "/admin/appointments/?search=script", f"/admin/appointments/book/?q=script",
                f"/admin/appointments/book/?patient_id={patient.id}"):
        page = staff_client.get(url).get_data(as_text=True)
        assert SCRIPT not in page, url
        assert ESCAPED in page, url


def test_a_search_term_is_escaped_when_shown_back(app, staff_client):
    page = staff_client.get("/admin/appointments/book/", query_string={"q": SCRIPT}).get_data(as_text=True)
    assert SCRIPT not in page and ESCAPED in page


def test_a_doctor_named_like_a_script_is_escaped_in_lists_and_filter_choices(app, staff_client):
    doctor = make_doctor(name=SCRIPT, specialty=SCRIPT)
    db.session.commit()
    for url in ("/admin/doctors/", "/admin/appointments/", "/admin/schedule/", f"/admin/doctors/{doctor.id}/",
                "/admin/appointments/csv/"):
        page = staff_client.get(url).get_data(as_text=True)
        assert SCRIPT not in page, url


def test_the_audit_log_filters_by_who(app, staff_client, staff):
    doctor = make_doctor()
    db.session.commit()
    staff_client.submit(f"/admin/doctors/{doctor.id}/deactivate/", {})
    page = staff_client.get("/admin/audit/", query_string={"flt0_who_contains": staff.full_name})
    assert "doctor.deactivated" in page.get_data(as_text=True)
    assert "user.created" not in page.get_data(as_text=True)
