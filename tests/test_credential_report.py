"""The credential report (GenerateCredentialReport / GetCredentialReport) and sts:GetAccessKeyInfo."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import IdentityStoreError
from iamledger.services.credential_report import COLUMNS
from iamledger.services.sts import account_of_key_id
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"


def test_no_report_before_one_is_generated(iam: IdentityStore) -> None:
    with pytest.raises(IdentityStoreError, match="operation: Credential report not present") as caught:
        iam.get_credential_report()
    assert caught.value.code == "ReportNotPresent"
    assert caught.value.http_status == 410


def test_generation_starts_then_is_complete(iam: IdentityStore) -> None:
    first = iam.generate_credential_report()
    assert_output_shape("iam", "GenerateCredentialReport", first)
    assert first["State"] == "STARTED"
    assert iam.generate_credential_report() == {"State": "COMPLETE"}


def test_the_report_in_aws_columns(iam: IdentityStore) -> None:
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-9")
    key1 = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="alice", AccessKeyId=key1, Status="Inactive")
    iam.create_access_key(UserName="alice")
    iam.create_user(UserName="bob")
    iam.generate_credential_report()
    result = iam.get_credential_report()
    assert_output_shape("iam", "GetCredentialReport", result)
    assert result["ReportFormat"] == "text/csv"
    text = result["Content"].decode("utf-8")
    assert text.split("\n")[0] == ",".join(COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["user"] for r in rows] == ["<root_account>", "alice", "bob"]
    root, alice, bob = rows
    assert root["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert root["password_enabled"] == "not_supported"
    assert alice["arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert alice["password_enabled"] == "true"
    assert alice["password_last_used"] == "no_information"
    assert alice["password_last_changed"].endswith("+00:00")
    assert alice["password_next_rotation"] == "N/A"
    assert alice["access_key_1_active"] == "false"
    assert alice["access_key_1_last_used_date"] == "N/A"
    assert alice["access_key_2_active"] == "true"
    assert alice["cert_1_active"] == "false"
    assert bob["password_enabled"] == "false"
    assert bob["password_last_used"] == "N/A"
    assert bob["access_key_1_active"] == "false"
    assert bob["access_key_1_last_rotated"] == "N/A"
    assert "Correct-Horse-9" not in text


def test_a_report_expires_after_four_hours(iam: IdentityStore, monkeypatch: pytest.MonkeyPatch) -> None:
    iam.generate_credential_report()
    later = iam.clock() + timedelta(hours=4, seconds=1)
    monkeypatch.setattr(iam, "clock", lambda: later)
    with pytest.raises(IdentityStoreError, match="operation: Credential report expired") as caught:
        iam.get_credential_report()
    assert caught.value.code == "ReportExpired"
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.get_credential_report()["GeneratedTime"] >= later - timedelta(seconds=5)


def test_the_trail_records_the_generation(iam: IdentityStore) -> None:
    iam.generate_credential_report()
    records = [json.loads(e["CloudTrailEvent"]) for e in iam.lookup_events()["Events"]]
    assert "GenerateCredentialReport" in [r["eventName"] for r in records]


def test_access_key_info(iam: IdentityStore) -> None:
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]["AccessKeyId"]
    result = iam.get_access_key_info(AccessKeyId=key)
    assert_output_shape("sts", "GetAccessKeyInfo", result)
    assert result == {"Account": ACCOUNT}
    # A key the store does not know: the account its id encodes, as AWS answers.
    assert iam.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A") == {"Account": "609629065308"}
    assert account_of_key_id("AKIA") is None
