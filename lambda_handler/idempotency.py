"""At most one email per reminder id, however often SQS delivers the message.

Protocol: ``begin`` claims the key before sending. It answers

* ``NEW``: nobody has it; the caller sends, then calls ``complete`` (or ``abandon`` if
  sending failed, so that the retry may try again);
* ``DONE``: it was sent before; the caller reports success without sending;
* ``BUSY``: another invocation holds a live claim; the caller reports a failure, and
  SQS redelivers later (by then it is done, or the claim has run out).

A claim carries a lease: an invocation that crashed between ``begin`` and ``complete``
blocks the key only until the lease ends.
"""
from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol


class Claim(enum.Enum):
    NEW = "new"
    DONE = "done"
    BUSY = "busy"


class IdempotencyStore(Protocol):
    def begin(self, key: str, now: datetime, lease: timedelta) -> Claim: ...

    def complete(self, key: str, now: datetime) -> None: ...

    def abandon(self, key: str) -> None: ...


IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


class DynamoDBStore:
    """One item per reminder id in a table with a string partition key ``id``.

    ``expires_at`` is the table's TTL attribute: records go once no redelivery
    can arrive any more (SQS keeps messages 14 days at most).
    """

    RETENTION = timedelta(days=15)

    def __init__(self, client: Any, table_name: str):
        self.client = client
        self.table = table_name

    def begin(self, key: str, now: datetime, lease: timedelta) -> Claim:
        error_class = self.client.exceptions.ConditionalCheckFailedException
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"id": {"S": key}, "status": {"S": IN_PROGRESS},
                      "lease_until": {"N": str(int((now + lease).timestamp()))},
                      "expires_at": {"N": str(int((now + self.RETENTION).timestamp()))}},
                ConditionExpression="attribute_not_exists(id) OR (#status = :in_progress AND lease_until < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":in_progress": {"S": IN_PROGRESS},
                                           ":now": {"N": str(int(now.timestamp()))}},
            )
        except error_class:
            item = self.client.get_item(TableName=self.table, Key={"id": {"S": key}},
                                        ConsistentRead=True).get("Item", {})
            return Claim.DONE if item.get("status", {}).get("S") == COMPLETED else Claim.BUSY
        return Claim.NEW

    def complete(self, key: str, now: datetime) -> None:
        self.client.update_item(
            TableName=self.table, Key={"id": {"S": key}},
            UpdateExpression="SET #status = :completed, completed_at = :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":completed": {"S": COMPLETED}, ":now": {"N": str(int(now.timestamp()))}},
        )

    def abandon(self, key: str) -> None:
        error_class = self.client.exceptions.ConditionalCheckFailedException
        try:
            self.client.delete_item(TableName=self.table, Key={"id": {"S": key}},
                                    ConditionExpression="#status = :in_progress",
                                    ExpressionAttributeNames={"#status": "status"},
                                    ExpressionAttributeValues={":in_progress": {"S": IN_PROGRESS}})
        except error_class:
            pass


@dataclass
class _Record:
    status: str
    lease_until: datetime


class MemoryStore:
    """For tests and scripts: the same semantics, in one process."""

    def __init__(self) -> None:
        self.records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def begin(self, key: str, now: datetime, lease: timedelta) -> Claim:
        with self._lock:
            record = self.records.get(key)
            if record is not None and record.status == COMPLETED:
                return Claim.DONE
            if record is not None and record.lease_until >= now:
                return Claim.BUSY
            self.records[key] = _Record(IN_PROGRESS, now + lease)
            return Claim.NEW

    def complete(self, key: str, now: datetime) -> None:
        with self._lock:
            self.records[key] = _Record(COMPLETED, now)

    def abandon(self, key: str) -> None:
        with self._lock:
            record = self.records.get(key)
            if record is not None and record.status == IN_PROGRESS:
                del self.records[key]
