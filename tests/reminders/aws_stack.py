"""A stand-in of infra/reminders.yaml in moto (in-process or server mode), and helpers around it.

Moto stores schedules but never fires them, and cannot run Lambda without Docker:
tests deliver a schedule's Input to the queue themselves, as Scheduler would, and call
the handler function directly with the batch received from the queue.
"""
from __future__ import annotations

import email
import email.policy
import json
from dataclasses import dataclass
from email.message import EmailMessage

import boto3
# Before SESSION below: moto adds its handlers to the sessions botocore makes after it is imported, so a
# module that imports this one first (a test outside tests/reminders/) would otherwise leave SESSION unmocked.
import moto  # noqa: F401

REGION = "eu-west-2"
SENDER = "appointments@clinic.test"
GROUP = "carebook-reminders"
TABLE = "carebook-reminder-idempotency"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


#: One session for every test client: it caches the service models (seconds per test otherwise).
#: Its credentials come from the fake environment below, the same in every test.
SESSION = boto3.session.Session()


def use_fake_credentials(monkeypatch, tmp_path) -> None:
    """Nothing a test runs can reach real AWS: fake keys, no profile, no config files."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SCHEDULER", "AWS_ENDPOINT_URL_SESV2",
                 "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB", "REMINDER_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@dataclass
class FakeStack:
    endpoint_url: str | None
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    role_arn: str
    receipts_url: str = ""
    receipts_arn: str = ""

    def client(self, service: str):
        return SESSION.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    def app_settings(self) -> dict[str, str]:
        settings = {
            "REMINDER_BACKEND": "aws",
            "AWS_REGION": REGION,
            "REMINDER_QUEUE_ARN": self.queue_arn,
            "REMINDER_SCHEDULER_ROLE_ARN": self.role_arn,
            "REMINDER_SCHEDULE_GROUP": GROUP,
            "REMINDER_DLQ_ARN": self.dlq_arn,
            "EMAIL_SENDER": SENDER,
            "REMINDER_RECEIPTS_QUEUE_ARN": self.receipts_arn,
        }
        if self.endpoint_url:
            settings["AWS_ENDPOINT_URL"] = self.endpoint_url
        return settings

    def lambda_environment(self) -> dict[str, str]:
        env = {"EMAIL_SENDER": SENDER, "EMAIL_SENDER_NAME": "Test Clinic", "IDEMPOTENCY_TABLE": TABLE,
               "AWS_REGION": REGION, "RECEIPTS_QUEUE_URL": self.receipts_url, "SMS_SENDER_ID": "TestClinic"}
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    def get_schedule(self, name: str) -> dict:
        return self.client("scheduler").get_schedule(Name=name, GroupName=GROUP)

    def schedule_names(self) -> list[str]:
        return [item["Name"] for item in self.client("scheduler").list_schedules(GroupName=GROUP)["Schedules"]]

    def deliver_as_scheduler(self, schedule: dict) -> None:
        """What Scheduler does at the schedule's time: put its Input on the target queue."""
        assert schedule["Target"]["Arn"] == self.queue_arn
        self.client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=schedule["Target"]["Input"])

    def receive_batch(self, max_messages: int = 10) -> dict:
        """Receive a batch the way the event source mapping does, as a Lambda SQS event."""
        response = self.client("sqs").receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages, AttributeNames=["All"],
            MessageAttributeNames=["All"], WaitTimeSeconds=0)
        return {"Records": [sqs_record(message, self.queue_arn) for message in response.get("Messages", [])]}

    def acknowledge(self, event: dict, response: dict) -> None:
        """Delete the records the handler did not report as failed (the mapping's job)."""
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        sqs = self.client("sqs")
        for record in event["Records"]:
            if record["messageId"] not in failed:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])


def sqs_record(message: dict, queue_arn: str) -> dict:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def create_stack(endpoint_url: str | None = None) -> FakeStack:
    """Queue + DLQ (redrive 5), scheduler role, schedule group, verified sender, idempotency table."""
    session = SESSION
    sqs = session.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
    dlq_url = sqs.create_queue(QueueName="carebook-reminders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName="carebook-reminders", Attributes={
        "VisibilityTimeout": "180",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
    })["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    receipts_url = sqs.create_queue(QueueName="carebook-delivery-receipts")["QueueUrl"]
    receipts_arn = sqs.get_queue_attributes(QueueUrl=receipts_url,
                                            AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # Moto does not check the role, and building its IAM backend costs seconds per test:
    # the ARN is enough here (infra/reminders.yaml defines the real role).
    role_arn = f"arn:aws:iam::{queue_arn.split(':')[4]}:role/carebook-reminder-scheduler"
    # Moto crashes on a schedule in a group that does not exist: the group comes first.
    session.client("scheduler", region_name=REGION, endpoint_url=endpoint_url).create_schedule_group(Name=GROUP)
    session.client("sesv2", region_name=REGION, endpoint_url=endpoint_url).create_email_identity(EmailIdentity=SENDER)
    session.client("dynamodb", region_name=REGION, endpoint_url=endpoint_url).create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    return FakeStack(endpoint_url=endpoint_url, queue_url=queue_url, queue_arn=queue_arn, dlq_url=dlq_url,
                     dlq_arn=dlq_arn, role_arn=role_arn, receipts_url=receipts_url, receipts_arn=receipts_arn)


def sms_published() -> list[tuple[str, str]]:
    """Every SMS moto's SNS accepted in this process (in-process mode): (phone, text)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def parse_raw(raw: str | bytes) -> EmailMessage:
    if isinstance(raw, bytes):
        return email.message_from_bytes(raw, policy=email.policy.default)
    return email.message_from_string(raw, policy=email.policy.default)


def sent_emails() -> list[EmailMessage]:
    """Every email moto's SES accepted in this process (in-process mode)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [parse_raw(message.raw_data) for message in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages]


def body_text(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""
