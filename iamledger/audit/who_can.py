"""Who can: every user and role allowed an action on a resource at a moment, candidates taken from the permission
index and evaluated with the real evaluator, the answer streamed a principal at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from iamledger.audit.decisions import decide
from iamledger.audit.moments import _ANALYSIS_OPERATION, _authorize, _check_action, _moment, describe_moment
from iamledger.audit.provenance import EventBook, described_paths, pending_paths
from iamledger.audit.simulation import _CredentialBook
from iamledger.audit.subjects import Subject, _all_subjects, _subjects_of, shared_decision_key
from iamledger.audit.trust import _ACCOUNT_NAME, _ASSUME_ROLE, AssumePool, _trust_outsiders, assumers
from iamledger.domain.policy import AppliedPolicy, Decision, PolicyKind, PolicySource
from iamledger.projections.access import analysis, permissions, policy_reasons
from iamledger.projections.access.effective import EffectivePolicy
from iamledger.projections.engine.temporal import reading_at, reading_now
from iamledger.projections.engine.timeindex import Moment
from iamledger.services.base import ServiceBase, translated


class _Decider:
    """Decisions for a request, evaluated once per set of policies shared by subjects whose decision of the action
    depends on nothing else (:func:`shared_decision_key`), else once per subject."""

    def __init__(self, action: str, resource: str, moment: Moment, entries: Sequence[dict[str, Any]] | None) -> None:
        self.action, self.resource, self.moment, self.entries = action, resource, moment, entries
        self._lowered = action.lower()
        self._shared: dict[tuple[int, ...], Decision] = {}

    def __call__(self, subject: Subject) -> Decision:
        key = shared_decision_key(subject, self._lowered)
        if key is None:
            return decide(subject, self.action, self.resource, self.moment, self.entries)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = decide(subject, self.action, self.resource, self.moment, self.entries)
        return found


class _Principals:
    """The account's users and roles at the bound position, built as the questions need them (never all at once
    unless a trust policy admits anyone), the compiled form of a policy they share built once."""

    def __init__(self, conn: Connection, account_id: str) -> None:
        self.conn, self.account_id = conn, account_id
        self.by_arn: dict[str, Subject] = {}
        self.roles: set[str] = set()  # the ARNs of the roles among them
        self._by_uuid: dict[str, Subject] = {}
        self._loaded: set[str] = set()  # aggregate ids asked for (a deleted one has no subject)
        self._compiled: dict[EffectivePolicy, AppliedPolicy] = {}
        self._everyone = False
        self._assume_pool: AssumePool | None = None
        self._entries: dict[str, dict[str, Any]] = {}

    def _add(self, subject: Subject) -> None:
        self.by_arn.setdefault(subject.arn, subject)
        if subject.kind == "role":
            self.roles.add(subject.arn)
        self._by_uuid.setdefault(str(subject.row["entity_uuid"]), subject)

    def load(self, users: set[str], roles: set[str]) -> list[Subject]:
        """The subjects with these aggregate ids (those that exist at the bound position)."""
        wanted_users, wanted_roles = users - self._loaded, roles - self._loaded
        if (wanted_users or wanted_roles) and not self._everyone:
            for subject in _subjects_of(self.conn, self.account_id, wanted_users, wanted_roles, self._compiled):
                self._add(subject)
            self._loaded |= wanted_users | wanted_roles
        found = (self._by_uuid.get(uuid) for uuid in users | roles)
        return sorted((s for s in found if s is not None), key=lambda s: (s.kind, s.arn))

    def everyone(self) -> list[Subject]:
        """Every user and role of the account."""
        if not self._everyone:
            for subject in _all_subjects(self.conn, self.account_id):
                self._add(subject)
            self._everyone = True
        return sorted(self.by_arn.values(), key=lambda s: (s.kind, s.arn))

    def assume_pool(self) -> AssumePool:
        """The principals whose identity policies can allow ``sts:AssumeRole``, read and grouped once per answer."""
        if self._assume_pool is None:
            users, roles = permissions.candidates(self.conn, self.account_id, "sts:AssumeRole")
            self._assume_pool = AssumePool(self.load(users, roles))
        return self._assume_pool

    def entry(self, arn: str) -> dict[str, Any]:
        """The answer's ``{"Arn", "Type"}`` of a principal, one object however many roles list it."""
        found = self._entries.get(arn)
        if found is None:
            found = self._entries[arn] = {"Arn": arn, "Type": self.by_arn[arn].kind.capitalize()}
        return found

    def ranks(self) -> dict[str, int]:
        """Each principal read so far by its place in the order by type and ARN (the answer's order): sorting
        many lists of principals by rank costs less than by ``(kind, arn)``."""
        return {arn: rank for rank, arn in enumerate(sorted(self.by_arn, key=lambda a: (self.by_arn[a].kind, a)))}


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
    if not names:
        return set(), set(), accounts
    users = analysis.principals_named(conn, "user", account_id, names)
    roles = analysis.principals_named(conn, "role", account_id, names)
    return users, roles, accounts


def _assumers(
    conn: Connection,
    principals: _Principals,
    role: Subject,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
    contexts: dict[str, dict[str, Any]],
) -> set[str]:
    """:func:`assumers` over the candidates only: the principals whose identity policies can allow
    ``sts:AssumeRole`` and those the trust policy names itself (everyone when it may admit anyone)."""
    trust = AppliedPolicy.from_text(
        str(role.row["trust_policy"]), PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
    )
    named = _named_in_trust(conn, principals.account_id, trust)
    if named is None:
        return assumers(principals.everyone(), role, moment, entries, contexts)
    if not named[2]:  # only the principals named can be admitted: a trust policy must allow the caller
        return assumers(principals.load(named[0], named[1]), role, moment, entries, contexts)
    # An account named: whoever its identity policies allow sts:AssumeRole, besides those named. Without conditions
    # in the trust policy, it decides alike for all but those it names.
    named_subjects = principals.load(named[0], named[1])
    pool = principals.assume_pool()
    if not _unconditional(trust):
        return assumers(pool, role, moment, entries, contexts, named=named_subjects)
    alike = {s.arn for s in named_subjects}
    return assumers(pool, role, moment, entries, contexts, alike, named_subjects)


def _unconditional(trust: AppliedPolicy) -> bool:
    """Whether no statement of a trust policy reads a condition key or a policy variable."""
    return all(not st.keys and not st.resource_keys for st in trust.policy.statements)


@dataclass
class _Reached:
    """A principal of the answer: the decision that allows it directly (if any) and the roles it reaches the
    allowed ones through."""

    subject: Subject
    decision: Decision | None = None
    role_paths: list[dict[str, Any]] = field(default_factory=list)
    assumable_by: list[dict[str, Any]] | None = None


def _reach(
    conn: Connection,
    account_id: str,
    moment: Moment,
    action: str,
    resource: str,
    entries: Sequence[dict[str, Any]] | None,
) -> tuple[_Principals, dict[str, _Reached]]:
    """Who is in the answer and why, without the parts each principal's entry adds (provenance, credentials):
    the candidates' decisions, then, breadth first, whoever can assume an allowed role, through chains of roles of
    any length (a role already in a chain is not taken again)."""
    principals = _Principals(conn, account_id)
    decider = _Decider(action, resource, moment, entries)
    users, roles = permissions.candidates(conn, account_id, action)
    reached: dict[str, _Reached] = {}
    for subject in principals.load(users, roles):
        decision = decider(subject)
        if decision.allowed:
            reached[subject.arn] = _Reached(subject, decision)
    directly = [(arn, [arn]) for arn, found in sorted(reached.items()) if found.subject.kind == "role"]
    frontier = deque(directly)
    contexts: dict[str, dict[str, Any]] = {}
    # the principals of this account who can assume each role met: a chain adds only those not yet reaching its
    # allowed role (a set difference), so the whole answer's edges are looked at once each
    assumers_of: dict[str, set[str]] = {}
    # for each allowed role, the principals already given a path to it, the role itself included (no principal
    # reaches it twice, and none through a chain it is in: every role of a chain but the last was given one)
    reaching: dict[str, set[str]] = {}
    while frontier:
        role_arn, chain = frontier.popleft()
        if role_arn not in assumers_of:
            role = principals.by_arn[role_arn]
            assumers_of[role_arn] = _assumers(conn, principals, role, moment, entries, contexts)
        target = chain[-1]
        reached_target = reaching.setdefault(target, {target})
        new = assumers_of[role_arn] - reached_target
        if not new:
            continue
        reached_target |= new
        # one path object for every assumer of this chain (an answer is read, never changed; a large one holds
        # millions of these)
        path = {"Via": "role", "RoleArn": target, "Chain": list(chain)}
        for arn in new:
            other = reached.get(arn)
            if other is None:
                other = reached[arn] = _Reached(principals.by_arn[arn])
            # ``chain``: the roles from the one ``arn`` assumes first to the allowed one, in order
            other.role_paths.append(path)
        # the roles among them go on, in ARN order (the order the chains are found in decides which one is named)
        for arn in sorted(new & principals.roles):
            frontier.append((arn, [arn, *chain]))
    ranks = principals.ranks()
    for arn, _ in directly:
        trust_text, account = (
            str(principals.by_arn[arn].row["trust_policy"]),
            str(principals.by_arn[arn].row["account_id"]),
        )
        listed = [principals.entry(a) for a in sorted(assumers_of[arn], key=ranks.__getitem__)]
        reached[arn].assumable_by = listed + _trust_outsiders(trust_text, account)
    return principals, reached


def stream_who_can(
    store: ServiceBase,
    *,
    ActionName: str,
    ResourceArn: str = "*",
    At: str | int | datetime | None = None,
    ContextEntries: list[dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """:func:`who_can`'s answer a part at a time: first ``{"ActionName", "ResourceArn", "AsOf"}``, then each
    principal's entry in turn (ordered by type and ARN), so that a caller writing them out holds one at a time.

    The question is checked and authorized, and its moment resolved, before this returns; the answer is computed
    as it is read."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    _check_action(ActionName)
    with reading_now(), translated(), store.engine.connect() as conn:
        moment = _moment(store, conn, At)
    return _stream(store, account_id, ActionName, ResourceArn, moment, ContextEntries)


def _stream(
    store: ServiceBase,
    account_id: str,
    action: str,
    resource: str,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
) -> Iterator[dict[str, Any]]:
    # Each part is computed inside its own ``reading_at`` block, never across a ``yield``: the position a read is
    # made at is a context variable, which would otherwise stay set in the caller's code between two parts.
    with store.engine.connect() as conn:
        with reading_at(moment.position), translated():
            principals, reached = _reach(conn, account_id, moment, action, resource, entries)
            book = EventBook(store, conn)
            reasons = policy_reasons.ReasonBook(conn)
            credentials = _CredentialBook(conn, store, account_id, moment)
        yield {"ActionName": action, "ResourceArn": resource, "AsOf": describe_moment(moment)}
        del principals  # what each entry needs is in ``reached``
        order = sorted(reached, key=lambda a: (reached[a].subject.kind, a))
        for start in range(0, len(order), _CHUNK):
            chunk = [reached.pop(arn) for arn in order[start : start + _CHUNK]]  # an entry written is forgotten
            with reading_at(moment.position), translated():
                yield from _entries(chunk, book, reasons, credentials)


_CHUNK = 500
"""Principals whose entries are made together: their events are read in a few queries."""


def _entries(
    chunk: list[_Reached], book: EventBook, reasons: policy_reasons.ReasonBook, credentials: _CredentialBook
) -> list[dict[str, Any]]:
    pending = [[] if f.decision is None else pending_paths(reasons, f.subject, f.decision) for f in chunk]
    book.prefetch(reason.position for paths in pending for _, found in paths for reason in found)
    entries: list[dict[str, Any]] = []
    for found, paths in zip(chunk, pending, strict=True):
        subject = found.subject
        entry: dict[str, Any] = {"Arn": subject.arn, "Type": subject.kind.capitalize()}
        entry["Paths"] = described_paths(book, paths) + found.role_paths
        entry["Credentials"] = credentials.of(subject)
        if found.assumable_by is not None:
            entry["AssumableBy"] = found.assumable_by
        entries.append(entry)
    return entries


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
    (:func:`iamledger.projections.access.permissions.candidates`), with the real evaluator; principals sharing a
    context-free set of policies are evaluated once. :func:`stream_who_can` gives the same answer a principal at
    a time."""
    parts = stream_who_can(store, ActionName=ActionName, ResourceArn=ResourceArn, At=At, ContextEntries=ContextEntries)
    answer = next(parts)
    answer["Principals"] = list(parts)
    return answer
