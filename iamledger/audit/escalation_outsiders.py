"""Cross-account escalation edges: principals outside the account that its roles' trust policies admit.

A trust policy may name principals of another account, by ARN or unique id, or the account itself (its id or root
ARN, which delegates to whoever that account's own policies allow). ``sts:AssumeRole`` across accounts needs both
sides: the role's trust policy and the caller's identity policies (and boundary), which the evaluator decides as a
cross-account request. So:

* a user or role of **another account of this store** is decided like any principal, with its own account's
  policies; its edges into this account are the roles it can assume (no other technique crosses accounts: IAM has
  no resource policies, so one account's IAM actions never act on another's users, groups, roles or policies);
* an account **outside the store** is a node named by its root ARN (``arn:aws:iam::999999999999:root``), or by the
  ARN the policy names: what it reaches is decided by the trust policy alone, and its own policies, unseen here,
  decide which of its principals may use the edge. Such an edge is marked ``External``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from iamledger.audit.subjects import Subject, _subjects_of
from iamledger.audit.trust import trust_policy_of
from iamledger.domain.policy import AppliedPolicy
from iamledger.domain.policy.compiler import CompiledStatement
from iamledger.projections.access import analysis
from iamledger.projections.views.accounts import list_accounts

if TYPE_CHECKING:
    from iamledger.audit.escalation_graph import EscalationGraph

_ACCOUNT: Final = re.compile(r"(\d{12})|arn:aws:iam::(\d{12}):root")
_ARN_ACCOUNT: Final = re.compile(r"arn:aws:(?:iam|sts)::(\d{12}):")
_ASSUME_ROLE: Final = "sts:assumerole"


def _named(trust: AppliedPolicy) -> set[str]:
    """The ``AWS`` principals the allowing ``sts:AssumeRole`` statements of a trust policy name."""
    names: set[str] = set()
    for statement in trust.policy.statements_for(_ASSUME_ROLE):
        if statement.allow and statement.principal is not None:
            names |= set(statement.principal.aws)
    return names


def _account_of(name: str) -> str | None:
    account = _ACCOUNT.fullmatch(name)
    if account is not None:
        return account.group(1) or account.group(2)
    arn = _ARN_ACCOUNT.match(name)
    return None if arn is None else arn.group(1)


def outsiders(graph: EscalationGraph) -> tuple[list[Subject], set[str]]:
    """The users and roles of the store's other accounts that a trust policy of the graph's account names (all of an
    account's, when it names the account), and the names of accounts (and principals) outside the store that a trust
    policy admits, as root ARNs (or the ARN named)."""
    in_store = {str(row["account_id"]) for row in list_accounts(graph.conn)} - {graph.account_id}
    wanted: dict[str, tuple[set[str] | None, set[str]]] = {}  # account -> (all? None, names)
    external: set[str] = set()
    for row in graph._rows["role"]:  # noqa: SLF001 - the graph's own rows
        for name in _named(trust_policy_of(row)):
            account = _account_of(name)
            if account is None or account == graph.account_id:
                continue
            if account not in in_store:
                external.add(name if _ARN_ACCOUNT.match(name) else f"arn:aws:iam::{account}:root")
                continue
            everyone, names = wanted.setdefault(account, (set(), set()))
            if _ACCOUNT.fullmatch(name):
                wanted[account] = (None, names)
            elif everyone is not None:
                names.add(name)
    subjects: list[Subject] = []
    for account, (everyone, names) in sorted(wanted.items()):
        users, roles = _principals(graph, account, None if everyone is None else names)
        subjects += _subjects_of(graph.conn, account, users, roles, graph._shared)  # noqa: SLF001
    return subjects, external


def _principals(graph: EscalationGraph, account: str, names: set[str] | None) -> tuple[set[str], set[str]]:
    if names is None:
        users = {str(r["entity_uuid"]) for r in analysis.principal_rows(graph.conn, "user", account)}
        roles = {str(r["entity_uuid"]) for r in analysis.principal_rows(graph.conn, "role", account)}
        return users, roles
    users = analysis.principals_named(graph.conn, "user", account, names)
    return users, analysis.principals_named(graph.conn, "role", account, names)


def foreign_subject(graph: EscalationGraph, arn: str) -> Subject | None:
    """The user or role ``arn`` of another account of the store, at the graph's moment."""
    found = analysis.principal_at(graph.conn, arn)
    if found is None or found[0] not in {"user", "role"}:
        return None
    kind, row = found
    uuid = {str(row["entity_uuid"])}
    loaded = _subjects_of(
        graph.conn,
        str(row["account_id"]),
        uuid if kind == "user" else set(),
        uuid if kind == "role" else set(),
        graph._shared,  # noqa: SLF001 - the graph's own compiled policies
    )
    return loaded[0] if loaded else None


def is_foreign(graph: EscalationGraph, subject: Subject) -> bool:
    """Whether ``subject`` belongs to another account than the graph's."""
    return str(subject.row["account_id"]) != graph.account_id


@dataclass(frozen=True)
class ExternalAdmission:
    """A role whose trust policy admits an account (or a principal) outside the store, and the condition keys of
    the statements that do."""

    source: str
    role: Mapping[str, Any]
    condition_keys: tuple[str, ...]


def external_admissions(graph: EscalationGraph, names: set[str]) -> list[ExternalAdmission]:
    """The roles each account (or principal) outside the store may assume (an ``External`` edge each): an allowing
    statement names it, or its account, and no unconditional deny does. The statement's conditions are kept as the
    edge's condition keys, not decided: an outside caller's keys are unknown."""
    found: list[ExternalAdmission] = []
    for name in sorted(names):
        account = _account_of(name)
        names_it = {name, f"arn:aws:iam::{account}:root", str(account)}
        for row in graph._rows["role"]:  # noqa: SLF001 - the graph's own rows
            statements = _statements(trust_policy_of(row), names_it)
            allowing = [st for st in statements if st.allow]
            if not allowing or any(not st.allow and not st.keys for st in statements):
                continue
            keys = sorted({written for st in allowing for _lower, written in st.keys})
            found.append(ExternalAdmission(name, row, tuple(keys)))
    return found


def _statements(trust: AppliedPolicy, names: set[str]) -> list[CompiledStatement]:
    """The ``sts:AssumeRole`` statements of a trust policy whose ``Principal`` names one of ``names`` or everyone."""
    found = []
    for statement in trust.policy.statements_for(_ASSUME_ROLE):
        principal = statement.principal
        if principal is not None and (principal.wildcard or names & principal.aws):
            found.append(statement)
    return found
