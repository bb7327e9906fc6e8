"""A doctor, in a real browser, changes their hours; a patient in another browser then sees the new times."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from tests.browser.conftest import log_in
from tests.factories import make_doctor, make_patient

pytestmark = pytest.mark.postgres_only


def test_doctor_moves_tuesday_to_the_afternoon_and_a_patient_sees_it(app, live_server, new_page):
    doctor = make_doctor(name="Dr Grace Hopper")
    patient = make_patient(name="Pat Browser")
    db.session.commit()

    page = new_page()
    log_in(page, live_server, doctor.user.email)
    expect(page.get_by_role("heading", name=re.compile("Monday 1 June 2026"))).to_be_visible()
    page.get_by_role("link", name="Weekly hours").click()
    expect(page.get_by_role("heading", name="Weekly hours", exact=True)).to_be_visible()
    # The empty rows are folded behind "+ add range" by doctor.js.
    expect(page.get_by_label("Tuesday, range 2, from")).to_be_hidden()
    page.get_by_label("Applies from").fill("2026-06-01")
    page.get_by_label("Tuesday, range 1, from").fill("13:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_text("Saved: weekly hours from Mon 1 Jun")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("In effect now — from Mon 1 Jun"))).to_be_visible()

    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.get_by_text("Hours 13:00–17:00")).to_be_visible()

    other = new_page()
    log_in(other, live_server, patient.user.email)
    other.goto(f"{live_server}/doctors/{doctor.id}?day=2026-06-02")
    expect(other.get_by_role("heading", name="Tuesday 2 June 2026")).to_be_visible()
    expect(other.locator("label.slot")).to_have_count(8)
    expect(other.locator("label.slot").first).to_have_text("13:00")
    expect(other.get_by_role("heading", name="Morning")).to_have_count(0)


def test_doctor_closes_a_day_with_a_booking_and_keeps_it_flagged(app, live_server, new_page):
    doctor = make_doctor(name="Dr Grace Hopper")
    patient = make_patient(name="Pat Browser")
    booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                           start_at=datetime(2026, 6, 3, 9, 0, tzinfo=timezone.utc), reason="Follow-up")
    db.session.commit()

    page = new_page()
    log_in(page, live_server, doctor.user.email)
    page.get_by_role("link", name="One-off changes").click()
    page.get_by_label("Date").fill("2026-06-03")
    page.get_by_label("Closed all day").check()
    page.get_by_role("button", name="Add one-off change").click()
    expect(page.get_by_role("heading", name="This change affects booked appointments")).to_be_visible()
    expect(page.get_by_role("cell", name="Pat Browser")).to_be_visible()
    page.get_by_role("button", name="Save and flag for staff").click()
    expect(page.get_by_text("1 appointment kept and flagged")).to_be_visible()

    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.get_by_role("link", name=re.compile("10:00–10:30 \\(needs attention\\) Pat Browser Follow-up"))).to_be_visible()
