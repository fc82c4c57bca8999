"""Importing an AWS account's authorization details as events, re-importing, successive dumps, bad files, export."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from iamledger.domain.errors import IdentityStoreError
from iamledger.store import IdentityStore
from tests.clirunner import run

ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)
EXAMPLE = ROOT.parent / "shared" / "data" / "authorization-details-example.json"
if not EXAMPLE.exists():  # the CI copies shared/ beside the clone; a checkout elsewhere may not have it
    EXAMPLE = Path("/work/shared/data/authorization-details-example.json")

ACCOUNT = "111122223333"
ARN = f"arn:aws:iam::{ACCOUNT}"
LIST_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def _doc(*actions: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def small_dump() -> dict[str, Any]:
    """A consistent dump of one account: two users (one with a non-AWS id), a group, a role with an instance
    profile, a customer policy with two versions (v2 the default) and an AWS managed policy."""
    return {
        "UserDetailList": [
            {
                "Path": "/",
                "UserName": "alice",
                "UserId": "AIDAALICE00000000001",
                "Arn": f"{ARN}:user/alice",
                "CreateDate": "2021-03-01 10:00:00+00:00",
                "UserPolicyList": [{"PolicyName": "own", "PolicyDocument": _doc("s3:ListAllMyBuckets")}],
                "GroupList": ["devs"],
                "AttachedManagedPolicies": [{"PolicyName": "deploy", "PolicyArn": f"{ARN}:policy/team/deploy"}],
                "Tags": [{"Key": "team", "Value": "blue"}],
            },
            {
                "Path": "/ops/",
                "UserName": "bob",
                "UserId": "bob",  # not in AWS's format: kept as given
                "Arn": f"{ARN}:user/ops/bob",
                "CreateDate": "2022-01-02T03:04:05Z",
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "PermissionsBoundary": {
                    "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                    "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                },
                "Tags": [],
            },
        ],
        "GroupDetailList": [
            {
                "Path": "/",
                "GroupName": "devs",
                "GroupId": "AGPADEVS000000000001",
                "Arn": f"{ARN}:group/devs",
                "CreateDate": "2021-02-01 09:00:00+00:00",
                "GroupPolicyList": [],
                "AttachedManagedPolicies": [
                    {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
                ],
            }
        ],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "web",
                "RoleId": "AROAWEB0000000000001",
                "Arn": f"{ARN}:role/web",
                "CreateDate": "2020-05-05 05:05:05+00:00",
                "AssumeRolePolicyDocument": TRUST,
                "InstanceProfileList": [
                    {
                        "Path": "/",
                        "InstanceProfileName": "web",
                        "InstanceProfileId": "AIPAWEB0000000000001",
                        "Arn": f"{ARN}:instance-profile/web",
                        "CreateDate": "2020-05-05 05:06:00+00:00",
                        "Roles": [
                            {
                                "Path": "/",
                                "RoleName": "web",
                                "RoleId": "AROAWEB0000000000001",
                                "Arn": f"{ARN}:role/web",
                                "CreateDate": "2020-05-05 05:05:05+00:00",
                                "AssumeRolePolicyDocument": TRUST,
                            }
                        ],
                    }
                ],
                "RolePolicyList": [],
                "AttachedManagedPolicies": [{"PolicyName": "deploy", "PolicyArn": f"{ARN}:policy/team/deploy"}],
                "Tags": [],
                "RoleLastUsed": {"LastUsedDate": "2024-06-01 12:00:00+00:00", "Region": "eu-west-1"},
            }
        ],
        "Policies": [
            {
                "PolicyName": "deploy",
                "PolicyId": "ANPADEPLOY0000000001",
                "Arn": f"{ARN}:policy/team/deploy",
                "Path": "/team/",
                "DefaultVersionId": "v2",
                "AttachmentCount": 2,
                "PermissionsBoundaryUsageCount": 0,
                "IsAttachable": True,
                "CreateDate": "2020-01-01 00:00:00+00:00",
                "UpdateDate": "2020-02-01 00:00:00+00:00",
                "PolicyVersionList": [  # newest first, as AWS lists them
                    {
                        "Document": _doc("ec2:Describe*", "ecs:UpdateService"),
                        "VersionId": "v2",
                        "IsDefaultVersion": True,
                        "CreateDate": "2020-02-01 00:00:00+00:00",
                    },
                    {
                        "Document": _doc("ec2:Describe*"),
                        "VersionId": "v1",
                        "IsDefaultVersion": False,
                        "CreateDate": "2020-01-01 00:00:00+00:00",
                    },
                ],
            }
        ],
    }


def _normal(value: Any) -> Any:
    """``value`` with every date as one ISO notation, for comparing documents whatever their date notation."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] in {" ", "T"}:
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return value


def _by_arn(document: dict[str, Any], account: str, *, ignore: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """The dump's entities of ``account`` (and the AWS managed policies they use), by ARN, dates normalised."""
    found: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for key in LIST_KEYS[:3]:
        for entity in document[key]:
            if entity["Arn"].split(":")[4] == account:
                found[entity["Arn"]] = _normal({k: v for k, v in entity.items() if k not in ignore})
                used |= {a["PolicyArn"] for a in entity.get("AttachedManagedPolicies", [])}
                if entity.get("PermissionsBoundary"):
                    used.add(entity["PermissionsBoundary"]["PermissionsBoundaryArn"])
    for policy in document["Policies"]:
        owner = policy["Arn"].split(":")[4]
        if owner == account or (owner == "aws" and policy["Arn"] in used):
            found[policy["Arn"]] = _normal({k: v for k, v in policy.items() if k not in ignore})
    return found


def _same(exported: dict[str, Any], dump: dict[str, Any], account: str, ignore: tuple[str, ...] = ()) -> bool:
    """Whether an export holds the dump's entities of ``account``, member by member (key order and date notation
    aside); AWS managed policies the dump does not list (the catalogue has them) are not compared."""
    wanted = _by_arn(dump, account, ignore=ignore)
    found = {
        arn: entity
        for arn, entity in _by_arn(exported, account, ignore=ignore).items()
        if not arn.startswith("arn:aws:iam::aws:") or arn in wanted
    }
    assert found == wanted
    return True


def _export(store: IdentityStore, account: str, at: str | None = None) -> dict[str, Any]:
    with store.acting(account):
        source: Any = store if at is None else store.at(at)
        result: dict[str, Any] = {key: [] for key in LIST_KEYS}
        marker = None
        while True:
            page = source.get_account_authorization_details(**({"Marker": marker} if marker else {}))
            for key in LIST_KEYS:
                result[key] += page[key]
            marker = page.get("Marker")
            if not page.get("IsTruncated"):
                return result


def _head(store: IdentityStore) -> int:
    return store.recorder.max_notification_id() or 0


def test_a_dump_imports_and_exports_back_equivalent(store):
    dump = small_dump()
    summary = store.import_authorization_details(dump, source="small.json")
    assert summary["Accounts"] == [ACCOUNT]
    assert summary["Changes"]["UsersCreated"] == 2
    assert summary["Changes"]["PoliciesCreated"] == 1
    assert summary["CreatedAccounts"][0]["Account"]["AccountId"] == ACCOUNT
    exported = _export(store, ACCOUNT)
    assert _same(exported, dump, ACCOUNT)
    with store.acting(ACCOUNT):
        user = store.get_user(UserName="bob")["User"]
        assert user["UserId"] == "bob"
        assert user["CreateDate"].isoformat() == "2022-01-02T03:04:05+00:00"
        assert store.get_role(RoleName="web")["Role"]["RoleLastUsed"]["Region"] == "eu-west-1"
        versions = store.list_policy_versions(PolicyArn=f"{ARN}:policy/team/deploy")["Versions"]
        assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v2", True), ("v1", False)]
        decision = store.simulate_principal_policy(
            PolicySourceArn=f"{ARN}:user/alice", ActionNames=["ecs:UpdateService", "iam:CreateUser"]
        )["EvaluationResults"]
        assert [r["EvalDecision"] for r in decision] == ["allowed", "implicitDeny"]


def test_importing_the_same_dump_again_changes_nothing(store):
    dump = small_dump()
    store.import_authorization_details(dump)
    head = _head(store)
    again = store.import_authorization_details(copy.deepcopy(dump))
    assert again["ChangeCount"] == 0
    assert again["Events"] == 0
    assert _head(store) == head


def test_a_newer_dump_records_only_the_differences_as_ordinary_events(store):
    first = small_dump()
    store.import_authorization_details(first)
    before = _head(store)
    newer = copy.deepcopy(first)
    alice = newer["UserDetailList"][0]
    alice["GroupList"] = []  # left the group
    alice["Tags"] = [{"Key": "team", "Value": "red"}]
    newer["UserDetailList"].pop(1)  # bob deleted
    newer["UserDetailList"].append(
        {
            "Path": "/",
            "UserName": "carol",
            "UserId": "AIDACAROL00000000001",
            "Arn": f"{ARN}:user/carol",
            "CreateDate": "2024-01-01 00:00:00+00:00",
            "GroupList": ["devs"],
            "AttachedManagedPolicies": [],
            "Tags": [],
        }
    )
    policy = newer["Policies"][0]
    policy["PolicyVersionList"][0]["IsDefaultVersion"] = False
    policy["PolicyVersionList"].insert(
        0,
        {"Document": _doc("*"), "VersionId": "v3", "IsDefaultVersion": True, "CreateDate": "2024-02-02 00:00:00+00:00"},
    )
    policy["DefaultVersionId"] = "v3"
    policy["UpdateDate"] = "2024-02-02 00:00:00+00:00"
    summary = store.import_authorization_details(newer, source="day2.json")
    assert summary["Changes"] == {
        "MembershipsAdded": 1,
        "MembershipsRemoved": 1,
        "PolicyVersionsCreated": 1,
        "TagsSet": 1,
        "UsersCreated": 1,
        "UsersDeleted": 1,
    }
    notifications = store.recorder.select_notifications(start=before + 1, limit=1000)
    topics = [notification.topic.split(":")[-1] for notification in notifications]
    assert "User.RemovedFromGroup" in topics and "Group.MemberRemoved" in topics
    assert "ManagedPolicy.VersionCreated" in topics and "User.Deleted" in topics
    assert topics[-1] == "ImportRecord.Recorded"
    # Both dumps answer: the store now, and as of the moment before the second import.
    assert _same(_export(store, ACCOUNT), newer, ACCOUNT)
    assert _same(_export(store, ACCOUNT, at=f"position:{before}"), first, ACCOUNT)
    with store.acting(ACCOUNT):
        allowed = store.simulate_principal_policy(PolicySourceArn=f"{ARN}:user/alice", ActionNames=["iam:CreateUser"])
        assert allowed["EvaluationResults"][0]["EvalDecision"] == "allowed"  # v3 allows everything


def test_every_event_of_an_import_carries_its_request_id_and_the_record_names_the_file(store):
    raw = json.dumps(small_dump()).encode()
    digest = hashlib.sha256(raw).hexdigest()
    summary = store.import_authorization_details(json.loads(raw), source="small.json", sha256=digest)
    events = [store.mapper.to_domain_event(n) for n in store.recorder.select_notifications(start=1, limit=10_000)]
    imported = [e for e in events if getattr(e, "user_agent", None) == "iamledger-import"]
    assert len(imported) == summary["Events"]
    assert {e.request_id for e in imported} == {summary["RequestId"]}
    record = imported[-1]
    assert (record.source, record.sha256, record.changes["UsersCreated"]) == ("small.json", digest, 2)
    page = store.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ImportAuthorizationDetails"}]
    )
    trail = json.loads(page["Events"][0]["CloudTrailEvent"])
    assert trail["requestParameters"]["sha256"] == digest


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["UserDetailList"][1].update(CreateDate="yesterday"), "$.UserDetailList[1].CreateDate"),
        (lambda d: d["UserDetailList"][1].update(CreateDate=1e20), "$.UserDetailList[1].CreateDate"),  # after 9999
        (lambda d: d["UserDetailList"][1].update(CreateDate="0001-01-01T00:00:00+05:00"), "$.UserDetailList[1]"),
        (lambda d: d["UserDetailList"][0]["GroupList"].append("nobody"), "$.UserDetailList[0].GroupList"),
        (lambda d: d["RoleDetailList"][0].update(AssumeRolePolicyDocument="{"), "$.RoleDetailList[0].Assume"),
        (lambda d: d["Policies"][0].update(DefaultVersionId="v9"), "$.Policies[0].DefaultVersionId"),
        (lambda d: d["GroupDetailList"][0].update(Arn=f"{ARN}:group/other"), "$.GroupDetailList[0].Arn"),
        (lambda d: d.update(Surprise=[]), "$.Surprise"),
        (lambda d: d["UserDetailList"][0].pop("UserName"), "$.UserDetailList[0].UserName: missing"),
    ],
)
def test_a_bad_file_names_the_json_path_and_writes_nothing(store, change, path):
    store.import_authorization_details(small_dump())
    head = _head(store)
    bad = small_dump()
    change(bad)
    bad["UserDetailList"][0]["Tags"] = []  # would be a change, were the file accepted
    with pytest.raises(IdentityStoreError) as raised:
        store.import_authorization_details(bad)
    assert raised.value.code == "MalformedAuthorizationDetails"
    assert raised.value.message.startswith(path)
    assert _head(store) == head


def test_an_import_collects_garbage_less_often_and_restores_the_thresholds(store, monkeypatch):
    import gc

    from iamledger.services import importer

    seen: list[tuple[int, int, int]] = []
    read_dump = importer.read_dump
    monkeypatch.setattr(importer, "read_dump", lambda document: seen.append(gc.get_threshold()) or read_dump(document))
    before = gc.get_threshold()
    store.import_authorization_details(small_dump())
    bad = small_dump()
    bad["UserDetailList"][0].pop("UserName")
    with pytest.raises(IdentityStoreError):
        store.import_authorization_details(bad)
    assert gc.get_threshold() == before
    assert [t[0] for t in seen] == [max(before[0], importer.GC_THRESHOLD)] * 2
    assert [t[1:] for t in seen] == [before[1:]] * 2


def test_a_list_of_pages_imports_like_one_response(store):
    dump = small_dump()
    pages = [
        {"UserDetailList": dump["UserDetailList"], "IsTruncated": True, "Marker": "x"},
        {key: dump[key] for key in LIST_KEYS[1:]} | {"IsTruncated": False},
    ]
    store.import_authorization_details(pages)
    assert _same(_export(store, ACCOUNT), dump, ACCOUNT)


@pytest.mark.slow
def test_the_real_example_dump_round_trips(store):
    """The real dump in shared/data (two accounts, ids not in AWS's format) exports back equivalent. Its usage
    counts were taken across both accounts, so they are compared with the counts of its own attachments."""
    if not EXAMPLE.exists():
        pytest.skip(f"{EXAMPLE} is not on this machine")
    dump = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    summary = store.import_authorization_details(dump, source=EXAMPLE.name)
    assert summary["Contents"] == {"Users": 44, "Groups": 5, "Roles": 78, "Policies": 46, "AWSManagedPolicies": 38}
    counts = ("AttachmentCount", "PermissionsBoundaryUsageCount")
    for account in summary["Accounts"]:
        exported = _export(store, account)
        assert _same(exported, dump, account, ignore=counts)
        attached: dict[str, int] = {}
        for key in LIST_KEYS[:3]:
            for entity in dump[key]:
                if entity["Arn"].split(":")[4] == account:
                    for policy in entity.get("AttachedManagedPolicies", []):
                        attached[policy["PolicyArn"]] = attached.get(policy["PolicyArn"], 0) + 1
        for policy in exported["Policies"]:
            assert policy["AttachmentCount"] == attached.get(policy["Arn"], 0), policy["Arn"]
    assert store.import_authorization_details(dump)["ChangeCount"] == 0


def test_the_cli_imports_a_file_and_exports_it(capsys, store_url, tmp_path):
    path = tmp_path / "account.json"
    path.write_text(json.dumps(small_dump()), encoding="utf-8")
    imported = run(capsys, "--db", store_url, "import", "authorization-details", str(path))
    assert imported.exit_code == 0, imported.stderr
    summary = json.loads(imported.stdout)
    assert summary["Sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary["Changes"]["RolesCreated"] == 1
    again = run(capsys, "--db", store_url, "import", "authorization-details", str(path))
    assert json.loads(again.stdout)["ChangeCount"] == 0
    exported = run(
        capsys, "--db", store_url, "--account-id", ACCOUNT, "export", "authorization-details", "--filter", "User"
    )
    assert exported.exit_code == 0, exported.stderr
    users = json.loads(exported.stdout)
    assert [u["UserName"] for u in users["UserDetailList"]] == ["alice", "bob"]
    assert users["RoleDetailList"] == [] and users["Policies"] == []


def test_the_cli_refuses_a_file_that_is_not_json(capsys, store_url, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    result = run(capsys, "--db", store_url, "import", "authorization-details", str(path))
    assert result.exit_code == 254
    assert "MalformedAuthorizationDetails" in result.stderr and "$: the file is not JSON" in result.stderr


def test_the_import_command_leaves_the_trail_current(capsys, store_url, tmp_path):
    """The import is thousands of events at once: `iamledger import` projects them into the trail before it
    returns, so the first audit question after it has nothing to catch up (the library's import leaves that to the
    trail's next reader, as any other write does)."""
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(small_dump()))
    assert run(capsys, "--db", store_url, "import", "authorization-details", str(path)).exit_code == 0
    with IdentityStore.open(store_url, create=False) as store:
        assert store.trail.positions()[0] == _head(store) > 0
        assert store.trail.verify()["Consistent"]
