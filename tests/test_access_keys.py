"""Access keys of users and of the root user: create, list, update, delete, last use; on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from iamledger import IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import (
    DeleteConflictError,
    LimitExceededError,
    NoSuchEntityError,
    ValidationError,
)
from iamledger.domain.ids import secret_fingerprint
from iamledger.projections.views.access_keys import find_access_key
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"


def as_user(name: str, path: str = "/") -> AuditContext:
    return AuditContext(actor=f"arn:aws:iam::{ACCOUNT}:user{path}{name}", request_id=AuditContext.new_request_id())


def test_create_access_key_returns_the_secret_once_in_boto3_shape(iam: IdentityStore):
    iam.create_user(UserName="alice")
    created = iam.create_access_key(UserName="alice")
    assert_output_shape("iam", "CreateAccessKey", created)
    key = created["AccessKey"]
    assert "alice" == key["UserName"]
    assert key["AccessKeyId"].startswith("AKIA")
    assert 20 == len(key["AccessKeyId"])
    assert 40 == len(key["SecretAccessKey"])
    assert "Active" == key["Status"]
    assert key["SecretAccessKey"] == iam.vault.get_secret(key["AccessKeyId"])

    listed = iam.list_access_keys(UserName="alice")
    assert_output_shape("iam", "ListAccessKeys", listed)
    assert [{"UserName", "AccessKeyId", "Status", "CreateDate"}] == [set(k) for k in listed["AccessKeyMetadata"]]
    assert key["CreateDate"] == listed["AccessKeyMetadata"][0]["CreateDate"]


def test_a_user_has_at_most_two_keys(iam: IdentityStore):
    iam.create_user(UserName="alice")
    iam.create_access_key(UserName="alice")
    second = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="alice", AccessKeyId=second, Status="Inactive")
    with pytest.raises(LimitExceededError, match="Cannot exceed quota for AccessKeysPerUser: 2"):
        iam.create_access_key(UserName="alice")
    assert 2 == len(iam.list_access_keys(UserName="alice")["AccessKeyMetadata"])


def test_update_and_delete_keys(iam: IdentityStore):
    iam.create_user(UserName="alice")
    key_id = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    assert {} == iam.update_access_key(UserName="alice", AccessKeyId=key_id, Status="Inactive")
    assert ["Inactive"] == [k["Status"] for k in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]]
    with iam.engine.connect() as conn:
        row = find_access_key(conn, key_id)
    assert row is not None
    assert ("user", "Inactive", f"arn:aws:iam::{ACCOUNT}:user/alice") == (
        row["owner_kind"],
        row["status"],
        row["owner_arn"],
    )
    with pytest.raises(DeleteConflictError, match="must delete access keys first"):
        iam.delete_user(UserName="alice")

    iam.delete_access_key(UserName="alice", AccessKeyId=key_id)
    assert iam.vault.get_secret(key_id) is None
    assert [] == iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    with iam.engine.connect() as conn:
        assert find_access_key(conn, key_id) is None
    with pytest.raises(NoSuchEntityError, match=f"The Access Key with id {key_id} cannot be found."):
        iam.delete_access_key(UserName="alice", AccessKeyId=key_id)
    iam.delete_user(UserName="alice")


def test_a_key_of_another_user_is_not_found(iam: IdentityStore):
    iam.create_user(UserName="alice")
    iam.create_user(UserName="bob")
    key_id = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    with pytest.raises(NoSuchEntityError, match="The Access Key with id"):
        iam.update_access_key(UserName="bob", AccessKeyId=key_id, Status="Inactive")
    with pytest.raises(NoSuchEntityError, match="The user with name carol cannot be found."):
        iam.list_access_keys(UserName="carol")


def test_an_invalid_status_is_a_validation_error(iam: IdentityStore):
    iam.create_user(UserName="alice")
    key_id = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    with pytest.raises(ValidationError, match="enum value set"):
        iam.update_access_key(UserName="alice", AccessKeyId=key_id, Status="Dormant")


def test_without_a_user_name_the_caller_acts_on_its_own_keys(iam: IdentityStore):
    iam.create_user(UserName="alice", Path="/eng/")
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    with bound_audit_context(as_user("alice", "/eng/")):
        created = iam.create_access_key()["AccessKey"]
        assert "alice" == created["UserName"]
        assert [created["AccessKeyId"]] == [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]]
        iam.update_access_key(AccessKeyId=created["AccessKeyId"], Status="Inactive")
        iam.delete_access_key(AccessKeyId=created["AccessKeyId"])
        assert [] == iam.list_access_keys()["AccessKeyMetadata"]


def test_the_root_caller_manages_root_access_keys(iam: IdentityStore):
    root_keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert 1 == len(root_keys)  # the one `init` created
    assert "root" == root_keys[0]["UserName"]
    result = iam.create_access_key()
    assert_output_shape("iam", "CreateAccessKey", result)
    created = result["AccessKey"]
    with pytest.raises(LimitExceededError, match="AccessKeysPerUser: 2"):
        iam.create_access_key()
    iam.projector.catch_up()
    with iam.engine.connect() as conn:
        row = find_access_key(conn, created["AccessKeyId"])
    assert row is not None
    assert ("root", f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT) == (row["owner_kind"], row["owner_arn"], row["account_id"])
    iam.update_access_key(AccessKeyId=created["AccessKeyId"], Status="Inactive")
    iam.delete_access_key(AccessKeyId=created["AccessKeyId"])
    assert iam.vault.get_secret(created["AccessKeyId"]) is None
    assert [root_keys[0]["AccessKeyId"]] == [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]]


def test_a_role_session_must_name_the_user(iam: IdentityStore):
    iam.create_user(UserName="alice")
    session = AuditContext(
        actor=f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/s1", request_id=AuditContext.new_request_id()
    )
    with bound_audit_context(session), pytest.raises(ValidationError, match="Must specify userName"):
        iam._key_owner(ACCOUNT, None)


def test_last_used_is_na_until_used_then_throttled(iam: IdentityStore, monkeypatch: pytest.MonkeyPatch):
    iam.create_user(UserName="alice")
    key_id = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    never = iam.get_access_key_last_used(AccessKeyId=key_id)
    assert_output_shape("iam", "GetAccessKeyLastUsed", never)
    assert {"UserName": "alice", "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}} == never

    assert iam.record_access_key_use(key_id, "iam", "us-east-1") is True
    assert iam.record_access_key_use(key_id, "iam", "us-east-1") is False  # within the hour: nothing new
    used = iam.get_access_key_last_used(AccessKeyId=key_id)
    assert_output_shape("iam", "GetAccessKeyLastUsed", used)
    assert ("iam", "us-east-1") == (used["AccessKeyLastUsed"]["ServiceName"], used["AccessKeyLastUsed"]["Region"])
    assert "LastUsedDate" in used["AccessKeyLastUsed"]

    assert iam.record_access_key_use(key_id, "sts", "eu-west-1") is True  # another service: recorded
    later = iam.clock() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(iam, "clock", lambda: later)
    assert iam.record_access_key_use(key_id, "sts", "eu-west-1") is True
    assert iam.record_access_key_use("AKIANOSUCHKEY0000000", "sts", "eu-west-1") is False
    assert "sts" == iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]["ServiceName"]


def test_root_key_use_is_recorded_too(iam: IdentityStore):
    root_key = iam.list_access_keys()["AccessKeyMetadata"][0]["AccessKeyId"]
    assert iam.record_access_key_use(root_key, "iam", "us-east-1") is True
    result = iam.get_access_key_last_used(AccessKeyId=root_key)
    assert "iam" == result["AccessKeyLastUsed"]["ServiceName"]


def test_unknown_key_last_used_is_no_such_entity(iam: IdentityStore):
    with pytest.raises(NoSuchEntityError):
        iam.get_access_key_last_used(AccessKeyId="AKIAAAAAAAAAAAAAAAAA")


def test_renaming_a_user_renames_its_keys_owner(iam: IdentityStore):
    iam.create_user(UserName="alice")
    key_id = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.update_user(UserName="alice", NewUserName="alicia", NewPath="/staff/")
    assert ["alicia"] == [k["UserName"] for k in iam.list_access_keys(UserName="alicia")["AccessKeyMetadata"]]
    iam.projector.catch_up()
    with iam.engine.connect() as conn:
        row = find_access_key(conn, key_id)
    assert row is not None
    assert f"arn:aws:iam::{ACCOUNT}:user/staff/alicia" == row["owner_arn"]


def test_events_carry_the_key_id_and_fingerprint_only(iam: IdentityStore):
    iam.create_user(UserName="alice")
    created = iam.create_access_key(UserName="alice")["AccessKey"]
    user = iam.repository.get(iam._name_index(ACCOUNT, "user", "alice").entity_id)
    key = user.access_keys[created["AccessKeyId"]]
    assert secret_fingerprint(created["SecretAccessKey"]) == key.secret_fingerprint
    for notification in iam.recorder.select_notifications(start=1, limit=10_000):
        assert created["SecretAccessKey"].encode() not in notification.state
