"""Booking, rescheduling and cancelling with the keyboard alone (focus always visible), on a phone,
with JavaScript off, and the weight of the booking page."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from carebook import audit
from carebook.extensions import db
from carebook.services import booking_service
from tests.browser.accessibility import SIZES
from tests.browser.conftest import log_in
from tests.factories import make_doctor, make_patient

pytestmark = pytest.mark.postgres_only

TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in London
#: The booking page, everything it loads included, must stay under this many bytes on the wire.
PAGE_WEIGHT_LIMIT = 150 * 1024

FOCUSED = """() => {
    const e = document.activeElement;
    const style = getComputedStyle(e);
    const ring = parseFloat(style.outlineWidth) > 0 && style.outlineStyle !== 'none';
    const shadow = style.boxShadow && style.boxShadow !== 'none';
    // A radio drawn as a button shows its focus on the box next to it.
    const box = e.type === 'radio' ? getComputedStyle(e.nextElementSibling) : null;
    const drawn = box && parseFloat(box.outlineWidth) > 0 && box.outlineStyle !== 'none';
    const label = e.closest('label');
    return {text: ((label ? label.innerText : '') || e.innerText || e.value || e.getAttribute('aria-label') || '').trim(),
            tag: e.tagName.toLowerCase(), visible: Boolean(ring || shadow || drawn)};
}"""


def tab_to(page, text: str | re.Pattern, limit: int = 80) -> None:
    """Press Tab until the focused element's text matches; every stop on the way shows its focus."""
    page.wait_for_load_state()
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused["visible"], f"focus not visible on {focused}"
        if (text.search(focused["text"]) if isinstance(text, re.Pattern) else text in focused["text"]):
            return
    raise AssertionError(f"no focusable element with {text!r} within {limit} tabs")


@pytest.fixture
def clinic(app):
    doctor = make_doctor(name="Dr Ada Okafor")
    patient = make_patient(name="Kay Board")
    db.session.commit()
    return doctor, patient


def test_a_patient_books_moves_and_cancels_with_the_keyboard_alone(app, live_server, new_page, clinic):
    doctor, patient = clinic
    page = new_page()
    log_in(page, live_server, patient.user.email)
    page.goto(f"{live_server}/doctors")

    tab_to(page, "See times")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dr Ada Okafor")).to_be_visible()
    tab_to(page, "Tue 2 Jun")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Tuesday 2 June 2026")).to_be_visible()
    tab_to(page, "09:00")
    page.keyboard.press("ArrowRight")  # within the radio group: 09:30
    page.keyboard.press("ArrowRight")  # 10:00
    expect(page.get_by_role("button", name="Book Tue 2 Jun, 10:00 with Dr Ada Okafor")).to_be_visible()
    tab_to(page, "Book Tue 2 Jun, 10:00")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Booked: Tue 2 Jun, 10:00 BST")).to_be_visible()

    tab_to(page, "Reschedule")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Move your appointment")).to_be_visible()
    tab_to(page, "Wed 3 Jun")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Wednesday 3 June 2026")).to_be_visible()
    tab_to(page, "09:00")
    page.keyboard.press("Space")
    tab_to(page, "Move to this time: Wed 3 Jun, 09:00")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Wed 3 Jun, 09:00 BST")).to_be_visible()

    tab_to(page, "Cancel…")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Cancel your appointment?")).to_be_visible()
    tab_to(page, "Yes, cancel the appointment on Wed 3 Jun, 09:00")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your appointment has been cancelled.")).to_be_visible()


def test_on_a_phone_the_book_button_stays_in_reach_and_names_the_chosen_time(app, live_server, new_page, clinic):
    doctor, patient = clinic
    page = new_page(viewport=SIZES["phone"])
    log_in(page, live_server, patient.user.email)
    page.goto(f"{live_server}/doctors/{doctor.id}?day=2026-06-02")
    page.locator("label.slot", has_text="09:30").click()
    button = page.get_by_role("button", name="Book Tue 2 Jun, 09:30 with Dr Ada Okafor")
    box = button.bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= SIZES["phone"]["height"]
    button.click()
    expect(page.get_by_role("heading", name="Booked: Tue 2 Jun, 09:30 BST")).to_be_visible()


def test_a_time_inside_the_cutoff_is_warned_about_before_booking(app, live_server, new_page, clinic):
    doctor, patient = clinic
    page = new_page()
    log_in(page, live_server, patient.user.email)
    page.goto(f"{live_server}/doctors/{doctor.id}?day=2026-06-01")  # now: Monday 1 June, 08:00 in London
    warning = page.locator("#late-warning")
    expect(warning).to_be_hidden()
    page.locator("label.slot", has_text="14:00").click()
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("cannot be changed or cancelled online")


def test_booking_works_with_javascript_off(app, live_server, browser, clinic):
    doctor, patient = clinic
    context = browser.new_context(java_script_enabled=False, viewport=SIZES["phone"])
    try:
        page = context.new_page()
        log_in(page, live_server, patient.user.email)
        page.goto(f"{live_server}/doctors/{doctor.id}?day=2026-06-02")
        page.locator("label.slot", has_text="11:00").click()
        page.get_by_role("button", name="Book the chosen time with Dr Ada Okafor").click()
        expect(page.get_by_role("heading", name="Booked: Tue 2 Jun, 11:00 BST")).to_be_visible()
    finally:
        context.close()


def test_the_booking_page_weighs_under_150_kb_on_the_wire(app, live_server, new_page, clinic):
    doctor, patient = clinic
    booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient, start_at=TUESDAY_10)
    db.session.commit()
    page = new_page(viewport=SIZES["phone"])
    log_in(page, live_server, patient.user.email)
    loaded = []
    page.on("requestfinished", lambda request: loaded.append(request))
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto(f"{live_server}/doctors/{doctor.id}?day=2026-06-03")
    page.wait_for_load_state("networkidle")
    weight = sum(request.sizes()["responseBodySize"] + request.sizes()["responseHeadersSize"] for request in loaded)
    assert loaded and weight < PAGE_WEIGHT_LIMIT, f"{weight} bytes in {len(loaded)} responses"
