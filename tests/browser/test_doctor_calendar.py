"""The doctor's calendar in a real browser.

A doctor changes their hours and a patient in another browser sees the new times; every
appointment in the week, however short, shows its time and patient, unclipped, without
covering a neighbour (on an ordinary week and the week the clocks go back); the month says
which days are off, part off or have one-off hours, and fits a 320 px screen.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from carebook import audit, clock
from carebook.availability import SetAppointmentLength
from carebook.extensions import db
from carebook.services import availability_service, booking_service
from models import DateOverride
from tests.browser.accessibility import NARROWEST, PageChecks
from tests.browser.conftest import log_in
from tests.factories import add_time_off, make_doctor, make_patient

pytestmark = pytest.mark.postgres_only

LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc
LONG_NAME = "Maximilian Featherstonehaugh-Smythe"
#: For each appointment block of a day column: the boxes of the block, its time and its patient;
#: whether either label is cut off (scrolls inside its box) or lies outside the block; and
#: whether the element drawn at the middle of each label is that label (nothing covers it).
BLOCK_LAYOUT = """section => [...section.querySelectorAll('a.appointment')].map(block => {
    const box = block.getBoundingClientRect();
    const labels = ['.appointment-time', '.appointment-patient'].map(selector => {
        const label = block.querySelector(selector), r = label.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return {text: label.innerText.trim(), height: r.height,
                clipped: label.scrollWidth > label.clientWidth + 1 || label.scrollHeight > label.clientHeight + 1,
                inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.top >= box.top - 0.5
                        && r.bottom <= box.bottom + 0.5,
                uncovered: hit !== null && label.contains(hit)};
    });
    return {top: box.top, bottom: box.bottom, time: labels[0], patient: labels[1]};
})"""


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


def book(doctor, patient, start_at: datetime, reason: str = ""):
    return booking_service().book(audit.Actor(patient.user, "portal"), doctor=doctor, patient=patient,
                                  start_at=start_at, reason=reason)


def set_length(doctor, minutes: int) -> None:
    availability_service().apply(SetAppointmentLength(doctor.id, minutes, 0), audit.Actor(doctor.user, "portal"))


def assert_every_block_shows_its_time_and_patient(page, day: str) -> list[dict]:
    blocks = page.locator(f'section[aria-labelledby="day-{day}"]').evaluate(BLOCK_LAYOUT)
    assert blocks, f"no appointments on {day}"
    for block in blocks:
        for label in (block["time"], block["patient"]):
            assert label["text"] and label["height"] >= 10, block
            assert not label["clipped"] and label["inside"] and label["uncovered"], block
    for upper, lower in zip(blocks, blocks[1:]):
        assert upper["bottom"] <= lower["top"] + 0.5, (upper, lower)  # no block covers the next
    return blocks


def hour_top(page, label: str) -> float:
    return page.locator(".week-hours .hour", has=page.locator(".hour-label", has_text=re.compile(f"^{label}$"))
                        ).bounding_box()["y"]


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


@pytest.mark.parametrize("width", [1280, 800])
def test_appointments_of_5_to_15_minutes_show_their_time_and_patient_in_the_week(app, live_server, new_page, width):
    doctor = make_doctor(name="Dr Grace Hopper", minutes=15)
    patients = [make_patient(name=name) for name in ("Alice Patient", LONG_NAME, "Zoë Ng", "Bob Li")]
    tuesday, wednesday = date(2026, 6, 2), date(2026, 6, 3)
    for number, patient in enumerate(patients):  # 09:00-10:00: four of 15 minutes
        book(doctor, patient, local(tuesday, 9, 15 * number), reason="A reason too long for a short block")
    book(doctor, patients[0], local(wednesday, 10))
    set_length(doctor, 5)
    book(doctor, patients[1], local(tuesday, 10))
    book(doctor, patients[2], local(tuesday, 10, 5))
    set_length(doctor, 10)
    book(doctor, patients[3], local(tuesday, 10, 10))
    db.session.commit()

    page = new_page(viewport={"width": width, "height": 900})
    log_in(page, live_server, doctor.user.email)
    page.goto(f"{live_server}/doctor/week")
    expect(page.get_by_role("link", name=f"09:15–09:30 {LONG_NAME} A reason too long for a short block")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^09:15–09:30")).locator(".appointment-patient")).to_have_text(LONG_NAME)
    expect(page.get_by_role("link", name=re.compile("^09:15–09:30")).locator(".appointment-patient")).to_be_visible()
    blocks = assert_every_block_shows_its_time_and_patient(page, "2026-06-02")
    assert [block["time"]["text"] for block in blocks] == [
        "09:00–09:15", "09:15–09:30", "09:30–09:45", "09:45–10:00", "10:00–10:05", "10:05–10:10", "10:10–10:20"]
    assert [block["patient"]["text"] for block in blocks][:2] == ["Alice Patient", LONG_NAME]
    # The rows grew to fit, and the days and the hours stayed lined up.
    assert abs(blocks[0]["top"] - hour_top(page, "09:00")) <= 2
    wednesday_block = assert_every_block_shows_its_time_and_patient(page, "2026-06-03")[0]
    assert abs(wednesday_block["top"] - hour_top(page, "10:00")) <= 2
    assert abs(blocks[4]["top"] - hour_top(page, "10:00")) <= 2
    # The block opens the appointment's page.
    page.get_by_role("link", name=re.compile("^10:00–10:05")).click()
    expect(page.get_by_text(LONG_NAME).first).to_be_visible()


def test_the_month_shows_days_off_part_off_and_one_off_hours_and_fits_a_phone(app, live_server, new_page):
    doctor = make_doctor(name="Dr Grace Hopper")
    patient = make_patient(name="Pat Browser")
    book(doctor, patient, local(date(2026, 6, 2), 10))
    add_time_off(doctor, local(date(2026, 6, 3), 12), local(date(2026, 6, 3), 14))
    add_time_off(doctor, local(date(2026, 6, 15), 0), local(date(2026, 6, 20), 0))
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=date(2026, 6, 4), start_time=time(10), end_time=time(13)))
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=date(2026, 6, 12)))
    db.session.commit()

    page = new_page()
    log_in(page, live_server, doctor.user.email)
    page.goto(f"{live_server}/doctor/week")
    month = page.locator(".month-table")
    for name in ("3 June: no appointments, Part off: time off 12:00–14:00",
                 "4 June: no appointments, One-off: hours 10:00–13:00",
                 "12 June: no appointments, Off: not working, One-off: closed all day",
                 "16 June: no appointments, Off: time off all day", "2 June: 1 appointment"):
        expect(month.get_by_role("link", name=name, exact=True)).to_be_visible()
    third = month.get_by_role("link", name=re.compile("^3 June"))
    expect(third.locator(".month-mark")).to_have_text("Part off")
    expect(month.get_by_role("link", name=re.compile("^12 June")).locator(".month-mark")).to_have_text(["Off", "One-off"])
    expect(page.locator(".month-legend")).to_contain_text("Part off time off for part of the hours")

    page.set_viewport_size(NARROWEST)
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
    cut = page.evaluate("""() => [...document.querySelectorAll('.month-table .month-mark')].filter(mark => {
        const cell = mark.closest('td').getBoundingClientRect(), r = mark.getBoundingClientRect();
        return mark.scrollWidth > mark.clientWidth + 1 || r.left < cell.left - 0.5 || r.right > cell.right + 0.5;
    }).map(mark => mark.closest('a').innerText)""")
    assert cut == []
    expect(third.locator(".month-mark")).to_be_visible()

    for size in ("desktop", "phone"):  # axe, and reflow at 320 px, with every kind of mark on the page
        checks = PageChecks(size)
        page.set_viewport_size({"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}[size])
        checks.check(page, f"doctor-month-marks-{size}")
        checks.assert_passed()


def test_the_week_the_clocks_go_back_shows_short_appointments_around_one_in_order(app, live_server, new_page):
    clock.freeze(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))
    doctor = make_doctor(name="Dr Grace Hopper", minutes=15)
    patients = [make_patient(name=name) for name in ("Alice Patient", LONG_NAME, "Zoë Ng")]
    sunday = date(2026, 10, 25)  # 02:00 BST becomes 01:00 GMT
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=sunday, start_time=time(0), end_time=time(3)))
    db.session.flush()
    first = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 00:30 BST
    for number in range(8):  # every 15 minutes to 01:30 GMT
        book(doctor, patients[number % 3], first + timedelta(minutes=15 * number), reason="Night clinic")
    db.session.commit()

    page = new_page()
    log_in(page, live_server, doctor.user.email)
    page.goto(f"{live_server}/doctor/week?week=2026-10-25")
    expect(page.get_by_text("Clocks go back: 01:00–02:00 happens twice")).to_be_visible()
    blocks = assert_every_block_shows_its_time_and_patient(page, "2026-10-25")
    assert [block["time"]["text"] for block in blocks] == [
        "00:30–00:45", "00:45–01:00 BST", "01:00 BST–01:15 BST", "01:15 BST–01:30 BST", "01:30 BST–01:45 BST",
        "01:45 BST–01:00 GMT", "01:00 GMT–01:15 GMT", "01:15 GMT–01:30 GMT"]
    assert abs(blocks[2]["top"] - hour_top(page, "01:00 BST")) <= 2
    assert abs(blocks[6]["top"] - hour_top(page, "01:00 GMT")) <= 2
    expect(page.get_by_role("link", name="01:00 GMT–01:15 GMT Alice Patient Night clinic")).to_be_visible()

    checks = PageChecks("desktop")
    checks.check(page, "doctor-week-clocks-go-back")
    checks.assert_passed()
    page.set_viewport_size({"width": 390, "height": 844})  # the phone's agenda: in order, each with its zone
    agenda = page.locator('section[aria-labelledby="day-2025-10-25"], section[aria-labelledby="day-2026-10-25"]')
    expect(agenda.locator(".appointment-time")).to_have_text([block["time"]["text"] for block in blocks])
