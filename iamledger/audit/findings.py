"""Findings: per principal, the risky grants in Cloudsplaining's categories and PMapper's admin detection, as of a
moment, and those that appeared since an earlier one.

The categories and their actions are data (``iamledger/data/findings-catalogue.json``, built by
``tools/build_findings_catalogue.py`` from Cloudsplaining 0.9.1 and policy_sentry). Unlike Cloudsplaining, which
matches actions policy by policy, every action is decided by the real evaluator against everything that applies to
the principal at the moment: all its identity policies together (its groups' included), every ``Deny``, its
permissions boundary and the statements' conditions (the request carries the principal's own keys and the time, no
other context). A grant is "without resource constraints" as Cloudsplaining means it: allowed on the resource ``*``.

Candidates come from the permission index: only the users and roles holding a policy that can allow a service of the
catalogue are read, and each is asked only about the actions of the services it holds.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from iamledger.audit.decisions import decide
from iamledger.audit.escalation_grants import ADMINISTRATOR_ACCESS
from iamledger.audit.moments import _ANALYSIS_OPERATION, _authorize, _reading, describe_moment
from iamledger.audit.subjects import Subject, _subjects_of, policies_only_key, shared_decision_key
from iamledger.domain.errors import ValidationError
from iamledger.domain.policy import AppliedPolicy, Decision
from iamledger.projections.access import analysis, permissions
from iamledger.projections.access.effective import EffectivePolicy
from iamledger.projections.engine.timeindex import Moment
from iamledger.services.base import ServiceBase

if TYPE_CHECKING:
    from sqlalchemy import Connection

CATEGORIES: Final = (
    "Admin",
    "PrivilegeEscalation",
    "DataExfiltration",
    "ResourceExposure",
    "CredentialsExposure",
    "InfrastructureModification",
)
_ACTION_CATEGORIES: Final = ("DataExfiltration", "ResourceExposure", "CredentialsExposure")

# the request context of attaching AdministratorAccess (a condition on iam:PolicyARN may allow only others)
_ADMIN_POLICY_ARN: Final = (
    {"ContextKeyName": "iam:PolicyARN", "ContextKeyValues": [ADMINISTRATOR_ACCESS], "ContextKeyType": "string"},
)


@functools.cache
def catalogue() -> dict[str, Any]:
    """The shipped catalogue of the categories' actions (see the module docstring)."""
    text = resources.files("iamledger").joinpath("data/findings-catalogue.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _actions_by_category() -> dict[str, frozenset[str]]:
    data = catalogue()
    out = {name: frozenset(a.lower() for a in data[name]) for name in _ACTION_CATEGORIES}
    out["InfrastructureModification"] = frozenset(a.lower() for a in data["InfrastructureModification"]["Actions"])
    out["PrivilegeEscalation"] = frozenset(a for actions in data["PrivilegeEscalation"].values() for a in actions)
    return out


@functools.cache
def _by_service() -> dict[str, tuple[str, ...]]:
    """Every action of the catalogue (lowercased) by its service."""
    services: dict[str, set[str]] = {}
    for actions in _actions_by_category().values():
        for action in actions:
            services.setdefault(action.split(":", 1)[0], set()).add(action)
    return {service: tuple(sorted(found)) for service, found in services.items()}


@dataclass
class _Decider:
    """Decisions on ``*`` at one moment, shared by subjects whose decision depends on their policies only, and the
    findings of subjects whose grants all do (:func:`~iamledger.audit.subjects.policies_only_key`)."""

    moment: Moment
    shared: dict[tuple[Any, ...], Decision] = field(default_factory=dict)
    findings: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)

    def __call__(self, subject: Subject, action: str, resource: str = "*") -> Decision:
        key = shared_decision_key(subject, action) if resource == "*" else None
        if key is None:
            return decide(subject, action, resource, self.moment)
        found = self.shared.get((action, *key))
        if found is None:
            found = self.shared[(action, *key)] = decide(subject, action, resource, self.moment)
        return found


def _order(entry: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, str(v)) for k, v in entry.items()))


def _grants(subject: Subject, decision: Decision) -> list[dict[str, Any]]:
    """The policies and statements that allowed a request."""
    out = []
    for statement in decision.matched_statements:
        policy = subject.policy_of(statement)
        entry: dict[str, Any] = {"PolicyName": statement.source.id, "PolicyType": statement.source.type}
        if policy is not None:
            entry = _policy_entry(policy)
        entry["Statement"] = statement.index
        if statement.sid:
            entry["Sid"] = statement.sid
        out.append(entry)
    return _unique(out)  # a policy the principal holds twice (through two groups) is one grant


def _policy_entry(policy: EffectivePolicy) -> dict[str, Any]:
    entry: dict[str, Any] = {"PolicyName": policy.source_id, "PolicyType": policy.source_type}
    if policy.policy_arn:
        entry["PolicyArn"] = policy.policy_arn
    if policy.via:
        entry["GroupName"] = policy.via
    return entry


def _unique(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = {_order(e): e for e in entries}
    return [seen[k] for k in sorted(seen)]


def _subject_findings(
    subject: Subject, groups: list[dict[str, Any]], services: set[str], decider: _Decider
) -> list[dict[str, Any]]:
    """The findings of one principal (``groups``: the rows of the groups it is in): admin, then its grants
    (:func:`_grant_findings`)."""
    return _admin(subject, groups, decider) + _grant_findings(subject, services, decider)


def _grant_findings(subject: Subject, services: set[str], decider: _Decider) -> list[dict[str, Any]]:
    """The category findings of one principal, asked only about the catalogue actions of ``services``; computed once
    per signature (the same list for the subjects sharing it)."""
    signature = policies_only_key(subject)
    key = None if signature is None else (*signature, *sorted(services))
    if key is not None and key in decider.findings:
        return decider.findings[key]
    allowed = _allowed(subject, services, decider)
    findings = [
        _finding("PrivilegeEscalation", method, list(actions), _unique(g for a in actions for g in allowed[a]))
        for method, actions in catalogue()["PrivilegeEscalation"].items()
        if all(a in allowed for a in actions)
    ]
    findings += [
        _finding(category, action, [action], allowed[action])
        for category, actions in _actions_by_category().items()
        if category != "PrivilegeEscalation"
        for action in sorted(actions & set(allowed))
    ]
    if key is not None:
        decider.findings[key] = findings
    return findings


def _allowed(subject: Subject, services: set[str], decider: _Decider) -> dict[str, list[dict[str, Any]]]:
    """The catalogue actions of ``services`` the subject is allowed on ``*``, each with its grants."""
    allowed: dict[str, list[dict[str, Any]]] = {}
    for service in sorted(services & set(_by_service())):
        for action in _by_service()[service]:
            decision = decider(subject, action)
            if decision.allowed:
                allowed[action] = _grants(subject, decision)
    return allowed


def _finding(category: str, name: str, actions: list[str], grants: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"Category": category}
    out["Method" if category in ("PrivilegeEscalation", "Admin") else "Action"] = name
    out.update({"Actions": actions, "Resources": ["*"], "Policies": grants})
    return out


def _admin(subject: Subject, groups: list[dict[str, Any]], decider: _Decider) -> list[dict[str, Any]]:
    """PMapper's admin detection (``update_admin_status`` in its ``gathering.py``): allowed ``*`` on ``*``, or able
    to give itself that: put an inline policy on itself or one of its groups, attach ``AdministratorAccess`` to
    itself or one of its groups, create a role and attach ``AdministratorAccess`` to it or put an inline policy in
    it, or create a new default version of a customer managed policy it holds (its own or a group's)."""
    checks: list[tuple[str, str, str]] = [("AllActionsAllResources", "*", "*")]
    own = "iam:putuserpolicy" if subject.kind == "user" else "iam:putrolepolicy"
    attach = "iam:attachuserpolicy" if subject.kind == "user" else "iam:attachrolepolicy"
    checks += [("PutOwnInlinePolicy", own, subject.arn), ("AttachAdministratorAccessToSelf", attach, subject.arn)]
    for group in groups:
        checks.append(("PutGroupInlinePolicy", "iam:putgrouppolicy", str(group["arn"])))
        checks.append(("AttachAdministratorAccessToGroup", "iam:attachgrouppolicy", str(group["arn"])))
    for arn in sorted({p.policy_arn for p in subject.policies if p.policy_arn and p.role == "identity"}):
        if not arn.startswith("arn:aws:iam::aws:"):
            checks.append(("CreatePolicyVersionOfHeldPolicy", "iam:createpolicyversion", arn))
    if decider(subject, "iam:createrole").allowed:  # a new role it can attach AdministratorAccess to or put into
        checks += [("CreateRoleThenAttachPolicy", "iam:attachrolepolicy", "*")]
        checks += [("CreateRoleThenPutPolicy", "iam:putrolepolicy", "*")]
    for method, action, resource in checks:
        if action.startswith("iam:attach"):
            decision = decide(subject, action, resource, decider.moment, _ADMIN_POLICY_ARN)
        else:
            decision = decider(subject, action, resource)
        if decision.allowed:
            finding = _finding("Admin", method, [action], _grants(subject, decision))
            finding["Resources"] = [resource]
            return [finding]
    return []


def findings_at(store: ServiceBase, account_id: str, when: str | int | datetime | None) -> tuple[Moment, list[Any]]:
    """The principals with findings at ``when``: ``(moment, [{"Arn", "Id", "Type", "Admin", "Findings"}])``."""
    with _reading(store, when) as (conn, moment):
        holders: dict[tuple[str, str], set[str]] = {}  # (kind, uuid) -> services
        for service in sorted(set(_by_service()) | {"*"}):
            users, roles = permissions.candidates(conn, account_id, f"{service}:x" if service != "*" else "*")
            for kind, ids in (("user", users), ("role", roles)):
                for uuid in ids:
                    holders.setdefault((kind, uuid), set()).add(service)
        shared: dict[EffectivePolicy, AppliedPolicy] = {}
        users = {uuid for kind, uuid in holders if kind == "user"}
        roles = {uuid for kind, uuid in holders if kind == "role"}
        decider = _Decider(moment)
        groups = analysis.groups_of_users(conn, account_id)
        principals = []
        for subject in _in_chunks(conn, account_id, users, roles, shared):
            services = holders[(subject.kind, str(subject.row["entity_uuid"]))]
            if "*" in services:
                services = set(_by_service())
            member_of = groups.get(str(subject.row["entity_uuid"]), []) if subject.kind == "user" else []
            found = _subject_findings(subject, member_of, services, decider)
            if found:
                admin = any(f["Category"] == "Admin" for f in found)
                unique_id = str(subject.row["user_id" if subject.kind == "user" else "role_id"])
                entry: dict[str, Any] = {"Arn": subject.arn, "Id": unique_id, "Type": subject.kind.capitalize()}
                principals.append({**entry, "Admin": admin, "Findings": found})
        return moment, sorted(principals, key=lambda p: (p["Type"].lower(), p["Arn"]))


_CHUNK: Final = 500


def _in_chunks(
    conn: Connection, account_id: str, users: set[str], roles: set[str], shared: dict[EffectivePolicy, AppliedPolicy]
) -> Iterator[Subject]:
    """The subjects read and compiled a chunk at a time (their compiled shared policies kept in ``shared``), so that
    the principals of a large account are not all held at once."""
    for kind, ids in (("role", sorted(roles)), ("user", sorted(users))):
        for start in range(0, len(ids), _CHUNK):
            chunk = set(ids[start : start + _CHUNK])
            yield from _subjects_of(
                conn, account_id, chunk if kind == "user" else set(), chunk if kind == "role" else set(), shared
            )


def identity(principal: dict[str, Any], finding: dict[str, Any]) -> str:
    """What makes a finding the same finding at two moments: the principal (its unique id: a user deleted and made
    again under the same name is another principal), category, method or action, resources and the policies that
    grant it."""
    policies = sorted({(p.get("PolicyArn") or p["PolicyName"], p.get("GroupName", "")) for p in finding["Policies"]})
    name = finding.get("Method") or finding.get("Action")
    return json.dumps([principal["Id"], finding["Category"], name, finding["Resources"], policies])


def audit_findings(
    store: ServiceBase,
    *,
    At: str | int | datetime | None = None,
    Since: str | int | datetime | None = None,
) -> dict[str, Any]:
    """Per principal, the risky grants at ``At`` (default now); with ``Since``, only those absent at ``Since``
    (see :func:`identity`). ``{"AsOf", "Since"?, "Principals": [{"Arn", "Id", "Type", "Admin", "Findings": [{"Category",
    "Method" | "Action", "Actions", "Resources", "Policies": [{"PolicyName", "PolicyType", "PolicyArn"?,
    "GroupName"?, "Statement", "Sid"?}]}]}], "Counts": {category: n}}``."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    moment, principals = findings_at(store, account_id, At)
    answer: dict[str, Any] = {"AsOf": describe_moment(moment)}
    if Since is not None:
        before, earlier = findings_at(store, account_id, Since)
        if before.position > moment.position:
            raise ValidationError(
                f"The Since moment (position {before.position}) is after the At moment (position {moment.position})."
            )
        known = {identity(p, f) for p in earlier for f in p["Findings"]}
        for principal in principals:
            principal["Findings"] = [f for f in principal["Findings"] if identity(principal, f) not in known]
        principals = [p for p in principals if p["Findings"]]
        answer["Since"] = describe_moment(before)
    counts = dict.fromkeys(CATEGORIES, 0)
    for principal in principals:
        for finding in principal["Findings"]:
            counts[finding["Category"]] += 1
    answer["Principals"] = principals
    answer["Counts"] = counts
    return answer
