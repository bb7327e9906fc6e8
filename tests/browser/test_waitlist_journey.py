"""The waitlist in a real browser: patient B joins the waitlist, patient A cancels, B receives the offer
in the local mail folder and claims it. B uses a phone with JavaScript off: nothing needs a script."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from tests import mailbox
from tests.browser.accessibility import SIZES
from tests.browser.conftest import log_in
from tests.factories import make_doctor, make_patient

pytestmark = pytest.mark.postgres_only

TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in London


def test_a_cancelled_slot_reaches_the_waiting_patient_who_claims_it(app, live_server, browser, new_page):
    doctor = make_doctor(name="Dr Grace Hopper")
    ann, ben = make_patient(name="Ann Early", email="ann@example.test"), make_patient(name="Ben Waiting",
                                                                                      email="ben@example.test")
    booking_service().book(audit.Actor(ann.user, "portal"), doctor=doctor, patient=ann, start_at=TUESDAY_10)
    db.session.commit()

    phone = browser.new_context(java_script_enabled=False, viewport=SIZES["phone"])
    try:
        b = phone.new_page()
        log_in(b, live_server, ben.user.email)
        b.goto(f"{live_server}/doctors/{doctor.id}?day=2026-06-02")
        b.get_by_role("link", name="Join the waitlist").click()
        expect(b.get_by_role("heading", name="Join the waitlist")).to_be_visible()
        b.get_by_label("Afternoon (12:00 to 17:00)").uncheck()
        b.get_by_label("Evening (from 17:00)").uncheck()
        b.get_by_role("button", name="Join the waitlist").click()
        expect(b.get_by_text("You are on the waitlist.")).to_be_visible()
        expect(b.get_by_role("heading", name="Waitlist")).to_be_visible()

        a = new_page()
        log_in(a, live_server, ann.user.email)
        a.goto(f"{live_server}/appointments")
        a.get_by_role("link", name=re.compile("^Cancel")).click()
        a.get_by_role("button", name=re.compile("^Yes, cancel")).click()
        expect(a.get_by_text("Your appointment has been cancelled.")).to_be_visible()

        [offer] = [m for m in mailbox.sent(app, "ben@example.test") if m["X-Carebook-Email"] == "send_waitlist_offer"]
        assert "Dr Grace Hopper" in mailbox.text(offer)
        b.goto(live_server + mailbox.path_of(mailbox.link(offer, "/waitlist/offers/")))
        expect(b.get_by_role("heading", name="A time is free with Dr Grace Hopper")).to_be_visible()
        expect(b.get_by_text("Tue 2 Jun, 10:00 BST").first).to_be_visible()
        b.get_by_role("button", name="Book Tue 2 Jun, 10:00 with Dr Grace Hopper").click()
        expect(b.get_by_role("heading", name="Booked: Tue 2 Jun, 10:00 BST")).to_be_visible()
        b.screenshot(path=str(mailbox_screenshot_dir() / "waitlist-claimed-phone.png"), full_page=True)
    finally:
        phone.close()


def mailbox_screenshot_dir():
    from tests.conftest import SCREENSHOT_DIR

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
