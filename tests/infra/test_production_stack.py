"""infra/production.yaml: valid CloudFormation (cfn-lint), and the properties production relies on."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.stacks import lint, load, of_type

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict:
    return load("production.yaml")


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


def container(resources, task_definition: str) -> dict:
    [definition] = resources[task_definition]["Properties"]["ContainerDefinitions"]
    return definition


def test_cfn_lint_finds_nothing_not_even_informational():
    assert lint("production.yaml") == (0, "", "")


def test_the_load_balancer_sends_traffic_only_to_ready_tasks(resources):
    target_group = resources["WebTargetGroup"]["Properties"]
    assert target_group["HealthCheckPath"] == "/readyz" and target_group["Port"] == 8000
    assert resources["WebService"]["Properties"]["LoadBalancers"][0]["TargetGroupArn"] == {"Ref": "WebTargetGroup"}
    # HTTP only redirects to HTTPS.
    [redirect] = resources["HttpListener"]["Properties"]["DefaultActions"]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"


def test_the_web_service_scales_on_cpu_and_on_requests_per_task(resources):
    policies = of_type(resources, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    metrics = {p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
               ["PredefinedMetricType"] for p in policies}
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    target = resources["WebScalableTarget"]["Properties"]
    assert target["MinCapacity"] == {"Ref": "MinWebTasks"} and target["MaxCapacity"] == {"Ref": "MaxWebTasks"}


def test_at_least_two_web_tasks_on_fargate_in_private_subnets(template, resources):
    service = resources["WebService"]["Properties"]
    assert service["LaunchType"] == "FARGATE"
    assert template["Parameters"]["MinWebTasks"]["MinValue"] >= 2
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED" and network["Subnets"] == {"Ref": "PrivateSubnetIds"}
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_the_database_is_multi_az_encrypted_backed_up_and_private(template, resources):
    database = resources["Database"]
    properties = database["Properties"]
    assert properties["Engine"] == "postgres" and properties["EngineVersion"].startswith("15.")
    assert properties["MultiAZ"] is True and properties["StorageEncrypted"] is True
    assert properties["PubliclyAccessible"] is False and properties["DeletionProtection"] is True
    assert template["Parameters"]["DatabaseBackupRetentionDays"]["MinValue"] >= 1
    assert database["DeletionPolicy"] == "Snapshot" and database["UpdateReplacePolicy"] == "Snapshot"
    assert "secretsmanager" in properties["MasterUserPassword"]["Fn::Sub"]


def test_secrets_come_from_secrets_manager_never_from_plain_environment(resources):
    for name in ("WebTaskDefinition", "MigrationTaskDefinition", "RelayTaskDefinition"):
        definition = container(resources, name)
        secrets = {secret["Name"]: secret["ValueFrom"] for secret in definition["Secrets"]}
        assert secrets == {"SECRET_KEY": {"Ref": "AppSecretKey"}, "DATABASE_URL": {"Ref": "DatabaseUrl"},
                           "SECRETS_ENCRYPTION_KEYS": {"Ref": "SecretsEncryptionKeys"}}
        plain = {variable["Name"] for variable in definition["Environment"]}
        assert not plain & {"SECRET_KEY", "DATABASE_URL", "SECRETS_ENCRYPTION_KEYS"}
        assert not [v for v in plain if re.search("PASSWORD|SECRET", v)]
    for name in ("AppSecretKey", "SecretsEncryptionKeys", "DatabaseCredentials", "DatabaseUrl"):
        assert resources[name]["Type"] == "AWS::SecretsManager::Secret"


def test_the_encryption_keys_reach_the_tasks_are_kept_and_hold_no_comma(resources):
    """Production does not start without them, and losing them loses every authenticator key in the database."""
    keys = resources["SecretsEncryptionKeys"]
    assert keys["DeletionPolicy"] == "Retain" and keys["UpdateReplacePolicy"] == "Retain"
    generated = keys["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32 and generated["ExcludePunctuation"] is True  # the list's separator
    [statement] = resources["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert {"Ref": "SecretsEncryptionKeys"} in statement["Resource"]
    task_role = str(resources["TaskRole"])
    assert "SecretsEncryptionKeys" not in task_role  # only ECS reads it, at start, as for SECRET_KEY


def test_every_environment_variable_the_stack_sets_is_one_the_app_reads(resources):
    sources = "\n".join(path.read_text() for folder in ("carebook", "reminders", "portal")
                        for path in (ROOT / folder).rglob("*.py"))
    sources += (ROOT / "gunicorn.conf.py").read_text()
    aws_sdk = {"AWS_REGION"}
    for variable in container(resources, "WebTaskDefinition")["Environment"]:
        name = variable["Name"]
        assert name in aws_sdk or f'"{name}"' in sources, f"{name} is set by the stack but read nowhere"


def test_migrations_are_a_one_off_task_and_the_web_tasks_run_the_images_command(resources):
    assert container(resources, "MigrationTaskDefinition")["Command"] == ["flask", "db", "upgrade"]
    assert "Command" not in container(resources, "WebTaskDefinition")
    assert container(resources, "RelayTaskDefinition")["Command"] == ["flask", "reminders", "relay"]
    assert resources["RelayService"]["Properties"]["DesiredCount"] == 1


def test_web_containers_have_a_read_only_root_and_write_only_to_tmp(resources):
    definition = container(resources, "WebTaskDefinition")
    assert definition["ReadonlyRootFilesystem"] is True
    assert [mount["ContainerPath"] for mount in definition["MountPoints"]] == ["/tmp"]


def test_static_files_are_served_by_cloudfront_from_a_private_bucket(resources):
    bucket = resources["StaticBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    distribution = resources["StaticDistribution"]["Properties"]["DistributionConfig"]
    [origin] = distribution["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["StaticBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["StaticOriginAccessControl", "Id"]}
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    environment = {v["Name"]: v["Value"] for v in container(resources, "WebTaskDefinition")["Environment"]}
    assert environment["STATIC_URL_BASE"] == {"Fn::Sub": "https://${StaticDistribution.DomainName}"}


def test_only_the_load_balancer_reaches_the_tasks_and_only_the_tasks_reach_the_data(resources):
    [app_ingress] = resources["AppSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert app_ingress["SourceSecurityGroupId"] == {"Ref": "LoadBalancerSecurityGroup"}
    for name, port in (("DatabaseSecurityGroup", 5432), ("CacheSecurityGroup", 6379)):
        [ingress] = resources[name]["Properties"]["SecurityGroupIngress"]
        assert ingress["SourceSecurityGroupId"] == {"Ref": "AppSecurityGroup"} and ingress["FromPort"] == port
