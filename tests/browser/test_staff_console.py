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


def test_staff_register_a_caller_without_email_book_them_and_invite_them_online(app, live_server, new_page):
    make_doctor(name="Dr Grace Hopper", specialty="General practice")
    staff = make_staff(name="Fran Frontdesk")
    db.session.commit()

    desk = new_page()
    log_in(desk, live_server, staff.email)
    desk.goto(f"{live_server}/admin/patients/new/")
    desk.get_by_label("Full name").fill("Olive Older")
    desk.get_by_label("Mobile phone").fill("07700 900456")
    desk.get_by_label("Date of birth").fill("1938-04-01")
    desk.get_by_role("button", name="Save", exact=True).click()
    expect(desk.get_by_role("heading", name="Olive Older")).to_be_visible()
    expect(desk.get_by_text("No email, no login")).to_be_visible()
    expect(desk.get_by_text("07700 900456")).to_be_visible()

    desk.get_by_role("link", name="Book an appointment").click()
    desk.get_by_label("Doctor", exact=True).select_option(label="Dr Grace Hopper — General practice (30 min)")
    desk.get_by_label("Day", exact=True).fill("2026-06-02")
    desk.get_by_role("button", name="Show free times").click()
    desk.locator("label.slot", has_text="10:00").click()
    desk.get_by_role("button", name="Book appointment").click()
    expect(desk.get_by_text("Booked Olive Older with Dr Grace Hopper on Tue 2 Jun, 10:00.")).to_be_visible()

    desk.goto(f"{live_server}/admin/patients/?search=07700900456")
    desk.get_by_role("link", name="Olive Older").click()
    desk.get_by_role("button", name="Invite to go online").click()
    link = desk.locator("#invitation-link").inner_text()

    patient = new_page()  # the link read out over the phone, typed in at home
    patient.goto(live_server + link[link.index("/invitation"):])  # the test server is not at BASE_URL
    patient.get_by_label("Email (you will log in with it)").fill("olive@example.com")
    patient.get_by_label("Password", exact=True).fill("a long and unusual passphrase")
    patient.get_by_label("Repeat the password").fill("a long and unusual passphrase")
    patient.get_by_role("button", name="Set my password").click()
    expect(patient.get_by_text("Your password is set.")).to_be_visible()
    patient.get_by_label("Email").fill("olive@example.com")
    patient.get_by_label("Password").fill("a long and unusual passphrase")
    patient.get_by_role("button", name="Log in").click()
    patient.get_by_role("link", name="My appointments", exact=True).click()
    expect(patient.get_by_role("link", name="Tue 2 Jun, 10:00", exact=True)).to_be_visible()


def test_staff_register_a_phone_only_caller_book_them_and_see_the_sms_sent(app, live_server, new_page):
    """Issue 13's "done means", the console part: the confirmation SMS, and later the reminder SMS,
    are listed on the appointment's page from the delivery records."""
    from datetime import datetime, timezone

    from carebook import clock
    from messaging.sms import read_sms_file
    from reminders.relay import relay_once
    from reminders.state import get_state

    make_doctor(name="Dr Grace Hopper", specialty="General practice")
    staff = make_staff(name="Rita Reception")
    db.session.commit()

    desk = new_page()
    log_in(desk, live_server, staff.email)
    desk.goto(f"{live_server}/admin/patients/new/")
    desk.get_by_label("Full name").fill("Olive Older")
    desk.get_by_label("Mobile phone").fill("07700 900456")
    desk.get_by_label("Date of birth").fill("1938-04-01")
    desk.get_by_role("button", name="Save", exact=True).click()
    expect(desk.get_by_text("Text message", exact=True)).to_be_visible()
    desk.get_by_role("link", name="Book an appointment").click()
    desk.get_by_label("Doctor", exact=True).select_option(label="Dr Grace Hopper — General practice (30 min)")
    desk.get_by_label("Day", exact=True).fill("2026-06-02")
    desk.get_by_role("button", name="Show free times").click()
    desk.locator("label.slot", has_text="10:00").click()
    desk.get_by_role("button", name="Book appointment").click()
    expect(desk.get_by_role("heading", name="Tue 2 Jun, 10:00 · Olive Older")).to_be_visible()
    messages = desk.get_by_role("region", name="Messages to the patient")
    # At once: no email, since she has none; the SMS goes when the worker runs.
    expect(messages.get_by_role("row").filter(has_text="Email")).to_contain_text("Not sent: no email address")
    expect(messages.get_by_role("row").filter(has_text="Text message (SMS)")).to_have_count(0)

    relay_once(app)  # the worker: the confirmation SMS goes
    clock.freeze(datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc))  # 24 hours before: the reminder fires
    relay_once(app)
    db.session.remove()
    clock.freeze(datetime(2026, 6, 1, 7, 5, tzinfo=timezone.utc))  # back at the desk (the sign-in still good)
    folder = get_state(app).settings.sms_folder
    assert sorted(read_sms_file(path)["text"].split(":")[0] for path in folder.glob("*.txt")) == ["Booked",
                                                                                                "Reminder"]

    desk.reload()
    rows = messages.get_by_role("row")
    expect(rows.filter(has_text="Confirmation").filter(has_text="Text message (SMS)")).to_contain_text("Sent")
    expect(rows.filter(has_text="Reminder").filter(has_text="Text message (SMS)")).to_contain_text("Sent")
    expect(rows.filter(has_text="Email")).to_contain_text("Not sent: no email address")
