"""Every page of every role passes axe-core (WCAG 2.2 AA), reflows at 320 px, and has patient-sized touch targets.

Each test tours one role's pages at one size (desktop, and a 390x844 phone), including an
empty state and a form with errors, and checks each page with tests/browser/accessibility.py.
The screenshots of every page at both sizes land in test-artifacts/screenshots/pages/.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from carebook import audit, invitations
from carebook.extensions import db
from carebook.services import booking_service
from models import NotificationDelivery
from tests.browser.accessibility import SIZES, PageChecks
from tests.browser.conftest import log_in
from models import AppointmentType, Audience
from tests.factories import make_doctor, make_patient, make_phone_patient, make_staff, make_type

pytestmark = pytest.mark.postgres_only

TUESDAY_10 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in London
WEDNESDAY_11 = datetime(2026, 6, 3, 10, 0, tzinfo=timezone.utc)
size = pytest.mark.parametrize("size", SIZES)


def _open(new_page, size: str):
    return new_page(viewport=SIZES[size])


def _go(page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, f"{url}: {response and response.status}"


def _clinic():
    """A doctor with hours, one with none yet, a patient with an upcoming, a past and a clinic-cancelled visit."""
    doctor = make_doctor(name="Dr Ada Okafor", specialty="General practice")
    make_doctor(name="Dr Noor Newhire", specialty="Dermatology", weekly={})
    make_type("First visit", minutes=40, doctors=[doctor], description="We get to know you and your history.",
              audience=Audience.NEW_PATIENTS, colour="#6f42c1")
    make_type("Vaccination", minutes=10, doctors=[doctor], bookable_online=False, colour="#055160")
    patient = make_patient(name="Pat Patient")
    actor = audit.Actor(patient.user, "portal")
    upcoming = booking_service().book(actor, doctor=doctor, patient=patient, start_at=TUESDAY_10,
                                      reason="Sore knee")
    cancelled = booking_service().book(actor, doctor=doctor, patient=patient, start_at=WEDNESDAY_11)
    booking_service().cancel(audit.Actor(None, "admin"), cancelled, reason="Dr Okafor is ill that day",
                             enforce_cutoff=False)
    db.session.commit()
    return doctor, patient, upcoming, cancelled


def _type(name: str) -> AppointmentType:
    return db.session.scalars(select(AppointmentType).where(AppointmentType.name == name)).one()


def _waitlist(doctor, patient):
    """The patient waits for the doctor on Thursday and has an open offer of Thursday 10:00."""
    from datetime import date

    from flask import current_app

    from carebook import waitlist
    from carebook.waitlist import entries

    thursday = date(2026, 6, 4)
    entry = entries.join(db.session, audit.Actor(patient.user, "portal"), patient,
                         entries.Wish(earliest_date=thursday, latest_date=thursday, doctor=doctor),
                         current_app.config["CLINIC"].timezone)
    start = datetime(2026, 6, 4, 9, 0, tzinfo=timezone.utc)
    [offer] = waitlist.offering_rules().offer_freed(doctor.id, start, start + timedelta(minutes=30))
    db.session.commit()
    return entry, offer


def _waiting_for_any(patient, specialty):
    """The patient also waits for any doctor of ``specialty`` (a second one of it joins the clinic)."""
    from datetime import date

    from flask import current_app

    from carebook.waitlist import entries

    make_doctor(name="Dr Gale Partner", specialty=specialty)
    return entries.join(db.session, audit.Actor(patient.user, "portal"), patient,
                        entries.Wish(earliest_date=date(2026, 6, 4), latest_date=date(2026, 6, 5), specialty=specialty),
                        current_app.config["CLINIC"].timezone)


@size
def test_signed_out_pages(app, live_server, new_page, size):
    checks = PageChecks(size, touch_targets=True)
    page = _open(new_page, size)
    _go(page, f"{live_server}/login")
    checks.check(page, "login")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".alert-danger, .invalid-feedback").first).to_be_visible()
    checks.check(page, "login-with-error")
    _go(page, f"{live_server}/register")
    checks.check(page, "register")
    page.get_by_label("Full name").fill("Nina Newcomer")
    page.get_by_label("Email").fill("not an email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    checks.check(page, "register-with-errors")
    _go(page, f"{live_server}/password/forgot")
    checks.check(page, "forgot-password")
    _go(page, f"{live_server}/password/reset?token=nonsense", status=400)
    checks.check(page, "reset-link-invalid")
    link = invitations.invite(db.session, audit.Actor(None, "admin"), make_phone_patient(name="Olive Older"),
                              lifetime=timedelta(days=7), base_url=live_server)
    db.session.commit()
    _go(page, link.url)
    checks.check(page, "invitation")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Set my password").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    checks.check(page, "invitation-with-errors")
    _go(page, f"{live_server}/invitation?token=nonsense", status=400)
    checks.check(page, "invitation-link-invalid")
    _go(page, f"{live_server}/no-such-page", status=404)
    checks.check(page, "error-404")
    checks.assert_passed()


@size
def test_patient_pages(app, live_server, new_page, size):
    doctor, patient, upcoming, cancelled = _clinic()
    checks = PageChecks(size, touch_targets=True)
    page = _open(new_page, size)
    log_in(page, live_server, patient.user.email)
    _go(page, f"{live_server}/doctors")
    checks.check(page, "doctors")
    _go(page, f"{live_server}/doctors?specialty=Nothing")
    checks.check(page, "doctors-none-match")
    first_visit = _type("First visit")
    _go(page, f"{live_server}/doctors?type_id={first_visit.id}")
    checks.check(page, "doctors-of-a-type")
    _go(page, f"{live_server}/doctors/{doctor.id}?type_id={first_visit.id}&day=2026-06-02")
    checks.check(page, "book-a-type")
    _go(page, f"{live_server}/doctors/{doctor.id}?day=2026-06-02")
    checks.check(page, "book")
    page.locator("label.slot", has_text="11:00").click()
    checks.check(page, "book-slot-chosen")
    page.get_by_label("Reason for visit (optional)").fill("x" * 600)
    page.get_by_role("button", name="Book").click()
    checks.check(page, "book-with-error")
    _go(page, f"{live_server}/appointments")
    checks.check(page, "appointments")
    _go(page, f"{live_server}/appointments/{upcoming.id}")
    checks.check(page, "appointment")
    _go(page, f"{live_server}/appointments/{cancelled.id}")
    checks.check(page, "appointment-cancelled-by-clinic")
    _go(page, f"{live_server}/appointments/{upcoming.id}/reschedule")
    checks.check(page, "reschedule")
    _go(page, f"{live_server}/appointments/{upcoming.id}/cancel")
    checks.check(page, "cancel-confirm")
    for path, name in (("/account/", "account"), ("/account/data", "your-data"), ("/account/password", "change-password"),
                       ("/account/email", "change-email"), ("/account/contact", "change-contact"),
                       ("/account/two-factor/enable", "enable-two-factor")):
        _go(page, live_server + path)
        checks.check(page, name)
    _go(page, f"{live_server}/account/contact")
    page.get_by_label("Mobile phone").fill("0770 090")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    checks.check(page, "change-contact-with-errors")
    _go(page, f"{live_server}/account/two-factor/enable")
    page.get_by_label("Code from the app").fill("123456")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    checks.check(page, "enable-two-factor-with-errors")
    entry, offer = _waitlist(doctor, patient)
    _go(page, f"{live_server}/appointments")
    checks.check(page, "appointments-with-waitlist")
    _go(page, f"{live_server}/waitlist/join/{doctor.id}")
    checks.check(page, "waitlist-join")
    page.get_by_label("Monday").uncheck()
    for day in ("Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day).uncheck()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    checks.check(page, "waitlist-join-with-errors")
    _go(page, f"{live_server}/appointments/{upcoming.id}/earlier")
    checks.check(page, "waitlist-earlier")
    _go(page, f"{live_server}/waitlist/offers/{offer.id}")
    checks.check(page, "waitlist-offer")
    _go(page, f"{live_server}/admin/", status=403)
    checks.check(page, "error-403")
    booking_service().cancel(audit.Actor(patient.user, "portal"), upcoming)
    db.session.commit()
    _go(page, f"{live_server}/appointments")
    checks.check(page, "appointments-none-upcoming")
    checks.assert_passed()


@size
def test_doctor_pages(app, live_server, new_page, size):
    doctor, _, upcoming, _ = _clinic()
    checks = PageChecks(size)
    page = _open(new_page, size)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(doctor.user.email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    checks.check(page, "second-factor")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    checks.check(page, "second-factor-with-error")
    log_in(page, live_server, doctor.user.email)
    for path, name in (("/doctor/?day=2026-06-02", "day"), ("/doctor/?day=2026-06-06", "day-empty"),
                       ("/doctor/week?week=2026-06-01", "week"), ("/doctor/week?week=2026-10-19", "week-clocks-go-back"),
                       ("/doctor/hours", "hours"), ("/doctor/one-off", "one-offs"), ("/doctor/time-off", "time-off"),
                       (f"/doctor/appointments/{upcoming.id}", "appointment"), ("/doctor/types", "types")):
        _go(page, live_server + path)
        checks.check(page, f"doctor-{name}")
    _go(page, f"{live_server}/doctor/time-off")
    page.get_by_role("button", name="Add time off").click()
    checks.check(page, "doctor-time-off-with-errors")
    _go(page, f"{live_server}/doctor/one-off")
    page.get_by_label("Date").fill("2026-06-02")
    page.get_by_label("Closed all day").check()
    page.get_by_role("button", name="Add one-off change").click()
    expect(page.get_by_role("heading", name="This change affects booked appointments")).to_be_visible()
    checks.check(page, "doctor-confirm-change")
    page.get_by_role("button", name="Save and cancel 1 appointment").click()
    checks.check(page, "doctor-confirm-change-not-ticked")
    checks.assert_passed()


@size
def test_staff_console_pages(app, live_server, new_page, size):
    doctor, patient, upcoming, _ = _clinic()
    staff = make_staff(name="Fran Frontdesk")
    entry, _ = _waitlist(doctor, patient)
    phone_only = make_phone_patient(name="Olive Older")
    phone_only.phone, phone_only.phone_needs_check = "ring the ward", True  # an old number kept as typed
    any_doctor = _waiting_for_any(patient, "General practice")  # the hand-offer page asks whose time to offer
    # The appointment's page lists the messages sent about it (issue 13: delivery records).
    for event, channel, outcome, detail in (("confirmation", "email", "sent", ""), ("confirmation", "sms", "sent", ""),
                                            ("reminder", "sms", "skipped", "opted_out")):
        db.session.add(NotificationDelivery(receipt_id=f"{event}{channel}", appointment_id=upcoming.id,
                                            message_id="outbox-1", event=event, channel=channel, outcome=outcome,
                                            detail=detail, occurred_at=upcoming.created_at))
    db.session.commit()
    checks = PageChecks(size)
    page = _open(new_page, size)
    log_in(page, live_server, staff.email)
    for path, name in (("/admin/", "dashboard"), ("/admin/schedule/?day=2026-06-02", "schedule"),
                       ("/admin/schedule/?day=2026-06-06", "schedule-empty"),
                       ("/admin/appointments/", "appointments"), (f"/admin/appointments/{upcoming.id}/", "appointment"),
                       (f"/admin/appointments/{upcoming.id}/reschedule/", "appointment-reschedule"),
                       ("/admin/appointments/book/", "book"), (f"/admin/appointments/book/?patient_id={patient.id}", "book-for"),
                       ("/admin/appointments/csv/", "csv-export"),
                       ("/admin/doctors/", "doctors"), (f"/admin/doctors/{doctor.id}/", "doctor"),
                       ("/admin/doctors/new/", "doctor-new"), ("/admin/patients/", "patients"),
                       (f"/admin/patients/{patient.id}/", "patient"), ("/admin/patients/new/", "patient-new"),
                       (f"/admin/patients/{patient.id}/data/", "patient-data"),
                       (f"/admin/patients/{patient.id}/erase/", "patient-erase-confirm"),
                       (f"/admin/patients/{phone_only.id}/", "patient-phone-only"),
                       (f"/admin/patients/edit/?id={phone_only.id}", "patient-edit-phone-only"),
                       ("/admin/audit/", "audit"), ("/admin/appointments/?search=nobody", "appointments-none-found"),
                       ("/admin/appointment-types/", "types"), ("/admin/appointment-types/new/", "type-new"),
                       (f"/admin/appointment-types/{_type('Vaccination').id}/", "type"),
                       (f"/admin/appointment-types/{_type('Vaccination').id}/retire/", "type-retire-confirm"),
                       (f"/admin/appointments/book/?patient_id={patient.id}&doctor_id={doctor.id}"
                        f"&type_id={_type('Vaccination').id}&day=2026-06-02", "book-a-type"),
                       (f"/doctor/{doctor.id}/types", "doctor-types"),
                       ("/admin/waitlist/", "waitlist"), (f"/admin/waitlist/?doctor_id={doctor.id}", "waitlist-doctor"),
                       (f"/admin/waitlist/add?doctor_id={doctor.id}", "waitlist-add"),
                       (f"/admin/waitlist/offer?entry_id={entry.id}", "waitlist-offer"),
                       (f"/admin/waitlist/offer?entry_id={any_doctor.id}", "waitlist-offer-choose-doctor")):
        _go(page, live_server + path)
        checks.check(page, f"staff-{name}")
    _go(page, f"{live_server}/admin/appointment-types/new/")
    page.get_by_role("button", name="Create type").click()
    checks.check(page, "staff-type-new-with-errors")
    _go(page, f"{live_server}/admin/doctors/new/")
    page.get_by_role("button", name="Save", exact=True).click()
    checks.check(page, "staff-doctor-new-with-errors")
    _go(page, f"{live_server}/admin/patients/new/")
    page.get_by_label("Mobile phone").fill("0770 090")
    page.get_by_role("button", name="Save", exact=True).click()
    checks.check(page, "staff-patient-new-with-errors")
    _go(page, f"{live_server}/admin/patients/{phone_only.id}/")
    page.get_by_role("button", name="Invite to go online").click()
    expect(page.get_by_role("heading", name="Invitation for Olive Older")).to_be_visible()
    checks.check(page, "staff-patient-invited")
    _go(page, f"{live_server}/admin/appointments/{upcoming.id}/")
    page.get_by_role("button", name="Cancel appointment").click()
    checks.check(page, "staff-cancel-without-reason")
    _go(page, f"{live_server}/admin/patients/")
    page.locator("input.action-checkbox").first.check()
    page.get_by_role("button", name="With selected").click()
    page.get_by_role("button", name="Deactivate login").click()
    expect(page.get_by_role("heading", name="Deactivate 1 login?")).to_be_visible()
    checks.check(page, "staff-deactivate-confirm")
    checks.assert_passed()
