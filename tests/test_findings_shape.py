"""``audit findings`` in Cloudsplaining's shape: one finding per principal and category (per method for privilege
escalation) with its actions and the statements behind each; ``--since`` reports a finding that appeared or gained
actions; the answer streamed; the per-class decisions equal to deciding every action on its own."""

from __future__ import annotations

import json
from typing import Any

from iamledger import IdentityStore
from iamledger.audit.decisions import decide
from iamledger.audit.findings_match import CATEGORIES, actions_by_category, methods
from iamledger.audit.moments import _reading
from iamledger.audit.subjects import resolve_subject
from iamledger.html.tables import render_findings
from tests.clirunner import run
from tests.test_findings import ACCOUNT, ARN, _allow, _doc, _head, _user


def _principal(answer: dict[str, Any], arn: str) -> dict[str, Any]:
    return next(p for p in answer["Principals"] if p["Arn"] == arn)


def _category(principal: dict[str, Any], category: str) -> dict[str, Any]:
    (found,) = [f for f in principal["Findings"] if f["Category"] == category]
    return found


def test_one_finding_per_category_with_its_actions_and_the_statements_behind_them(iam):
    arn = _user(iam, "data", _allow("s3:GetObject", "ssm:GetParameter", Sid="Read"))
    iam.put_user_policy(UserName="data", PolicyName="q", PolicyDocument=_doc(_allow("secretsmanager:GetSecretValue")))
    found = _category(_principal(iam.audit_findings(), arn), "DataExfiltration")
    assert found == {
        "Category": "DataExfiltration",
        "Actions": ["s3:getobject", "secretsmanager:getsecretvalue", "ssm:getparameter"],
        "Resources": ["*"],
        "Policies": [
            {
                "PolicyName": "p",
                "PolicyType": "user",
                "Statement": 0,
                "Sid": "Read",
                "Actions": ["s3:getobject", "ssm:getparameter"],
            },
            {"PolicyName": "q", "PolicyType": "user", "Statement": 0, "Actions": ["secretsmanager:getsecretvalue"]},
        ],
    }


def test_an_admin_has_one_finding_per_category_and_per_method(iam):
    arn = _user(iam, "star", _allow("*"))
    answer = iam.audit_findings()
    principal = _principal(answer, arn)
    categories = [f["Category"] for f in principal["Findings"]]
    assert categories.count("Admin") == 1 and principal["Admin"]
    assert categories.count("PrivilegeEscalation") == len(methods())
    for category in ("DataExfiltration", "ResourceExposure", "CredentialsExposure", "InfrastructureModification"):
        found = _category(principal, category)
        assert found["Actions"] == sorted(actions_by_category()[category])
        assert found["Policies"] == [{"PolicyName": "p", "PolicyType": "user", "Statement": 0}]  # grants them all
    assert answer["Counts"] == {
        "Admin": 1,
        "PrivilegeEscalation": len(methods()),
        "DataExfiltration": 1,
        "ResourceExposure": 1,
        "CredentialsExposure": 1,
        "InfrastructureModification": 1,
    }


def test_since_reports_a_finding_that_gained_an_action_and_not_one_that_moved_policy(iam):
    arn = _user(iam, "grows", _allow("s3:GetObject"))
    steady = _user(iam, "moves", _allow("s3:GetObject"))
    before = _head(iam)
    iam.put_user_policy(UserName="grows", PolicyName="more", PolicyDocument=_doc(_allow("ssm:GetParameter")))
    iam.put_user_policy(UserName="moves", PolicyName="other", PolicyDocument=_doc(_allow("s3:GetObject")))
    iam.delete_user_policy(UserName="moves", PolicyName="p")
    since = iam.audit_findings(Since=f"position:{before}")
    assert [p["Arn"] for p in since["Principals"]] == [arn]  # the same actions through another policy: not new
    (found,) = since["Principals"][0]["Findings"]
    assert found["Actions"] == ["s3:getobject", "ssm:getparameter"]
    assert found["NewActions"] == ["ssm:getparameter"]
    assert since["Counts"]["DataExfiltration"] == 1
    assert steady in {p["Arn"] for p in iam.audit_findings()["Principals"]}


def test_stream_gives_the_same_principals_as_the_whole_answer(iam):
    _user(iam, "a", _allow("iam:CreateAccessKey"))
    _user(iam, "b", _allow("*"))
    iam.create_role(
        RoleName="r",
        AssumeRolePolicyDocument=_doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}),
    )
    iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=_doc(_allow("s3:GetObject")))
    whole = iam.audit_findings()
    parts = iam.stream_findings()
    header = next(parts)
    assert list(header) == ["AsOf"] and header["AsOf"]["Position"] == whole["AsOf"]["Position"]
    streamed = list(parts)
    assert streamed == whole["Principals"]
    assert [p["Arn"] for p in streamed] == [f"{ARN}:role/r", f"{ARN}:user/a", f"{ARN}:user/b"]


def test_cli_gate_fails_when_a_finding_gains_an_action_and_the_table_has_a_row_per_finding(iam, store_url, capsys):
    _user(iam, "grows", _allow("s3:GetObject"))
    before = _head(iam)
    base = ("audit", "findings", "--db", store_url, "--account-id", ACCOUNT)
    assert run(capsys, *base, "--since", f"position:{before}", "--fail-on", "new").exit_code == 0
    iam.put_user_policy(UserName="grows", PolicyName="more", PolicyDocument=_doc(_allow("ssm:GetParameter")))
    gate = run(capsys, *base, "--since", f"position:{before}", "--fail-on", "new")
    assert gate.exit_code == 1, gate.stderr
    answer = json.loads(gate.stdout)
    assert answer["Principals"][0]["Findings"][0]["NewActions"] == ["ssm:getparameter"]
    assert answer["Counts"]["DataExfiltration"] == 1 and answer["Since"]["Position"] == before
    _user(iam, "star", _allow("*"))
    whole = run(capsys, *base)  # written a principal at a time, the same text as json.dumps of the whole answer
    assert whole.stdout == json.dumps(json.loads(whole.stdout), indent=4, ensure_ascii=False) + "\n"
    assert json.loads(whole.stdout)["Counts"]["Admin"] == 1
    lines = run(capsys, *base, "--output", "jsonl")
    assert len(lines.stdout.splitlines()) == 1 + 1 + len(methods()) + 4  # a finding a line: grows's, star's
    table = run(capsys, *base, "--output", "table")
    assert table.exit_code == 0, table.stderr
    star = table.stdout.split(f"{ARN}:user/star", 1)[1].split("\n---", 1)[0]  # a table per principal
    rows = [r for r in star.splitlines() if r.startswith("||") and any(f"|  {c} " in r for c in CATEGORIES)]
    assert len(rows) == 1 + len(methods()) + 4  # admin, a row per method, a row per other category
    assert any("InfrastructureModification" in r and ", ... (+" in r for r in rows)  # counted, first few named
    assert "InfrastructureModification  |  1 " in table.stdout.rsplit("Counts", 1)[1]


def test_deciding_by_class_equals_deciding_every_action(iam):
    """Denies elsewhere, a boundary, NotAction, conditions and a policy variable: the findings' actions are exactly
    the catalogue actions the evaluator allows one by one."""
    _user(iam, "star", _allow("*"))
    iam.create_policy(PolicyName="no-s3", PolicyDocument=_doc({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}))
    iam.attach_user_policy(UserName="star", PolicyArn=f"{ARN}:policy/no-s3")
    _user(iam, "bounded", _allow("iam:*", "ec2:*", "s3:Get*"))
    iam.create_policy(PolicyName="fence", PolicyDocument=_doc(_allow("iam:Create*", "ec2:Run*", "s3:*")))
    iam.put_user_permissions_boundary(UserName="bounded", PermissionsBoundary=f"{ARN}:policy/fence")
    _user(iam, "not", {"Effect": "Allow", "NotAction": ["iam:*", "kms:*"], "Resource": "*"})
    own = {"StringEquals": {"aws:username": "cond"}}
    _user(
        iam,
        "cond",
        _allow("secretsmanager:*", Condition=own),
        _allow("lambda:*", Condition={"Bool": {"x": "1"}}),
        _allow("ssm:*", resource="arn:aws:ssm:*:*:parameter/${aws:username}/*"),
        _allow("kms:*", "s3:*", resource="arn:aws:kms:*:*:key/one"),
        {"Effect": "Deny", "Action": "secretsmanager:Delete*", "Resource": "arn:aws:secretsmanager:*:*:secret:x"},
        {"Effect": "Deny", "Action": "secretsmanager:Put*", "NotResource": "arn:aws:secretsmanager:*:*:secret:x"},
    )
    iam.create_group(GroupName="g")
    iam.put_group_policy(GroupName="g", PolicyName="gp", PolicyDocument=_doc(_allow("kms:*", "iam:Pass*")))
    iam.add_user_to_group(GroupName="g", UserName="not")
    answer = iam.audit_findings()
    assert {p["Arn"].rsplit("/", 1)[1] for p in answer["Principals"]} == {"star", "bounded", "not", "cond"}
    for principal in answer["Principals"]:
        assert _found_actions(principal) == _one_by_one(iam, principal["Arn"]), principal["Arn"]


def _found_actions(principal: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for found in principal["Findings"]:
        if found["Category"] == "PrivilegeEscalation":
            out.setdefault("methods", set()).add(found["Method"])
        elif found["Category"] != "Admin":
            out[found["Category"]] = set(found["Actions"])
            granted = [set(p.get("Actions", found["Actions"])) for p in found["Policies"]]
            assert all(g <= set(found["Actions"]) for g in granted) and set().union(*granted) == set(found["Actions"])
    return out


def _one_by_one(store: IdentityStore, arn: str) -> dict[str, set[str]]:
    with _reading(store, None) as (conn, moment):
        subject = resolve_subject(store, conn, ACCOUNT, arn, moment)
        allowed = {
            action
            for actions in actions_by_category().values()
            for action in actions
            if decide(subject, action, "*", moment).allowed
        }
    out: dict[str, set[str]] = {}
    held = {name for name, _listed, needed in methods() if needed <= allowed}
    if held:
        out["methods"] = held
    for category, actions in actions_by_category().items():
        if category != "PrivilegeEscalation" and actions & allowed:
            out[category] = actions & allowed
    return out


def test_the_reports_table_counts_the_actions_of_a_category_finding(iam):
    arn = _user(iam, "star", _allow("*"))
    _user(iam, "two", _allow("s3:GetObject"), _allow("ssm:GetParameter", Sid="Second"))
    answer = iam.audit_findings()
    star = _principal(answer, arn)
    page = render_findings(answer)
    infrastructure = len(_category(star, "InfrastructureModification")["Actions"])
    assert f"<td>{infrastructure}</td>" in page  # the cell counts actions, as before the findings were grouped
    assert "p (statement 0)" in page and "p (statement 1)" in page  # a line per statement behind a finding
    assert '<span class="more">and ' in page  # a long line of actions is cut and counted
