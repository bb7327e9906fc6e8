"""The front desk, in a real browser: staff book a phone appointment; the patient then sees it in their portal."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from carebook.extensions import db
from tests.browser.conftest import log_in
from tests.factories import make_doctor, make_patient, make_staff

pytestmark = pytest.mark.postgres_only


def test_staff_book_a_phone_appointment_that_the_patient_then_sees(app, live_server, new_page):
    make_doctor(name="Dr Grace Hopper", specialty="General practice")
    staff = make_staff(name="Fran Frontdesk")
    patient = make_patient(name="Nina Newcomer", phone="07700 900321")
    db.session.commit()

    desk = new_page()
    log_in(desk, live_server, staff.email)
    desk.goto(f"{live_server}/admin/")
    desk.get_by_role("link", name="Book an appointment").click()
    desk.get_by_label("Find the patient").fill("07700900321")
    desk.get_by_role("button", name="Search").click()
    desk.get_by_role("link", name="Book for Nina Newcomer").click()
    expect(desk.get_by_role("heading", name="Book for Nina Newcomer")).to_be_visible()

    desk.get_by_label("Doctor", exact=True).select_option(label="Dr Grace Hopper — General practice (30 min)")
    desk.get_by_label("Day", exact=True).fill("2026-06-02")
    desk.get_by_role("button", name="Show free times").click()
    desk.locator("label.slot", has_text="10:00").click()
    desk.get_by_label("Reason for visit (optional)").fill("Phoned in: repeat prescription review")
    desk.get_by_role("button", name="Book appointment").click()
    expect(desk.get_by_text("Booked Nina Newcomer with Dr Grace Hopper on Tue 2 Jun, 10:00.")).to_be_visible()
    expect(desk.get_by_role("heading", name="Tue 2 Jun, 10:00 · Nina Newcomer")).to_be_visible()

    portal = new_page()  # another browser context: the patient's own cookies
    log_in(portal, live_server, patient.user.email)
    portal.get_by_role("link", name="My appointments", exact=True).click()
    expect(portal.get_by_role("link", name="Tue 2 Jun, 10:00", exact=True)).to_be_visible()
    expect(portal.get_by_text("with Dr Grace Hopper")).to_be_visible()
