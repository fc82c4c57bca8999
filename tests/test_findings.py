"""``audit findings``: per principal, Cloudsplaining's categories and PMapper's admin detection, decided by the real
evaluator (boundaries, denies of other policies, conditions), as of any moment, with ``--since``/``--fail-on``."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from iamledger import IdentityStore
from iamledger.audit.findings import catalogue
from iamledger.domain.errors import ValidationError
from tests.clirunner import run

ACCOUNT = "123456789012"
ARN = f"arn:aws:iam::{ACCOUNT}"
ROOT = Path(__file__).resolve().parent
# Under CI's wheel run the tests are copied away from the sources; IAMLEDGER_SOURCE_ROOT points back at them.
SOURCES = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or ROOT.parent)
EXAMPLE = SOURCES / "iamledger" / "data" / "example-authorization-details.json"
RECORDED = ROOT / "data" / "cloudsplaining-0.9.1-example-privesc.json"
DOCS = SOURCES / "docs" / "findings.md"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(*actions: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource, **extra}


def _user(store: IdentityStore, name: str, *statements: dict[str, Any]) -> str:
    store.create_user(UserName=name)
    store.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(*statements))
    return f"{ARN}:user/{name}"


def _by_principal(answer: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Per principal, (category, method) of its methods and admin check, (category, action) of its other actions."""
    return {
        p["Arn"]: {
            (f["Category"], name) for f in p["Findings"] for name in ([f["Method"]] if "Method" in f else f["Actions"])
        }
        for p in answer["Principals"]
    }


def _head(store: IdentityStore) -> int:
    return store.recorder.max_notification_id() or 0


def test_each_category_is_found_with_its_policy_and_statement(iam):
    keys = _user(iam, "keys", _allow("iam:CreateAccessKey"))
    data = _user(iam, "data", _allow("s3:GetObject", "secretsmanager:GetSecretValue"))
    exposure = _user(iam, "exposure", _allow("s3:PutBucketPolicy"))
    creds = _user(iam, "creds", _allow("ecr:GetAuthorizationToken"))
    infra = _user(iam, "infra", _allow("ec2:TerminateInstances"))
    scoped = _user(iam, "scoped", _allow("s3:GetObject", resource="arn:aws:s3:::one/*"))
    found = _by_principal(iam.audit_findings())
    assert ("PrivilegeEscalation", "CreateAccessKey") in found[keys]
    assert {("DataExfiltration", "s3:getobject"), ("DataExfiltration", "secretsmanager:getsecretvalue")} <= found[data]
    assert ("ResourceExposure", "s3:putbucketpolicy") in found[exposure]
    assert ("CredentialsExposure", "ecr:getauthorizationtoken") in found[creds]
    assert found[infra] == {("InfrastructureModification", "ec2:terminateinstances")}
    assert scoped not in found  # resource constraints: no finding, as in Cloudsplaining
    finding = next(p for p in iam.audit_findings()["Principals"] if p["Arn"] == keys)["Findings"]
    escalation = next(f for f in finding if f["Category"] == "PrivilegeEscalation")
    assert escalation["Actions"] == ["iam:createaccesskey"]
    assert escalation["Policies"] == [
        {"PolicyName": "p", "PolicyType": "user", "Statement": 0}  # it grants all the finding's actions
    ]


def test_admin_is_pmappers_definition(iam):
    star = _user(iam, "star", _allow("*"))
    self_put = _user(iam, "selfput", _allow("iam:PutUserPolicy", resource=f"{ARN}:user/selfput"))
    other_attach = _user(
        iam,
        "attacher",
        _allow(
            "iam:AttachUserPolicy",
            Condition={"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}},
        ),
    )
    answer = {p["Arn"]: p for p in iam.audit_findings()["Principals"]}
    assert answer[star]["Admin"] and answer[self_put]["Admin"]
    admin = next(f for f in answer[self_put]["Findings"] if f["Category"] == "Admin")
    assert admin["Method"] == "PutOwnInlinePolicy" and admin["Resources"] == [self_put]
    assert other_attach not in answer or not answer[other_attach]["Admin"]  # may attach ReadOnlyAccess only


def test_a_boundary_a_deny_elsewhere_and_a_condition_remove_what_cloudsplaining_reports(iam):
    _user(iam, "bounded", _allow("iam:CreateAccessKey"))
    iam.create_policy(PolicyName="only-s3", PolicyDocument=_doc(_allow("s3:ListBucket")))
    iam.put_user_permissions_boundary(UserName="bounded", PermissionsBoundary=f"{ARN}:policy/only-s3")
    _user(iam, "denied", _allow("iam:CreateAccessKey"))
    iam.create_policy(PolicyName="deny-all", PolicyDocument=_doc({"Effect": "Deny", "Action": "*", "Resource": "*"}))
    iam.attach_user_policy(UserName="denied", PolicyArn=f"{ARN}:policy/deny-all")
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    _user(iam, "mfa", _allow("iam:CreateAccessKey", Condition=mfa))
    found = _by_principal(iam.audit_findings())
    for name in ("bounded", "denied", "mfa"):
        assert f"{ARN}:user/{name}" not in found


def test_a_method_made_of_two_policies_is_found(iam):
    # Cloudsplaining matches a method's actions within one policy; the principal holds them across two
    arn = _user(iam, "split", _allow("iam:PassRole"))
    iam.put_user_policy(UserName="split", PolicyName="q", PolicyDocument=_doc(_allow("ec2:RunInstances")))
    finding = next(
        f
        for f in next(p for p in iam.audit_findings()["Principals"] if p["Arn"] == arn)["Findings"]
        if f.get("Method") == "CreateEC2WithExistingIP"
    )
    assert [p["PolicyName"] for p in finding["Policies"]] == ["p", "q"]


def test_since_and_as_of_a_past_moment(iam):
    old = _user(iam, "old", _allow("iam:CreateAccessKey"))
    before = _head(iam)
    new = _user(iam, "new", _allow("iam:CreateLoginProfile"))
    iam.delete_user_policy(UserName="old", PolicyName="p")
    assert set(_by_principal(iam.audit_findings(At=f"position:{before}"))) == {old}
    assert set(_by_principal(iam.audit_findings())) == {new}
    since = iam.audit_findings(Since=f"position:{before}")
    assert set(_by_principal(since)) == {new}
    assert ("PrivilegeEscalation", "CreateLoginProfile") in _by_principal(since)[new]
    assert since["Since"]["Position"] == before
    assert iam.audit_findings(At=f"position:{before}", Since=f"position:{before}")["Principals"] == []
    with pytest.raises(ValidationError, match="after the At moment"):
        iam.audit_findings(At=f"position:{before}", Since=f"position:{before + 1}")


def test_a_principal_made_again_under_the_same_name_is_new(iam):
    arn = _user(iam, "again", _allow("iam:CreateAccessKey"))
    before = _head(iam)
    iam.delete_user_policy(UserName="again", PolicyName="p")
    iam.delete_user(UserName="again")
    _user(iam, "again", _allow("iam:CreateAccessKey"))
    since = iam.audit_findings(Since=f"position:{before}")
    assert set(_by_principal(since)) == {arn}
    assert since["Principals"][0]["Id"] == iam.get_user(UserName="again")["User"]["UserId"]


def test_cli_gate_fails_on_new_findings_only(iam, store_url, capsys):
    _user(iam, "old", _allow("iam:CreateAccessKey"))
    before = _head(iam)
    base = ("audit", "findings", "--db", store_url, "--account-id", ACCOUNT)
    quiet = run(capsys, *base, "--since", f"position:{before}", "--fail-on", "new")
    assert quiet.exit_code == 0, quiet.stderr
    assert json.loads(quiet.stdout)["Principals"] == []
    assert run(capsys, *base, "--fail-on", "any", "--output", "table").exit_code == 1
    _user(iam, "new", _allow("iam:UpdateLoginProfile"))
    gate = run(capsys, *base, "--since", f"position:{before}", "--fail-on", "new", "--output", "jsonl")
    assert gate.exit_code == 1
    rows = [json.loads(line) for line in gate.stdout.splitlines()]
    assert {r["Arn"] for r in rows} == {f"{ARN}:user/new"}
    assert [r["Method"] for r in rows if r["Category"] == "PrivilegeEscalation"] == ["UpdateLoginProfile"]
    usage = run(capsys, *base, "--fail-on", "new")
    assert usage.exit_code == 2 and "--fail-on new needs --since" in usage.stderr
    query = run(capsys, *base, "--query", "Counts.PrivilegeEscalation")
    assert (query.exit_code, query.stdout.strip()) == (0, "2")


def _documented_differences() -> dict[str, str]:
    """The principals of docs/findings.md's table of differences, by ARN, with the reason given."""
    rows = re.findall(r"^\| `(arn:aws:iam::[^`]+)` \| ([^|]+) \| ([^|]+) \|", DOCS.read_text(), re.MULTILINE)
    return {arn: reason.strip() for arn, _what, reason in rows}


def _privesc_on_example(store: IdentityStore) -> dict[str, set[str]]:
    summary = store.import_authorization_details(json.loads(EXAMPLE.read_text()), source="example.json")
    ours: dict[str, set[str]] = {}
    for account in summary["Accounts"]:
        with store.acting(account):
            for principal in store.audit_findings()["Principals"]:
                ours[principal["Arn"]] = {
                    f["Method"] for f in principal["Findings"] if f["Category"] == "PrivilegeEscalation"
                }
    return ours


def _compare(recorded: dict[str, dict[str, list[str]]], ours: dict[str, set[str]]) -> None:
    explained = _documented_differences()
    for arn, methods in recorded.items():
        missing = set(methods) - ours.get(arn, set())
        assert not missing or arn in explained, (arn, sorted(missing))
    for arn in explained:  # a documented difference is a real one
        assert set(recorded.get(arn, {})) != ours.get(arn, set()), arn


def test_every_cloudsplaining_escalation_on_the_example_is_ours_or_explained(store):
    recorded = json.loads(RECORDED.read_text())
    assert len(recorded) == 64
    _compare(recorded, _privesc_on_example(store))


@pytest.mark.skipif(
    importlib.util.find_spec("cloudsplaining") is None,
    reason="Cloudsplaining 0.9.1 is not installed (pip install -e '.[compare]'); the recorded findings are compared",
)
def test_cloudsplaining_run_now_agrees_with_the_recording(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SOURCES))  # tools/ is in the sources, not in the package
    subprocess.run(
        [
            *(sys.executable, "-m", "cloudsplaining.bin.cli", "scan", "--input-file", str(EXAMPLE)),
            *("--output", str(tmp_path), "--skip-open-report"),
        ],
        check=True,
        capture_output=True,
    )
    from tools.record_cloudsplaining import principal_findings

    results = json.loads((tmp_path / "iam-results-example-authorization-details.json").read_text())
    assert principal_findings(results) == json.loads(RECORDED.read_text())


def test_the_catalogue_has_cloudsplaining_methods_and_documented_sources():
    data = catalogue()
    assert len(data["PrivilegeEscalation"]) == 59
    assert data["Sources"]["cloudsplaining"] == "0.9.1"
    assert "iam:passrole" in data["PrivilegeEscalation"]["CreateEC2WithExistingIP"]
