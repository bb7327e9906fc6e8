"""The reminder path's settings, read from the environment and checked at start-up.

A key of the same name in ``app.config`` wins over the environment (tests and
``create_app(overrides=...)`` use that). AWS settings are required, and checked, only
when ``REMINDER_BACKEND=aws``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Mapping

from carebook.config import ConfigError
from carebook.quiet_hours import QuietHours, setting as quiet_hours_setting

BACKENDS = ("local", "aws")
#: EventBridge Scheduler's rule for schedule and group names (botocore does not check it).
SCHEDULER_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")
_ARN = r"arn:aws[a-z-]*:{service}:[a-z0-9-]+:\d{{12}}:{resource}"
SQS_ARN = re.compile(_ARN.format(service="sqs", resource=r"[A-Za-z0-9_-]{1,80}(\.fifo)?"))
IAM_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+|[^@\s<>]+@localhost")
#: An alphanumeric sender ID: 1-11 letters, digits and spaces, at least one letter (the carriers' rule).
SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
AWS_REQUIRED = ("AWS_REGION", "REMINDER_QUEUE_ARN", "REMINDER_SCHEDULER_ROLE_ARN", "REMINDER_SCHEDULE_GROUP",
                "REMINDER_DLQ_ARN", "EMAIL_SENDER")


@dataclass(frozen=True)
class AwsSettings:
    region: str
    queue_arn: str
    scheduler_role_arn: str
    schedule_group: str
    dead_letter_queue_arn: str
    endpoint_url: str | None
    #: The delivery receipts queue the relay drains into notification_deliveries (None: not drained).
    receipts_queue_arn: str | None = None


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str
    starttls: bool


@dataclass(frozen=True)
class ReminderSettings:
    backend: str
    lead: timedelta
    short_lead: timedelta
    email_sender: str
    aws: AwsSettings | None
    smtp: SmtpSettings | None
    mail_folder: Path
    #: Clinic-time window in which no SMS reminder fires (None: no quiet hours).
    quiet_hours: QuietHours | None = None
    sms_folder: Path = Path("instance/sms")
    #: The SMS's origination identity (the Lambda's own settings on AWS; the embedded mode's file header).
    sms_sender_id: str = ""
    sms_origination_number: str = ""


def load_settings(config: Mapping, env: Mapping[str, str], instance_path: str) -> ReminderSettings:
    """Read and check the settings, or raise ConfigError naming the variable to fix."""

    def get(name: str, default: str = "") -> str:
        value = config.get(name) if name in config else env.get(name)
        return default if value is None else str(value).strip()

    backend = get("REMINDER_BACKEND", "local").lower() or "local"
    if backend not in BACKENDS:
        raise ConfigError(f"REMINDER_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
    lead = _hours(get, "REMINDER_LEAD_HOURS", 24)
    short_lead = _hours(get, "REMINDER_SHORT_LEAD_HOURS", 2)
    if short_lead >= lead:
        raise ConfigError("REMINDER_SHORT_LEAD_HOURS must be smaller than REMINDER_LEAD_HOURS")

    aws = None
    if backend == "aws":
        for name in AWS_REQUIRED:
            if not get(name):
                raise ConfigError(f"{name} must be set when REMINDER_BACKEND=aws (see docs/reminders.md)")
        checks = (("REMINDER_QUEUE_ARN", SQS_ARN, "an SQS queue ARN"),
                  ("REMINDER_DLQ_ARN", SQS_ARN, "an SQS queue ARN"),
                  ("REMINDER_SCHEDULER_ROLE_ARN", IAM_ROLE_ARN, "an IAM role ARN"),
                  ("REMINDER_SCHEDULE_GROUP", SCHEDULER_NAME, "1-64 characters of A-Z a-z 0-9 - _ ."))
        for name, pattern, what in checks:
            if not pattern.fullmatch(get(name)):
                raise ConfigError(f"{name} must be {what}, got {get(name)!r}")
        aws = AwsSettings(region=get("AWS_REGION"), queue_arn=get("REMINDER_QUEUE_ARN"),
                          scheduler_role_arn=get("REMINDER_SCHEDULER_ROLE_ARN"),
                          schedule_group=get("REMINDER_SCHEDULE_GROUP"),
                          dead_letter_queue_arn=get("REMINDER_DLQ_ARN"),
                          endpoint_url=get("AWS_ENDPOINT_URL") or None)

    sender = get("EMAIL_SENDER", "appointments@localhost")
    if not EMAIL.fullmatch(sender):
        raise ConfigError(f"EMAIL_SENDER must be a plain email address, got {sender!r}")

    smtp = None
    if get("SMTP_HOST"):
        port_text = get("SMTP_PORT", "25")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"SMTP_PORT must be a port number, got {port_text!r}")
        smtp = SmtpSettings(host=get("SMTP_HOST"), port=int(port_text), username=get("SMTP_USERNAME"),
                            password=get("SMTP_PASSWORD"),
                            starttls=get("SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"))
    receipts_queue = get("REMINDER_RECEIPTS_QUEUE_ARN")
    if aws is not None and receipts_queue:
        if not SQS_ARN.fullmatch(receipts_queue):
            raise ConfigError(f"REMINDER_RECEIPTS_QUEUE_ARN must be an SQS queue ARN, got {receipts_queue!r}")
        aws = AwsSettings(**{**aws.__dict__, "receipts_queue_arn": receipts_queue})

    quiet_hours = quiet_hours_setting(config, env)
    sender_id = get("SMS_SENDER_ID")
    if sender_id and not SENDER_ID.fullmatch(sender_id):
        raise ConfigError(f"SMS_SENDER_ID must be 1-11 letters, digits or spaces with at least one letter, "
                          f"got {sender_id!r}")
    origination_number = get("SMS_ORIGINATION_NUMBER")
    if origination_number and not E164.fullmatch(origination_number):
        raise ConfigError(f"SMS_ORIGINATION_NUMBER must be an E.164 number (+447700900123), "
                          f"got {origination_number!r}")

    mail_folder = Path(get("MAIL_FOLDER") or Path(instance_path) / "mail")
    sms_folder = Path(get("SMS_FOLDER") or Path(instance_path) / "sms")
    if backend == "local" and smtp is None and config.get("ENV_NAME") == "production":
        # Without this, every confirmation, reminder and password reset would quietly become
        # a file in a container's /tmp, and no patient would ever get one.
        raise ConfigError("SMTP_HOST must be set in production when REMINDER_BACKEND=local (otherwise every "
                          "email would only be written to a file in MAIL_FOLDER); or set REMINDER_BACKEND=aws")
    return ReminderSettings(backend=backend, lead=lead, short_lead=short_lead, email_sender=sender,
                            aws=aws, smtp=smtp, mail_folder=mail_folder, quiet_hours=quiet_hours,
                            sms_folder=sms_folder, sms_sender_id=sender_id,
                            sms_origination_number=origination_number)


def _hours(get, name: str, default: int) -> timedelta:
    raw = get(name, str(default))
    try:
        hours = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of hours, got {raw!r}") from None
    if not 0 < hours <= 24 * 14:
        raise ConfigError(f"{name} must be between 1 and 336 hours, got {hours}")
    return timedelta(hours=hours)
