"""The audit trail in CloudTrail's shape: records for writes, role assumptions, denied and failed attempts; lookup
filters, time ranges and paging; the command line's formats and the history timeline; on every backend."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from iamledger import AuditContext, IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.errors import AccessDeniedError, EntityAlreadyExistsError, ValidationError
from iamledger.projections.trail.query import entity_history, lookup_events
from tests.clirunner import run

A = "123456789012"
B = "210987654321"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
PASSWORD = "C0rrect-Horse-Battery!"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@contextmanager
def acting_as(actor: str, access_key_id: str | None = None, source_ip: str = "192.0.2.10") -> Iterator[None]:
    ctx = AuditContext(
        actor=actor,
        request_id=AuditContext.new_request_id(),
        access_key_id=access_key_id,
        source_ip=source_ip,
        user_agent="trail-test/1.0",
    )
    with bound_audit_context(ctx):
        yield


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{A}:user/{name}"


def all_records(store: IdentityStore, **params: Any) -> list[dict[str, Any]]:
    """Every record the lookup gives (all pages), newest first, parsed."""
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = lookup_events(store, NextToken=token, **params)
        events += page["Events"]
        token = page.get("NextToken")
        if token is None:
            return [json.loads(e["CloudTrailEvent"]) | {"_entry": e} for e in events]


def names(records: list[dict[str, Any]]) -> list[str]:
    return [r["eventName"] for r in records]


class Secrets:
    def __init__(self) -> None:
        self.values: list[str] = [PASSWORD]

    def assert_absent(self, text: str) -> None:
        for secret in self.values:
            assert secret not in text


@pytest.fixture
def scenario(iam: IdentityStore) -> tuple[IdentityStore, Secrets]:
    """alice (in group dev, ReadOnlyAccess, an access key, a password), a role alice may assume, a session of it
    that created a user, a denied attempt by alice and a failed create."""
    secrets = Secrets()
    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "core"}])
    iam.create_group(GroupName="dev")
    iam.add_user_to_group(GroupName="dev", UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn=READ_ONLY)
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    secrets.values.append(key["SecretAccessKey"])
    iam.create_login_profile(UserName="alice", Password=PASSWORD)
    role_arn = f"arn:aws:iam::{A}:role/deployer"
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="deployer", PolicyName="users", PolicyDocument=doc(allow("iam:CreateUser")))
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=doc(allow("sts:AssumeRole", role_arn)))
    with acting_as(user_arn("alice"), key["AccessKeyId"]):
        session = iam.assume_role(RoleArn=role_arn, RoleSessionName="deploy-1")
    credentials = session["Credentials"]
    secrets.values += [credentials["SecretAccessKey"], credentials["SessionToken"]]
    with acting_as(session["AssumedRoleUser"]["Arn"], credentials["AccessKeyId"]):
        iam.create_user(UserName="built-by-role")
    with acting_as(user_arn("alice"), key["AccessKeyId"]), pytest.raises(AccessDeniedError):
        iam.create_group(GroupName="forbidden")
    with pytest.raises(EntityAlreadyExistsError):
        iam.create_user(UserName="alice")
    return iam, secrets


# -- records ----------------------------------------------------------------------------------------------------------


def test_every_call_is_one_record_in_cloudtrail_shape(scenario: tuple[IdentityStore, Secrets]):
    store, _ = scenario
    records = list(reversed(all_records(store)))
    assert [
        "CreateAccount",
        "CreateUser",
        "CreateGroup",
        "AddUserToGroup",
        "AttachUserPolicy",
        "CreateAccessKey",
        "CreateLoginProfile",
        "CreateRole",
        "PutRolePolicy",
        "PutUserPolicy",
        "AssumeRole",
        "CreateUser",
        "CreateGroup",
        "CreateUser",
    ] == names(records)
    create = records[1]
    assert {"userName": "alice", "path": "/", "tags": [{"key": "team", "value": "core"}]} == create["requestParameters"]
    assert create["responseElements"]["user"]["userName"] == "alice"
    assert create["responseElements"]["user"]["userId"].startswith("AIDA")
    assert create["responseElements"]["user"]["arn"] == user_arn("alice")
    assert {
        "eventVersion": "1.08",
        "eventSource": "iam.amazonaws.com",
        "awsRegion": "us-east-1",
        "eventType": "AwsApiCall",
        "readOnly": False,
        "managementEvent": True,
        "eventCategory": "Management",
        "recipientAccountId": A,
        "userAgent": "iamledger-library",
    }.items() <= create.items()
    assert {"type": "Root", "principalId": A, "arn": f"arn:aws:iam::{A}:root", "accountId": A} == create["userIdentity"]
    assert create["eventTime"].endswith("Z")
    assert uuid.UUID(create["eventID"])
    assert uuid.UUID(create["requestID"])
    assert {"groupName": "dev", "userName": "alice"} == records[3]["requestParameters"]
    assert {"userName": "alice", "policyArn": READ_ONLY} == records[4]["requestParameters"]
    assert {"userName": "alice", "passwordResetRequired": False} == records[6]["requestParameters"]
    assert records[3]["responseElements"] is None
    # Positions are the notification id of each call's last event: they increase and let answers be repeated.
    positions = [r["iamledgerPosition"] for r in records if "iamledgerPosition" in r]
    assert positions == sorted(positions)
    assert positions[-1] == store.recorder.max_notification_id()
    assert store.at(positions[2]).list_groups()["Groups"][0]["GroupName"] == "dev"


def test_the_group_and_policy_bookkeeping_is_folded_into_the_call(scenario: tuple[IdentityStore, Secrets]):
    store, _ = scenario
    (add,) = [r for r in all_records(store) if r["eventName"] == "AddUserToGroup"]
    resources = add["_entry"]["Resources"]
    assert [
        {"ResourceType": "AWS::IAM::Group", "ResourceName": "dev"},
        {"ResourceType": "AWS::IAM::User", "ResourceName": "alice"},
    ] == resources
    assert 1 == len({r["requestID"] for r in all_records(store)} & {add["requestID"]})


def test_no_secret_appears_in_any_record_or_csv_line(scenario: tuple[IdentityStore, Secrets], store_url: str, capsys):
    store, secrets = scenario
    response = lookup_events(store)
    secrets.assert_absent(json.dumps(response, default=str))
    (key,) = [r for r in all_records(store) if r["eventName"] == "CreateAccessKey" and r["requestParameters"]]
    assert {"userName", "accessKeyId", "status", "createDate"} == set(key["responseElements"]["accessKey"])
    (assumed,) = [r for r in all_records(store) if r["eventName"] == "AssumeRole"]
    assert {"accessKeyId", "expiration"} == set(assumed["responseElements"]["credentials"])
    for output in ("csv", "jsonl", "json", "table", "text"):
        result = run(capsys, "audit", "lookup-events", "--db", store_url, "--output", output)
        assert 0 == result.exit_code, result.stderr
        secrets.assert_absent(result.stdout)
    for incident in store.security_log.incidents():
        secrets.assert_absent(repr(incident))


def test_assume_role_and_the_session_s_own_calls(scenario: tuple[IdentityStore, Secrets]):
    store, _ = scenario
    records = all_records(store)
    (assumed,) = [r for r in records if r["eventName"] == "AssumeRole"]
    assert "sts.amazonaws.com" == assumed["eventSource"]
    assert "IAMUser" == assumed["userIdentity"]["type"]
    assert user_arn("alice") == assumed["userIdentity"]["arn"]
    assert "alice" == assumed["userIdentity"]["userName"]
    assert assumed["userIdentity"]["principalId"].startswith("AIDA")
    assert assumed["userIdentity"]["accessKeyId"].startswith("AKIA")
    assert "192.0.2.10" == assumed["sourceIPAddress"]
    assert f"arn:aws:iam::{A}:role/deployer" == assumed["requestParameters"]["roleArn"]
    assert "deploy-1" == assumed["requestParameters"]["roleSessionName"]
    session_arn = f"arn:aws:sts::{A}:assumed-role/deployer/deploy-1"
    assert session_arn == assumed["responseElements"]["assumedRoleUser"]["arn"]
    types = {r["ResourceType"] for r in assumed["_entry"]["Resources"]}
    assert {"AWS::IAM::AccessKey", "AWS::STS::AssumedRole", "AWS::IAM::Role"} == types
    (by_role,) = [r for r in records if r.get("requestParameters") == {"userName": "built-by-role", "path": "/"}]
    identity = by_role["userIdentity"]
    assert "AssumedRole" == identity["type"]
    assert session_arn == identity["arn"]
    assert identity["accessKeyId"].startswith("ASIA")
    assert identity["principalId"].endswith(":deploy-1")
    issuer = identity["sessionContext"]["sessionIssuer"]
    assert {
        "type": "Role",
        "arn": f"arn:aws:iam::{A}:role/deployer",
        "accountId": A,
        "userName": "deployer",
    }.items() <= (issuer.items())
    assert identity["principalId"] == f"{issuer['principalId']}:deploy-1"
    assert "deploy-1" == by_role["_entry"]["Username"]


def test_denied_and_failed_attempts_have_an_error_code(scenario: tuple[IdentityStore, Secrets]):
    store, _ = scenario
    records = all_records(store)
    (denied,) = [r for r in records if r.get("errorCode") == "AccessDenied"]
    assert "CreateGroup" == denied["eventName"]
    assert user_arn("alice") == denied["userIdentity"]["arn"]
    assert "is not authorized to perform: iam:CreateGroup" in denied["errorMessage"]
    assert [{"ResourceType": "AWS::IAM::Group", "ResourceName": "forbidden"}] == denied["_entry"]["Resources"]
    assert "iamledgerSecurityPosition" in denied
    (failed,) = [r for r in records if r.get("errorCode") == "EntityAlreadyExists"]
    assert "CreateUser" == failed["eventName"]
    assert "User with name alice already exists." == failed["errorMessage"]
    assert {"userName": "alice"} == failed["requestParameters"]
    assert "Root" == failed["userIdentity"]["type"]
    # A refused call adds nothing to the identity history.
    assert "iamledgerPosition" not in failed


def test_a_failed_write_never_records_the_secret_it_was_given(iam: IdentityStore):
    iam.create_user(UserName="bob")
    bad = "пароль-" + PASSWORD  # outside the allowed characters: the message names the member, never the value
    with pytest.raises(ValidationError) as refused:
        iam.create_login_profile(UserName="bob", Password=bad)
    assert "Value at 'password' failed to satisfy constraint" in refused.value.message
    assert bad not in refused.value.message
    (incident,) = iam.security_log.incidents()
    assert ("OperationFailed", "ValidationError", "CreateLoginProfile") == (
        incident.kind,
        incident.error_code,
        incident.event_name,
    )
    assert {"UserName": "bob"} == incident.request_parameters
    assert "Value at 'password'" in (incident.error_message or "")
    text = json.dumps(lookup_events(iam), default=str)
    assert bad not in text
    assert PASSWORD not in text
    assert PASSWORD not in repr(incident)


def test_a_read_is_not_recorded_and_a_denial_is_recorded_once(iam: IdentityStore):
    iam.create_user(UserName="alice")
    before = len(lookup_events(iam)["Events"])
    iam.list_users()
    iam.get_user(UserName="alice")
    assert before == len(lookup_events(iam)["Events"])
    with acting_as(user_arn("alice")), pytest.raises(AccessDeniedError):
        iam.delete_user(UserName="alice")
    assert 1 == len(iam.security_log.incidents())


def test_security_incidents_recorded_before_the_new_fields_still_load(iam: IdentityStore):
    """The security log's events are a stored schema too: an incident of the first version has no event_name,
    error_code... fields."""
    originator = uuid.uuid4()
    state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-02T03:04:05.000006+00:00"},
        "originator_topic": "iamledger.domain.security:SecurityIncident",
        "actor": user_arn("alice"),
        "access_key_id": None,
        "source_ip": "198.51.100.1",
        "user_agent": "old",
        "request_id": "0f0e6a6c-3b9c-4a42-9f4b-5d7c0c2f1a10",
        "kind": "AccessDenied",
        "account_id": A,
        "action": "iam:DeleteUser",
        "resource": user_arn("bob"),
        "user_name": None,
        "reason": "User: alice is not authorized to perform: iam:DeleteUser",
    }
    stored = StoredEvent(
        originator_id=originator,
        originator_version=1,
        topic="iamledger.domain.security:SecurityIncident.Recorded",
        state=json.dumps(state).encode(),
    )
    iam.security_log.recorder.insert_events([stored])
    (incident,) = iam.security_log.incidents()
    assert (None, None) == (incident.error_code, incident.request_parameters)
    (record,) = [
        json.loads(e["CloudTrailEvent"]) for e in lookup_events(iam)["Events"] if e["EventName"] == "DeleteUser"
    ]
    assert "AccessDenied" == record["errorCode"]
    assert "2026-01-02T03:04:05Z" == record["eventTime"]


# -- lookups -------------------------------------------------------------------------------------------------------


def test_lookup_attributes_combine_with_and(scenario: tuple[IdentityStore, Secrets]):
    store, _ = scenario

    def find(**attributes: str) -> list[str]:
        lookup = [{"AttributeKey": k, "AttributeValue": v} for k, v in attributes.items()]
        return names(all_records(store, LookupAttributes=lookup))

    assert ["CreateGroup", "AssumeRole"] == find(Username="alice")
    assert ["AssumeRole"] == find(Username="alice", EventSource="sts.amazonaws.com")
    assert ["AddUserToGroup", "CreateGroup"] == find(ResourceType="AWS::IAM::Group", ResourceName="dev")
    assert ["CreateUser", "CreateUser", "CreateUser"] == find(EventName="CreateUser")
    # the failed attempt and the creation
    assert ["CreateUser", "CreateUser"] == find(EventName="CreateUser", ResourceName="alice", ReadOnly="false")
    assert [] == find(EventName="CreateUser", ReadOnly="true")
    assert ["CreateUser"] == find(Username="deploy-1")
    assert {"AssumeRole", "CreateRole", "PutRolePolicy"} <= set(find(ResourceName="deployer"))
    assert ["AttachUserPolicy"] == find(ResourceName=READ_ONLY)
    key = next(r for r in all_records(store) if r["eventName"] == "CreateAccessKey" and r["requestParameters"])
    key_id = key["responseElements"]["accessKey"]["accessKeyId"]
    # The key the event is about, and the calls it signed (the denied one included).
    assert ["CreateGroup", "AssumeRole", "CreateAccessKey"] == find(AccessKeyId=key_id)
    (one,) = all_records(store, LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": key["eventID"]}])
    assert key["eventID"] == one["eventID"]
    assert key["eventID"] == one["_entry"]["EventId"]
    assert key_id != one["_entry"].get("AccessKeyId")  # the entry's AccessKeyId is the signing key's


def test_invalid_lookups_are_refused(iam: IdentityStore):
    with pytest.raises(ValidationError, match="the valid keys are EventId, EventName, ReadOnly, Username"):
        lookup_events(iam, LookupAttributes=[{"AttributeKey": "UserName", "AttributeValue": "alice"}])
    with pytest.raises(ValidationError, match="1 to 2000 characters"):
        lookup_events(iam, LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": ""}])
    for size in (0, 51):
        with pytest.raises(ValidationError, match="MaxResults"):
            lookup_events(iam, MaxResults=size)
    with pytest.raises(ValidationError, match="NextToken"):
        lookup_events(iam, NextToken="not-a-token")
    with pytest.raises(ValidationError, match="time range"):
        lookup_events(iam, StartTime="2026-01-02", EndTime="2026-01-01")
    with pytest.raises(ValidationError, match="Invalid time"):
        lookup_events(iam, StartTime="yesterday-ish")


def test_the_time_range_is_inclusive(iam: IdentityStore):
    iam.create_user(UserName="early")
    time.sleep(1.1)  # eventTime has whole seconds: the two phases must fall in different seconds
    iam.create_user(UserName="late")
    records = all_records(iam)
    late = next(r for r in records if r["requestParameters"] == {"userName": "late", "path": "/"})
    early = next(r for r in records if r["requestParameters"] == {"userName": "early", "path": "/"})
    late_time = datetime.fromisoformat(late["eventTime"])
    early_time = datetime.fromisoformat(early["eventTime"])
    assert early_time < late_time
    only_late = all_records(iam, StartTime=late_time)
    assert [late["eventID"]] == [r["eventID"] for r in only_late]
    up_to_early = all_records(iam, EndTime=early["eventTime"])
    assert early["eventID"] in [r["eventID"] for r in up_to_early]
    assert late["eventID"] not in [r["eventID"] for r in up_to_early]
    both = all_records(
        iam,
        StartTime=early_time,
        EndTime=late_time,
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}],
    )
    assert [late["eventID"], early["eventID"]] == [r["eventID"] for r in both]
    assert len(records) == len(all_records(iam, StartTime="1h"))
    assert [] == all_records(iam, StartTime=late_time + timedelta(seconds=1))
    assert [] == all_records(iam, EndTime=datetime(2000, 1, 1, tzinfo=UTC))
    # the last second a time can hold: no "next second" to end the range at
    assert len(records) == len(all_records(iam, EndTime=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)))


def test_pages_with_next_token_cover_every_record_once(scenario: tuple[IdentityStore, Secrets]):
    store, _ = scenario
    everything = [e["EventId"] for e in lookup_events(store)["Events"]]
    assert 50 >= len(everything) > 10
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = lookup_events(store, MaxResults=3, NextToken=token)
        assert len(page["Events"]) <= 3
        seen += [e["EventId"] for e in page["Events"]]
        pages += 1
        token = page.get("NextToken")
        if token is None:
            break
    assert everything == seen
    assert pages == -(-len(everything) // 3)
    times = [e["EventTime"] for e in lookup_events(store)["Events"]]
    assert times == sorted(times, reverse=True)  # newest first


def test_records_of_other_accounts_are_kept_apart(iam: IdentityStore):
    iam.create_account(B)
    iam.create_user(UserName="in-a")
    with acting_as(f"arn:aws:iam::{B}:root"):
        iam.create_user(UserName="in-b")
    in_a = all_records(iam, account_id=A)
    in_b = all_records(iam, account_id=B)
    assert "in-a" in json.dumps(in_a, default=str)
    assert "in-b" not in json.dumps(in_a, default=str)
    assert ["CreateUser", "CreateAccount"] == names(in_b)


def test_lookup_needs_cloudtrail_lookup_events(store_url: str, iam: IdentityStore):
    iam.create_user(UserName="auditor")
    iam.create_user(UserName="nosy")
    iam.put_user_policy(UserName="auditor", PolicyName="trail", PolicyDocument=doc(allow("cloudtrail:LookupEvents")))
    store = IdentityStore.open(store_url)
    try:
        with acting_as(user_arn("auditor")):
            events = store.lookup_events(MaxResults=3)["Events"]
            assert ["PutUserPolicy", "CreateUser", "CreateUser"] == [e["EventName"] for e in events]
            assert ["CreateUser"] == [r.record["eventName"] for r in store.entity_history("user", "nosy")]
        with acting_as(user_arn("nosy")), pytest.raises(AccessDeniedError, match="cloudtrail:LookupEvents"):
            store.lookup_events()
    finally:
        store.close()


# -- history ---------------------------------------------------------------------------------------------------------


def test_history_follows_an_entity_across_renames_oldest_first(scenario: tuple[IdentityStore, Secrets]):
    store, _ = scenario
    store.remove_user_from_group(GroupName="dev", UserName="alice")
    store.update_user(UserName="alice", NewUserName="alicia")
    store.tag_user(UserName="alicia", Tags=[{"Key": "k", "Value": "v"}])
    history = [r.record for r in entity_history(store, "user", "alice", account_id=A)]
    assert [
        "CreateUser",
        "AddUserToGroup",
        "AttachUserPolicy",
        "CreateAccessKey",
        "CreateLoginProfile",
        "PutUserPolicy",
        "AssumeRole",  # what alice did
        "CreateGroup",  # denied
        "CreateUser",  # failed: the name was taken
        "RemoveUserFromGroup",
        "UpdateUser",
        "TagUser",
    ] == names(history)
    assert {"groupName": "dev", "userName": "alice"} == history[9]["requestParameters"]
    assert {"userName": "alice", "newUserName": "alicia"} == history[10]["requestParameters"]
    assert {"userName": "alicia", "tags": [{"key": "k", "value": "v"}]} == history[11]["requestParameters"]
    group = names([r.record for r in entity_history(store, "group", "dev")])
    assert ["CreateGroup", "AddUserToGroup", "RemoveUserFromGroup"] == group
    role = names([r.record for r in entity_history(store, "role", "deployer")])
    assert ["CreateRole", "PutRolePolicy", "AssumeRole", "CreateUser"] == role
    policy = names([r.record for r in entity_history(store, "policy", READ_ONLY)])
    assert ["AttachUserPolicy"] == policy


# -- the command line ----------------------------------------------------------------------------------------------


@pytest.fixture
def cli_store(store_url: str, capsys) -> str:
    assert 0 == run(capsys, "init", "--account-id", A, "--db", store_url).exit_code
    for args in (
        ("iam", "create-user", "--user-name", "alice"),
        ("iam", "create-group", "--group-name", "dev"),
        ("iam", "add-user-to-group", "--user-name", "alice", "--group-name", "dev"),
        ("iam", "attach-user-policy", "--user-name", "alice", "--policy-arn", READ_ONLY),
    ):
        assert 0 == run(capsys, *args, "--db", store_url).exit_code
    assert 254 == run(capsys, "iam", "create-user", "--user-name", "alice", "--db", store_url).exit_code
    return store_url


def test_lookup_events_json_is_the_lookup_events_shape(cli_store: str, capsys):
    result = run(capsys, "audit", "lookup-events", "--db", cli_store)
    assert 0 == result.exit_code, result.stderr
    events = json.loads(result.stdout)["Events"]
    assert {"EventId", "EventName", "ReadOnly", "EventTime", "EventSource", "Username", "Resources"} <= set(events[0])
    assert ["CreateUser", "AttachUserPolicy", "AddUserToGroup", "CreateGroup", "CreateUser", "CreateAccount"] == [
        e["EventName"] for e in events
    ]
    record = json.loads(events[0]["CloudTrailEvent"])
    assert ("EntityAlreadyExists", "127.0.0.1") == (record["errorCode"], record["sourceIPAddress"])
    assert record["userAgent"].startswith("iamledger-cli/")


def test_lookup_events_flags_as_the_aws_cli(cli_store: str, capsys):
    shorthand = run(
        capsys,
        "audit",
        "lookup-events",
        "--lookup-attributes",
        "AttributeKey=ResourceName,AttributeValue=alice",
        "AttributeKey=EventName,AttributeValue=CreateUser",
        "--db",
        cli_store,
    )
    assert 0 == shorthand.exit_code, shorthand.stderr
    assert 2 == len(json.loads(shorthand.stdout)["Events"])
    as_json = json.dumps([{"AttributeKey": "EventName", "AttributeValue": "AddUserToGroup"}])
    repeated = run(
        capsys,
        "audit",
        "lookup-events",
        "--lookup-attributes",
        as_json,
        "--lookup-attributes",
        "AttributeKey=ResourceType,AttributeValue=AWS::IAM::Group",
        "--start-time",
        "1h",
        "--end-time",
        (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--db",
        cli_store,
    )
    assert 0 == repeated.exit_code, repeated.stderr
    assert ["AddUserToGroup"] == [e["EventName"] for e in json.loads(repeated.stdout)["Events"]]
    first = run(capsys, "audit", "lookup-events", "--max-results", "4", "--db", cli_store)
    page = json.loads(first.stdout)
    assert 4 == len(page["Events"])
    second = run(capsys, "audit", "lookup-events", "--next-token", page["NextToken"], "--db", cli_store)
    rest = json.loads(second.stdout)
    assert "NextToken" not in rest
    assert ["CreateUser", "CreateAccount"] == [e["EventName"] for e in rest["Events"]]
    cut = run(capsys, "audit", "lookup-events", "--max-items", "5", "--page-size", "2", "--db", cli_store)
    cut_page = json.loads(cut.stdout)
    assert 5 == len(cut_page["Events"])
    resumed = run(capsys, "audit", "lookup-events", "--starting-token", cut_page["NextToken"], "--db", cli_store)
    assert ["CreateAccount"] == [e["EventName"] for e in json.loads(resumed.stdout)["Events"]]
    bad = run(
        capsys, "audit", "lookup-events", "--lookup-attributes", "AttributeKey=Nope,AttributeValue=x", "--db", cli_store
    )
    assert 254 == bad.exit_code
    assert "ValidationError" in bad.stderr
    assert "LookupEvents" in bad.stderr
    garbled = run(capsys, "audit", "lookup-events", "--lookup-attributes", "Username=alice", "--db", cli_store)
    assert 255 == garbled.exit_code


def test_lookup_events_jsonl_csv_table_and_text(cli_store: str, capsys):
    jsonl = run(capsys, "audit", "lookup-events", "--output", "jsonl", "--db", cli_store)
    assert 0 == jsonl.exit_code, jsonl.stderr
    lines = jsonl.stdout.splitlines()
    assert 6 == len(lines)
    assert "CreateUser" == json.loads(lines[0])["eventName"]
    assert all(json.loads(line)["eventVersion"] == "1.08" for line in lines)
    as_csv = run(capsys, "audit", "lookup-events", "--output", "csv", "--db", cli_store)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [
        "eventTime",
        "eventName",
        "username",
        "resources",
        "sourceIPAddress",
        "errorCode",
        "requestID",
        "eventID",
    ] == list(rows[0])
    assert ("CreateUser", "root", "AWS::IAM::User=alice", "127.0.0.1", "EntityAlreadyExists") == (
        rows[0]["eventName"],
        rows[0]["username"],
        rows[0]["resources"],
        rows[0]["sourceIPAddress"],
        rows[0]["errorCode"],
    )
    assert "AWS::IAM::Group=dev; AWS::IAM::User=alice" == rows[2]["resources"]
    table = run(capsys, "audit", "lookup-events", "--output", "table", "--db", cli_store)
    assert 0 == table.exit_code
    assert "LookupEvents" in table.stdout
    assert "AddUserToGroup" in table.stdout
    assert "EntityAlreadyExists" in table.stdout
    text = run(capsys, "audit", "lookup-events", "--output", "text", "--db", cli_store)
    assert 0 == text.exit_code
    assert "AttachUserPolicy" in text.stdout
    paged = run(capsys, "audit", "lookup-events", "--output", "jsonl", "--max-results", "2", "--db", cli_store)
    assert 2 == len(paged.stdout.splitlines())
    assert "NextToken: " in paged.stderr


def test_the_other_commands_refuse_the_record_formats(cli_store: str, capsys):
    for fmt in ("jsonl", "csv"):
        result = run(capsys, "iam", "list-users", "--output", fmt, "--db", cli_store)
        assert 2 == result.exit_code
        assert "only available for `iamledger audit lookup-events`" in result.stderr


def test_history_timeline(cli_store: str, capsys):
    text = run(capsys, "audit", "history", "--user-name", "alice", "--output", "text", "--db", cli_store)
    assert 0 == text.exit_code, text.stderr
    lines = text.stdout.splitlines()
    assert 4 == len(lines)
    assert lines[0].split()[1:3] == ["root", "CreateUser"]
    assert "groupName=dev userName=alice" in lines[1]
    assert "policyArn=" + READ_ONLY in lines[2]
    assert "CreateUser (failed)" in lines[3]
    assert "[EntityAlreadyExists] User with name alice already exists." in lines[3]
    table = run(capsys, "audit", "history", "--group-name", "dev", "--output", "table", "--db", cli_store)
    assert 0 == table.exit_code
    assert "History" in table.stdout
    assert "AddUserToGroup" in table.stdout
    as_json = run(capsys, "audit", "history", "--policy-arn", READ_ONLY, "--db", cli_store)
    records = json.loads(as_json.stdout)["Records"]
    assert ["AttachUserPolicy"] == [r["eventName"] for r in records]
    jsonl = run(capsys, "audit", "history", "--user-name", "alice", "--output", "jsonl", "--db", cli_store)
    assert 4 == len(jsonl.stdout.splitlines())
    as_csv = run(capsys, "audit", "history", "--user-name", "alice", "--output", "csv", "--db", cli_store)
    assert 5 == len(as_csv.stdout.splitlines())
    neither = run(capsys, "audit", "history", "--db", cli_store)
    assert 2 == neither.exit_code
    both = run(capsys, "audit", "history", "--user-name", "a", "--group-name", "b", "--db", cli_store)
    assert 2 == both.exit_code


def test_a_denied_cli_call_shows_in_the_trail(cli_store: str, capsys):
    denied = run(capsys, "iam", "create-group", "--group-name", "x", "--as", user_arn("alice"), "--db", cli_store)
    assert 254 == denied.exit_code
    result = run(
        capsys,
        "audit",
        "lookup-events",
        "--lookup-attributes",
        "AttributeKey=Username,AttributeValue=alice",
        "--output",
        "jsonl",
        "--db",
        cli_store,
    )
    (line,) = result.stdout.splitlines()
    record = json.loads(line)
    assert ("CreateGroup", "AccessDenied", "IAMUser") == (
        record["eventName"],
        record["errorCode"],
        record["userIdentity"]["type"],
    )
