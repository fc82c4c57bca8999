"""Who can: every user and role allowed an action on a resource at a moment, candidates taken from the permission
index and evaluated with the real evaluator.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_

from iamledger.audit.decisions import decide
from iamledger.audit.moments import _ANALYSIS_OPERATION, _authorize, _check_action, _reading, describe_moment
from iamledger.audit.provenance import EventBook, _paths
from iamledger.audit.simulation import _CredentialBook
from iamledger.audit.subjects import Subject, _all_subjects, _subjects_of, shared_decision_key
from iamledger.audit.trust import _ACCOUNT_NAME, _ASSUME_ROLE, assumable_by
from iamledger.domain.policy import AppliedPolicy, Decision, PolicyKind, PolicySource
from iamledger.projections import analysis, permissions
from iamledger.projections.tables import ROLES, USERS
from iamledger.projections.timeindex import Moment
from iamledger.services.base import ServiceBase


class _Decider:
    """Decisions for a request, evaluated once per set of policies shared by context-free subjects (the members of
    a group with no policies of their own), else once per subject."""

    def __init__(self, action: str, resource: str, moment: Moment, entries: Sequence[dict[str, Any]] | None) -> None:
        self.action, self.resource, self.moment, self.entries = action, resource, moment, entries
        self._shared: dict[tuple[int, ...], Decision] = {}

    def __call__(self, subject: Subject) -> Decision:
        key = shared_decision_key(subject)
        if key is None:
            return decide(subject, self.action, self.resource, self.moment, self.entries)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = decide(subject, self.action, self.resource, self.moment, self.entries)
        return found


class _Principals:
    """The account's users and roles at the bound position, built as the questions need them (never all at once
    unless a trust policy admits anyone)."""

    def __init__(self, conn: Connection, account_id: str) -> None:
        self.conn, self.account_id = conn, account_id
        self.by_arn: dict[str, Subject] = {}
        self._uuids: set[str] = set()
        self._everyone = False

    def load(self, users: set[str], roles: set[str]) -> list[Subject]:
        wanted_users, wanted_roles = users - self._uuids, roles - self._uuids
        if (wanted_users or wanted_roles) and not self._everyone:
            for subject in _subjects_of(self.conn, self.account_id, wanted_users, wanted_roles):
                self.by_arn[subject.arn] = subject
            self._uuids |= wanted_users | wanted_roles
        wanted = users | roles
        return [s for s in self.by_arn.values() if str(s.row["entity_uuid"]) in wanted]

    def everyone(self) -> list[Subject]:
        if not self._everyone:
            for subject in _all_subjects(self.conn, self.account_id):
                self.by_arn.setdefault(subject.arn, subject)
            self._everyone = True
        return sorted(self.by_arn.values(), key=lambda s: (s.kind, s.arn))


def _named_in_trust(conn: Connection, account_id: str, trust: AppliedPolicy) -> tuple[set[str], set[str], bool] | None:
    """The users and roles of the account a trust policy names itself (by ARN or unique id), and whether it names
    an account (then the account's identity policies decide for everyone else); ``None`` when it may admit anyone
    (``*``, ``NotPrincipal``, a canonical user): then every principal is a candidate."""
    names: set[str] = set()
    accounts = False
    for statement in trust.policy.statements_for(_ASSUME_ROLE):
        if not statement.allow:
            continue
        principal = statement.principal
        if principal is None or principal.wildcard or principal.canonical_user:
            return None
        named_accounts = {name for name in principal.aws if _ACCOUNT_NAME.fullmatch(name) is not None}
        accounts = accounts or bool(named_accounts)
        names |= set(principal.aws) - named_accounts
    found: tuple[set[str], set[str], bool] = (set(), set(), accounts)
    if not names:
        return found
    for ids, table, id_column in ((found[0], USERS, USERS.c.user_id), (found[1], ROLES, ROLES.c.role_id)):
        rows = analysis.live_rows(
            conn, table, table.c.account_id == account_id, or_(table.c.arn.in_(names), id_column.in_(names))
        )
        ids |= {str(row["entity_uuid"]) for row in rows}
    return found


def _assumers(
    conn: Connection,
    principals: _Principals,
    role: Subject,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
    contexts: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """:func:`assumable_by` over the candidates only: the principals whose identity policies can allow
    ``sts:AssumeRole`` and those the trust policy names itself (everyone when it may admit anyone)."""
    trust = AppliedPolicy.from_text(
        str(role.row["trust_policy"]), PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
    )
    named = _named_in_trust(conn, principals.account_id, trust)
    if named is None:
        subjects = principals.everyone()
    elif named[2]:  # an account named: whoever its identity policies allow sts:AssumeRole, besides those named
        users, roles = permissions.candidates(conn, principals.account_id, "sts:AssumeRole")
        loaded = principals.load(users | named[0], roles | named[1])
        role_arn = str(role.row["arn"])
        subjects = [
            s
            for s in loaded
            if str(s.row["entity_uuid"]) in named[0] | named[1] or _may_allow(s, _ASSUME_ROLE, role_arn)
        ]
    else:  # only the principals named can be admitted: a trust policy must allow the caller
        subjects = principals.load(named[0], named[1])
    alike = named is not None and not named[0] and not named[1] and _unconditional(trust)
    return assumable_by(subjects, role, moment, entries, contexts, {} if alike else None)


def _may_allow(subject: Subject, action: str, resource: str) -> bool:
    """Whether an ``Allow`` statement of the subject's identity policies can cover ``action`` (lowercased) on
    ``resource``: a cheap test before the evaluation decides (a resource with policy variables counts as covered)."""
    for applied in subject.identity:
        for statement in applied.policy.statements_for(action):
            if not statement.allow:
                continue
            if statement.resource is None or statement.resource_keys or statement.resource(resource, {}):
                return True
    return False


def _unconditional(trust: AppliedPolicy) -> bool:
    """Whether no statement of a trust policy reads a condition key or a policy variable."""
    return all(not st.keys and not st.resource_keys for st in trust.policy.statements)


def who_can(
    store: ServiceBase,
    *,
    ActionName: str,
    ResourceArn: str = "*",
    At: str | int | datetime | None = None,
    ContextEntries: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every user and role of the account that would have been allowed ``ActionName`` on ``ResourceArn`` at ``At``
    (default now), with the paths that allow it (``direct``, ``group`` with its name, or ``role`` for a principal
    that can reach an allowed role, through a chain of roles of any length: ``Chain`` names each role assumed in
    turn), the events behind each, and for roles who could assume them.

    Only the principals the permission index names as possibly allowed are evaluated
    (:func:`iamledger.projections.permissions.candidates`), with the real evaluator; principals sharing a
    context-free set of policies are evaluated once."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    _check_action(ActionName)
    with _reading(store, At) as (conn, moment):
        book = EventBook(store, conn)
        reasons = analysis.ReasonBook(conn)
        credentials = _CredentialBook(conn, store, account_id, moment)
        principals = _Principals(conn, account_id)
        decider = _Decider(ActionName, ResourceArn, moment, ContextEntries)
        users, roles = permissions.candidates(conn, account_id, ActionName)
        contexts: dict[str, dict[str, Any]] = {}
        allowed: dict[str, dict[str, Any]] = {}
        for subject in principals.load(users, roles):
            decision = decider(subject)
            if not decision.allowed:
                continue
            entry: dict[str, Any] = {"Arn": subject.arn, "Type": subject.kind.capitalize()}
            entry["Paths"] = _paths(reasons, book, subject, decision)
            entry["Credentials"] = credentials.of(subject)
            allowed[subject.arn] = entry
        # Roles lead on: whoever can assume an allowed role, directly or through other roles, reaches it.
        directly = [(arn, [arn]) for arn, entry in sorted(allowed.items()) if entry["Type"] == "Role"]
        frontier = list(directly)
        assumers_of: dict[str, list[dict[str, Any]]] = {}
        reached: set[tuple[str, str]] = set()
        while frontier:
            role_arn, chain = frontier.pop(0)
            if role_arn not in assumers_of:
                assumers_of[role_arn] = _assumers(
                    conn, principals, principals.by_arn[role_arn], moment, ContextEntries, contexts
                )
            for assumer in assumers_of[role_arn]:
                arn = assumer.get("Arn")
                if arn is None or arn not in principals.by_arn or arn in chain or (arn, chain[-1]) in reached:
                    continue
                reached.add((arn, chain[-1]))
                other = principals.by_arn[arn]
                target = allowed.get(arn)
                if target is None:
                    target = {"Arn": arn, "Type": other.kind.capitalize(), "Paths": []}
                    target["Credentials"] = credentials.of(other)
                    allowed[arn] = target
                # ``chain``: the roles from the one ``arn`` assumes first to the allowed one, in order
                target["Paths"].append({"Via": "role", "RoleArn": chain[-1], "Chain": list(chain)})
                if other.kind == "role":
                    frontier.append((arn, [arn, *chain]))
        for arn, _ in directly:
            allowed[arn]["AssumableBy"] = assumers_of[arn]
        principals_out = sorted(allowed.values(), key=lambda e: (e["Type"], e["Arn"]))
        return {
            "ActionName": ActionName,
            "ResourceArn": ResourceArn,
            "AsOf": describe_moment(moment),
            "Principals": principals_out,
        }
