"""Service-linked roles: CreateServiceLinkedRole, DeleteServiceLinkedRole, GetServiceLinkedRoleDeletionStatus."""

from __future__ import annotations

import json
import uuid

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import InvalidInputError, NoSuchEntityError, UnmodifiableEntityError
from tests.clirunner import run
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"


@pytest.mark.parametrize(
    ("service", "name"),
    [
        ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"),
        ("elasticbeanstalk.amazonaws.com", "AWSServiceRoleForElasticBeanstalk"),
        (
            "custom-resource.application-autoscaling.amazonaws.com",
            "AWSServiceRoleForApplicationAutoScaling_CustomResource",
        ),
        ("es.amazonaws.com", "AWSServiceRoleForAmazonElasticsearchService"),
    ],
)
def test_the_role_is_named_and_placed_as_aws_does(iam: IdentityStore, service: str, name: str) -> None:
    result = iam.create_service_linked_role(AWSServiceName=service, Description="desc")
    assert_output_shape("iam", "CreateServiceLinkedRole", result)
    role = result["Role"]
    assert role["RoleName"] == name
    assert role["Path"] == f"/aws-service-role/{service}/"
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{name}"
    assert role["Description"] == "desc"
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    got = iam.get_role(RoleName=name)["Role"]
    assert got["Arn"] == role["Arn"]
    assert got["Description"] == "desc"


def test_a_custom_suffix_and_a_taken_name(iam: IdentityStore) -> None:
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="suf")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForAutoScaling_suf"
    message = (
        "operation: Service role name AWSServiceRoleForAutoScaling_suf has been taken in this account, "
        "please try a different suffix.$"
    )
    with pytest.raises(InvalidInputError, match=message):
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="suf")
    with pytest.raises(InvalidInputError, match="operation: Invalid service name: autoscaling.$"):
        iam.create_service_linked_role(AWSServiceName="autoscaling")


def test_only_the_service_linked_operations_change_it(iam: IdentityStore) -> None:
    name = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]["RoleName"]
    assert name == "AWSServiceRoleForECS"
    with pytest.raises(UnmodifiableEntityError, match="protected role 'AWSServiceRoleForECS'"):
        iam.delete_role(RoleName=name)
    with pytest.raises(UnmodifiableEntityError):
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({"Statement": []}))
    with pytest.raises(UnmodifiableEntityError):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument="{}")
    with pytest.raises(InvalidInputError, match="Path prefix '/aws-service-role/'"):
        iam.create_role(RoleName="x", Path="/aws-service-role/ecs.amazonaws.com/", AssumeRolePolicyDocument="{}")
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:*"}]}
    iam.create_role(RoleName="plain", AssumeRolePolicyDocument=json.dumps(trust))
    with pytest.raises(InvalidInputError, match="operation: Role plain is not a service-linked role.$"):
        iam.delete_service_linked_role(RoleName="plain")


def test_deletion_is_a_task_that_has_succeeded(iam: IdentityStore) -> None:
    name = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]["RoleName"]
    result = iam.delete_service_linked_role(RoleName=name)
    assert_output_shape("iam", "DeleteServiceLinkedRole", result)
    task = result["DeletionTaskId"]
    assert task.startswith(f"task/aws-service-role/autoscaling.amazonaws.com/{name}/")
    status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status == {"Status": "SUCCEEDED"}
    with pytest.raises(
        NoSuchEntityError, match="operation: The role with name AWSServiceRoleForAutoScaling cannot be found.$"
    ):
        iam.get_role(RoleName=name)
    with pytest.raises(NoSuchEntityError):
        iam.get_service_linked_role_deletion_status(DeletionTaskId=f"{task.rsplit('/', 1)[0]}/{uuid.uuid4()}")
    with pytest.raises(NoSuchEntityError):
        iam.delete_service_linked_role(RoleName=name)
    # the name is free again
    iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")


def test_the_trail_names_the_operations(iam: IdentityStore) -> None:
    name = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", Description="d")["Role"][
        "RoleName"
    ]
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    records = [json.loads(e["CloudTrailEvent"]) for e in iam.lookup_events()["Events"]]
    by_name = {r["eventName"]: r for r in records}
    created = by_name["CreateServiceLinkedRole"]
    assert created["requestParameters"] == {"aWSServiceName": "autoscaling.amazonaws.com", "description": "d"}
    assert by_name["DeleteServiceLinkedRole"]["responseElements"] == {"deletionTaskId": task}
    assert "CreateRole" not in by_name
    assert "DeleteRole" not in by_name


def test_the_command_line(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    assert run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code == 0
    args = ("iam", "create-service-linked-role", "--aws-service-name", "autoscaling.amazonaws.com")
    result = run(capsys, "--db", store_url, *args)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["Role"]["RoleName"] == "AWSServiceRoleForAutoScaling"
