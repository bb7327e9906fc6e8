"""Delivery receipts: what happened to one message on one channel, told back to the web app.

The reminder function has no database, so it reports each outcome (sent, with the
provider's message id; skipped, and why; failed, and the error code) as a receipt: on
AWS a message on the receipts queue, which the relay drains into
``notification_deliveries``; in the embedded mode a list the caller writes into that
table itself. Receipts carry ids and codes, never an address, a phone number or a text.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

VERSION = 1
CHANNELS = ("email", "sms")
OUTCOMES = ("sent", "skipped", "failed")


class InvalidReceipt(ValueError):
    """A receipt body that cannot be read (dropped by the drainer, and logged)."""


@dataclass(frozen=True)
class Receipt:
    #: The message's own id (a reminder id, a notice id) and the appointment it is about.
    message_id: str
    appointment_id: int | None
    #: "reminder", "confirmation", "updated", "cancellation" or "invitation".
    event: str
    channel: str
    outcome: str
    #: ISO 8601 UTC.
    at: str
    #: Why it was skipped ("opted_out", "no_address", "stale") or the error code of a failure.
    detail: str = ""
    provider_message_id: str = ""
    #: Unique per receipt: a receipt delivered twice is recorded once.
    receipt_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> str:
        return json.dumps({"version": VERSION, **asdict(self)}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> Receipt:
        try:
            data = json.loads(body)
            if data.pop("version") != VERSION:
                raise InvalidReceipt("unsupported version")
            receipt = cls(**data)
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            raise InvalidReceipt(type(error).__name__) from None
        if receipt.channel not in CHANNELS or receipt.outcome not in OUTCOMES:
            raise InvalidReceipt("unknown channel or outcome")
        return receipt


class ReceiptSink(Protocol):
    def record(self, receipt: Receipt) -> None:
        """Keep the receipt for the web app, or raise."""


class ListReceiptSink:
    """Receipts kept in memory, for a caller that writes them itself (the embedded mode, tests)."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []

    def record(self, receipt: Receipt) -> None:
        self.receipts.append(receipt)


class SqsReceiptSink:
    """Each receipt a message on the receipts queue. ``client`` is a boto3 ``sqs`` client."""

    def __init__(self, client: Any, queue_url: str):
        self.client = client
        self.queue_url = queue_url

    def record(self, receipt: Receipt) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=receipt.to_json())


class NoReceiptSink:
    def record(self, receipt: Receipt) -> None:
        pass
