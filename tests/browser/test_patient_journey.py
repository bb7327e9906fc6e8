"""A new patient, in a real browser: register, book, see it, move it, cancel it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from carebook.extensions import db
from tests.factories import make_doctor

pytestmark = pytest.mark.postgres_only


def test_new_patient_registers_books_reschedules_and_cancels(app, live_server, new_page):
    make_doctor(name="Dr Grace Hopper", specialty="General practice")
    db.session.commit()
    page = new_page()

    page.goto(f"{live_server}/register")
    page.get_by_label("Full name").fill("Nina Newcomer")
    page.get_by_label("Email").fill("nina@example.com")
    page.get_by_label("Date of birth").fill("1990-04-01")
    page.get_by_label("Phone").fill("07700 900321")
    page.get_by_label("Password").fill("a perfectly long passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Choose a doctor")).to_be_visible()

    page.get_by_role("link", name=re.compile("See times for Dr Grace Hopper")).click()
    page.get_by_role("link", name=re.compile(r"Tue 2 Jun")).click()
    page.locator("label.slot", has_text="10:00").click()
    page.get_by_label("Reason for visit (optional)").fill("Annual check-up")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="Booked: Tue 2 Jun, 10:00")).to_be_visible()

    page.get_by_role("link", name="My appointments", exact=True).click()
    expect(page.get_by_role("link", name="Tue 2 Jun, 10:00")).to_be_visible()
    page.get_by_role("link", name="Reschedule").click()
    page.get_by_role("link", name=re.compile(r"Wed 3 Jun")).click()
    page.locator("label.slot", has_text="14:30").click()
    page.get_by_role("button", name="Move to this time").click()
    expect(page.get_by_role("heading", name="Wed 3 Jun, 14:30")).to_be_visible()

    page.get_by_role("button", name=re.compile("^Cancel")).click()
    expect(page.get_by_text("Your appointment has been cancelled.")).to_be_visible()
    expect(page.get_by_text("No upcoming appointments")).to_be_visible()
