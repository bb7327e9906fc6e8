"""Every role's main journeys in a real browser (Debian's chromium), under the app's Content Security Policy.

The ``new_page`` fixture watches every page's console: a CSP violation or a script
error anywhere fails the journey. Each journey's last page is saved as a screenshot
in the folder the test run prints at the end.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from carebook import audit, totp
from carebook.extensions import db
from carebook.services import booking_service
from tests import mailbox
from tests.browser.accessibility import SIZES
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, TOTP_SECRET, make_doctor, make_patient, make_staff

pytestmark = pytest.mark.postgres_only

TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in London
TUESDAY_11 = datetime(2026, 6, 2, 10, 0, tzinfo=timezone.utc)


def log_in_with_code(page, base_url: str, email: str) -> None:
    """Both steps by hand, as a doctor or receptionist would: password, then the app's code."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(totp.current_code(TOTP_SECRET))
    page.get_by_role("button", name="Continue").click()


@pytest.mark.parametrize("size", SIZES)
def test_new_patient_registers_logs_in_books_reschedules_and_cancels(app, live_server, new_page, size):
    make_doctor(name="Dr Grace Hopper", specialty="General practice")
    db.session.commit()
    page = new_page(viewport=SIZES[size])

    page.goto(f"{live_server}/register")
    page.get_by_label("Full name").fill("Nina Newcomer")
    page.get_by_label("Email").fill("nina@example.com")
    page.get_by_label("Date of birth").fill("1990-04-01")
    page.get_by_label("Phone").fill("07700 900321")
    page.get_by_label("Password").fill("a perfectly long passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    [message] = mailbox.sent(app, "nina@example.com")
    page.goto(live_server + mailbox.path_of(mailbox.link(message, "/register/confirm")))
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Choose a doctor")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()

    page.get_by_label("Email").fill("nina@example.com")
    page.get_by_label("Password").fill("a perfectly long passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Choose a doctor")).to_be_visible()

    page.get_by_role("link", name=re.compile("See times for Dr Grace Hopper")).click()
    page.get_by_role("link", name=re.compile(r"Tue 2 Jun")).click()
    page.locator("label.slot", has_text="10:00").click()
    page.get_by_label("Reason for visit (optional)").fill("Annual check-up")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="Booked: Tue 2 Jun, 10:00")).to_be_visible()

    page.get_by_role("link", name="My appointments", exact=True).click()
    expect(page.get_by_role("link", name="Tue 2 Jun, 10:00", exact=True)).to_be_visible()
    page.get_by_role("link", name="Reschedule").click()
    page.get_by_role("link", name=re.compile(r"Wed 3 Jun")).click()
    page.locator("label.slot", has_text="14:30").click()
    page.get_by_role("button", name="Move to this time").click()
    expect(page.get_by_role("heading", name="Wed 3 Jun, 14:30")).to_be_visible()

    page.get_by_role("link", name=re.compile("^Cancel")).click()
    expect(page.get_by_role("heading", name="Cancel your appointment?")).to_be_visible()
    expect(page.get_by_text("Wed 3 Jun, 14:30 BST")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Yes, cancel")).click()
    expect(page.get_by_text("Your appointment has been cancelled.")).to_be_visible()
    expect(page.get_by_text("No upcoming appointments")).to_be_visible()


def test_two_patients_pick_the_same_slot_and_the_second_sees_it_gone(app, live_server, new_page):
    doctor = make_doctor(name="Dr Grace Hopper")
    first_patient, second_patient = make_patient(name="Ada First"), make_patient(name="Bea Second")
    db.session.commit()
    day_url = f"{live_server}/doctors/{doctor.id}?day=2026-06-02"
    first, second = new_page(), new_page()
    for page, patient in ((first, first_patient), (second, second_patient)):
        log_in(page, live_server, patient.user.email)
        page.goto(day_url)
        expect(page.get_by_role("heading", name="Tuesday 2 June 2026")).to_be_visible()
        page.locator("label.slot", has_text="10:00").click()

    first.get_by_role("button", name="Book").click()
    expect(first.get_by_role("heading", name="Booked: Tue 2 Jun, 10:00")).to_be_visible()

    second.get_by_role("button", name="Book").click()
    expect(second.get_by_text("Sorry, 10:00 was just taken. Here are the times still free.")).to_be_visible()
    expect(second.get_by_role("heading", name="Tuesday 2 June 2026")).to_be_visible()
    expect(second.locator("label.slot", has_text="10:30")).to_be_visible()
    expect(second.locator("label.slot", has_text="10:00")).to_have_count(0)


@pytest.mark.parametrize("size", SIZES)
def test_a_doctor_logs_in_with_two_factor_changes_hours_and_a_patient_sees_them(app, live_server, new_page, size):
    doctor = make_doctor(name="Dr Grace Hopper")
    patient = make_patient(name="Pat Browser")
    db.session.commit()

    page = new_page(viewport=SIZES[size])
    log_in_with_code(page, live_server, doctor.user.email)
    expect(page.get_by_role("heading", name=re.compile("Monday 1 June 2026"))).to_be_visible()
    page.get_by_role("link", name="Weekly hours").click()
    page.get_by_label("Applies from").fill("2026-06-01")
    page.get_by_label("Tuesday, range 1, from").fill("14:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_text("Saved: weekly hours from Mon 1 Jun")).to_be_visible()

    other = new_page(viewport=SIZES[size])
    log_in(other, live_server, patient.user.email)
    other.goto(f"{live_server}/doctors/{doctor.id}?day=2026-06-02")
    expect(other.get_by_role("heading", name="Tuesday 2 June 2026")).to_be_visible()
    expect(other.locator("label.slot")).to_have_count(6)
    expect(other.locator("label.slot").first).to_have_text("14:00")


@pytest.mark.parametrize("size", SIZES)
def test_staff_log_in_with_two_factor_book_a_phone_appointment_and_cancel_another(app, live_server, new_page, size):
    doctor = make_doctor(name="Dr Grace Hopper", specialty="General practice")
    staff = make_staff(name="Fran Frontdesk")
    caller = make_patient(name="Nina Newcomer", phone="07700 900321")
    other = make_patient(name="Oscar Other")
    booked = booking_service().book(audit.Actor(other.user, "portal"), doctor=doctor, patient=other,
                                    start_at=TUESDAY_11, reason="Follow-up")
    db.session.commit()

    desk = new_page(viewport=SIZES[size])
    log_in_with_code(desk, live_server, staff.email)
    expect(desk.get_by_role("link", name="Book an appointment")).to_be_visible()
    desk.get_by_role("link", name="Book an appointment").click()
    desk.get_by_label("Find the patient").fill("07700900321")
    desk.get_by_role("button", name="Search").click()
    desk.get_by_role("link", name="Book for Nina Newcomer").click()
    desk.get_by_label("Doctor", exact=True).select_option(label="Dr Grace Hopper — General practice (30 min)")
    desk.get_by_label("Day", exact=True).fill("2026-06-02")
    desk.get_by_role("button", name="Show free times").click()
    desk.locator("label.slot", has_text="10:00").click()
    desk.get_by_label("Reason for visit (optional)").fill("Phoned in: repeat prescription review")
    desk.get_by_role("button", name="Book appointment").click()
    expect(desk.get_by_text("Booked Nina Newcomer with Dr Grace Hopper on Tue 2 Jun, 10:00.")).to_be_visible()

    desk.goto(f"{live_server}/admin/appointments/{booked.id}/")
    expect(desk.get_by_role("heading", name=re.compile("Oscar Other"))).to_be_visible()
    desk.get_by_label("Reason for cancelling").fill("Patient phoned: cannot come")
    desk.get_by_role("button", name="Cancel appointment").click()
    expect(desk.locator(".alert-success", has_text="Cancelled the appointment")).to_be_visible()
    expect(desk.get_by_role("heading", name="Details Cancelled")).to_be_visible()

    portal = new_page(viewport=SIZES[size])
    log_in(portal, live_server, caller.user.email)
    portal.get_by_role("link", name="My appointments", exact=True).click()
    expect(portal.get_by_role("link", name="Tue 2 Jun, 10:00", exact=True)).to_be_visible()


def test_a_new_staff_member_enrols_in_two_factor_at_the_first_login(app, live_server, new_page):
    staff = make_staff(name="Nell New", two_factor=False)
    db.session.commit()
    page = new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.locator(".qr-code svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(totp.current_code(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name=re.compile("continue")).click()
    expect(page.get_by_role("heading", name="Today per doctor")).to_be_visible()


# --------------------------------------------------------------------------- the policy on every role's pages


def _script_errors(console_errors: list[str]) -> list[str]:
    """Console errors other than a failed resource load (the browser's own /favicon.ico request is a 404)."""
    return [error for error in console_errors if "Failed to load resource" not in error]


def _visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("networkidle")


def test_patient_pages_run_under_the_policy(app, live_server, new_page, console_errors):
    doctor = make_doctor()
    patient = make_patient()
    appointment = booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                         start_at=TUESDAY_10)
    db.session.commit()
    page = new_page()
    log_in(page, live_server, patient.user.email)
    for path in ("/doctors", f"/doctors/{doctor.id}", "/appointments", f"/appointments/{appointment.id}",
                 f"/appointments/{appointment.id}/reschedule", "/account/", "/account/two-factor/enable",
                 "/account/password", "/account/email"):
        _visit(page, live_server + path)
    assert _script_errors(console_errors) == []


def test_doctor_pages_run_under_the_policy(app, live_server, new_page, console_errors):
    doctor = make_doctor()
    db.session.commit()
    page = new_page()
    log_in(page, live_server, doctor.user.email)
    for path in ("/doctor/", "/doctor/week", "/doctor/one-off", "/doctor/time-off", "/account/"):
        _visit(page, live_server + path)
    _visit(page, live_server + "/doctor/hours")
    # doctor.js (a static script) folds the empty rows behind "+ add range" and opens one on a click.
    expect(page.get_by_label("Tuesday, range 2, from")).to_be_hidden()
    page.get_by_role("button", name=re.compile(r"\+ add range")).first.click()
    expect(page.get_by_label("Monday, range 2, from")).to_be_visible()
    assert _script_errors(console_errors) == []


def test_the_staff_console_runs_under_the_policy(app, live_server, new_page, console_errors):
    doctor = make_doctor(name="Dr Grace Hopper")
    patient = make_patient(name="Pia Patient")
    patient.user.is_active = False
    booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    staff = make_staff()
    db.session.commit()
    page = new_page()
    log_in(page, live_server, staff.email)
    for path in ("/admin/", "/admin/schedule/", "/admin/appointments/", "/admin/doctors/", "/admin/audit/",
                 f"/admin/doctors/{doctor.id}/", f"/admin/patients/{patient.id}/", "/admin/appointments/book/",
                 "/admin/patients/new/", "/admin/doctors/new/",
                 f"/doctor/{doctor.id}/week", "/account/"):
        _visit(page, live_server + path)

    # Flask-Admin's filters (its own script, allowed by the page's nonce; no inline handlers).
    _visit(page, live_server + "/admin/appointments/")
    page.get_by_role("button", name="Add Filter").click()
    page.locator("a.filter").first.click()
    expect(page.locator("#filter_form .remove-filter")).to_have_count(1)
    assert "#" not in page.url

    # A list action ("With selected"), bound by admin.js instead of an onclick attribute.
    _visit(page, live_server + "/admin/patients/")
    page.locator("input.action-checkbox").first.check()
    page.get_by_role("button", name="With selected").click()
    page.get_by_role("button", name="Reactivate login").click()
    expect(page.get_by_text("Reactivated the login of 1 patient.")).to_be_visible()
    assert _script_errors(console_errors) == []
