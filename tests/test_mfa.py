"""Virtual MFA devices: creation (seed in the vault only), RFC 6238 codes to enable and resync, assignment,
deletion rules, tags, time travel, the audit trail and the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from iamledger.domain.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    IdentityStoreError,
    NoSuchEntityError,
)
from iamledger.domain.mfa import time_step, totp
from iamledger.store import IdentityStore
from tests.clirunner import run

ACCOUNT = "123456789012"


def codes(seed: str, now: datetime) -> tuple[str, str]:
    """Two consecutive codes of a seed, the second being the current one."""
    step = time_step(now)
    return totp(seed, step - 1), totp(seed, step)


def test_totp_matches_rfc_6238_vectors() -> None:
    # RFC 6238 appendix B, SHA-1, seed "12345678901234567890" (8 digits there; the last 6 here)
    import base64

    seed = base64.b32encode(b"12345678901234567890").decode()
    assert totp(seed, 59 // 30) == "287082"
    assert totp(seed, 1111111109 // 30) == "081804"
    assert totp(seed, 1234567890 // 30) == "005924"


def test_create_enable_deactivate_delete(iam: IdentityStore) -> None:
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName="phone", Path="/team/")["VirtualMFADevice"]
    serial = created["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/team/phone"
    seed = created["Base32StringSeed"].decode()
    assert len(seed) == 32
    assert created["QRCodePNG"].startswith(b"\x89PNG")
    iam.create_user(UserName="alice")
    with pytest.raises(IdentityStoreError) as bad:
        iam.enable_mfa_device(
            UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
        )
    assert bad.value.code == "InvalidAuthenticationCode"
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"] == []
    code1, code2 = codes(seed, iam.clock())
    iam.enable_mfa_device(UserName="alice", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    devices = iam.list_mfa_devices(UserName="alice")["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert assigned[0]["User"]["UserName"] == "alice"
    assert "EnableDate" in assigned[0]
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"] == []
    with pytest.raises(EntityAlreadyExistsError):
        iam.enable_mfa_device(
            UserName="alice", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2
        )
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["MFADevices"], summary["MFADevicesInUse"]) == (1, 1)
    with pytest.raises(DeleteConflictError, match="must delete MFA device first"):
        iam.delete_user(UserName="alice")
    with pytest.raises(DeleteConflictError):
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.deactivate_mfa_device(UserName="alice", SerialNumber=serial)
    assert iam.list_mfa_devices(UserName="alice")["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    iam.delete_user(UserName="alice")
    with pytest.raises(NoSuchEntityError, match="doesn't exist"):
        iam.delete_virtual_mfa_device(SerialNumber=serial)


def test_a_code_is_not_accepted_twice_and_resync(iam: IdentityStore) -> None:
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName="phone")["VirtualMFADevice"]
    serial, seed = created["SerialNumber"], created["Base32StringSeed"].decode()
    iam.create_user(UserName="bob")
    now = iam.clock()
    code1, code2 = codes(seed, now)
    iam.enable_mfa_device(UserName="bob", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    with pytest.raises(IdentityStoreError) as replay:
        iam.resync_mfa_device(UserName="bob", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    assert replay.value.code == "InvalidAuthenticationCode"
    later = codes(seed, now + timedelta(hours=3))
    iam.clock = lambda: now + timedelta(hours=3)  # type: ignore[method-assign]
    iam.resync_mfa_device(
        UserName="bob", SerialNumber=serial, AuthenticationCode1=later[0], AuthenticationCode2=later[1]
    )


def test_names_paths_and_errors(iam: IdentityStore) -> None:
    iam.create_virtual_mfa_device(VirtualMFADeviceName="dev")
    iam.create_virtual_mfa_device(VirtualMFADeviceName="dev", Path="/other/")
    with pytest.raises(EntityAlreadyExistsError, match="MFADevice entity at the same path and name already exists."):
        iam.create_virtual_mfa_device(VirtualMFADeviceName="dev")
    serials = [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]]
    assert serials == [f"arn:aws:iam::{ACCOUNT}:mfa/dev", f"arn:aws:iam::{ACCOUNT}:mfa/other/dev"]
    first = iam.list_virtual_mfa_devices(MaxItems=1)
    assert first["IsTruncated"] is True
    second = iam.list_virtual_mfa_devices(Marker=first["Marker"])
    assert [d["SerialNumber"] for d in second["VirtualMFADevices"]] == serials[1:]
    with pytest.raises(IdentityStoreError, match="Invalid Marker"):
        iam.list_virtual_mfa_devices(Marker="100")
    with pytest.raises(NoSuchEntityError):
        iam.enable_mfa_device(
            UserName="nobody", SerialNumber=serials[0], AuthenticationCode1="123456", AuthenticationCode2="123456"
        )


def test_tags_and_time_travel(iam: IdentityStore) -> None:
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="dev", Tags=[{"Key": "team", "Value": "a"}])[
        "VirtualMFADevice"
    ]["SerialNumber"]
    before = iam.lookup_events()["Events"][0]["CloudTrailEvent"]
    position = json.loads(before)["iamledgerPosition"]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "Team", "Value": "b"}])
    tags = iam.list_mfa_device_tags(SerialNumber=serial)["Tags"]
    assert tags == [{"Key": "team", "Value": "a"}, {"Key": "Team", "Value": "b"}]
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["team"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "Team", "Value": "b"}]
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    past = iam.at(position)
    assert [d["SerialNumber"] for d in past.list_virtual_mfa_devices()["VirtualMFADevices"]] == [serial]
    assert past.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "team", "Value": "a"}]


def _all_text(iam: IdentityStore) -> str:
    """Every stored event and every trail record, as text."""
    stored = [repr(n.state) for n in iam.recorder.select_notifications(start=1, limit=10_000)]
    records = [e["CloudTrailEvent"] for e in iam.lookup_events(MaxResults=50)["Events"]]
    return "\n".join(stored + records)


def test_the_seed_is_never_recorded(iam: IdentityStore) -> None:
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName="dev")["VirtualMFADevice"]
    seed = created["Base32StringSeed"].decode()
    iam.create_user(UserName="carol")
    with pytest.raises(IdentityStoreError):
        iam.enable_mfa_device(
            UserName="carol",
            SerialNumber=created["SerialNumber"],
            AuthenticationCode1="000000",
            AuthenticationCode2="999999",
        )
    failed = json.loads(iam.lookup_events()["Events"][0]["CloudTrailEvent"])
    assert (failed["eventName"], failed["errorCode"]) == ("EnableMFADevice", "InvalidAuthenticationCode")
    assert failed["requestParameters"] == {"userName": "carol", "serialNumber": created["SerialNumber"]}
    code1, code2 = codes(seed, iam.clock())
    iam.enable_mfa_device(
        UserName="carol", SerialNumber=created["SerialNumber"], AuthenticationCode1=code1, AuthenticationCode2=code2
    )
    text = _all_text(iam)
    assert seed not in text
    assert code1 not in text.replace(created["SerialNumber"], "")
    names = [e["EventName"] for e in iam.lookup_events()["Events"]]
    assert "CreateVirtualMFADevice" in names
    assert "EnableMFADevice" in names
    record: dict[str, Any] = next(
        json.loads(e["CloudTrailEvent"]) for e in iam.lookup_events()["Events"] if e["EventName"] == "EnableMFADevice"
    )
    assert record["requestParameters"] == {"userName": "carol", "serialNumber": created["SerialNumber"]}


def test_cli(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code == 0
    out = run(capsys, "--db", store_url, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "cli-dev")
    assert out.exit_code == 0, out.stderr
    created = json.loads(out.stdout)["VirtualMFADevice"]
    assert created["SerialNumber"] == f"arn:aws:iam::{ACCOUNT}:mfa/cli-dev"
    seed = created["Base32StringSeed"]
    listed = run(capsys, "--db", store_url, "iam", "list-virtual-mfa-devices")
    assert json.loads(listed.stdout)["VirtualMFADevices"] == [{"SerialNumber": created["SerialNumber"]}]
    assert seed not in listed.stdout + listed.stderr + out.stderr
