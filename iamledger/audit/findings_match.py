"""The category findings of one principal: which actions of the findings catalogue it is allowed on ``*``, grouped
into one finding per category (per method for privilege escalation), each with the statements behind its actions.

Deciding each of the catalogue's 1,700 actions one by one is what made the findings of a large account slow. Here
the evaluator still decides, but once per *class* of actions: for a request on ``*`` whose context holds only the
principal's own keys and the time, the evaluator's answer depends on the action only through which statements'
``Action``/``NotAction`` elements cover it (:meth:`~iamledger.domain.policy.compiler.CompiledPolicy.statements_for`;
the resource and the context are the same for every action). So the catalogue actions a principal's policies can
allow are split into the classes of actions covered by exactly the same statements of its identity policies and
boundary (set operations on each compiled policy's statements' action sets, computed once per compiled policy), and
one action of each class is decided by the real evaluator: its decision, and the statements that decided it, are
every action's of the class.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final, Protocol

from iamledger.audit.subjects import Subject
from iamledger.domain.policy import AppliedPolicy, Decision, MatchedStatement
from iamledger.domain.policy.compiler import CompiledPolicy, CompiledStatement
from iamledger.projections.access.effective import EffectivePolicy

CATEGORIES: Final = (
    "Admin",
    "PrivilegeEscalation",
    "DataExfiltration",
    "ResourceExposure",
    "CredentialsExposure",
    "InfrastructureModification",
)
ACTION_CATEGORIES: Final = ("DataExfiltration", "ResourceExposure", "CredentialsExposure", "InfrastructureModification")
"""The categories whose finding lists actions (the others: a method, or PMapper's admin check)."""


@functools.cache
def catalogue() -> dict[str, Any]:
    """The shipped catalogue of the categories' actions (``iamledger/data/findings-catalogue.json``, built by
    ``tools/build_findings_catalogue.py`` from Cloudsplaining 0.9.1 and policy_sentry)."""
    text = resources.files("iamledger").joinpath("data/findings-catalogue.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def actions_by_category() -> dict[str, frozenset[str]]:
    """Each category's actions, lowercased (privilege escalation: every action of one of its methods)."""
    data = catalogue()
    out: dict[str, frozenset[str]] = {
        name: frozenset(a.lower() for a in data[name])
        for name in ACTION_CATEGORIES
        if name != "InfrastructureModification"
    }
    out["InfrastructureModification"] = frozenset(a.lower() for a in data["InfrastructureModification"]["Actions"])
    out["PrivilegeEscalation"] = frozenset(a.lower() for acts in data["PrivilegeEscalation"].values() for a in acts)
    return out


@functools.cache
def methods() -> tuple[tuple[str, tuple[str, ...], frozenset[str]], ...]:
    """Cloudsplaining's privilege-escalation methods: ``(name, actions as listed, actions as a set)``."""
    return tuple(
        (name, tuple(a.lower() for a in actions), frozenset(a.lower() for a in actions))
        for name, actions in catalogue()["PrivilegeEscalation"].items()
    )


@functools.cache
def by_service() -> dict[str, frozenset[str]]:
    """Every action of the catalogue (lowercased) by its service."""
    services: dict[str, set[str]] = {}
    for actions in actions_by_category().values():
        for action in actions:
            services.setdefault(action.split(":", 1)[0], set()).add(action)
    return {service: frozenset(found) for service, found in services.items()}


@functools.cache
def _everything() -> frozenset[str]:
    return frozenset().union(*by_service().values())


def statement_actions(policy: CompiledPolicy) -> tuple[frozenset[str], ...]:
    """For each statement of ``policy``, the catalogue actions its ``Action``/``NotAction`` element covers: the
    statements :meth:`CompiledPolicy.statements_for` would give for each action, read through the same index."""
    found: list[set[str]] = [set() for _ in policy.statements]
    services = by_service()
    for service, indexes in policy.by_service.items():
        for index in indexes:
            test = policy.statements[index].action
            found[index].update(a for a in services.get(service, ()) if test(a))
    for index in policy.always:
        test = policy.statements[index].action
        found[index].update(a for a in _everything() if test(a))
    everything = _everything()
    for action, indexes in policy.by_action.items():
        if action in everything:
            for index in indexes:
                if policy.statements[index].action(action):
                    found[index].add(action)
    return tuple(
        frozenset(f) if _may_cover_any(s) else frozenset() for f, s in zip(found, policy.statements, strict=True)
    )


def _may_cover_any(statement: CompiledStatement) -> bool:
    """Whether the statement's resource element can cover the resource ``*`` (one without policy variables is
    tested; one with them is kept, as its test depends on the principal): a statement that cannot never decides a
    request on ``*``, so it neither allows a finding's action nor tells two actions apart."""
    test = statement.resource
    return test is None or bool(statement.resource_keys) or test("*", {})


class Decide(Protocol):
    """How a subject's request for an action on ``*`` is decided (shared between alike subjects by the caller)."""

    def __call__(self, subject: Subject, action: str, resource: str = "*") -> Decision: ...


_MADE: Final = 4096


@dataclass
class StatementTables:
    """:func:`statement_actions` of each compiled policy met, computed once (the policy kept so its id stays its)."""

    tables: dict[int, tuple[CompiledPolicy, tuple[frozenset[str], ...]]] = field(default_factory=dict)
    made: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    """Findings made, by what they are made of (category, method, actions and grants), shared by the principals
    with the same (cleared when it holds :data:`_MADE` of them)."""

    def finding(
        self, category: str, method: str | None, actions: Iterable[str], granted: tuple[tuple[Any, Any], ...]
    ) -> dict[str, Any]:
        """:func:`finding`, made once for alike principals (``granted``: pairs of actions and grant keys)."""
        key = (category, method, granted)
        found = self.made.get(key)
        if found is None:
            if len(self.made) >= _MADE:
                self.made.clear()
            found = self.made[key] = finding(category, method, actions, granted)
        return found

    def of(self, applied: AppliedPolicy) -> tuple[frozenset[str], ...]:
        policy = applied.policy
        found = self.tables.get(id(policy))
        if found is None:
            found = self.tables[id(policy)] = (policy, statement_actions(policy))
        return found[1]


def action_classes(subject: Subject, tables: StatementTables) -> list[frozenset[str]]:
    """The catalogue actions an ``Allow`` of the subject's identity policies covers, split into classes covered by
    exactly the same statements of its identity policies and boundary (see the module docstring)."""
    parts = [*subject.identity, *(() if subject.boundary is None else (subject.boundary,))]
    allowed: set[str] = set()
    for applied in subject.identity:
        for statement, actions in zip(applied.policy.statements, tables.of(applied), strict=True):
            if statement.allow:
                allowed |= actions
    if not allowed:
        return []
    classes = [frozenset(allowed)]
    for actions in (actions for applied in parts for actions in tables.of(applied)):
        if actions and not actions.isdisjoint(allowed):
            classes = _split(classes, actions)
    return classes


def _split(classes: list[frozenset[str]], actions: frozenset[str]) -> list[frozenset[str]]:
    """``classes`` with each class ``actions`` covers part of split in two: the part it covers and the rest."""
    refined: list[frozenset[str]] = []
    for piece in classes:
        inside = piece & actions
        if inside and len(inside) < len(piece):
            refined += [inside, piece - inside]
        else:
            refined.append(piece)
    return refined


@dataclass
class Grants:
    """The policy entries (policy, statement) of one subject's matched statements, each made once."""

    subject: Subject
    entries: dict[tuple[int, int], tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)

    def keys(self, decision: Decision) -> tuple[tuple[Any, ...], ...]:
        """The (sortable, unique) keys of the statements that decided ``decision``: a policy the principal holds
        twice, through two groups, is one grant."""
        return tuple(sorted({self._entry(statement)[0] for statement in decision.matched_statements}))

    def _entry(self, statement: MatchedStatement) -> tuple[tuple[Any, ...], dict[str, Any]]:
        marker = (id(statement.source), statement.index)
        found = self.entries.get(marker)
        if found is None:
            policy = self.subject.policy_of(statement)
            entry: dict[str, Any] = {"PolicyName": statement.source.id, "PolicyType": statement.source.type}
            if policy is not None:
                entry = policy_entry(policy)
            entry["Statement"] = statement.index
            if statement.sid:
                entry["Sid"] = statement.sid
            order = tuple(sorted((k, str(v)) for k, v in entry.items()))
            found = self.entries[marker] = ((order, tuple(entry.items())), entry)
        return found


def policy_entry(policy: EffectivePolicy) -> dict[str, Any]:
    """A stored policy as a finding names it: name, type, ARN of a managed one, the group it comes through."""
    entry: dict[str, Any] = {"PolicyName": policy.source_id, "PolicyType": policy.source_type}
    if policy.policy_arn:
        entry["PolicyArn"] = policy.policy_arn
    if policy.via:
        entry["GroupName"] = policy.via
    return entry


def finding(
    category: str, method: str | None, actions: Iterable[str], granted: Iterable[tuple[Iterable[str], Any]]
) -> dict[str, Any]:
    """One finding: its category (and method), its actions (sorted; a method's in its order), ``Resources`` ``*``,
    and each policy statement behind it with the finding's actions it grants, as ``Actions``, left out when it grants
    them all (``granted``: pairs of actions and the grant keys that allow them)."""
    by_grant: dict[tuple[Any, ...], set[str]] = {}
    for acts, keys in granted:
        for key in keys:
            by_grant.setdefault(key, set()).update(acts)
    out: dict[str, Any] = {"Category": category}
    if method is not None:
        out["Method"] = method
    out["Actions"] = list(actions) if category == "PrivilegeEscalation" else sorted(actions)
    out["Resources"] = ["*"]
    every = len(out["Actions"])
    out["Policies"] = [
        dict(key[1]) if len(by_grant[key]) == every else {**dict(key[1]), "Actions": sorted(by_grant[key])}
        for key in sorted(by_grant)
    ]
    return out


def grant_findings(subject: Subject, tables: StatementTables, decide: Decide) -> list[dict[str, Any]]:
    """The subject's privilege-escalation findings (one per method whose every action it is allowed on ``*``) and
    one finding per other category with every action of it allowed on ``*``."""
    grants = Grants(subject)
    allowed: list[tuple[frozenset[str], tuple[tuple[Any, ...], ...]]] = []
    for piece in action_classes(subject, tables):
        decision = decide(subject, min(piece))
        if decision.allowed:
            allowed.append((piece, grants.keys(decision)))
    if not allowed:
        return []
    every = frozenset().union(*(piece for piece, _ in allowed))
    escalation = actions_by_category()["PrivilegeEscalation"]
    keys_of = {action: keys for piece, keys in allowed for action in piece & escalation}
    found = [
        tables.finding("PrivilegeEscalation", name, listed, tuple(((a,), keys_of[a]) for a in listed))
        for name, listed, needed in methods()
        if needed <= every
    ]
    for category in ACTION_CATEGORIES:
        wanted = actions_by_category()[category]
        if every.isdisjoint(wanted):
            continue
        parts = tuple((piece & wanted, keys) for piece, keys in allowed if not piece.isdisjoint(wanted))
        found.append(tables.finding(category, None, every & wanted, parts))
    return found
