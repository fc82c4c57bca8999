"""Escalation paths as of a moment: from one principal to ``admin`` or to a given principal (all simple paths,
shortest first), and every principal with such a path, grouped by the path's first technique. The graph is
:class:`~iamledger.audit.escalation_graph.EscalationGraph`; each hop names the statements and trust policy that
allow it and the events that put them in place (:mod:`iamledger.audit.provenance`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from iamledger.audit.escalation_edges import ADMIN, Edge, Grant, edges_by_node, next_hops
from iamledger.audit.escalation_graph import EscalationGraph
from iamledger.audit.escalation_timeline import GraphHistory, boundary, edge_key, opened_since
from iamledger.audit.moments import _ANALYSIS_OPERATION, _authorize, _reading, describe_moment
from iamledger.audit.provenance import EventBook
from iamledger.domain.errors import InvalidInputError, NoSuchEntityError
from iamledger.domain.policy import PolicyRole
from iamledger.projections.access import analysis, policy_reasons
from iamledger.projections.views.principals import PRINCIPAL_TABLES
from iamledger.services.base import ServiceBase

DEFAULT_MAX_DEPTH: Final = 5
MAX_DEPTH_LIMIT: Final = 10


def _check_depth(depth: int | None) -> int:
    if depth is None:
        return DEFAULT_MAX_DEPTH
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH_LIMIT:
        raise InvalidInputError(f"MaxDepth must be an integer from 1 to {MAX_DEPTH_LIMIT}; got {depth!r}.")
    return depth


def _check_to(to: str | None) -> str:
    if to is None or to == ADMIN:
        return ADMIN
    if not isinstance(to, str) or not to.startswith("arn:aws:iam::"):
        raise InvalidInputError(f"To must be 'admin' or the ARN of a user or role; got {to!r}.")
    return to


EdgeIndex = tuple[dict[str, list[Edge]], dict[str, list[Edge]]]
"""A graph's edges by source and by granter (:func:`~iamledger.audit.escalation_edges.edges_by_node`)."""


def simple_paths(
    graph: EscalationGraph, start: str, goals: set[str], depth: int, index: EdgeIndex | None = None
) -> list[list[Edge]]:
    """Every path without a repeated principal from ``start`` to one of ``goals`` of at most ``depth`` hops,
    shortest first (then by the techniques and principals along it); a path stops at the first goal it reaches.
    ``index``: the graph's edges by node, when several questions read one graph."""
    return sorted(_walked_paths(graph, start, goals, depth, index), key=_path_order)


def _path_order(path: list[Edge]) -> tuple[int, list[tuple[str, str, str]]]:
    return len(path), [(e.technique.id, e.target, e.via or "") for e in path]


def _walked_paths(
    graph: EscalationGraph,
    start: str,
    goals: set[str],
    depth: int,
    index: EdgeIndex | None,
    longest: Callable[[Edge], int] | None = None,
) -> Iterator[list[Edge]]:
    """:func:`simple_paths` in the order the walk finds them, one at a time; with ``longest``, none (and nothing
    beyond one) longer than it gives for the path's first edge, asked as the walk goes."""
    by_source, by_granter = edges_by_node(graph.edges) if index is None else index

    def walk(node: str, seen: set[str], path: list[Edge]) -> Iterator[list[Edge]]:
        if len(path) >= depth:
            return
        for edge, onward in next_hops(node, seen, by_source, by_granter):
            hop = [*path, edge]
            if longest is not None and len(hop) > longest(hop[0]):
                continue
            if edge.target in goals:
                yield hop
            elif onward:
                yield from walk(edge.target, seen | {edge.target}, hop)

    yield from walk(start, {start}, [])


def _goals(graph: EscalationGraph, to: str) -> set[str]:
    return {ADMIN, *graph.admins} if to == ADMIN else {to}


def _root_of(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def _goal(to: str | None, account_id: str) -> str:
    """``admin`` or a principal's ARN; the account's root user holds every permission, so asking for a path to it
    is asking for a path to ``admin``."""
    goal = _check_to(to)
    return ADMIN if goal == _root_of(account_id) else goal


class _Describer:
    """Hops as answers show them, with the events behind each statement (read once per answer)."""

    def __init__(self, store: ServiceBase, conn: Connection) -> None:
        self.conn = conn
        self.book = EventBook(store, conn)
        self.reasons = policy_reasons.ReasonBook(conn)

    def statements(self, grant: Grant) -> list[dict[str, Any]]:
        found = []
        for statement in grant.decision.matched_statements:
            entry: dict[str, Any] = {"Action": grant.action, "Resource": grant.resource}
            entry["StatementIndex"] = statement.index
            if statement.sid:
                entry["Sid"] = statement.sid
            if statement.role is PolicyRole.RESOURCE:
                entry["PolicySource"] = {"SourcePolicyType": "trust policy"}
                found.append(entry)
                continue
            policy = grant.subject.policy_of(statement)
            entry["PolicySource"] = {"SourcePolicyId": statement.source.id, "SourcePolicyType": statement.source.type}
            if policy is not None:
                if policy.policy_arn:
                    entry["PolicySource"]["PolicyArn"] = policy.policy_arn
                if policy.via:
                    entry["GroupName"] = policy.via
                reasons = self.reasons.reasons_for(grant.subject.entity_kind, grant.subject.row, policy)
                entry["Provenance"] = [self.book.describe(r.position, r.what) for r in reasons]
            found.append(entry)
        return found

    def trust(self, edge: Edge) -> dict[str, Any] | None:
        role = edge.trust_role
        if role is None:
            return None
        table = PRINCIPAL_TABLES["role"]
        key = {"entity_uuid": str(role.row["entity_uuid"])}
        since = policy_reasons.unchanged_since(self.conn, table, key, "trust_policy", role.row["trust_policy"])
        events = [] if since is None else [self.book.describe(since, "trust-policy")]
        return {"RoleArn": role.arn, "Provenance": events}

    def hop(self, edge: Edge) -> dict[str, Any]:
        hop: dict[str, Any] = {
            "From": edge.source,
            "To": edge.target,
            "Technique": edge.technique.id,
            "Family": edge.technique.family,
        }
        if edge.via is not None:
            hop["Via"] = edge.via
        if edge.granter is not None:
            hop["GrantedBy"] = edge.granter
        if edge.target != ADMIN and edge.source.split(":")[4] != edge.target.split(":")[4]:
            hop["CrossAccount"] = True
        if edge.external:
            hop["External"] = True  # an account outside the store: its own policies, unseen, decide who may
        hop["Conditional"] = edge.conditional
        if edge.conditional:
            hop["ConditionKeys"] = list(edge.condition_keys)
        hop["Statements"] = [entry for grant in edge.grants for entry in self.statements(grant)]
        trust = self.trust(edge)
        if trust is not None:
            hop["TrustPolicy"] = trust
        events: dict[int, dict[str, Any]] = {}
        for entry in [*hop["Statements"], *([trust] if trust else [])]:
            for event in entry.get("Provenance", []):
                events.setdefault(int(event["Position"]), event)
        hop["EnabledBy"] = [events[p] for p in sorted(events)]
        return hop


def path_text(path: list[Edge]) -> str:
    """``alice -[iam:AttachUserPolicy]-> admin``: a path in a line (names, not ARNs; each hop by the actions of its
    technique)."""
    at = [path[0].source, *(e.target for e in path)]
    hops = (
        f" -[{'+'.join(r.action for r in e.technique.requires)}{_by(e, at[i])}]-> {_short(e.target)}"
        for i, e in enumerate(path)
    )
    return _short(path[0].source) + "".join(hops)


def _by(edge: Edge, at: str) -> str:
    """`` by alice`` for a grant taken from its source; `` on alice`` for a grant the path's current principal (its
    granter) gives an earlier one."""
    if edge.granter is None:
        return ""
    return f" by {_short(edge.granter)}" if edge.source == at else f" on {_short(edge.source)}"


def _short(arn: str) -> str:
    return arn if arn == ADMIN else arn.rsplit("/", 1)[-1]


def _graph(conn: Connection, account_id: str, moment: Any, goal: str) -> EscalationGraph:
    """The graph a question about paths to ``goal`` reads: to ``admin``, none of the edges beyond an
    admin-equivalent principal (a path stops there)."""
    return EscalationGraph(conn, account_id, moment).build(beyond_admins=goal != ADMIN)


def escalation_paths(
    store: ServiceBase,
    *,
    PrincipalArn: str,
    To: str | None = ADMIN,
    MaxDepth: int | None = None,
    At: str | int | datetime | None = None,
) -> dict[str, Any]:
    """Every escalation path of ``PrincipalArn`` at ``At`` (default now) to ``To`` (``admin``, the default, or a
    user's or role's ARN) of at most ``MaxDepth`` hops (default 5): all simple paths, shortest first, each hop with
    its technique, the statements (and trust policy) that allow it, whether it depends on a condition, the events
    that enabled it, and ``OpenedAt``: the position (time, event) since which the edge has held without a break up
    to ``At`` (:func:`~iamledger.audit.escalation_timeline.opened_since`). ``IsAdmin`` says whether the principal
    is admin-equivalent itself."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    depth, goal = _check_depth(MaxDepth), _goal(To, account_id)
    with _reading(store, At) as (conn, moment):
        if PrincipalArn == _root_of(account_id):  # the root user: every permission, no path needed
            return {"PrincipalArn": PrincipalArn, "To": goal, "MaxDepth": depth, "AsOf": describe_moment(moment)} | {
                "IsAdmin": True,
                "Paths": [],
            }
        found = analysis.principal_at(conn, PrincipalArn)
        if found is None or found[0] not in {"user", "role"}:  # another account's: what it can assume here
            when = f"{moment.time.isoformat()} (position {moment.position})"
            raise NoSuchEntityError(f"The user or role {PrincipalArn} cannot be found at {when}.")
        graph = EscalationGraph(conn, account_id, moment).reach(PrincipalArn, depth, stop_at_admins=goal == ADMIN)
        describer = _Describer(store, conn)
        paths = [] if PrincipalArn in graph.admins else simple_paths(graph, PrincipalArn, _goals(graph, goal), depth)
        answer: dict[str, Any] = {"PrincipalArn": PrincipalArn, "To": goal, "MaxDepth": depth}
        answer["AsOf"] = describe_moment(moment)
        answer["IsAdmin"] = PrincipalArn in graph.admins
        history = GraphHistory(conn, account_id, moment.time)
        since = opened_since(history, {edge_key(e): e for p in paths for e in p}.values(), moment)
        answer["Paths"] = [
            {
                "Length": len(p),
                "Text": path_text(p),
                "Hops": [
                    {**describer.hop(e), "OpenedAt": boundary(describer.book, conn, since[edge_key(e)])} for e in p
                ],
            }
            for p in paths
        ]
    return answer


def who_can_escalate(
    store: ServiceBase,
    *,
    To: str | None = ADMIN,
    MaxDepth: int | None = None,
    At: str | int | datetime | None = None,
) -> dict[str, Any]:
    """Every user and role with an escalation path to ``To`` (``admin`` or an ARN) at ``At``, grouped by the first
    technique of its paths (a principal appears under each technique one of its paths starts with), with its
    shortest path by that technique; the admin-equivalent principals are listed apart."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    depth, goal = _check_depth(MaxDepth), _goal(To, account_id)
    with _reading(store, At) as (conn, moment):
        graph = _graph(conn, account_id, moment, goal)
        goals = _goals(graph, goal)
        groups: dict[str, dict[str, str]] = {}
        index = edges_by_node(graph.edges)
        for source in sorted({e.source for e in graph.edges} - (graph.admins if goal == ADMIN else set())):
            for path in _first_paths(graph, source, goals, depth, index):
                groups.setdefault(path[0].technique.id, {})[source] = path_text(path)
        answer: dict[str, Any] = {"To": goal, "MaxDepth": depth, "AsOf": describe_moment(moment)}
        if goal == ADMIN:
            answer["Admins"] = sorted(graph.admins)
        answer["Techniques"] = [
            {
                "Technique": technique,
                "Principals": [{"Arn": arn, "ShortestPath": text} for arn, text in sorted(groups[technique].items())],
            }
            for technique in sorted(groups)
        ]
    return answer


def _first_paths(
    graph: EscalationGraph, source: str, goals: set[str], depth: int, index: EdgeIndex
) -> list[list[Edge]]:
    """The first path of each first technique in :func:`simple_paths`' order, without holding or sorting them all:
    the walk gives them as it finds them (of equal ones the first is kept, as the stable sort keeps it), and goes no
    further along a path than the shortest found yet with its first technique (a longer one cannot come first)."""
    best: dict[str, tuple[tuple[int, list[tuple[str, str, str]]], list[Edge]]] = {}

    def longest(first: Edge) -> int:
        found = best.get(first.technique.id)
        return depth if found is None else found[0][0]

    for path in _walked_paths(graph, source, goals, depth, index, longest):
        order = _path_order(path)
        found = best.get(path[0].technique.id)
        if found is None or order < found[0]:
            best[path[0].technique.id] = (order, path)
    return [path for _order, path in best.values()]
