"""Findings: per principal, the risky grants in Cloudsplaining's categories and PMapper's admin detection, as of a
moment, and those that appeared since an earlier one.

The shape is Cloudsplaining's: per principal, one finding per category listing the actions, and for privilege
escalation one per method with the actions it needs; each names the policy statements behind its actions. The
categories and their actions are data (``iamledger/data/findings-catalogue.json``, built by
``tools/build_findings_catalogue.py`` from Cloudsplaining 0.9.1 and policy_sentry). Unlike Cloudsplaining, which
matches actions policy by policy, every action is decided by the real evaluator against everything that applies to
the principal at the moment: all its identity policies together (its groups' included), every ``Deny``, its
permissions boundary and the statements' conditions (the request carries the principal's own keys and the time, no
other context); the evaluator decides once per class of actions covered by the same statements
(:mod:`iamledger.audit.findings_match`). A grant is "without resource constraints" as Cloudsplaining means it: allowed
on the resource ``*``.

Candidates come from the permission index: only the users and roles holding a policy that can allow a service of the
catalogue are read, a chunk at a time; :func:`stream_findings` gives the answer a principal at a time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from iamledger.audit.decisions import decide
from iamledger.audit.escalation_grants import ADMINISTRATOR_ACCESS
from iamledger.audit.findings_match import (
    CATEGORIES,
    Grants,
    StatementTables,
    by_service,
    catalogue,
    finding,
    grant_findings,
)
from iamledger.audit.moments import _ANALYSIS_OPERATION, _authorize, _moment, describe_moment
from iamledger.audit.subjects import Subject, _subjects_from, policies_only_key, shared_decision_key
from iamledger.domain.errors import ValidationError
from iamledger.domain.policy import AppliedPolicy, Decision
from iamledger.projections.access import analysis, permissions
from iamledger.projections.access.effective import EffectivePolicy
from iamledger.projections.engine.temporal import reading_at, reading_now
from iamledger.projections.engine.timeindex import Moment
from iamledger.services.base import ServiceBase, translated

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["CATEGORIES", "audit_findings", "catalogue", "count_findings", "identity", "stream_findings"]

# the request context of attaching AdministratorAccess (a condition on iam:PolicyARN may allow only others)
_ADMIN_POLICY_ARN: Final = (
    {"ContextKeyName": "iam:PolicyARN", "ContextKeyValues": [ADMINISTRATOR_ACCESS], "ContextKeyType": "string"},
)
_KEPT: Final = 1024
"""The most policy sets whose findings are kept for the next principal holding the same (least recently used out)."""


@dataclass
class _Decider:
    """Decisions on ``*``, shared by subjects whose decision depends on their policies only, and the findings of
    subjects whose grants all do (:func:`~iamledger.audit.subjects.policies_only_key`). A decision shared so does not
    depend on the moment either (nothing in it reads the time), so one decider serves both moments of ``--since``;
    ``moment`` is the one being answered."""

    moment: Moment
    tables: StatementTables = field(default_factory=StatementTables)
    shared: dict[tuple[Any, ...], Decision] = field(default_factory=dict)
    findings: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=OrderedDict)
    compiled: dict[EffectivePolicy, AppliedPolicy] = field(default_factory=dict)

    def __call__(self, subject: Subject, action: str, resource: str = "*") -> Decision:
        key = shared_decision_key(subject, action) if resource == "*" else None
        if key is None:
            return decide(subject, action, resource, self.moment)
        found = self.shared.get((action, *key))
        if found is None:
            found = self.shared[(action, *key)] = decide(subject, action, resource, self.moment)
        return found

    def grant_findings(self, subject: Subject) -> list[dict[str, Any]]:
        """:func:`~iamledger.audit.findings_match.grant_findings`, once per policy set that decides alike."""
        key = policies_only_key(subject)
        if key is not None and key in self.findings:
            self.findings.move_to_end(key)
            return self.findings[key]
        found = grant_findings(subject, self.tables, self)
        if key is not None:
            self.findings[key] = found
            if len(self.findings) > _KEPT:
                self.findings.popitem(last=False)
        return found


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
        if not _may_allow(subject, action):
            continue  # no Allow of its identity policies covers the action: an implicit deny, no need to ask
        if action.startswith("iam:attach"):
            decision = decide(subject, action, resource, decider.moment, _ADMIN_POLICY_ARN)
        else:
            decision = decider(subject, action, resource)
        if decision.allowed:
            found = finding("Admin", method, [action], [([action], Grants(subject).keys(decision))])
            found["Resources"] = [resource]
            return [found]
    return []


def _may_allow(subject: Subject, action: str) -> bool:
    """Whether an ``Allow`` statement of the subject's identity policies covers ``action`` (without one, a request
    for it is implicitly denied whatever else applies)."""
    return any(statement.allow for applied in subject.identity for statement in applied.policy.statements_for(action))


def _holders(conn: Connection, account_id: str) -> tuple[set[str], set[str]]:
    """The users and roles (aggregate ids) holding a policy whose ``Allow`` can match a service of the catalogue."""
    users: set[str] = set()
    roles: set[str] = set()
    for service in sorted({*by_service(), "*"}):
        found_users, found_roles = permissions.candidates(conn, account_id, f"{service}:x" if service != "*" else "*")
        users |= found_users
        roles |= found_roles
    return users, roles


def _entries(conn: Connection, account_id: str, decider: _Decider) -> Iterator[dict[str, Any]]:
    """The principals with findings, a chunk of subjects read at a time (see :func:`_in_chunks`), in the order of
    the answer (roles, then users, by ARN within each chunk's sorted ids: see :func:`_principals_at`)."""
    users, roles = _holders(conn, account_id)
    groups = analysis.groups_of_users(conn, account_id)
    for subject in _in_chunks(conn, account_id, users, roles, decider.compiled):
        member_of = groups.get(str(subject.row["entity_uuid"]), []) if subject.kind == "user" else []
        found = _admin(subject, member_of, decider) + decider.grant_findings(subject)
        if found:
            unique_id = str(subject.row["user_id" if subject.kind == "user" else "role_id"])
            entry: dict[str, Any] = {"Arn": subject.arn, "Id": unique_id, "Type": subject.kind.capitalize()}
            yield {**entry, "Admin": found[0]["Category"] == "Admin", "Findings": found}


_CHUNK: Final = 500


def _in_chunks(
    conn: Connection, account_id: str, users: set[str], roles: set[str], shared: dict[EffectivePolicy, AppliedPolicy]
) -> Iterator[Subject]:
    """The subjects, roles first and then users, each kind by ARN, their policies read and compiled a chunk at a
    time (the compiled shared policies kept in ``shared``), so that the principals of a large account are not all
    held at once."""
    for kind, ids in (("role", roles), ("user", users)):
        rows = sorted(analysis.principal_rows(conn, kind, account_id, ids), key=lambda r: str(r["arn"]))
        for start in range(0, len(rows), _CHUNK):
            found = _subjects_from(conn, account_id, [(kind, row) for row in rows[start : start + _CHUNK]], shared)
            yield from sorted(found, key=lambda s: s.arn)


def identity(principal: dict[str, Any], found: dict[str, Any]) -> tuple[str, str, str]:
    """What makes a finding the same finding at two moments: the principal (its unique id: a user deleted and made
    again under the same name is another principal), the category and, for privilege escalation, the method."""
    method = found.get("Method", "") if found["Category"] == "PrivilegeEscalation" else ""
    return (str(principal["Id"]), str(found["Category"]), str(method))


@dataclass
class _Earlier:
    """The findings at ``--since``, as much as telling a new one needs: each finding's identity and its actions
    (the same sets shared, not one copy per principal)."""

    actions: dict[tuple[str, str, str], frozenset[str]] = field(default_factory=dict)
    interned: dict[frozenset[str], frozenset[str]] = field(default_factory=dict)

    def add(self, principal: dict[str, Any]) -> None:
        for found in principal["Findings"]:
            listed = frozenset(found["Actions"])
            self.actions[identity(principal, found)] = self.interned.setdefault(listed, listed)

    def new(self, principal: dict[str, Any]) -> dict[str, Any] | None:
        """The principal with only its new findings (absent at ``--since``, or with actions it did not have then),
        each naming its ``NewActions``; ``None`` when none is new."""
        kept = []
        for found in principal["Findings"]:
            before = self.actions.get(identity(principal, found))
            if before is None:
                kept.append({**found, "NewActions": list(found["Actions"])})
            elif found["Category"] != "Admin" and not before.issuperset(found["Actions"]):
                kept.append({**found, "NewActions": [a for a in found["Actions"] if a not in before]})
        return {**principal, "Findings": kept} if kept else None


def stream_findings(
    store: ServiceBase,
    *,
    At: str | int | datetime | None = None,
    Since: str | int | datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """:func:`audit_findings`'s answer a part at a time: first ``{"AsOf", "Since"?}``, then each principal's entry
    (roles, then users, each by ARN), so that a caller writing them out holds one at a time; the ``Counts`` are the
    caller's to add up (:func:`count_findings`).

    The question is authorized and its moments resolved (and checked) before this returns; the answer is computed
    as it is read. With ``Since``, the findings at ``Since`` are computed first (only their identities and actions
    are kept)."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    with reading_now(), translated(), store.engine.connect() as conn:
        moment = _moment(store, conn, At)
        before = None if Since is None else _moment(store, conn, Since)
    if before is not None and before.position > moment.position:
        raise ValidationError(
            f"The Since moment (position {before.position}) is after the At moment (position {moment.position})."
        )
    return _stream(store, account_id, moment, before)


def _stream(store: ServiceBase, account_id: str, moment: Moment, before: Moment | None) -> Iterator[dict[str, Any]]:
    # Each part is computed inside its own ``reading_at`` block, never across a ``yield``: the position a read is
    # made at is a context variable, which would otherwise stay set in the caller's code between two parts.
    header: dict[str, Any] = {"AsOf": describe_moment(moment)}
    decider = _Decider(moment)
    earlier = None
    if before is not None:
        header["Since"] = describe_moment(before)
        earlier = _Earlier()
        decider.moment = before
        for principal in _read(store, account_id, before, decider):
            earlier.add(principal)
        decider.moment = moment
    yield header
    for principal in _read(store, account_id, moment, decider):
        kept = principal if earlier is None else earlier.new(principal)
        if kept is not None:
            yield kept


def _read(store: ServiceBase, account_id: str, moment: Moment, decider: _Decider) -> Iterator[dict[str, Any]]:
    """The entries at ``moment``, a chunk at a time, each chunk read as of the moment (see :func:`_stream`)."""
    with store.engine.connect() as conn:
        entries = _entries(conn, account_id, decider)
        while True:
            with reading_at(moment.position), translated():
                chunk = [entry for _, entry in zip(range(_CHUNK), entries, strict=False)]
            yield from chunk
            if len(chunk) < _CHUNK:
                return


def count_findings(counts: dict[str, int], principal: dict[str, Any]) -> None:
    """Add one principal's findings to ``counts`` (findings by category; start from ``dict.fromkeys(CATEGORIES,
    0)``)."""
    for found in principal["Findings"]:
        counts[found["Category"]] = counts.get(found["Category"], 0) + 1


def audit_findings(
    store: ServiceBase,
    *,
    At: str | int | datetime | None = None,
    Since: str | int | datetime | None = None,
) -> dict[str, Any]:
    """Per principal, the risky grants at ``At`` (default now): one finding per category (privilege escalation: per
    method), with its actions and the policy statements behind them; with ``Since``, only the findings absent at
    ``Since`` or with actions they did not have then (see :func:`identity`), each with its ``NewActions``.
    ``{"AsOf", "Since"?, "Principals": [{"Arn", "Id", "Type", "Admin", "Findings": [{"Category", "Method"?,
    "Actions", "NewActions"?, "Resources", "Policies": [{"PolicyName", "PolicyType", "PolicyArn"?, "GroupName"?,
    "Statement", "Sid"?, "Actions"?}]}]}], "Counts": {category: number of findings}}``; a policy's ``Actions`` are the
    finding's actions it grants, left out when it grants them all. :func:`stream_findings` gives
    the same a principal at a time. Principals with alike grants share their finding objects: copy one before
    changing it."""
    parts = stream_findings(store, At=At, Since=Since)
    answer = next(parts)
    counts = dict.fromkeys(CATEGORIES, 0)
    answer["Principals"] = []
    for principal in parts:
        answer["Principals"].append(principal)
        count_findings(counts, principal)
    answer["Counts"] = counts
    return answer
