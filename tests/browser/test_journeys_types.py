"""The appointment-type journey in a real browser: staff create a type and assign it to a doctor,
a patient books it, and the doctor sees it (name and colour) on the week calendar."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from carebook.extensions import db
from tests.browser.conftest import log_in
from tests.browser.test_journeys import log_in_with_code
from tests.factories import make_doctor, make_patient, make_staff

pytestmark = pytest.mark.postgres_only


def test_staff_create_a_type_assign_it_a_patient_books_it_and_the_doctor_sees_it(app, live_server, new_page):
    doctor = make_doctor(name="Dr Priya Patel", specialty="General practice")
    staff = make_staff(name="Fran Frontdesk")
    patient = make_patient(name="Nina Newcomer")
    db.session.commit()

    desk = new_page()
    log_in_with_code(desk, live_server, staff.email)
    desk.goto(f"{live_server}/admin/appointment-types/")
    desk.get_by_role("link", name="New appointment type").click()
    desk.get_by_label("Name").fill("First visit")
    desk.get_by_label("Description for patients").fill("We get to know you and your history.")
    desk.get_by_label("Length (minutes)").fill("40")
    desk.get_by_label("Buffer after it (minutes)").fill("0")
    desk.get_by_label("Colour on calendars").select_option(label="Purple")
    desk.get_by_role("button", name="Create type").click()
    expect(desk.get_by_text("First visit is on the list.")).to_be_visible()
    desk.get_by_label("Doctor", exact=True).select_option(label="Dr Priya Patel")
    desk.get_by_label("Their own length (minutes, optional)").fill("45")
    desk.get_by_role("button", name="Add the doctor").click()
    expect(desk.get_by_text("Dr Priya Patel offers First visit (45 min).")).to_be_visible()

    portal = new_page()
    log_in(portal, live_server, patient.user.email)
    portal.goto(f"{live_server}/doctors")
    portal.get_by_label("Type of appointment").select_option(label="First visit")
    portal.get_by_role("button", name="Filter").click()
    expect(portal.get_by_text("First visit, 45 min")).to_be_visible()
    portal.get_by_role("link", name="See times for Dr Priya Patel").click()
    expect(portal.get_by_role("heading", name="Times for First visit")).to_be_visible()
    portal.get_by_role("link", name="Tue 2 Jun").click()
    portal.locator("label.slot", has_text="10:30").click()
    portal.get_by_role("button", name="Book Tue 2 Jun, 10:30 with Dr Priya Patel (First visit)").click()
    expect(portal.get_by_role("heading", name="Booked: Tue 2 Jun, 10:30 BST")).to_be_visible()

    calendar = new_page()
    log_in_with_code(calendar, live_server, doctor.user.email)
    calendar.goto(f"{live_server}/doctor/week?week=2026-06-02")
    block = calendar.locator("a.appointment", has_text="Nina Newcomer")
    expect(block).to_contain_text("10:30–11:15")
    badge = block.locator(".type-badge")
    expect(badge).to_have_text("First visit")
    expect(badge).to_have_class("type-badge type-colour-purple appointment-type")
    assert badge.evaluate("element => getComputedStyle(element).backgroundColor") == "rgb(111, 66, 193)"
