"""infra/reminders.yaml: valid CloudFormation (cfn-lint), and the properties the reminder path relies on."""
from __future__ import annotations

import pytest

from tests.infra.stacks import lint, load, of_type


@pytest.fixture(scope="module")
def template() -> dict:
    return load("reminders.yaml")


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


def test_cfn_lint_finds_nothing_not_even_informational():
    assert lint("reminders.yaml") == (0, "", "")


def test_the_queue_redrives_to_the_dead_letter_queue_after_at_least_five_receives(resources):
    redrive = resources["ReminderQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["ReminderDeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] >= 5


def test_visibility_timeout_is_at_least_six_times_the_function_timeout(resources):
    visibility = resources["ReminderQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * resources["ReminderFunction"]["Properties"]["Timeout"]


def test_the_event_source_mapping_reports_batch_item_failures(resources):
    [mapping] = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["ReminderQueue", "Arn"]}
    assert 1 <= properties["BatchSize"] <= 10


def test_the_function_runs_the_built_handler(resources):
    properties = resources["ReminderFunction"]["Properties"]
    assert (properties["Handler"], properties["Runtime"]) == ("lambda_handler.handler.handler", "python3.11")
    assert set(properties["Environment"]["Variables"]) >= {"EMAIL_SENDER", "IDEMPOTENCY_TABLE"}


def test_the_scheduler_role_trusts_scheduler_and_may_only_send_to_the_queues(resources):
    role = resources["SchedulerRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    [policy] = role["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"


def test_the_web_app_may_manage_schedules_and_pass_the_role(resources):
    statements = resources["WebAppPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    actions = {action for statement in statements
               for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}
    assert actions >= {"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
                       "scheduler:GetSchedule", "scheduler:ListSchedules", "iam:PassRole", "ses:SendRawEmail"}
    [pass_role] = [statement for statement in statements if statement["Action"] == "iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}


def test_the_stack_has_the_schedule_group_sender_identity_and_idempotency_table(resources):
    assert of_type(resources, "AWS::Scheduler::ScheduleGroup")
    assert of_type(resources, "AWS::SES::EmailIdentity")
    table = resources["IdempotencyTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_clinic_settings_are_parameters(template):
    assert {"ClinicName", "ClinicTimezone", "SenderEmail", "ScheduleGroupName"} <= set(template["Parameters"])


def test_outputs_give_every_aws_setting_of_the_app(template):
    assert {"ReminderQueueArn", "ReminderDeadLetterQueueArn", "SchedulerRoleArn", "ScheduleGroupName",
            "WebAppPolicyArn", "SenderEmail"} <= set(template["Outputs"])
