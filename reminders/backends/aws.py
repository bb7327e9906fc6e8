"""The production backend: one EventBridge Scheduler one-off schedule per appointment.

Each schedule is named ``appt-<id>-reminder`` in the dedicated group, fires once at an
``at()`` time written in UTC with ``ScheduleExpressionTimezone="UTC"`` stated
explicitly (UTC has no repeated or missing hour, unlike the clinic's zone), has no
flexible window, deletes itself after it ran, and sends the versioned JSON payload to
the reminder queue through the scheduler role, with a retry policy and the
dead-letter queue. Confirmation and cancellation emails go straight to SES (v2, raw
MIME with the .ics attachment) from the relay; their SMS are put on the reminder queue
as notice messages (``sqs:SendMessage`` on that queue is all the app may do there: only
the reminder function publishes SMS). The function's delivery receipts are received
from the receipts queue and deleted once recorded.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carebook.clock import utcnow
from messaging.mailers import SesMailer
from messaging.receipts import InvalidReceipt, Receipt
from reminders.backends import LiveReminder, ReceiptBatch
from reminders.planning import Reminder, appointment_id_from_name
from reminders.settings import SCHEDULER_NAME, AwsSettings

#: The time zone of every at() expression we write.
EXPRESSION_TIMEZONE = "UTC"
AT_EXPRESSION = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
#: A last guard below the planner's margin: never a schedule in the past or about to be.
MINIMUM_AHEAD = timedelta(minutes=2)
#: Scheduler retries delivery to SQS for up to 6 hours, then dead-letters the event.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 6 * 3600, "MaximumRetryAttempts": 20}
NAME_PREFIX = "appt-"
logger = logging.getLogger("reminders.aws")


def queue_url(queue_arn: str, region: str, endpoint_url: str | None) -> str:
    """The URL of the queue an ARN names (no GetQueueUrl call, so no permission for it)."""
    _, partition, _, queue_region, account, name = queue_arn.split(":", 5)
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{account}/{name}"
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{queue_region or region}.{suffix}/{account}/{name}"


class ScheduleTooSoon(Exception):
    """Refused to create a schedule in the past or within MINIMUM_AHEAD of now."""


def _client_config():
    from botocore.config import Config

    # Fail fast: the relay retries with its own backoff, and a hung call holds a claim.
    return Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)


_session_lock = threading.Lock()
_session = None


def _new_client(service: str, region: str, endpoint_url: str | None):
    """A client from one process-wide boto3 session (which caches the service models).

    Building clients from one session in several threads at once is not safe, hence the lock.
    """
    global _session
    with _session_lock:
        if _session is None:
            import boto3

            _session = boto3.session.Session()
        return _session.client(service, region_name=region, endpoint_url=endpoint_url, config=_client_config())


class AwsBackend:
    name = "aws"

    def __init__(self, settings: AwsSettings):
        self.settings = settings
        self._scheduler = None
        self._ses = None
        self._sqs = None

    # -- clients ---------------------------------------------------------------------------

    def _client(self, service: str):
        return _new_client(service, self.settings.region, self.settings.endpoint_url)

    @property
    def scheduler(self):
        if self._scheduler is None:
            self._scheduler = self._client("scheduler")
        return self._scheduler

    @property
    def ses(self):
        if self._ses is None:
            self._ses = self._client("sesv2")
        return self._ses

    @property
    def sqs(self):
        if self._sqs is None:
            self._sqs = self._client("sqs")
        return self._sqs

    @property
    def mailer(self) -> SesMailer:
        return SesMailer(self.ses)

    # -- SMS notices and delivery receipts -----------------------------------------------------

    def _url(self, arn: str) -> str:
        return queue_url(arn, self.settings.region, self.settings.endpoint_url)

    def send_notice(self, message: dict[str, Any]) -> str:
        self.sqs.send_message(QueueUrl=self._url(self.settings.queue_arn),
                              MessageBody=json.dumps(message, sort_keys=True, separators=(",", ":")))
        return "queued for SMS"

    def receive_receipts(self) -> ReceiptBatch:
        batch = ReceiptBatch()
        if not self.settings.receipts_queue_arn:
            return batch
        response = self.sqs.receive_message(QueueUrl=self._url(self.settings.receipts_queue_arn),
                                            MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in response.get("Messages", []):
            batch.messages.append(message["ReceiptHandle"])
            try:
                batch.receipts.append(Receipt.from_json(message["Body"]))
            except InvalidReceipt as error:
                logger.error("unreadable delivery receipt %s dropped: %s", message.get("MessageId"), error)
        return batch

    def acknowledge_receipts(self, batch: ReceiptBatch) -> None:
        url = self._url(self.settings.receipts_queue_arn)
        for start in range(0, len(batch.messages), 10):
            entries = [{"Id": str(number), "ReceiptHandle": handle}
                       for number, handle in enumerate(batch.messages[start:start + 10])]
            self.sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    # -- schedules ---------------------------------------------------------------------------

    def schedule_request(self, reminder: Reminder) -> dict[str, Any]:
        """The complete CreateSchedule/UpdateSchedule request (an update replaces everything)."""
        if not SCHEDULER_NAME.fullmatch(reminder.name):
            raise ValueError(f"invalid schedule name {reminder.name!r}")
        if reminder.fire_at < utcnow() + MINIMUM_AHEAD:
            raise ScheduleTooSoon(reminder.name)
        fire_at = reminder.fire_at.astimezone(timezone.utc)
        return {
            "Name": reminder.name,
            "GroupName": self.settings.schedule_group,
            "Description": f"Reminder for appointment {reminder.appointment_id}",
            "ScheduleExpression": f"at({fire_at.strftime('%Y-%m-%dT%H:%M:%S')})",
            "ScheduleExpressionTimezone": EXPRESSION_TIMEZONE,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Target": {
                "Arn": self.settings.queue_arn,
                "RoleArn": self.settings.scheduler_role_arn,
                "Input": json.dumps(reminder.payload, sort_keys=True, separators=(",", ":")),
                "RetryPolicy": dict(RETRY_POLICY),
                "DeadLetterConfig": {"Arn": self.settings.dead_letter_queue_arn},
            },
        }

    def put_reminder(self, reminder: Reminder) -> str:
        request = self.schedule_request(reminder)
        errors = self.scheduler.exceptions
        for _ in range(2):
            try:
                self.scheduler.create_schedule(**request)
                return "created"
            except errors.ConflictException:
                pass
            try:
                live = self.scheduler.get_schedule(Name=request["Name"], GroupName=request["GroupName"])
            except errors.ResourceNotFoundException:
                continue  # it fired and deleted itself in between: create it afresh
            if _comparable(live) == _comparable(request):
                return "unchanged"
            self.scheduler.update_schedule(**request)
            return "updated"
        raise RuntimeError(f"schedule {request['Name']} kept appearing and disappearing")

    def delete_reminder(self, name: str) -> str:
        if not SCHEDULER_NAME.fullmatch(name):
            raise ValueError(f"invalid schedule name {name!r}")
        try:
            self.scheduler.delete_schedule(Name=name, GroupName=self.settings.schedule_group)
        except self.scheduler.exceptions.ResourceNotFoundException:
            return "absent"
        return "deleted"

    def live_reminders(self) -> dict[str, LiveReminder]:
        group = self.settings.schedule_group
        names = []
        for page in self.scheduler.get_paginator("list_schedules").paginate(GroupName=group, NamePrefix=NAME_PREFIX):
            names.extend(item["Name"] for item in page.get("Schedules", []))
        live = {}
        for name in names:
            if appointment_id_from_name(name) is None:
                continue
            try:
                schedule = self.scheduler.get_schedule(Name=name, GroupName=group)
            except self.scheduler.exceptions.ResourceNotFoundException:
                continue  # fired and deleted while we were listing
            live[name] = self.read_schedule(schedule)
        return live

    def read_schedule(self, schedule: dict[str, Any]) -> LiveReminder:
        target = schedule.get("Target", {})
        try:
            payload = json.loads(target.get("Input") or "null")
        except ValueError:
            payload = None
        expected = {
            "Arn": self.settings.queue_arn,
            "RoleArn": self.settings.scheduler_role_arn,
            "RetryPolicy": RETRY_POLICY,
            "DeadLetterConfig": {"Arn": self.settings.dead_letter_queue_arn},
        }
        settings_match = (all(target.get(key) == value for key, value in expected.items())
                          and schedule.get("FlexibleTimeWindow", {}).get("Mode") == "OFF"
                          and schedule.get("State", "ENABLED") == "ENABLED")
        return LiveReminder(name=schedule["Name"], appointment_id=appointment_id_from_name(schedule["Name"]),
                            fire_at=parse_at(schedule.get("ScheduleExpression", ""),
                                             schedule.get("ScheduleExpressionTimezone") or "UTC"),
                            payload=payload, settings_match=settings_match)


def parse_at(expression: str, zone_name: str) -> datetime | None:
    """The instant of an ``at(...)`` expression read in its zone, or None if it is not one."""
    match = AT_EXPRESSION.fullmatch(expression)
    if match is None:
        return None
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=zone).astimezone(timezone.utc)


def _comparable(schedule: dict[str, Any]) -> dict[str, Any]:
    """The fields that make two schedules the same reminder (JSON input compared as data)."""
    target = schedule.get("Target", {})
    try:
        payload = json.loads(target.get("Input") or "null")
    except ValueError:
        payload = target.get("Input")
    return {
        "ScheduleExpression": schedule.get("ScheduleExpression"),
        "ScheduleExpressionTimezone": schedule.get("ScheduleExpressionTimezone") or "UTC",
        "FlexibleTimeWindow": schedule.get("FlexibleTimeWindow", {}).get("Mode"),
        "State": schedule.get("State", "ENABLED"),
        "Arn": target.get("Arn"),
        "RoleArn": target.get("RoleArn"),
        "Input": payload,
        "RetryPolicy": target.get("RetryPolicy"),
        "DeadLetterConfig": target.get("DeadLetterConfig"),
    }
