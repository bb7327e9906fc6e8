"""Done means (issue 13): a receptionist registers a phone-only caller, books them, and the patient gets
an SMS confirmation and an SMS reminder at the right time; staff see both on the appointment's page.

Over HTTP through the staff console, then the relay command, as in production: on SQLite and on
PostgreSQL in the embedded mode, and against moto in server mode with the reminder function run
on the batches the queue hands it.
"""
from __future__ import annotations

import json
import urllib.request
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

import reminders.wiring
from carebook import clock
from carebook.extensions import db
from lambda_handler.handler import handler, reset_environment_services, services_from_environment
from models import Appointment, Patient
from tests.admin.conftest import TUESDAY, local
from tests.factories import make_doctor, make_staff
from tests.reminders.aws_stack import create_stack
from tests.reminders.helpers import deliveries, sms_files

CALLER = {"full_name": "Olive Older", "email": "", "phone": "07700 900456", "date_of_birth": "1938-04-01"}
PHONE = "+447700900456"
START = local(TUESDAY, 10)


def receptionist_books_a_phone_only_caller(app, client) -> Appointment:
    make_doctor(name="Dr Grace Hopper")
    staff = make_staff(name="Rita Reception")
    db.session.commit()
    assert client.login(staff.email).status_code == 302
    assert client.submit("/admin/patients/new/", CALLER).status_code == 302
    patient = db.session.scalars(select(Patient)).one()
    doctor_id = _doctor_id()
    booked = client.submit("/admin/appointments/book/", {"patient_id": patient.id, "doctor_id": doctor_id,
                                                         "day": TUESDAY.isoformat(), "start_at": START.isoformat()})
    assert booked.status_code == 302, booked.get_data(as_text=True)
    db.session.expire_all()
    return db.session.scalars(select(Appointment)).one()


def _doctor_id() -> int:
    from models import Doctor

    return db.session.scalars(select(Doctor.id)).one()


def relay(app):
    result = app.test_cli_runner().invoke(args=["reminders", "relay", "--once"])
    assert result.exit_code == 0, result.output


def test_a_phone_only_caller_booked_at_the_desk_gets_an_sms_confirmation_and_reminder(app, client, session):
    appointment = receptionist_books_a_phone_only_caller(app, client)
    relay(app)
    [confirmation] = sms_files(app)
    assert (confirmation["to"], confirmation["text"].split(",")[0]) == (PHONE, "Booked: Tue 2 Jun")
    clock.freeze(START - timedelta(hours=24, minutes=1))
    relay(app)
    assert len(sms_files(app)) == 1  # a minute early: nothing yet
    clock.freeze(START - timedelta(hours=24))
    relay(app)
    [_, reminder] = sms_files(app)
    assert reminder["to"] == PHONE
    assert reminder["text"].startswith("Reminder: Tue 2 Jun, 10:00 BST with Dr Grace Hopper, Test Clinic.")
    assert [row for row in deliveries(session, appointment.id) if row[1] == "sms"] == [
        ("confirmation", "sms", "sent", ""), ("reminder", "sms", "sent", "")]


def test_the_receptionist_sees_both_sms_on_the_appointments_page(app, client, session):
    appointment = receptionist_books_a_phone_only_caller(app, client)
    relay(app)
    clock.freeze(START - timedelta(hours=24))
    relay(app)
    client.log_in_again()
    page = client.get(f"/admin/appointments/{appointment.id}/").get_data(as_text=True)
    section = page.split('id="messages-heading"')[1].split("</section>")[0]
    assert section.count("Text message (SMS)") == 2 and section.count("<td>Sent</td>") == 2
    assert "Confirmation" in section and "Reminder" in section
    assert "Not sent: no email address" in section


# -- the same, against moto in server mode ----------------------------------------------------------


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    from tests.reminders.test_end_to_end import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def published_sms(server) -> list[tuple[str, str]]:
    with urllib.request.urlopen(f"{server}/moto-api/data.json") as response:
        data = json.load(response)
    from tests.reminders.aws_stack import sms_published

    return sms_published() or [(item["phone_number"], item["message"]) for item in data["sns"].get("SMS", [])]


def test_on_aws_the_caller_gets_both_sms_through_the_queue_and_sns(app, client, session, moto_server, monkeypatch):
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    stack = create_stack(endpoint_url=moto_server)
    reminders.wiring.init_app(app, env=stack.app_settings())
    for name, value in stack.lambda_environment().items():
        monkeypatch.setenv(name, value)
    reset_environment_services()
    services = replace(services_from_environment(), now=clock.utcnow)
    try:
        appointment = receptionist_books_a_phone_only_caller(app, client)
        relay(app)

        def run_function():
            event = stack.receive_batch()
            response = handler(event, None, services=services)
            stack.acknowledge(event, response)
            assert response == {"batchItemFailures": []}

        run_function()  # the confirmation notice the relay put on the queue
        stack.deliver_as_scheduler(stack.get_schedule(f"appt-{appointment.id}-reminder"))
        clock.freeze(START - timedelta(hours=24))
        run_function()  # the reminder, at its time
        relay(app)  # drains the receipts
    finally:
        reset_environment_services()
    schedule_time = stack.get_schedule(f"appt-{appointment.id}-reminder")["ScheduleExpression"]
    assert schedule_time == "at(2026-06-01T09:00:00)"
    texts = published_sms(moto_server)
    assert [(phone, text.split(":")[0]) for phone, text in texts] == [(PHONE, "Booked"), (PHONE, "Reminder")]
    assert [row for row in deliveries(session, appointment.id) if row[1] == "sms"] == [
        ("confirmation", "sms", "sent", ""), ("reminder", "sms", "sent", "")]
