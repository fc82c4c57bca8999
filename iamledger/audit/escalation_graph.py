"""The escalation graph at a moment: edges P -> Q where P can, by one technique of the catalogue
(:mod:`iamledger.audit.techniques`), obtain Q's permissions or grant itself anything (Q is then the ``admin`` node).

Every required action is decided by the real evaluator on the concrete resource (the target user's or role's ARN,
one's own, a group's, a policy's; ``*`` for the service actions of a pass-role technique), with P's identity policies
and boundary, and for ``sts:AssumeRole`` the role's trust policy too. The principals considered for a technique are
those the permission index names as holding a policy that can allow each of its actions
(:func:`iamledger.projections.access.permissions.candidates`), never every principal of the account.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection

from iamledger.audit.caller_keys import caller_contexts
from iamledger.audit.decisions import _request_context
from iamledger.audit.escalation_become import become_roles, become_users
from iamledger.audit.escalation_edges import ADMIN, Edge, Grant, condition_keys_of
from iamledger.audit.escalation_grants import group_grant, policy_grant, self_grant
from iamledger.audit.escalation_outsiders import external_admissions, foreign_subject, is_foreign, outsiders
from iamledger.audit.escalation_targets import PrefixIndex, narrowed_rows
from iamledger.audit.subjects import Subject, _subjects_of, _with_policies, policies_only_key, shared_decision_key
from iamledger.audit.techniques import Technique, catalogue
from iamledger.audit.trust import trust_policy_of
from iamledger.audit.who_can import _named_in_trust
from iamledger.awsmodel import service_model
from iamledger.domain.policy import AppliedPolicy, Decision, Request, evaluate
from iamledger.projections.access import analysis, permissions
from iamledger.projections.access.effective import EffectivePolicy, effective_policies
from iamledger.projections.engine.timeindex import Moment
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.projections.views.policies import policy_versions


class _RowsByKind(dict[str, list[dict[str, Any]]]):
    """The account's users, groups and roles at the bound position, each kind read when first asked for: one
    principal's escalation paths need the roles, not every user of a large account."""

    def __init__(self, conn: Connection, account_id: str) -> None:
        super().__init__()
        self._conn, self._account_id = conn, account_id

    def __missing__(self, kind: str) -> list[dict[str, Any]]:
        rows = self[kind] = analysis.principal_rows(self._conn, kind, self._account_id)
        return rows


@functools.lru_cache(maxsize=1)
def iam_actions() -> tuple[str, ...]:
    """Every IAM action: the IAM API's operations (botocore's model) and ``iam:PassRole``."""
    return (*sorted(f"iam:{name}" for name in service_model("iam").operation_names), "iam:PassRole")


@dataclass
class EscalationGraph:
    """The edges of an account at a moment (:meth:`build`), and which principals are admin-equivalent."""

    conn: Connection
    account_id: str
    moment: Moment
    subjects: dict[str, Subject] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    admins: set[str] = field(default_factory=set)
    _loaded: set[str] = field(default_factory=set)
    _shared: dict[EffectivePolicy, AppliedPolicy] = field(default_factory=dict)
    _admin_cache: dict[str, bool] = field(default_factory=dict)
    _decisions: dict[tuple[Any, ...], Decision] = field(default_factory=dict)
    _group_policies: dict[str, list[EffectivePolicy]] = field(default_factory=dict)
    _admin_by_policies: dict[tuple[int, ...], bool] = field(default_factory=dict)
    _resource_dependent: dict[tuple[Any, ...], bool] = field(default_factory=dict)
    _caller_keys: dict[tuple[Any, ...], tuple[list[AppliedPolicy], list[dict[str, str]]]] = field(default_factory=dict)
    _versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    broader_versions: dict[tuple[Any, ...], str | None] = field(default_factory=dict)
    _indexes: dict[str, PrefixIndex] = field(default_factory=dict)
    held_back: dict[str, bool] = field(default_factory=dict)  # by aggregate id: only a boundary keeps it from admin

    # -- reading -------------------------------------------------------------------------------------------------

    def _load(self, users: set[str], roles: set[str]) -> list[Subject]:
        wanted_users, wanted_roles = users - self._loaded, roles - self._loaded
        if wanted_users or wanted_roles:
            for subject in _subjects_of(self.conn, self.account_id, wanted_users, wanted_roles, self._shared):
                self.subjects[subject.arn] = subject
            self._loaded |= wanted_users | wanted_roles
        ids = users | roles
        return sorted((s for s in self.subjects.values() if str(s.row["entity_uuid"]) in ids), key=lambda s: s.arn)

    @functools.cached_property
    def _rows(self) -> _RowsByKind:
        return _RowsByKind(self.conn, self.account_id)

    @functools.cached_property
    def _groups_by_user(self) -> dict[str, list[dict[str, Any]]]:
        return analysis.groups_of_users(self.conn, self.account_id)

    @functools.cached_property
    def members_by_group(self) -> dict[str, list[str]]:
        """The ARNs of each group's members (by group aggregate id) at the moment."""
        users = {str(s.row["entity_uuid"]): arn for arn, s in self.subjects.items() if s.kind == "user"}
        users |= {str(row["entity_uuid"]): str(row["arn"]) for row in self._rows["user"]}
        members: dict[str, list[str]] = {}
        for user, groups in self._groups_by_user.items():
            for group in groups:
                if user in users:
                    members.setdefault(str(group["entity_uuid"]), []).append(users[user])
        return members

    @functools.cached_property
    def _login_profiles(self) -> set[str]:
        return {str(row["user_uuid"]) for row in analysis.login_profile_rows(self.conn)}

    def _candidates(self, technique: Technique) -> list[Subject]:
        """The principals holding, for every action of ``technique``, a policy that can allow it."""
        users: set[str] | None = None
        roles: set[str] | None = None
        for requirement in technique.requires:
            found_users, found_roles = _holders(self.conn, self.account_id, requirement.action)
            users = found_users if users is None else users & found_users
            roles = found_roles if roles is None else roles & found_roles
        users, roles = users or set(), roles or set()
        if technique.precondition == "trust":  # a trust policy naming a principal of its account is enough
            named_users, named_roles = self._named_in_trust_policies()
            users, roles = users | named_users, roles | named_roles
        return self._load(users, roles)

    def _named_in_trust_policies(self) -> tuple[set[str], set[str]]:
        """The users and roles the account's trust policies name (all of them when one may admit anyone)."""
        users: set[str] = set()
        roles: set[str] = set()
        for row in self._rows["role"]:
            named = _named_in_trust(self.conn, self.account_id, trust_policy_of(row))
            if named is None:
                return (
                    {str(r["entity_uuid"]) for r in self._rows["user"]},
                    {str(r["entity_uuid"]) for r in self._rows["role"]},
                )
            users |= named[0]
            roles |= named[1]
        return users, roles

    # -- deciding ------------------------------------------------------------------------------------------------

    def decide(
        self,
        subject: Subject,
        action: str,
        resource: str,
        extra: Mapping[str, Any] | None = None,
        trust: AppliedPolicy | None = None,
    ) -> Grant:
        """The evaluator's decision for ``subject`` asking ``action`` on ``resource`` at the moment. Without a trust
        policy, and when no statement that can match the action reads a condition key or a policy variable, the
        decision depends on the subject's policies only: it is made once for the subjects that share them.

        A request refused for want of a key the caller chooses (MFA, an external id, a source address: see
        :mod:`~iamledger.audit.caller_keys`) is asked again with values that satisfy the statements; allowed so, the
        grant names those keys and the edge it enables is conditional on them."""
        grant = self._decide(subject, action, resource, extra, trust)
        if grant.decision.allowed:
            return grant
        for supplied in self._caller_contexts(subject, trust, action):
            decision = self._evaluate(subject, action, resource, {**(extra or {}), **supplied}, trust)
            if decision.allowed:
                return Grant(action, resource, decision, subject, trust, supplied=tuple(sorted(supplied)))
        return grant

    def _decide(
        self,
        subject: Subject,
        action: str,
        resource: str,
        extra: Mapping[str, Any] | None,
        trust: AppliedPolicy | None,
    ) -> Grant:
        shared = None if trust is not None else shared_decision_key(subject, action.lower())
        if shared is None:
            return Grant(action, resource, self._evaluate(subject, action, resource, extra, trust), subject, trust)
        asked = resource if self._reads_resource(subject, action.lower(), shared) else "*"
        key = (action, asked, repr(sorted((extra or {}).items())), *shared)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = self._evaluate(subject, action, resource, extra, None)
        return Grant(action, resource, decision, subject)

    def _caller_contexts(self, subject: Subject, trust: AppliedPolicy | None, action: str) -> list[dict[str, str]]:
        """:func:`caller_contexts` of the policies a request of the subject's is decided with (a role's trust policy
        too, when assuming it), once per set of compiled policies."""
        boundary = [] if subject.boundary is None else [subject.boundary]
        policies = [*subject.identity, *boundary, *([] if trust is None else [trust])]
        key = (action, *(id(applied.policy) for applied in policies))
        found = self._caller_keys.get(key)
        if found is None:  # the policies are kept with the answer, so that their ids are not reused meanwhile
            found = self._caller_keys[key] = (policies, caller_contexts(policies, action))
        return found[1]

    def _reads_resource(self, subject: Subject, action: str, shared: tuple[int, ...]) -> bool:
        """Whether a statement of the subject's that can match ``action`` names resources: if none does, the
        decision is the same on every resource (asking about every user of the account is then one decision)."""
        key = (action, *shared)
        found = self._resource_dependent.get(key)
        if found is None:
            parts = (*subject.identity, *(() if subject.boundary is None else (subject.boundary,)))
            statements = (st for applied in parts for st in applied.policy.statements_for(action))
            found = self._resource_dependent[key] = not all(st.any_resource for st in statements)
        return found

    def _evaluate(
        self,
        subject: Subject,
        action: str,
        resource: str,
        extra: Mapping[str, Any] | None,
        trust: AppliedPolicy | None,
    ) -> Decision:
        context = _request_context(subject, self.moment, None, extra)
        request = Request(subject.principal, action, resource, context, self.account_id)
        return evaluate(request, subject.policy_set(trust))

    def is_admin(self, subject: Subject, *, cache: bool = True) -> bool:
        """Whether ``subject`` is admin-equivalent: allowed every IAM action on every resource (``*``), with no
        context but its own keys and the time (every such principal can grant itself anything)."""
        if cache and subject.arn in self._admin_cache:
            return self._admin_cache[subject.arn]
        alike = policies_only_key(subject)
        answer = self._admin_by_policies.get(alike) if alike is not None else None
        if answer is None:
            answer = all(self.decide(subject, action, "*").decision.allowed for action in iam_actions())
            if alike is not None:
                self._admin_by_policies[alike] = answer
        if cache:
            self._admin_cache[subject.arn] = answer
        return answer

    def group_policies(self, row: Mapping[str, Any]) -> list[EffectivePolicy]:
        """The effective policies of a group (its row at the moment), read once per graph."""
        uuid = str(row["entity_uuid"])
        if uuid not in self._group_policies:
            catalogue = StoreCatalogue(self.conn)
            self._group_policies[uuid] = effective_policies(self.conn, self.account_id, "group", row, catalogue)
        return self._group_policies[uuid]

    def versions_of(self, policy: str) -> list[dict[str, Any]]:
        """The stored versions of a managed policy (by aggregate id) at the moment, read once per graph."""
        if policy not in self._versions:
            self._versions[policy] = policy_versions(self.conn, policy)
        return self._versions[policy]

    def rows_for(
        self,
        technique: Technique,
        subject: Subject,
        kind: str,
        varying: tuple[str, ...] = ("target",),
        extra: Mapping[str, Any] | None = None,
    ) -> Sequence[dict[str, Any]]:
        """:func:`~iamledger.audit.escalation_targets.narrowed_rows` of this graph."""
        return narrowed_rows(self, technique, subject, kind, varying, extra)

    def _hypothetical(self, subject: Subject, policies: list[EffectivePolicy]) -> Subject:
        changed = Subject(subject.arn, subject.kind, subject.row, subject.principal, policies)
        return _with_policies(changed, self._shared)  # compiled once, so that alike subjects share decisions

    # -- building ------------------------------------------------------------------------------------------------

    def build(self, *, beyond_admins: bool = True) -> EscalationGraph:
        """Read the admin-equivalent principals and every edge at the moment. Without ``beyond_admins``, the edges
        an admin-equivalent principal decides (its own, and its grants to others) are left out: a path to ``admin``
        stops at such a principal, so none of them is on one (the accounts of the generators give a few admins an
        edge to every user and role: most of a whole graph)."""
        users, roles = _holders(self.conn, self.account_id, "iam:PutUserPolicy")
        self.admins = {s.arn for s in self._load(users, roles) if self.is_admin(s)}
        for technique in catalogue().techniques:
            for subject in self._candidates(technique):
                if beyond_admins or subject.arn not in self.admins:
                    self.edges += self._edges_of(technique, subject)
        self.edges += self._cross_account_edges()
        return self

    def _cross_account_edges(self) -> list[Edge]:
        """The roles of the account that principals of other accounts may assume (those of the store's accounts
        decided with their own policies; those outside the store by the trust policy alone)."""
        assume = next(t for t in catalogue().techniques if t.precondition == "trust")
        foreign, external = outsiders(self)
        edges = [edge for subject in foreign for edge in self._edges_of(assume, subject)]
        for admitted in external_admissions(self, external):
            role = self._load(set(), {str(admitted.role["entity_uuid"])})
            trust_role = role[0] if role else None
            edge = Edge(admitted.source, str(admitted.role["arn"]), assume, (), trust_role=trust_role, external=True)
            edge.condition_keys = admitted.condition_keys
            edges.append(edge)
        return edges

    def reach(self, start: str, depth: int, *, stop_at_admins: bool = True) -> EscalationGraph:
        """Read only what paths of at most ``depth`` hops from ``start`` can use: the edges of the principals reached
        (each expanded once, breadth first) and which of them are admin-equivalent. The edges another principal Q
        gets from a grant by P (``GrantedBy``) are found when P is expanded, which a path must pass through first.
        A question about one principal costs what it reaches, not the account."""
        frontier, expanded = [start], set[str]()
        for hop in range(depth + 1):
            reached: list[str] = []
            for arn in frontier:
                if arn in expanded or arn == ADMIN:
                    continue
                expanded.add(arn)
                subject = self._subject_at(arn)
                if subject is None:
                    continue
                if self.is_admin(subject):
                    self.admins.add(arn)
                    if stop_at_admins:
                        continue  # a goal: nothing beyond it is asked for
                if hop == depth:  # reached by the last hop: only whether it is a goal matters
                    continue
                for technique in catalogue().techniques:
                    if self._holds(technique, subject):
                        edges = self._edges_of(technique, subject)
                        self.edges += edges
                        reached += [e.target for e in edges]
            frontier = reached
        return self

    def _subject_at(self, arn: str) -> Subject | None:
        found = self.subjects.get(arn)
        if found is None:
            principal = analysis.principal_at(self.conn, arn)
            if principal is None or principal[0] not in {"user", "role"}:
                return None
            if str(principal[1]["account_id"]) != self.account_id:
                return foreign_subject(self, arn)
            uuid = {str(principal[1]["entity_uuid"])}
            loaded = self._load(uuid, set()) if principal[0] == "user" else self._load(set(), uuid)
            found = loaded[0] if loaded else None
        return found

    def _holds(self, technique: Technique, subject: Subject) -> bool:
        """Whether ``subject`` holds, for every action of ``technique``, an allowing statement that can match it
        (or, for ``sts:AssumeRole``, may be admitted by a trust policy alone): the decisions then tell."""
        if technique.precondition == "trust":
            return True
        return all(
            any(st.allow for applied in subject.identity for st in applied.policy.statements_for(r.action.lower()))
            for r in technique.requires
        )

    def _edges_of(self, technique: Technique, subject: Subject) -> list[Edge]:
        if technique.precondition != "trust" and is_foreign(self, subject):
            return []  # IAM has no resource policies: only assuming a role crosses accounts
        builder = _BUILDERS[technique.target]
        return builder(self, technique, subject)

    def _all_granted(
        self, technique: Technique, subject: Subject, resources: Mapping[str, str], extra: Mapping[str, Any] | None
    ) -> tuple[Grant, ...] | None:
        grants = []
        for requirement in technique.requires:
            grant = self.decide(subject, requirement.action, resources[requirement.on], extra)
            if not grant.decision.allowed:
                return None
            grants.append(grant)
        return tuple(grants)

    def edge(self, technique: Technique, subject: Subject, target: str, grants: tuple[Grant, ...], **more: Any) -> Edge:
        """An edge, its condition keys gathered from the statements that allow it."""
        keys = sorted(set().union(*(condition_keys_of(g) for g in grants)))
        source = more.pop("source", subject.arn)
        return Edge(source, target, technique, grants, condition_keys=tuple(keys), **more)


def _holders(conn: Connection, account_id: str, action: str) -> tuple[set[str], set[str]]:
    return permissions.candidates(conn, account_id, action)


_BUILDERS: Final = {
    "user": become_users,
    "role": become_roles,
    "self-user": self_grant,
    "self-role": self_grant,
    "self-user-bounded": self_grant,
    "self-role-bounded": self_grant,
    "own-group": group_grant,
    "admin-group": group_grant,
    "held-policy": policy_grant,
    "held-policy-version": policy_grant,
}
