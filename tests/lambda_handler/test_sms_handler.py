"""The handler sending by SMS (moto's SNS) and by email, each channel once, with receipts for each outcome."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from lambda_handler.handler import handler, services_from_environment
from lambda_handler.payload import InvalidPayload, validate
from messaging.receipts import ListReceiptSink, Receipt
from tests.lambda_handler.conftest import NOW, event, payload, record
from tests.reminders.aws_stack import REGION, sent_emails

PHONE = "+447700900123"
#: moto 5.2.5's CheckIfPhoneNumberIsOptedOut says "opted out" for every number ending in 99.
OPTED_OUT = "+447700900199"


def sms_sent() -> list[tuple[str, str]]:
    from moto.sns.models import sns_backends

    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def both(**changes) -> dict:
    return payload(channels=["email", "sms"], short_time_text="Tue 2 Jun, 10:00 BST",
                   patient={"first_name": "Pat", "email": "pat@example.test", "phone": PHONE}, **changes)


def sms_only(**changes) -> dict:
    return payload(**{"channels": ["sms"], "short_time_text": "Tue 2 Jun, 10:00 BST",
                      "patient": {"first_name": "Phil", "phone": PHONE}, **changes})


@pytest.fixture
def sink(services) -> ListReceiptSink:
    services.receipts = ListReceiptSink()
    return services.receipts


def outcomes(sink) -> list[tuple[str, str, str]]:
    return [(receipt.channel, receipt.outcome, receipt.detail) for receipt in sink.receipts]


class SnsDown:
    """SNS refusing every publish until told to recover (the email still goes)."""

    def __init__(self, sender):
        self.sender, self.down = sender, True

    def is_opted_out(self, phone):
        return self.sender.is_opted_out(phone)

    def send(self, phone, text):
        if self.down:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "Throttling", "Message": phone}}, "Publish")
        return self.sender.send(phone, text)


def test_a_patient_who_chose_both_gets_an_email_and_an_sms(services, sink):
    assert handler(event(record(both())), None, services=services) == {"batchItemFailures": []}
    assert [message["To"] for message in sent_emails()] == ["pat@example.test"]
    [(phone, text)] = sms_sent()
    assert phone == PHONE and text.startswith("Reminder: Tue 2 Jun, 10:00 BST with Dr Dana Doctor")
    assert outcomes(sink) == [("email", "sent", ""), ("sms", "sent", "")]
    assert all(receipt.provider_message_id for receipt in sink.receipts)


def test_an_sms_only_patient_gets_no_email(services, sink):
    handler(event(record(sms_only())), None, services=services)
    assert (sent_emails(), len(sms_sent())) == ([], 1)


def test_an_opted_out_number_gets_no_sms_and_the_message_is_acknowledged(services, sink):
    message = sms_only(patient={"first_name": "Phil", "phone": OPTED_OUT})
    assert handler(event(record(message)), None, services=services) == {"batchItemFailures": []}
    assert sms_sent() == []
    assert outcomes(sink) == [("sms", "skipped", "opted_out")]


def test_an_opted_out_number_redelivered_is_not_checked_again(services, sink):
    message = sms_only(patient={"first_name": "Phil", "phone": OPTED_OUT})
    handler(event(record(message)), None, services=services)
    handler(event(record(message)), None, services=services)
    assert outcomes(sink) == [("sms", "skipped", "opted_out")]


def test_an_sms_failing_while_the_email_goes_reports_the_record_failed(services, sink):
    services.sms = SnsDown(services.sms)
    first = record(both(), message_id="m-1")
    assert handler(event(first), None, services=services) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert (len(sent_emails()), sms_sent()) == (1, [])
    assert outcomes(sink) == [("email", "sent", ""), ("sms", "failed", "ClientError: Throttling")]


def test_the_redelivery_sends_the_sms_and_not_the_email_again(services, sink):
    services.sms = SnsDown(services.sms)
    handler(event(record(both(), message_id="m-1")), None, services=services)
    services.sms.down = False
    assert handler(event(record(both(), message_id="m-1")), None, services=services) == {"batchItemFailures": []}
    handler(event(record(both(), message_id="m-1")), None, services=services)  # and once more: nothing
    assert (len(sent_emails()), len(sms_sent())) == (1, 1)
    assert [item[:2] for item in outcomes(sink)] == [("email", "sent"), ("sms", "failed"), ("sms", "sent")]


def test_a_redelivered_batch_sends_each_channel_once(services, sink):
    batch = event(record(both()), record(sms_only(reminder_id="appt-43-20260602T090000Z", appointment_id=43)))
    handler(batch, None, services=services)
    handler(batch, None, services=services)
    assert (len(sent_emails()), len(sms_sent())) == (1, 2)


def test_an_sms_notice_is_published(services, sink):
    notice = {**{k: v for k, v in sms_only().items() if k != "reminder_id"}, "kind": "notice",
              "event": "confirmation", "notice_id": "outbox-9"}
    handler(event(record(notice)), None, services=services)
    [(_, text)] = sms_sent()
    assert text.startswith("Booked: Tue 2 Jun, 10:00 BST")
    [receipt] = sink.receipts
    assert (receipt.message_id, receipt.event, receipt.appointment_id) == ("outbox-9", "confirmation", 42)


def test_receipts_go_to_the_receipts_queue_without_the_phone_number(stack):
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName="carebook-delivery-receipts")["QueueUrl"]
    services = replace(services_from_environment({**stack.lambda_environment(), "RECEIPTS_QUEUE_URL": url}),
                       now=lambda: NOW)
    handler(event(record(sms_only())), None, services=services)
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert PHONE not in message["Body"]
    receipt = Receipt.from_json(message["Body"])
    assert (receipt.channel, receipt.outcome, receipt.appointment_id) == ("sms", "sent", 42)


@pytest.mark.parametrize(("changes", "error"), [
    ({"channels": ["sms"]}, "patient.phone is missing"),
    ({"channels": ["fax"]}, "channels must be"),
    ({"channels": []}, "channels must be"),
    ({"channels": ["sms", "sms"]}, "channels must be"),
    ({"channels": ["sms"], "patient": {"first_name": "P", "phone": "07700 900123"},
      "short_time_text": "x"}, "patient.phone is not an E.164"),
    ({"channels": ["sms"], "patient": {"first_name": "P", "phone": PHONE}}, "short_time_text is missing"),
    ({"kind": "notice", "notice_id": "outbox-1", "event": "confirmation"}, "a notice goes by SMS only"),
])
def test_a_message_without_what_its_channels_need_is_invalid(changes, error):
    with pytest.raises(InvalidPayload, match=error):
        validate(payload(**changes))


def test_an_sms_only_message_needs_no_email():
    data = sms_only()
    assert "email" not in data["patient"]
    assert validate(data).channels == ("sms",)


def test_an_old_message_without_channels_is_email_only():
    assert validate(json.loads(json.dumps(payload()))).channels == ("email",)
