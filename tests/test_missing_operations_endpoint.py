"""The operations of issue 21 item 19 with boto3 and the aws CLI against a real ``iamledger serve --ephemeral`` (a
subprocess logging at DEBUG), whose log is then searched for the passwords it handed out; see
``tests/test_missing_operations.py`` for the library."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from iamledger.testing import EphemeralServer
from tests.test_missing_operations import ACCOUNT, AWS_EXAMPLE, CODECOMMIT, _policy


@pytest.fixture
def served() -> Iterator[EphemeralServer]:
    """A real ``iamledger serve --ephemeral`` logging at DEBUG (the package's pytest plugin's server)."""
    server = EphemeralServer(account_id=ACCOUNT, log_level="DEBUG")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_boto3_and_the_aws_cli_against_a_real_endpoint(served: EphemeralServer):
    endpoint = served.start()
    url, key_id, secret = endpoint.url, endpoint.access_key_id, endpoint.secret_access_key
    iam = endpoint.client("iam")
    iam.create_user(UserName="sofia")
    created = iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"
    ]
    credential_id, password = created["ServiceSpecificCredentialId"], created["ServicePassword"]
    listed = iam.list_service_specific_credentials(UserName="sofia")["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [credential_id]
    iam.update_service_specific_credential(
        UserName="sofia", ServiceSpecificCredentialId=credential_id, Status="Inactive"
    )
    new_password = iam.reset_service_specific_credential(UserName="sofia", ServiceSpecificCredentialId=credential_id)[
        "ServiceSpecificCredential"
    ]["ServicePassword"]
    with pytest.raises(ClientError) as refused:
        iam.create_service_specific_credential(UserName="sofia", ServiceName="nope.amazonaws.com")
    assert refused.value.response["Error"]["Code"] == "NotSupportedService"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)
    with pytest.raises(ClientError) as limited:
        iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)
    assert limited.value.response["Error"]["Code"] == "LimitExceeded"
    iam.delete_service_specific_credential(UserName="sofia", ServiceSpecificCredentialId=credential_id)
    with pytest.raises(ClientError) as gone:
        iam.delete_service_specific_credential(UserName="sofia", ServiceSpecificCredentialId=credential_id)
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"

    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[AWS_EXAMPLE])
    assert keys["ContextKeyNames"] == ["aws:username", "aws:CurrentTime"]
    iam.put_user_policy(
        UserName="sofia",
        PolicyName="cc",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "codecommit:*", "Resource": "*"}),
    )
    arn = f"arn:aws:iam::{ACCOUNT}:user/sofia"
    assert iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)["ContextKeyNames"] == []
    granting = iam.list_policies_granting_service_access(Arn=arn, ServiceNamespaces=["codecommit"])
    assert granting["PoliciesGrantingServiceAccess"][0]["Policies"][0]["PolicyName"] == "cc"
    with pytest.raises(ClientError) as no_device:
        iam.get_mfa_device(SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/none")
    assert no_device.value.response["Error"]["Code"] == "NoSuchEntity"
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2

    environment = os.environ | {
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    cli = subprocess.run(
        ["aws", "--endpoint-url", url, "iam", "list-service-specific-credentials", "--user-name", "sofia"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert len(json.loads(cli.stdout)["ServiceSpecificCredentials"]) == 1

    logged = served.log()
    assert "service_credential_created" in logged, "DEBUG logging wrote the calls"
    assert password not in logged and new_password not in logged
