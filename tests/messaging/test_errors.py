"""A failed send is described by its class and service code, never by its message."""
from __future__ import annotations

import smtplib

from messaging.errors import describe_error


class FakeClientError(Exception):
    """Shaped like botocore's ClientError: the service's code is in ``response``."""

    def __init__(self, code: str):
        super().__init__(f"An error occurred ({code}): Email address is not verified: pat@example.test")
        self.response = {"Error": {"Code": code, "Message": "pat@example.test"}}


def test_an_aws_error_is_named_with_its_service_code():
    assert describe_error(FakeClientError("MessageRejected")) == "FakeClientError: MessageRejected"


def test_an_smtp_error_is_named_with_its_reply_code():
    refused = smtplib.SMTPDataError(550, b"pat@example.test: no such user")
    assert describe_error(refused) == "SMTPDataError: SMTP 550"


def test_any_other_error_is_named_by_its_class_only():
    assert describe_error(ConnectionRefusedError("smtp.example.test refused pat@example.test")) == \
        "ConnectionRefusedError"


def test_the_description_is_at_most_200_characters():
    assert len(describe_error(FakeClientError("X" * 500))) == 200
