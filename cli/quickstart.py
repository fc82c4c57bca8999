"""``iamledger quickstart``: import a real account dump into a fresh store and walk through what the store answers.

The walk-through is the project's main job in a few screens: an AWS account's identities loaded as events, who is in
which group, what a role can do, a role assumed, a change, and one question asked before and after the change with
the events that explain the difference.
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import suppress
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

import click

from iamledger.cli.projections import progress_reporter
from iamledger.cli.quickstart_steps import next_steps as _next_steps
from iamledger.cli.session import state
from iamledger.config import StoreURL
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import IdentityStoreError
from iamledger.store import IdentityStore

DEFAULT_DB: Final = "sqlite:///./iamledger-quickstart.db"
EXAMPLE: Final = "data/example-authorization-details.json"
# The example's cast: a user, the group that gives it admin rights, and a role that trusts the user by name.
ACCOUNT: Final = "200611803367"
USER: Final = "privesc-sre-user"
GROUP: Final = "privesc-sre-group"
ROLE: Final = "privesc-sre-role"
ACTION: Final = "s3:GetObject"
RESOURCE: Final = "arn:aws:s3:::payroll-exports/2026/11.csv"
WIDTH: Final = 100


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def _heading(number: int, title: str) -> None:
    click.echo()
    click.secho(f"{number}. {title}", bold=True)
    click.echo("-" * min(WIDTH, len(title) + 3))


def _say(text: str) -> None:
    click.echo(click.wrap_text(text, width=WIDTH, preserve_paragraphs=True))


def _when(moment: Any) -> str:
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(moment)


def _fresh_store_url() -> str:
    """The store to use: ``--db``/``$IAMLEDGER_DB`` as given, else a new ``./iamledger-quickstart.db``."""
    chosen = state().db
    if chosen:
        return chosen
    for suffix in ("", "-wal", "-shm", ".key"):
        with suppress(FileNotFoundError):
            Path(f"iamledger-quickstart.db{suffix}").unlink()
    return DEFAULT_DB


@click.command("quickstart")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def quickstart_command(file: Path | None) -> None:
    """Import an AWS account dump (FILE, or the real example dump shipped with iamledger) into a fresh store
    (./iamledger-quickstart.db unless --db names one) and walk through what the store can answer: who is in which
    group, what a role can do, an assume-role, a change, and the same question asked before and after the change
    with the events that explain the difference."""
    raw = file.read_bytes() if file is not None else resources.files("iamledger").joinpath(EXAMPLE).read_bytes()
    url = _fresh_store_url()
    click.secho("iamledger quickstart", bold=True)
    _say(
        "iamledger keeps AWS IAM's identities (users, groups, roles, policies) as an append-only log of events, "
        "and answers from it what is true now and what was true at any moment before. Store: "
        f"{StoreURL.parse(url).display()}."
    )
    with IdentityStore.open(url, create=True) as store:
        accounts = _import(store, raw, str(file) if file is not None else "the example dump shipped with iamledger")
        if not _has_cast(store):
            for number, account in enumerate(accounts, start=2):
                with store.acting(account):
                    _groups(store, number, account)
            with store.acting(accounts[0]):
                _next_steps(store, url, accounts[0], None)
            return
        with store.acting(ACCOUNT):
            _groups(store, 2, ACCOUNT)
            _role(store)
            _assume(store)
            before = _change(store)
            _before_and_after(store, before)
            click.echo()
            _say(
                "That is the whole idea: every answer above came from the event log, with the position it was "
                "computed at, so it can be asked again exactly."
            )
            _next_steps(store, url, ACCOUNT, USER)


def _has_cast(store: IdentityStore) -> bool:
    """Whether the store holds the example's user, group and role (a dump of another account does not)."""
    if ACCOUNT not in store.account_ids():
        return False
    with store.acting(ACCOUNT):
        try:
            store.get_role(RoleName=ROLE)
            store.get_group(GroupName=GROUP)
        except IdentityStoreError:
            return False
    return True


def _import(store: IdentityStore, raw: bytes, source: str) -> list[str]:
    _heading(1, "An AWS account, imported as events")
    document = json.loads(raw)
    with progress_reporter("Importing") as progress:
        summary = store.import_authorization_details(
            document, source=source, sha256=hashlib.sha256(raw).hexdigest(), progress=progress
        )
    contents = summary["Contents"]
    _say(
        f"Read {source} (the output of `aws iam get-account-authorization-details`): {contents['Users']} users, "
        f"{contents['Groups']} groups, {contents['Roles']} roles, {contents['Policies']} customer managed policies "
        f"and {contents['AWSManagedPolicies']} AWS managed ones, in accounts {', '.join(summary['Accounts'])}."
    )
    _say(
        f"Recorded {summary['Events']} events under request id {summary['RequestId']} (sha256 "
        f"{str(summary['Sha256'])[:16]}...), keeping AWS's ids, ARNs and create dates. Importing the same file "
        "again records nothing; a newer dump records only what changed."
    )
    return list(summary["Accounts"])


def _groups(store: IdentityStore, number: int, account: str) -> None:
    _heading(number, f"Who is in which group (account {account})")
    for group in store.list_groups()["Groups"]:
        members = [u["UserName"] for u in store.get_group(GroupName=group["GroupName"])["Users"]]
        attached = [
            p["PolicyName"]
            for p in store.list_attached_group_policies(GroupName=group["GroupName"])["AttachedPolicies"]
        ]
        click.echo(f"  {group['GroupName']:<36} members: {', '.join(members) or '-'}")
        click.echo(f"  {'':<36} policies: {', '.join(attached) or '-'}")


def _role(store: IdentityStore) -> None:
    _heading(3, f"What the role {ROLE} can do")
    answer = store.what_can(PrincipalArn=_arn("role", ROLE))
    for service in answer["Services"]:
        grants = [", ".join(a["Actions"]) + " on " + ", ".join(a["Resources"]) for a in service["Allow"]]
        sources = sorted({a["Source"]["SourcePolicyId"] for a in service["Allow"]})
        click.echo(f"  {service['Service']:<8} {'; '.join(grants)}   (from {', '.join(sources)})")
    trust = store.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    principals = [s.get("Principal", {}).get("AWS") for s in trust["Statement"]]
    _say(f"Its trust policy lets {', '.join(str(p) for p in principals)} assume it.")
    who = store.who_can(ActionName="iam:PassRole", ResourceArn="*")
    _say(
        f"And the reverse question, who can call iam:PassRole on any role (directly, through a group, or through "
        f"a role they can assume): {len(who['Principals'])} principals, among them:"
    )
    for principal in who["Principals"][:4]:
        click.echo(f"  {principal['Arn'].split(':', 5)[5]}   ({'; '.join(_via(p) for p in principal['Paths'])})")


def _via(path: dict[str, Any]) -> str:
    if path["Via"] == "group":
        return f"via group {path.get('GroupName')}"
    if path["Via"] == "role":
        return f"by assuming {str(path.get('RoleArn')).split(':', 5)[5]}"
    return "its own policies"


def _assume(store: IdentityStore) -> None:
    _heading(4, f"{USER} assumes {ROLE}")
    ctx = AuditContext(
        actor=_arn("user", USER),
        request_id=AuditContext.new_request_id(),
        source_ip="127.0.0.1",
        user_agent="iamledger-quickstart",
    )
    with bound_audit_context(ctx):
        result = store.assume_role(RoleArn=_arn("role", ROLE), RoleSessionName="quickstart", DurationSeconds=900)
    user = result["AssumedRoleUser"]
    _say(
        f"sts:AssumeRole answered with temporary credentials (key {result['Credentials']['AccessKeyId']}, valid "
        f"until {_when(result['Credentials']['Expiration'])}) for {user['Arn']}. The trust policy names the user, so "
        "no identity policy was needed; the session is an event (RoleSession.RoleAssumed) and its secret lives only "
        "in the encrypted vault."
    )


def _change(store: IdentityStore) -> dict[str, Any]:
    _heading(5, "A change")
    before = store.at("now")
    moment = {"Position": before.position, "Time": before.time}
    time.sleep(1.1)  # so that "before" and "after" are different seconds too
    store.remove_user_from_group(GroupName=GROUP, UserName=USER)
    _say(
        f"The root user removed {USER} from {GROUP} (position {before.position} was the last one before it, at "
        f"{_when(before.time)})."
    )
    return moment


def _decision(answer: dict[str, Any]) -> str:
    return str(answer["EvaluationResults"][0]["EvalDecision"])


def _before_and_after(store: IdentityStore, before: dict[str, Any]) -> None:
    _heading(6, f"Could {USER} read {RESOURCE}? Before and after")
    question: dict[str, Any] = {
        "PolicySourceArn": _arn("user", USER),
        "ActionNames": [ACTION],
        "ResourceArns": [RESOURCE],
    }
    then = store.audit_simulate_principal_policy(At=f"position:{before['Position']}", **question)
    now = store.audit_simulate_principal_policy(**question)
    click.echo(f"  as of position {then['AsOf']['Position']:<6} {_decision(then)}")
    click.echo(f"  now (position {now['AsOf']['Position']})   {_decision(now)}")
    _say("Why it was allowed then: the statement that matched, and the events that made it apply:")
    for statement in then["EvaluationResults"][0]["MatchedStatements"]:
        via = f"via group {statement['GroupName']}" if statement.get("GroupName") else statement["SourcePolicyType"]
        click.echo(f"  a statement of {statement['SourcePolicyId']} ({via})")
        for event in statement.get("Provenance", []):
            click.echo(
                f"    #{event['Position']:<5} {event['EventName']:<22} {event['Reason']:<16} by {event['Actor']} "
                f"({event['UserAgent']})"
            )
    diff = store.audit_diff(
        From=f"position:{before['Position']}",
        PrincipalArn=_arn("user", USER),
        ActionNames=[ACTION],
        ResourceArns=[RESOURCE],
    )
    _say("What changed since, and which decision it flipped:")
    for change in diff["Changes"]:
        for event in change.get("Events", []):
            click.echo(
                f"  {change['Change']:<8} {change['Category']:<16} #{event['Position']} {event['EventName']} by "
                f"{event['Actor']}, request {event['RequestId']}"
            )
    for flip in diff.get("DecisionChanges", []):
        click.echo(f"  {flip['ActionName']} on {flip['ResourceArn']}: {flip['From']} -> {flip['To']}")
