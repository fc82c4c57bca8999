"""Requests AWS refuses as malformed are refused the same way here, by the library and by the endpoint: a required
member left out is ``ValidationError`` naming it (never Python's ``TypeError``, never a 500), a list element that is
not numbered with plain digits is ``InvalidQueryParameter``, and nothing is changed. Found by, and kept apart from,
the fuzz test over every operation (``tests/test_endpoint_fuzz.py``)."""

from __future__ import annotations

import inspect
import json
import xml.etree.ElementTree as ET

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from iamledger import IdentityStore
from iamledger.awsmodel import operation_model
from iamledger.domain.errors import IdentityStoreError, ValidationError
from iamledger.server.protocol import _Form, parse_parameters, serialize_error
from tests.test_server import Endpoint, botocore_parse, endpoint, send, signed_request  # noqa: F401 - the fixture

ACCOUNT = "123456789012"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def null(member: str) -> str:
    return f"Value null at '{member}' failed to satisfy constraint: Member must not be null"


# --- required members: the endpoint --------------------------------------------------------------------------------


def unvalidated(endpoint: Endpoint, service: str):  # noqa: F811 - the fixture's value
    """A boto3 client that sends what it is given: its own check of required members turned off."""
    return boto3.client(
        service,
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id=endpoint.key_id,
        aws_secret_access_key=endpoint.secret,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def refusal(call, **params) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_the_endpoint_refuses_a_missing_required_member_with_validation_error(endpoint: Endpoint):  # noqa: F811 - the fixture imported above
    iam = unvalidated(endpoint, "iam")
    sts = unvalidated(endpoint, "sts")
    assert refusal(iam.create_user) == ("ValidationError", 400, f"1 validation error detected: {null('userName')}")
    assert refusal(iam.attach_user_policy) == (
        "ValidationError",
        400,
        f"2 validation errors detected: {null('userName')}; {null('policyArn')}",
    )
    assert refusal(iam.create_policy, PolicyName="p") == (
        "ValidationError",
        400,
        f"1 validation error detected: {null('policyDocument')}",
    )
    assert refusal(sts.assume_role, RoleSessionName="ss") == (
        "ValidationError",
        400,
        f"1 validation error detected: {null('roleArn')}",
    )
    # The model's order of members, whatever order the request gives them in (CreateUser: Path, then UserName).
    code, status, message = refusal(iam.create_user, Tags=[{"Key": "k"}], Path="no-slashes")
    assert (code, status) == ("ValidationError", 400)
    assert message.startswith("3 validation errors detected: Value 'no-slashes' at 'path' failed to satisfy")
    assert message.endswith(f"; {null('userName')}; {null('tags.1.member.value')}")
    assert iam.list_users()["Users"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []


# --- required members: the library ---------------------------------------------------------------------------------


def test_the_library_refuses_a_missing_required_member_as_aws_does(iam: IdentityStore):
    head = iam.recorder.max_notification_id()
    with pytest.raises(ValidationError) as caught:
        iam.create_user()  # type: ignore[call-arg]
    assert caught.value.message == f"1 validation error detected: {null('userName')}"
    with pytest.raises(ValidationError) as caught:
        iam.attach_user_policy()  # type: ignore[call-arg]
    assert caught.value.message == f"2 validation errors detected: {null('userName')}; {null('policyArn')}"
    with pytest.raises(ValidationError) as caught:
        iam.create_policy(PolicyName="p")  # type: ignore[call-arg]
    assert caught.value.message == f"1 validation error detected: {null('policyDocument')}"
    with pytest.raises(ValidationError) as caught:
        iam.assume_role(RoleSessionName="ss")  # type: ignore[call-arg]
    assert caught.value.message == f"1 validation error detected: {null('roleArn')}"
    assert iam.recorder.max_notification_id() == head
    # A refused write is recorded as such, as when the member is given as None.
    failed = [(i.event_name, i.error_code) for i in iam.security_log.incidents() if i.kind == "OperationFailed"]
    assert ("CreateUser", "ValidationError") in failed
    assert ("AttachUserPolicy", "ValidationError") in failed


def test_validation_errors_come_in_the_model_s_order_of_members(iam: IdentityStore):
    with pytest.raises(ValidationError) as caught:
        iam.create_user(UserName="a b", Path="no-slashes")
    message = caught.value.message
    assert message.startswith("2 validation errors detected: Value 'no-slashes' at 'path' failed to satisfy")
    assert "; Value 'a b' at 'userName' failed to satisfy" in message


def test_the_methods_stay_typed_and_other_calls_keep_python_s_errors(iam: IdentityStore):
    parameter = inspect.signature(IdentityStore.create_user).parameters["UserName"]
    assert (parameter.kind, parameter.default) == (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.empty)
    with pytest.raises(TypeError):
        iam.who_can()  # type: ignore[call-arg] - iamledger's own analysis, not an AWS operation
    with pytest.raises(TypeError):
        iam.create_user(Bogus="x")  # type: ignore[call-arg] - a parameter the operation does not have


def test_every_operation_s_method_requires_what_the_model_requires():
    # What lets a missing member reach the method as None: the method declares the model's required members, and only
    # those, as its required arguments (a method requiring another would be handed a None it does not expect).
    from botocore import xform_name

    from iamledger.awsmodel import service_model
    from iamledger.server.actions import implemented

    for service in ("iam", "sts"):
        for name in service_model(service).operation_names:
            if not implemented(service, name):
                continue
            parameters = inspect.signature(getattr(IdentityStore, xform_name(name))).parameters.values()
            required = {p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty}
            shape = operation_model(service, name).input_shape
            model_required = set(shape.required_members) if shape is not None else set()
            assert required <= model_required, name
            if any(p.kind is p.VAR_KEYWORD for p in parameters):
                continue
            assert required == model_required, name


# --- list indices ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", ["²", "٣", "1" * 5000, "abc", "", "-1", "+1", " 1"])
def test_a_list_element_not_numbered_with_plain_digits_is_an_invalid_query_parameter(index: str):
    fields = [("UserName", "alice"), (f"Tags.member.{index}.Key", "k"), (f"Tags.member.{index}.Value", "v")]
    with pytest.raises(IdentityStoreError) as caught:
        parse_parameters(operation_model("iam", "CreateUser"), fields)
    assert caught.value.code == "InvalidQueryParameter"
    assert caught.value.http_status == 400
    assert len(caught.value.message) < 300  # (a 5,000-digit index is not quoted back whole)


def test_list_elements_are_taken_in_the_order_of_their_numbers():
    fields = [
        ("UserName", "alice"),
        ("Tags.member.10.Key", "ten"),
        ("Tags.member.10.Value", "10"),
        ("Tags.member.2.Key", "two"),
        ("Tags.member.2.Value", "2"),
    ]
    tags = parse_parameters(operation_model("iam", "CreateUser"), fields)["Tags"]
    assert tags == [{"Key": "two", "Value": "2"}, {"Key": "ten", "Value": "10"}]


def test_the_endpoint_answers_400_to_an_odd_list_index_and_changes_nothing(endpoint: Endpoint):  # noqa: F811 - the fixture imported above
    for index in ("²", "1" * 5000):
        fields = {
            "Action": "CreateUser",
            "Version": "2010-05-08",
            "UserName": "alice",
            f"Tags.member.{index}.Key": "k",
            f"Tags.member.{index}.Value": "v",
        }
        status, body = send(signed_request(endpoint, "iam", fields))
        assert status == 400
        assert b"<Type>Sender</Type><Code>InvalidQueryParameter</Code>" in body
    assert endpoint.client("iam").list_users()["Users"] == []


def test_a_field_name_of_many_dots_is_indexed_in_linear_space():
    # Every dotted prefix of such a name was indexed: quadratic in its length, 400 MB and seconds of the event
    # loop's time for 40 KB of "a.a.a...", gigabytes for a few hundred KB.
    name = "a." * 20_000 + "b"
    form = _Form([("UserName", "alice"), (name, "1")])
    assert sum(len(prefix) for prefix in form.prefixes) < 20 * len(name)
    assert form.has("a.a.a")
    assert form.has("a." * 20 + "a")  # deeper than the prefixes indexed: found by a scan
    assert not form.has("a." * 20 + "c")
    assert parse_parameters(operation_model("iam", "CreateUser"), [("UserName", "alice"), (name, "1")]) == {
        "UserName": "alice"
    }


# --- answers the client can read ------------------------------------------------------------------------------------


def test_an_error_quoting_a_character_xml_cannot_carry_is_still_xml():
    model = operation_model("iam", "CreateUser").service_model
    message = "1 validation error detected: Value 'a\x00b\x1f\ud800' at 'userName' failed to satisfy constraint"
    body = serialize_error(model, "ValidationError", message, sender_fault=True, request_id="r")
    ET.fromstring(body)  # noqa: S314 - our own answer
    parsed = botocore_parse("iam", "CreateUser", body, status=400)
    assert parsed["Error"]["Message"] == message.replace("\x00", "\ufffd").replace("\x1f", "\ufffd").replace(
        "\ud800", "\ufffd"
    )


def test_the_endpoint_s_answer_to_a_nul_in_a_name_parses(endpoint: Endpoint):  # noqa: F811 - the fixture imported above
    code, status, message = refusal(endpoint.client("iam").create_user, UserName="a\x00b")
    assert (code, status) == ("ValidationError", 400)
    assert message.startswith("1 validation error detected: Value 'a\ufffdb' at 'userName'")


# --- values the store could not keep --------------------------------------------------------------------------------


@pytest.mark.parametrize("description", ["a\x00b", "a\udcffb"])
def test_a_character_the_store_cannot_keep_is_refused_in_a_member_without_a_pattern(iam: IdentityStore, description):
    # PostgreSQL's text cannot hold a NUL: a policy described with one was recorded, then never projected, and every
    # later read of the store failed. A lone surrogate (a command-line argument that is not UTF-8) cannot be encoded.
    head = iam.recorder.max_notification_id()
    with pytest.raises(ValidationError) as caught:
        iam.create_policy(PolicyName="p", PolicyDocument=ALLOW_ALL, Description=description)
    assert caught.value.message == (
        f"1 validation error detected: Value '{description}' at 'description' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [^\\u0000\\uD800-\\uDFFF]*"
    )
    assert iam.recorder.max_notification_id() == head
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_a_virtual_mfa_device_name_is_as_long_as_its_serial_number_allows(iam: IdentityStore):
    # A serial number is at most 256 characters wherever one is given: "arn:aws:iam::123456789012:mfa/" leaves 226
    # for the name. A longer one made a device that no call could name, and a 100 KB one failed in the QR code after
    # the device was saved.
    longest = "d" * 226
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=longest)["VirtualMFADevice"]["SerialNumber"]
    assert len(serial) == 256
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    head = iam.recorder.max_notification_id()
    for name in ("d" * 227, "d" * 100_000):
        with pytest.raises(ValidationError) as caught:
            iam.create_virtual_mfa_device(VirtualMFADeviceName=name)
        assert caught.value.message.endswith(
            "at 'virtualMFADeviceName' failed to satisfy constraint: Member must have length less than or equal to 226"
        )
    path = "/" + "p" * 225 + "/"  # with "arn:aws:iam::123456789012:mfa", no room for a name at all
    with pytest.raises(ValidationError) as caught:
        iam.create_virtual_mfa_device(VirtualMFADeviceName="d", Path=path)
    assert caught.value.message.endswith(
        "at 'path' failed to satisfy constraint: Member must have length less than or equal to 226"
    )
    assert iam.recorder.max_notification_id() == head
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
