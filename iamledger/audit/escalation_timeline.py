"""The escalation graph over time: each edge's intervals of positions, and the graph at every position where it can
change.

The graph (:class:`~iamledger.audit.escalation_graph.EscalationGraph`) reads the rows of users, roles (trust policy,
boundary), groups, memberships, inline policies, attachments, managed policies and their versions, login profiles
and tags; it can change only at a position where one of those rows of the account began or ended
(:func:`~iamledger.projections.access.graph_history.account_change_points`). :class:`GraphHistory` therefore builds the
graph at the start of a range and again at each such position in it, each build reading the views as of its
position, and an edge's intervals are the stretches of those positions that hold it.

This **evaluates the whole graph at each change point**: it is not yet an incremental projection kept by the
projector. A range costs one graph build (every technique decided for the permission index's candidates) per
position in it at which the account's permission rows changed, so a range over a busy account's week costs as many
builds as that week has IAM writes. An edge that depends on a condition reading the time (``aws:CurrentTime``) is
decided at the time of each change point only; a change in another account of the store (the policies of a
principal there that a trust policy here admits) is not a change point of this account.

The interval an edge of ``escalation-paths`` is in (:func:`opened_since`) is found walking back from the moment asked
over the positions where that edge can change (:meth:`GraphHistory.edge_points`: where a row of the principal that
decides it, of its target, or of the group or policy it acts through began or ended), deciding at each only the
technique of that edge for that principal (its source, or the granter of a grant on another), until a position
without the edge: its cost grows with the history of those few entities, not the account's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from iamledger.audit.escalation_edges import Edge, edges_by_node, next_hops
from iamledger.audit.escalation_grants import granted_on, regrants
from iamledger.audit.escalation_graph import EscalationGraph
from iamledger.audit.provenance import EventBook
from iamledger.audit.techniques import catalogue
from iamledger.projections.access import analysis, graph_history
from iamledger.projections.access.change_points import change_points
from iamledger.projections.engine.temporal import reading_at
from iamledger.projections.engine.timeindex import Moment, time_of

EdgeKey = tuple[str, str, str, str, str]
"""What identifies an edge over time: ``(source, target, technique id, via, granter)`` (``""`` for none)."""

Key = TypeVar("Key", bound=Hashable)
Span = tuple[int, int | None]
"""Positions ``[start, end)`` (``end`` ``None``: still holding at the last position looked at)."""


def edge_key(edge: Edge) -> EdgeKey:
    """The key of ``edge`` over time."""
    return (edge.source, edge.target, edge.technique.id, edge.via or "", edge.granter or "")


def path_key(path: Iterable[Edge]) -> tuple[EdgeKey, ...]:
    """The key of a path over time: its edges' keys in order."""
    return tuple(edge_key(edge) for edge in path)


@dataclass
class GraphState:
    """The graph as of a position (and the time its conditions were decided at)."""

    moment: Moment
    graph: EscalationGraph
    edges: dict[EdgeKey, Edge] = field(default_factory=dict)

    @property
    def position(self) -> int:
        """The position the graph was read at."""
        return self.moment.position


def moment_of(conn: Connection, position: int, fallback: datetime) -> Moment:
    """The moment of a position as a question asked at ``position:N`` resolves it (its recorded time)."""
    return Moment(position, time_of(conn, position) or fallback)


class GraphHistory:
    """The account's escalation graph at positions, read on one connection (each build as of its position)."""

    def __init__(self, conn: Connection, account_id: str, fallback: datetime, *, beyond_admins: bool = True) -> None:
        self.conn = conn
        self.account_id = account_id
        self._fallback = fallback
        self.beyond_admins = (
            beyond_admins  # without: no edge an admin-equivalent principal decides (EscalationGraph.build)
        )

    def moment(self, position: int) -> Moment:
        """The moment of ``position`` (its recorded time)."""
        return moment_of(self.conn, position, self._fallback)

    def state(self, moment: Moment) -> GraphState:
        """The graph at ``moment`` (built anew: a graph of a large account is large, none is kept)."""
        with reading_at(moment.position):
            graph = EscalationGraph(self.conn, self.account_id, moment).build(beyond_admins=self.beyond_admins)
        return GraphState(moment, graph, {edge_key(e): e for e in graph.edges})

    def reach(self, moment: Moment, start: str, depth: int) -> EscalationGraph:
        """The part of the graph at ``moment`` that paths of at most ``depth`` hops from ``start`` that stop at the
        admin-equivalent principals can use: what :func:`reachable` with ``stop_at`` its admins needs, not the
        account (an admin-equivalent principal can reach anything: nothing is read beyond it)."""
        with reading_at(moment.position):
            return EscalationGraph(self.conn, self.account_id, moment).reach(start, depth, stop_at_admins=True)

    def points(self, start: int, stop: int) -> list[int]:
        """The positions in ``(start, stop]`` at which the graph can change."""
        return graph_history.account_change_points(self.conn, self.account_id, start, stop)

    def states(self, start: Moment, stop: int) -> Iterator[GraphState]:
        """The graph at ``start``, then at each position in ``(start, stop]`` where it can change (each from the
        one before: :meth:`advance`)."""
        state = self.state(start)
        yield state
        for position in self.points(start.position, stop):
            state = self.advance(state, self.moment(position))
            yield state

    def advance(self, before: GraphState, moment: Moment) -> GraphState:
        """The graph at ``moment`` from the graph at the change point before it: when only principals' own
        permissions changed in between (:func:`~iamledger.projections.access.graph_history.structure_changed` says
        nothing else did), the edges and admin status of the principals touched are decided again and the others
        kept; else the whole graph is built."""
        start, stop = before.position, moment.position
        if graph_history.structure_changed(self.conn, self.account_id, start, stop):
            return self.state(moment)
        touched = analysis.principals_touched(self.conn, self.account_id, start, stop)  # read at start and stop
        joined = graph_history.groups_whose_members_changed(self.conn, self.account_id, start, stop)
        with reading_at(stop):
            graph = EscalationGraph(self.conn, self.account_id, moment)
            subjects = graph._load(touched, touched)  # noqa: SLF001 - the touched users and roles, as of the moment
            admins = {s.arn for s in subjects if graph.is_admin(s)}
            deciding = subjects if self.beyond_admins else [s for s in subjects if s.arn not in admins]
            for technique in catalogue().techniques:
                for subject in deciding:
                    graph.edges += graph._edges_of(technique, subject)  # noqa: SLF001
            changed = {a for a, s in before.graph.subjects.items() if str(s.row["entity_uuid"]) in touched}
            changed |= {s.arn for s in subjects}
            groups = {str(r["arn"]) for r in graph._rows["group"] if str(r["entity_uuid"]) in joined}  # noqa: SLF001
            skip = set() if self.beyond_admins else before.graph.admins  # untouched: still admin-equivalent
            graph.edges += self._regranted(graph, touched, joined, changed, skip)
        kept = [e for e in before.graph.edges if _decider(e) not in touched and not regrants(e, groups, changed)]
        graph.edges = kept + graph.edges
        entity_of = {arn: str(s.row["entity_uuid"]) for arn, s in before.graph.subjects.items()}
        graph.admins = {a for a in before.graph.admins if entity_of.get(a) not in touched}
        graph.admins |= admins
        graph.subjects = {**before.graph.subjects, **graph.subjects}
        return GraphState(moment, graph, {edge_key(e): e for e in graph.edges})

    @staticmethod
    def _regranted(
        graph: EscalationGraph, touched: set[str], joined: set[str], changed: set[str], skip: set[str]
    ) -> list[Edge]:
        """The grants of principals not touched to the members of the groups ``joined`` (whose members changed) and
        to the principals ``changed`` (ARNs: whose own policies changed, which a boundary may hold back); none by
        the principals ``skip`` (ARNs)."""
        edges: list[Edge] = []
        for technique in catalogue().techniques:
            if technique.target != "own-group" and not technique.target.endswith("-bounded"):
                continue
            for granter in graph._candidates(technique):  # noqa: SLF001
                if str(granter.row["entity_uuid"]) not in touched and granter.arn not in skip:
                    edges += granted_on(graph, technique, granter, groups=joined, principals=changed)
        return edges

    def edge_intervals(self, start: Moment, stop: int) -> dict[EdgeKey, list[Span]]:
        """Each edge's intervals within ``[start, stop]``: an interval starting at ``start`` may have begun before
        it; one ending ``None`` still holds at ``stop``."""
        return intervals((s.position, s.edges.keys()) for s in self.states(start, stop))

    def edge_points(self, edges: list[Edge], stop: int) -> list[int]:
        """The positions up to ``stop`` at which any of ``edges`` (decided by one principal) can open or close: where
        a row began or ended of that principal (its permissions:
        :func:`~iamledger.projections.access.change_points.change_points`), of every principal that held one of their
        sources' or targets' ARNs, or of a group or policy they act through."""
        points: set[int] = set()
        if edges[0].grants:  # an edge from outside the store has none: the trust policy alone decides it
            subject = edges[0].grants[0].subject
            points |= set(change_points(self.conn, subject.entity_kind, str(subject.row["entity_uuid"])))
        others = set().union(*self.named_by(edges).values())
        policies = {(e.via or "").split(" ")[0] for e in edges}
        others |= analysis.policy_ids(self.conn, [arn for arn in policies if ":policy/" in arn])
        points |= graph_history.entities_change_points(self.conn, others)
        return sorted(p for p in points if p <= stop)

    def _decidable(self, edge: Edge) -> bool:
        return bool(edge.grants) and str(edge.grants[0].subject.row.get("account_id")) == self.account_id

    def holding(self, edges: list[Edge], moment: Moment, named: dict[str, set[str]] | None = None) -> set[EdgeKey]:
        """Which of ``edges`` (decided by one principal) hold at ``moment``: each of their techniques decided once
        for that principal, on their targets only (the edges a whole graph has for them; ``named``: the principals
        they name, :meth:`named_by`); for edges no principal of the account decides (from another account), the
        account's cross-account edges."""
        if not self._decidable(edges[0]):  # from another account: the account's cross-account edges
            with reading_at(moment.position):
                graph = EscalationGraph(self.conn, self.account_id, moment)
                return {edge_key(e) for e in graph._cross_account_edges()}  # noqa: SLF001
        subject = edges[0].grants[0].subject
        entity, kind = str(subject.row["entity_uuid"]), subject.kind
        found: set[EdgeKey] = set()
        with reading_at(moment.position):
            graph = EscalationGraph(self.conn, self.account_id, moment)
            loaded = graph._load({entity} if kind == "user" else set(), {entity} if kind == "role" else set())  # noqa: SLF001
            if not loaded:
                return found
            self._narrow(graph, entity, self.named_by(edges) if named is None else named)
            for technique in {e.technique.id: e.technique for e in edges}.values():
                found |= {edge_key(e) for e in graph._edges_of(technique, loaded[0])}  # noqa: SLF001
        return found

    def named_by(self, edges: Iterable[Edge]) -> dict[str, set[str]]:
        """The users, groups and roles (aggregate ids, by kind) that ever held the ARNs ``edges`` name: their
        sources, targets and the groups they act through."""
        named: dict[str, set[str]] = {"user": set(), "group": set(), "role": set()}
        arns = {arn for e in edges for arn in (e.source, e.target, (e.via or "").split(" ")[0])}
        for arn in sorted(a for a in arns if a.startswith("arn:aws:iam::") and ":policy/" not in a):
            for holder in analysis.holders(self.conn, arn):
                named[holder.kind].add(holder.entity)
        return named

    def _narrow(self, graph: EscalationGraph, entity: str, named: dict[str, set[str]]) -> None:
        """Give ``graph`` the rows of the users, roles and groups ``named`` only, the groups of the deciding
        principal and those users' login profiles, read at the bound position: deciding a technique then reads no
        more of the account than that (the graph's lazily read rows, set before it reads them)."""
        rows = {kind: analysis.principal_rows(self.conn, kind, self.account_id, ids) for kind, ids in named.items()}
        groups_by_user: dict[str, list[dict[str, Any]]] = {}
        for user in {entity, *named["user"]}:  # the named users' too: a grant on a group reaches its members
            member_of = {str(m["group_uuid"]) for m in analysis.memberships_of_user(self.conn, user)}
            if member_of:
                groups_by_user[user] = analysis.principal_rows(self.conn, "group", self.account_id, member_of)
        profiles = {str(p["user_uuid"]) for user in named["user"] for p in analysis.login_profile_rows(self.conn, user)}
        graph.__dict__.update(_rows=rows, _groups_by_user=groups_by_user, _login_profiles=profiles)


def _decider(edge: Edge) -> str:
    """The aggregate id of the principal whose permissions decide ``edge`` (``""`` for an edge from outside the
    store, decided by a trust policy alone)."""
    return str(edge.grants[0].subject.row["entity_uuid"]) if edge.grants else ""


def intervals(series: Iterable[tuple[int, Iterable[Key]]]) -> dict[Key, list[Span]]:
    """The spans in which each key is present, from ``(position, keys present)`` in position order (each holding
    until the next)."""
    opened: dict[Key, int] = {}
    found: dict[Key, list[Span]] = {}
    for position, keys in series:
        present = set(keys)
        for key in [k for k in opened if k not in present]:
            found.setdefault(key, []).append((opened.pop(key), position))
        for key in present:
            opened.setdefault(key, position)
    for key, start in opened.items():
        found.setdefault(key, []).append((start, None))
    return found


def opened_since(history: GraphHistory, edges: Iterable[Edge], moment: Moment) -> dict[EdgeKey, int]:
    """For each edge holding at ``moment``: the first position of the stretch up to ``moment`` in which it has held
    (the latest position at or before ``moment`` at which it opened). The edges decided by one principal are walked
    back together over the union of their change points (a position that is not one of an edge's own changes
    nothing for it: it holds there as at its own point before), the principal read once per position."""
    since: dict[EdgeKey, int] = {}
    groups: dict[str, list[Edge]] = {}
    for edge in edges:
        if edge_key(edge) not in since:
            since[edge_key(edge)] = moment.position
            groups.setdefault(str(edge.grants[0].subject.row["entity_uuid"]) if edge.grants else "", []).append(edge)
    for group in groups.values():
        pending = {edge_key(e): e for e in group}
        named = history.named_by(group)
        points = history.edge_points(group, moment.position)
        for position in reversed(points):
            if not pending:
                break
            if position == moment.position:
                held = set(pending)
            else:
                held = history.holding(list(pending.values()), history.moment(position), named)
            for key in list(pending):
                if key in held:
                    since[key] = position
                else:
                    del pending[key]
    return since


def boundary(book: EventBook, conn: Connection, position: int) -> dict[str, Any]:
    """A position where something opened or closed: its time and the event there, described as answers describe
    events (who, when, source IP, request id, event name)."""
    return {"Position": position, "Time": time_of(conn, position), "Event": book.describe(position)}


def hop_summary(edge: Edge) -> dict[str, Any]:
    """A hop as the history answers show it (its statements are in ``escalation-paths`` at a moment)."""
    hop: dict[str, Any] = {"From": edge.source, "To": edge.target, "Technique": edge.technique.id}
    if edge.via is not None:
        hop["Via"] = edge.via
    if edge.granter is not None:
        hop["GrantedBy"] = edge.granter
    if edge.conditional:
        hop["ConditionKeys"] = list(edge.condition_keys)
    return hop


def reachable(
    graph: EscalationGraph, start: str, depth: int, stop_at: AbstractSet[str] = frozenset()
) -> dict[str, list[Edge]]:
    """Every node reachable from ``start`` by a path without a repeated principal of at most ``depth`` hops, with
    the shortest such path (then the first by techniques and nodes); a grant on another is taken only after its
    granter, as in :func:`~iamledger.audit.escalation.simple_paths`; no path goes on from a node of ``stop_at``
    (none from ``start`` when it is one)."""
    by_source, by_granter = edges_by_node(graph.edges)
    best: dict[str, list[Edge]] = {}

    def order(path: list[Edge]) -> tuple[int, list[tuple[str, str, str]]]:
        return len(path), [(e.technique.id, e.target, e.via or "") for e in path]

    def walk(node: str, seen: set[str], path: list[Edge]) -> None:
        if len(path) >= depth:
            return
        for edge, onward in next_hops(node, seen, by_source, by_granter):
            hop = [*path, edge]
            if edge.target not in best or order(hop) < order(best[edge.target]):
                best[edge.target] = hop
            if onward and edge.target not in stop_at:
                walk(edge.target, seen | {edge.target}, hop)

    if start not in stop_at:
        walk(start, {start}, [])
    return best


def seconds_between(conn: Connection, start: int, end: int | None, now: datetime) -> float:
    """The seconds from ``start``'s recorded time to ``end``'s (to ``now`` while it is ``None``)."""
    began = time_of(conn, start) or now
    ended = now if end is None else (time_of(conn, end) or now)
    return max(0.0, (ended - began).total_seconds())


def closes(
    history: GraphHistory, after: int, head: int, open_keys: set[Key], present: Callable[[GraphState], set[Key]]
) -> dict[Key, int]:
    """Where each of ``open_keys`` (holding at ``after``) stopped holding in ``(after, head]``; the keys still
    holding at ``head`` are absent from the answer. The graph is built at each change point until none holds."""
    found: dict[Key, int] = {}
    pending = set(open_keys)
    for position in history.points(after, head):
        if not pending:
            break
        now = present(history.state(history.moment(position)))
        for key in [k for k in pending if k not in now]:
            found[key] = position
            pending.discard(key)
    return found
