"""The CloudWatch alarms of both stacks: each watches the right metric at the right threshold, notifies
the one SNS topic when it fires and when it clears, and has its entry in the runbook (docs/deployment.md)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.stacks import load, of_type

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "deployment.md"

LOAD_BALANCER = {"Fn::GetAtt": ["LoadBalancer", "LoadBalancerFullName"]}
TARGET_GROUP = {"Fn::GetAtt": ["WebTargetGroup", "TargetGroupFullName"]}
DATABASE = {"Ref": "Database"}

#: stack -> alarm -> (namespace, metric, dimensions, statistic, comparison, threshold, runbook anchor)
EXPECTED = {
    "reminders.yaml": {
        "ReminderDeadLetterQueueAlarm": (
            "AWS/SQS", "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": ["ReminderDeadLetterQueue", "QueueName"]}},
            "Maximum", "GreaterThanThreshold", 0, "reminder-dead-letter-queue"),
        "ReminderFunctionErrorsAlarm": (
            "AWS/Lambda", "Errors", {"FunctionName": {"Ref": "ReminderFunction"}},
            "Sum", "GreaterThanThreshold", 0, "reminder-function-errors"),
        "ReminderFunctionThrottlesAlarm": (
            "AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "ReminderFunction"}},
            "Sum", "GreaterThanThreshold", 0, "reminder-function-throttles"),
        "SchedulerFailedInvocationsAlarm": (
            "AWS/Scheduler", "TargetErrorCount", {"ScheduleGroup": {"Ref": "ReminderScheduleGroup"}},
            "Sum", "GreaterThanThreshold", 0, "scheduler-failed-invocations"),
        "SchedulerDroppedInvocationsAlarm": (
            "AWS/Scheduler", "InvocationDroppedCount", {"ScheduleGroup": {"Ref": "ReminderScheduleGroup"}},
            "Sum", "GreaterThanThreshold", 0, "scheduler-failed-invocations"),
    },
    "production.yaml": {
        "WebTarget5xxAlarm": (
            "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
            {"LoadBalancer": LOAD_BALANCER, "TargetGroup": TARGET_GROUP},
            "Sum", "GreaterThanOrEqualToThreshold", 10, "5xx-answers"),
        "LoadBalancer5xxAlarm": (
            "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {"LoadBalancer": LOAD_BALANCER},
            "Sum", "GreaterThanOrEqualToThreshold", 10, "5xx-answers"),
        "WebUnhealthyTargetsAlarm": (
            "AWS/ApplicationELB", "UnHealthyHostCount", {"LoadBalancer": LOAD_BALANCER, "TargetGroup": TARGET_GROUP},
            "Maximum", "GreaterThanThreshold", 0, "unhealthy-web-tasks"),
        "WebNoHealthyTargetsAlarm": (
            "AWS/ApplicationELB", "HealthyHostCount", {"LoadBalancer": LOAD_BALANCER, "TargetGroup": TARGET_GROUP},
            "Minimum", "LessThanThreshold", 1, "unhealthy-web-tasks"),
        "DatabaseCpuAlarm": (
            "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": DATABASE},
            "Average", "GreaterThanThreshold", 80, "database-cpu"),
        "DatabaseFreeStorageAlarm": (
            "AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": DATABASE},
            "Minimum", "LessThanThreshold", 2 * 1024 ** 3, "database-free-storage"),
        "DatabaseConnectionsAlarm": (
            "AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": DATABASE},
            "Maximum", "GreaterThanThreshold", {"Ref": "DatabaseConnectionsAlarmThreshold"}, "database-connections"),
    },
}
TOPIC = {"reminders.yaml": {"Ref": "AlarmTopic"}, "production.yaml": {"Ref": "AlarmTopicArn"}}
CASES = [(stack, alarm) for stack, alarms in EXPECTED.items() for alarm in alarms]


@pytest.fixture(scope="module")
def templates() -> dict[str, dict]:
    return {stack: load(stack) for stack in EXPECTED}


def runbook_anchors() -> set[str]:
    """GitHub's anchors of the headings of docs/deployment.md."""
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("stack, alarm", CASES)
def test_each_alarm_watches_its_metric_at_its_threshold(templates, stack, alarm):
    namespace, metric, dimensions, statistic, comparison, threshold, _ = EXPECTED[stack][alarm]
    resource = templates[stack]["Resources"][alarm]
    assert resource["Type"] == "AWS::CloudWatch::Alarm"
    properties = resource["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == (namespace, metric)
    assert {d["Name"]: d["Value"] for d in properties["Dimensions"]} == dimensions
    assert (properties["Statistic"], properties["ComparisonOperator"], properties["Threshold"]) == \
        (statistic, comparison, threshold)
    assert properties["EvaluationPeriods"] >= properties.get("DatapointsToAlarm", 1) >= 1


@pytest.mark.parametrize("stack, alarm", CASES)
def test_each_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(templates, stack, alarm):
    properties = templates[stack]["Resources"][alarm]["Properties"]
    assert properties["AlarmActions"] == [TOPIC[stack]] and properties["OKActions"] == [TOPIC[stack]]


@pytest.mark.parametrize("stack, alarm", CASES)
def test_each_alarm_points_at_its_runbook_entry(templates, stack, alarm):
    anchor = EXPECTED[stack][alarm][-1]
    assert anchor in runbook_anchors()
    assert f"docs/deployment.md#{anchor}" in templates[stack]["Resources"][alarm]["Properties"]["AlarmDescription"]
    assert alarm in RUNBOOK.read_text()


@pytest.mark.parametrize("stack", EXPECTED)
def test_every_alarm_of_a_stack_is_one_of_these(templates, stack):
    assert set(of_type(templates[stack]["Resources"], "AWS::CloudWatch::Alarm")) == set(EXPECTED[stack])


def test_the_alarm_topic_is_made_once_and_handed_to_the_production_stack(templates):
    reminders, production = templates["reminders.yaml"], templates["production.yaml"]
    assert list(of_type(reminders["Resources"], "AWS::SNS::Topic")) == ["AlarmTopic"]
    assert reminders["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert production["Parameters"]["AlarmTopicArn"]["AllowedPattern"].startswith("^arn:aws")
    assert not of_type(production["Resources"], "AWS::SNS::Topic")
    # An address given as AlarmEmail is subscribed; none given, none is made.
    subscription = reminders["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                          "Endpoint": {"Ref": "AlarmEmail"}}


def test_the_connections_threshold_defaults_to_about_half_of_the_default_instances_maximum(templates):
    parameter = templates["production.yaml"]["Parameters"]["DatabaseConnectionsAlarmThreshold"]
    assert parameter["Default"] == 400
