"""Start-up checks of the reminder settings: a wrong setting stops the app and names the variable."""
from __future__ import annotations

from datetime import timedelta

import pytest

from carebook.config import ConfigError
from reminders.settings import AWS_REQUIRED, load_settings

AWS = {
    "REMINDER_BACKEND": "aws",
    "AWS_REGION": "eu-west-2",
    "REMINDER_QUEUE_ARN": "arn:aws:sqs:eu-west-2:123456789012:carebook-reminders",
    "REMINDER_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/carebook-reminder-scheduler",
    "REMINDER_SCHEDULE_GROUP": "carebook-reminders",
    "REMINDER_DLQ_ARN": "arn:aws:sqs:eu-west-2:123456789012:carebook-reminders-dlq",
    "EMAIL_SENDER": "appointments@clinic.example",
}


def load(env, config=None):
    return load_settings(config or {}, env, "/srv/instance")


def test_the_local_backend_is_the_default():
    settings = load({})
    assert (settings.backend, settings.aws, str(settings.mail_folder)) == ("local", None, "/srv/instance/mail")


def test_default_leads_are_24_and_2_hours():
    settings = load({})
    assert (settings.lead, settings.short_lead) == (timedelta(hours=24), timedelta(hours=2))


def test_aws_settings_are_not_required_for_the_local_backend():
    assert load({"REMINDER_QUEUE_ARN": "not checked"}).backend == "local"


@pytest.mark.parametrize("missing", AWS_REQUIRED)
def test_a_missing_aws_setting_is_named(missing):
    env = {name: value for name, value in AWS.items() if name != missing}
    with pytest.raises(ConfigError, match=f"^{missing} must be set when REMINDER_BACKEND=aws"):
        load(env)


def test_complete_aws_settings_load():
    settings = load(AWS)
    assert (settings.aws.schedule_group, settings.aws.endpoint_url) == ("carebook-reminders", None)


@pytest.mark.parametrize("name, value", [
    ("REMINDER_QUEUE_ARN", "carebook-reminders"),
    ("REMINDER_DLQ_ARN", "arn:aws:sns:eu-west-2:123456789012:topic"),
    ("REMINDER_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:user/someone"),
    ("REMINDER_SCHEDULE_GROUP", "carebook:reminders"),
])
def test_a_malformed_aws_setting_is_named(name, value):
    with pytest.raises(ConfigError, match=f"^{name} must be"):
        load({**AWS, name: value})


def test_an_unknown_backend_is_refused():
    with pytest.raises(ConfigError, match="^REMINDER_BACKEND must be one of local, aws"):
        load({"REMINDER_BACKEND": "sns"})


def test_a_short_lead_not_below_the_lead_is_refused():
    with pytest.raises(ConfigError, match="REMINDER_SHORT_LEAD_HOURS must be smaller"):
        load({"REMINDER_LEAD_HOURS": "2", "REMINDER_SHORT_LEAD_HOURS": "2"})


def test_a_lead_that_is_not_a_number_is_refused():
    with pytest.raises(ConfigError, match="^REMINDER_LEAD_HOURS must be a whole number"):
        load({"REMINDER_LEAD_HOURS": "one day"})


def test_app_config_wins_over_the_environment():
    assert load({"REMINDER_BACKEND": "aws"}, config={"REMINDER_BACKEND": "local"}).backend == "local"


def test_mail_folder_can_be_moved():
    assert str(load({"MAIL_FOLDER": "/var/mail/carebook"}).mail_folder) == "/var/mail/carebook"


def test_smtp_is_used_when_a_host_is_set():
    settings = load({"SMTP_HOST": "mail.example", "SMTP_PORT": "587", "SMTP_STARTTLS": "true"})
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.starttls) == ("mail.example", 587, True)


def test_an_invalid_smtp_port_is_refused():
    with pytest.raises(ConfigError, match="^SMTP_PORT must be a port number"):
        load({"SMTP_HOST": "mail.example", "SMTP_PORT": "smtp"})


def test_create_app_refuses_to_start_with_an_incomplete_aws_configuration(database_url, tmp_path):
    from carebook.app import create_app

    with pytest.raises(ConfigError, match="^AWS_REGION must be set"):
        create_app(overrides={"REMINDER_BACKEND": "aws"},
                   env={"DATABASE_URL": database_url, "CAREBOOK_INSTANCE_PATH": str(tmp_path)})


def test_the_local_backend_mails_with_smtp_when_a_host_is_set():
    from messaging.mailers import SmtpMailer
    from reminders.backends.local import local_mailer

    mailer = local_mailer(load({"SMTP_HOST": "mail.example", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p"}))
    assert isinstance(mailer, SmtpMailer) and (mailer.host, mailer.port, mailer.username) == ("mail.example", 25, "u")


def test_the_local_backend_writes_to_the_mail_folder_without_smtp():
    from messaging.mailers import FolderMailer
    from reminders.backends.local import local_mailer

    assert local_mailer(load({})) == FolderMailer(load({}).mail_folder)


def test_production_refuses_the_local_backend_without_smtp():
    # Every email would otherwise only become a file in the container.
    with pytest.raises(ConfigError, match="^SMTP_HOST must be set in production when REMINDER_BACKEND=local"):
        load({}, {"ENV_NAME": "production"})


def test_production_sends_through_smtp_or_aws():
    assert load({"SMTP_HOST": "mail.clinic.example"}, {"ENV_NAME": "production"}).smtp.host == "mail.clinic.example"
    assert load(AWS, {"ENV_NAME": "production"}).backend == "aws"
    assert load({}, {"ENV_NAME": "development"}).smtp is None
