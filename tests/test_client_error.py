"""The library's errors are botocore's ``ClientError`` (issue 21 item 17): code written against boto3 carries over.

The same snippet, written as for boto3 (``except ClientError as e: e.response["Error"]["Code"]``), runs against the
library and against boto3 talking to a real ``iamledger serve --ephemeral`` subprocess, and gets the same code,
message, type, status, operation name and text; the errors stay the store's own (``except NoSuchEntityError``,
``.code``, ``.message``), survive pickling and copying, and the command line and the endpoint report them unchanged.
"""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from iamledger import IdentityStore
from iamledger.domain.errors import (
    EntityAlreadyExistsError,
    IdentityStoreError,
    NoSuchEntityError,
    StoreNotInitializedError,
)
from iamledger.testing import EphemeralServer, IamledgerEndpoint
from tests.clirunner import run

ACCOUNT = "210987654321"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def failure(call: Callable[[], Any]) -> dict[str, Any]:
    """What code written for boto3 sees of a failed call."""
    try:
        call()
    except ClientError as e:
        return {
            "Code": e.response["Error"]["Code"],
            "Message": e.response["Error"]["Message"],
            "Type": e.response["Error"]["Type"],
            "HTTPStatusCode": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "operation_name": e.operation_name,
            "str": str(e),
        }
    raise AssertionError("the call did not fail")


def scenario(iam: Any) -> list[dict[str, Any]]:
    """The same calls, on a boto3 IAM client or on the store (which has the client's methods)."""
    iam.create_user(UserName="alice")
    return [
        failure(lambda: iam.get_user(UserName="nobody")),
        failure(lambda: iam.create_user(UserName="alice")),
        failure(lambda: iam.create_user(UserName="bad name!")),
        failure(lambda: iam.delete_role(RoleName="nobody")),
        failure(lambda: iam.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument="{not json")),
        failure(lambda: iam.create_group(GroupName="g", Path="no-slashes")),
        failure(lambda: iam.detach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")),
    ]


@pytest.fixture(scope="module")
def served() -> Iterator[IamledgerEndpoint]:
    """A real ``iamledger serve --ephemeral`` subprocess (the package's pytest plugin starts it)."""
    server = EphemeralServer(account_id=ACCOUNT)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.mark.slow
def test_the_same_boto3_code_sees_the_same_errors_from_the_library_and_the_endpoint(
    served: IamledgerEndpoint, tmp_path: Path
):
    with IdentityStore.open(f"sqlite:///{tmp_path / 'library.db'}") as store:
        store.init(ACCOUNT)
        from_library = scenario(store)
    from_boto3 = scenario(served.client("iam"))
    assert from_boto3 == from_library
    assert [
        "NoSuchEntity",
        "EntityAlreadyExists",
        "ValidationError",
        "NoSuchEntity",
        "MalformedPolicyDocument",
        "ValidationError",
        "NoSuchEntity",
    ] == [f["Code"] for f in from_library]
    assert "An error occurred (NoSuchEntity) when calling the GetUser operation: " in from_library[0]["str"]
    assert {"Sender"} == {f["Type"] for f in from_library}


def test_an_error_stays_the_stores_own_with_every_attribute(iam: IdentityStore):
    with pytest.raises(NoSuchEntityError) as caught:
        iam.get_user(UserName="nobody")
    error = caught.value
    assert isinstance(error, ClientError)
    assert isinstance(error, IdentityStoreError)
    assert ("NoSuchEntity", "The user with name nobody cannot be found.", 404, True) == (
        error.code,
        error.message,
        error.http_status,
        error.sender_fault,
    )
    assert "NoSuchEntityError" == type(error).__name__
    assert "GetUser" == error.operation_name  # type: ignore[attr-defined]
    unpickled = pickle.loads(pickle.dumps(error))  # noqa: S301 - bytes this test made
    for again in (unpickled, copy.copy(error), copy.deepcopy(error)):
        assert isinstance(again, NoSuchEntityError)
        assert isinstance(again, ClientError)
        assert str(error) == str(again)
        assert error.response == again.response  # type: ignore[attr-defined]
        assert (error.code, error.message, error.operation_name) == (  # type: ignore[attr-defined]
            again.code,
            again.message,
            again.operation_name,  # type: ignore[attr-defined]
        )


def test_the_request_id_of_a_bound_call_is_in_the_response(iam: IdentityStore):
    from iamledger import AuditContext
    from iamledger.context import bound_audit_context

    ctx = AuditContext(actor="arn:aws:iam::123456789012:root", request_id=AuditContext.new_request_id())
    iam.create_group(GroupName="dev")
    with bound_audit_context(ctx), pytest.raises(ClientError) as caught:
        iam.create_group(GroupName="dev")
    assert ctx.request_id == caught.value.response["ResponseMetadata"]["RequestId"]
    assert 409 == caught.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert isinstance(caught.value, EntityAlreadyExistsError)


def test_the_outermost_call_names_the_operation(iam: IdentityStore):
    """An operation that calls another (GetUser without a name calls it with the caller's) reports its own name;
    a method that is no AWS operation is named in the same style."""
    with pytest.raises(ClientError) as caught:
        iam.entity_history("user", "nobody")
    assert "EntityHistory" == caught.value.operation_name
    assert "NoSuchEntity" == caught.value.response["Error"]["Code"]
    with pytest.raises(ClientError) as listed:
        iam.list_user_tags(UserName="nobody")
    assert "ListUserTags" == listed.value.operation_name


def test_a_streamed_answer_raises_client_errors_as_it_is_read(iam: IdentityStore):
    with pytest.raises(ClientError) as caught:
        list(iam.stream_who_can(ActionName="s3:GetObject", At="last tuesday"))
    assert "StreamWhoCan" == caught.value.operation_name


def test_opening_a_store_that_is_not_there_is_a_client_error(tmp_path: Path):
    with pytest.raises(ClientError) as caught:
        IdentityStore.open(f"sqlite:///{tmp_path / 'none.db'}", create=False)
    assert isinstance(caught.value, StoreNotInitializedError)
    assert "StoreNotInitialized" == caught.value.response["Error"]["Code"]
    assert "Open" == caught.value.operation_name


def test_the_command_line_and_the_endpoint_report_errors_as_before(iam: IdentityStore, store_url: str, capsys):
    result = run(capsys, "iam", "get-user", "--user-name", "nobody", "--db", store_url)
    assert 254 == result.exit_code
    assert (
        "\nAn error occurred (NoSuchEntity) when calling the GetUser operation: The user with name nobody cannot be "
        "found.\n"
    ) == result.stderr
