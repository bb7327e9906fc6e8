"""Waitlist offers by SMS: the same path as every SMS (relay -> reminder function -> SNS), recorded per channel."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from carebook import accounts, clock
from lambda_handler.handler import handler, reset_environment_services, services_from_environment
from models import ContactPreference, NotificationDelivery, OutboxKind, OutboxMessage, OutboxStatus
from models.waitlist import OfferStatus
from reminders import waitlist_mail
from reminders.relay import relay_once
from tests.carebook.waitlist.conftest import book, cancel, join, offers
from tests.factories import make_patient, make_phone_patient
from tests.reminders.aws_stack import sms_published
from tests.reminders.helpers import TUESDAY_10, folder_emails, sms_files

PHONE = "+447700900321"  # make_phone_patient's


def offer_records(session, offer_id: int) -> list[tuple[str, str, str]]:
    rows = session.scalars(select(NotificationDelivery).where(NotificationDelivery.message_id == f"waitlist-offer-{offer_id}")
                           .order_by(NotificationDelivery.id))
    return [(row.event, row.channel, row.outcome) for row in rows]


def free_a_slot_for(app, doctor, waiting):
    """Someone else's appointment at Tuesday 10:00 is cancelled while ``waiting`` waits for that doctor."""
    booker = make_patient(name="Ann Booker", email="ann.booker@example.test")
    appointment = book(doctor, booker, start_at=TUESDAY_10)
    relay_once(app)  # the booker's own confirmation, out of the way
    join(waiting, doctor)
    cancel(appointment, booker)
    relay_once(app)  # the freed slot is offered, and the offer sent
    [offer] = offers()
    return offer


def offer_texts(app) -> list[dict[str, str]]:
    return [sms for sms in sms_files(app) if sms["text"].startswith("Free:")]


def test_a_phone_only_patient_gets_the_offer_by_sms(app, session, doctor):
    offer = free_a_slot_for(app, doctor, make_phone_patient())
    [text] = offer_texts(app)
    assert text["to"] == PHONE
    assert text["text"].startswith("Free: Tue 2 Jun, 10:00 BST with Dr ") and "Doctor, Test Clinic." in text["text"]
    assert text["text"].endswith(f"/o/{offer.id} or call 01234 567890")
    assert offer.channels == "sms"
    assert offer_records(session, offer.id) == [("waitlist_offer", "sms", "sent")]


def test_the_offer_sms_short_link_leads_to_the_offer_after_sign_in(app, session, doctor, client):
    waiting = make_patient(name="Ben Waiter", email="ben@example.test", phone="+447700900456")
    accounts.update_contact(session, waiting, contact_by=ContactPreference.SMS)
    session.commit()
    offer = free_a_slot_for(app, doctor, waiting)
    [text] = offer_texts(app)
    link = text["text"].split(" or call ")[0].rsplit(" ", 1)[1]
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 302  # to the sign-in first
    client.login("ben@example.test")
    response = client.get("/" + path)
    assert response.headers["Location"].endswith(f"/waitlist/offers/{offer.id}")


def test_the_offer_sms_holds_no_health_details(app, session, doctor):
    free_a_slot_for(app, doctor, make_phone_patient())
    [text] = offer_texts(app)
    assert "cough" not in text["text"].lower() and "Standard" not in text["text"]


def test_a_patient_who_chose_both_gets_the_offer_once_on_each_channel(app, session, doctor):
    waiting = make_patient(name="Ben Waiter", email="ben@example.test", phone="+447700900456")
    accounts.update_contact(session, waiting, contact_by=ContactPreference.BOTH)
    session.commit()
    offer = free_a_slot_for(app, doctor, waiting)
    relay_once(app)  # a second pass sends nothing again
    assert [sms["to"] for sms in offer_texts(app)] == ["+447700900456"]
    emails = [m for m in folder_emails(app) if m["X-Carebook-Email"] == "send_waitlist_offer"]
    assert [m["To"] for m in emails] == ["ben@example.test"]
    assert sorted(offer_records(session, offer.id)) == [("waitlist_offer", "email", "sent"),
                                                        ("waitlist_offer", "sms", "sent")]


def test_an_offer_claimed_or_taken_before_its_sms_left_is_not_sent(app, session, doctor):
    booker = make_patient(name="Ann Booker", email="ann.booker@example.test")
    appointment = book(doctor, booker, start_at=TUESDAY_10)
    join(make_phone_patient(), doctor)
    cancel(appointment, booker)
    # The freed slot is offered (its row acted on alone); a walk-in takes the time before the SMS row is.
    [freed] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.WAITLIST_SLOT_FREED))
    waitlist_mail.deliver(app, session, freed)
    freed.status = OutboxStatus.DONE
    session.commit()
    [offer] = offers()
    book(doctor, make_patient(name="Walk In", email="walk.in@example.test"), start_at=TUESDAY_10)
    relay_once(app)
    assert offers()[0].status is OfferStatus.TAKEN
    assert offer_texts(app) == []
    assert offer_records(session, offer.id) == []


def test_an_offer_made_at_night_is_texted_when_the_quiet_hours_end(app, session, doctor):
    booker = make_patient(name="Ann Booker", email="ann.booker@example.test")
    appointment = book(doctor, booker, start_at=TUESDAY_10 + timedelta(hours=1))
    join(make_phone_patient(), doctor)
    clock.freeze(datetime(2026, 6, 1, 22, tzinfo=timezone.utc))  # Monday 23:00 BST
    cancel(appointment, booker)
    relay_once(app)
    assert offer_texts(app) == []
    clock.freeze(datetime(2026, 6, 2, 7, tzinfo=timezone.utc))  # Tuesday 08:00 BST
    relay_once(app)
    [text] = offer_texts(app)
    assert "First to claim by 08:30 BST" in text["text"]


# -- AWS (moto, in process) --------------------------------------------------------------------------


@pytest.fixture
def lambda_services(stack, monkeypatch):
    for name, value in stack.lambda_environment().items():
        monkeypatch.setenv(name, value)
    reset_environment_services()
    yield replace(services_from_environment(), now=clock.utcnow)
    reset_environment_services()


def test_on_aws_the_offer_sms_goes_through_the_queue_and_sns_and_its_record_comes_back(aws_app, session, doctor,
                                                                                    stack, lambda_services):
    waiting = make_phone_patient()
    booker = make_patient(name="Ann Booker", email="ann.booker@example.test")
    appointment = book(doctor, booker, start_at=TUESDAY_10)
    join(waiting, doctor)
    cancel(appointment, booker)
    relay_once(aws_app)
    [offer] = offers()
    event = stack.receive_batch()
    notices = [json.loads(record["body"]) for record in event["Records"]]
    [message] = [notice for notice in notices if notice.get("event") == "waitlist_offer"]
    assert (message["notice_id"], message["patient"]) == (f"waitlist-offer-{offer.id}", {"phone": PHONE})
    response = handler(event, None, services=lambda_services)
    stack.acknowledge(event, response)
    assert response == {"batchItemFailures": []}
    assert [(phone, text.split(":")[0]) for phone, text in sms_published() if phone == PHONE] == [(PHONE, "Free")]
    relay_once(aws_app)  # drains the receipts
    assert offer_records(session, offer.id) == [("waitlist_offer", "sms", "sent")]
