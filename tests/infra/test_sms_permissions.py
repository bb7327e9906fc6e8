"""infra/reminders.yaml for SMS: the function may publish SMS and nothing more; receipts flow back to the app."""
from __future__ import annotations

import pytest

from tests.infra.stacks import load


@pytest.fixture(scope="module")
def resources() -> dict:
    return load("reminders.yaml")["Resources"]


def actions(statement) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def function_statements(resources) -> list[dict]:
    [policy] = resources["ReminderFunctionRole"]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def app_statements(resources) -> list[dict]:
    return resources["WebAppPolicy"]["Properties"]["PolicyDocument"]["Statement"]


def test_the_function_may_publish_sms_and_check_opt_outs_only(resources):
    sns = [statement for statement in function_statements(resources)
           if any(action.startswith("sns:") for action in actions(statement)) and statement["Effect"] == "Allow"]
    assert [actions(statement) for statement in sns] == [{"sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"}]


def test_the_function_may_not_publish_to_any_topic(resources):
    [deny] = [statement for statement in function_statements(resources) if statement["Effect"] == "Deny"]
    assert actions(deny) == {"sns:Publish"}
    assert deny["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}


def test_the_web_app_may_not_publish_sms(resources):
    assert not any(action.startswith("sns:") for statement in app_statements(resources)
                   for action in actions(statement))


def test_the_web_app_may_only_send_to_the_reminder_queue_and_drain_the_receipts(resources):
    sqs = {(action, statement["Resource"]["Fn::GetAtt"][0]) for statement in app_statements(resources)
           for action in actions(statement) if action.startswith("sqs:")}
    assert sqs == {("sqs:SendMessage", "ReminderQueue"), ("sqs:ReceiveMessage", "DeliveryReceiptsQueue"),
                   ("sqs:DeleteMessage", "DeliveryReceiptsQueue")}


def test_the_function_reports_receipts_and_has_the_sms_settings(resources):
    [send] = [statement for statement in function_statements(resources) if statement.get("Sid") ==
              "ReportDeliveryReceipts"]
    assert (actions(send), send["Resource"]) == ({"sqs:SendMessage"}, {"Fn::GetAtt": ["DeliveryReceiptsQueue", "Arn"]})
    variables = resources["ReminderFunction"]["Properties"]["Environment"]["Variables"]
    assert set(variables) >= {"RECEIPTS_QUEUE_URL", "SMS_SENDER_ID", "SMS_ORIGINATION_NUMBER"}
