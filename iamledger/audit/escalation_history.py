"""Escalation over history: the paths that opened between two moments (:func:`paths_opened`), and everything a
credential could reach while it was active (:func:`blast_radius`). Both read the graph at each position where it can
change (:class:`~iamledger.audit.escalation_timeline.GraphHistory`: one whole graph built per change point, not yet
an incremental projection), and name the events at which things opened and closed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Connection

from iamledger.audit.escalation import _check_depth, _check_to, _short, path_text, simple_paths
from iamledger.audit.escalation_edges import ADMIN, Edge, edges_by_node
from iamledger.audit.escalation_graph import EscalationGraph
from iamledger.audit.escalation_timeline import (
    GraphHistory,
    GraphState,
    Span,
    boundary,
    closes,
    hop_summary,
    intervals,
    path_key,
    reachable,
    seconds_between,
)
from iamledger.audit.moments import _ANALYSIS_OPERATION, _authorize, _moment, describe_moment
from iamledger.audit.provenance import EventBook
from iamledger.domain.errors import InvalidInputError, NoSuchEntityError
from iamledger.projections.access import analysis, graph_history
from iamledger.projections.engine.temporal import reading_at, reading_now
from iamledger.projections.engine.timeindex import Moment, position_at
from iamledger.services.base import ServiceBase, translated

PathKey = tuple[tuple[str, ...], ...]
_ADMIN_EQUIVALENT: Final = "admin-equivalent"


def _paths_of(graph: EscalationGraph, goal: str, depth: int) -> dict[PathKey, tuple[str, list[Edge]]]:
    """Every path at a state, by key, with the principal it starts from: the paths of escalation-paths for every
    principal (not from an admin-equivalent one when the goal is admin), and for the goal admin each admin-equivalent
    principal as a path of length 0."""
    goals = {ADMIN, *graph.admins} if goal == ADMIN else {goal}
    found: dict[PathKey, tuple[str, list[Edge]]] = {}
    sources = {e.source for e in graph.edges} - (graph.admins if goal == ADMIN else {goal})
    index = edges_by_node(graph.edges)
    for source in sorted(sources):
        for path in simple_paths(graph, source, goals, depth, index):
            found[path_key(path)] = (source, path)
    if goal == ADMIN:
        for arn in graph.admins:
            found[((arn, _ADMIN_EQUIVALENT),)] = (arn, [])
    return found


class _PathsOf:
    """:func:`_paths_of` at each state, enumerated again only when the edges or admins differ from the last state's
    (a change point often changes neither)."""

    def __init__(self, goal: str, depth: int) -> None:
        self.goal, self.depth = goal, depth
        self._last: tuple[frozenset[Any], frozenset[str]] | None = None
        self._found: dict[PathKey, tuple[str, list[Edge]]] = {}

    def of(self, state: GraphState) -> dict[PathKey, tuple[str, list[Edge]]]:
        shape = (frozenset(state.edges), frozenset(state.graph.admins))
        if shape != self._last:
            self._last, self._found = shape, _paths_of(state.graph, self.goal, self.depth)
        return self._found


def _when(store: ServiceBase, when: str | int | datetime | None, name: str) -> Moment:
    if when is None and name == "From":
        raise InvalidInputError("From is required: the moment the paths must not have existed at.")
    with reading_now(), store.engine.connect() as conn:
        return _moment(store, conn, when)


def paths_opened(
    store: ServiceBase,
    *,
    From: str | int | datetime,
    To: str | int | datetime | None = None,
    Target: str | None = ADMIN,
    MaxDepth: int | None = None,
) -> dict[str, Any]:
    """Each escalation path to ``Target`` (``admin``, the default, or a user's or role's ARN) of at most
    ``MaxDepth`` hops that did not hold at ``From`` and held at some moment in ``(From, To]`` (``To`` default now):
    one entry per opening in the range (a path that closed and opened again in it is listed at each opening). Each
    names the event that opened it (at the change point where its last missing edge opened), the event that closed
    it (looked for up to now; ``null`` while it is still open), how long it stayed open in seconds and its
    positions. With the goal admin, a principal that became admin-equivalent is a path of length 0."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    depth, goal = _check_depth(MaxDepth), _check_to(Target)
    start, end, now = _when(store, From, "From"), _when(store, To, "To"), _when(store, None, "now")
    if end.position < start.position:
        raise InvalidInputError(f"To (position {end.position}) is before From (position {start.position}).")
    with translated(), store.engine.connect() as conn:
        history = GraphHistory(conn, account_id, now.time, beyond_admins=goal != ADMIN)  # a path stops at admins
        book = EventBook(store, conn)
        first: dict[PathKey, dict[str, Any]] = {}  # each path as shown, from the state it was first seen in
        series: list[tuple[int, set[PathKey]]] = []
        paths = _PathsOf(goal, depth)
        for state in history.states(start, end.position):
            found = paths.of(state)
            for key, value in found.items():
                if key not in first:
                    first[key] = _shown(*value)
            series.append((state.position, set(found)))
        opened = [(key, span) for key, spans in intervals(series).items() for span in spans if span[0] > start.position]
        still = {key for key, (_s, stop) in opened if stop is None}

        def present(state: GraphState) -> set[PathKey]:
            return set(paths.of(state))

        later = closes(history, end.position, now.position, still, present)
        entries = [
            _opening(conn, book, first[key], span[0], later.get(key) if span[1] is None else span[1], now)
            for key, span in opened
        ]
    entries.sort(key=lambda e: (e["OpenedAt"]["Position"], e["Length"], e["Text"]))
    answer: dict[str, Any] = {"Target": goal, "MaxDepth": depth, "From": describe_moment(start)}
    answer["To"] = describe_moment(end)
    answer["AsOf"] = describe_moment(now)
    answer["Paths"] = entries
    return answer


def _shown(source: str, edges: list[Edge]) -> dict[str, Any]:
    """A path as the answer shows it (its text and hops only: no graph is kept for it)."""
    entry: dict[str, Any] = {"PrincipalArn": source, "Length": len(edges)}
    entry["Text"] = path_text(edges) if edges else f"{_short(source)} is {_ADMIN_EQUIVALENT}"
    entry["Hops"] = [hop_summary(e) for e in edges]
    return entry


def _opening(
    conn: Connection, book: EventBook, shown: dict[str, Any], opened: int, closed: int | None, now: Moment
) -> dict[str, Any]:
    entry = dict(shown)
    entry["OpenedAt"] = boundary(book, conn, opened)
    entry["ClosedAt"] = None if closed is None else boundary(book, conn, closed)
    entry["StillOpen"] = closed is None
    entry["OpenSeconds"] = seconds_between(conn, opened, closed, now.time)
    entry["OpenPositions"] = {"From": opened, "To": closed}
    return entry


# -- blast radius ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """A principal (by aggregate id) and the windows of positions in which a credential acted as it."""

    kind: str  # user | role | root
    entity: str
    principal_id: str
    arn: str
    windows: tuple[Span, ...]
    session: dict[str, Any] | None = None  # a temporary key's session: its ARN, expiry, whether it had a policy


def _key_credential(store: ServiceBase, conn: Connection, account_id: str, key_id: str, now: Moment) -> Credential:
    rows = graph_history.access_key_history(conn, key_id)
    if not rows or str(rows[0]["account_id"]) != account_id:
        raise NoSuchEntityError(f"The access key {key_id} cannot be found in the account's history.")
    owner = rows[0]
    if owner["owner_kind"] == "session":
        return _session_credential(store, conn, owner, now)
    windows: list[Span] = []  # the union of the rows' spans while Active (rows may repeat or be empty)
    for row in rows:
        since, until = int(row["valid_from"]), None if row["valid_to"] is None else int(row["valid_to"])
        if row["status"] != "Active" or since == until:
            continue
        last = windows[-1] if windows else None
        if last is not None and (last[1] is None or last[1] >= since):
            windows[-1] = (last[0], None if last[1] is None or until is None else max(last[1], until))
        else:
            windows.append((since, until))
    kind = "root" if owner["owner_kind"] == "root" else "user"
    entity = str(owner["owner_uuid"] or owner["owner_arn"])
    principal_id = str(owner["owner_arn"])
    if kind == "user":
        with reading_at(int(owner["valid_from"])):
            user = analysis.row_of(conn, "user", entity)
        principal_id = str(user["user_id"]) if user else principal_id
    return Credential(kind, entity, principal_id, str(owner["owner_arn"]), tuple(windows))


def _session_credential(store: ServiceBase, conn: Connection, key: dict[str, Any], now: Moment) -> Credential:
    """A temporary (``ASIA``) key: it acts as its role (``AssumeRole`` and the other role federations) or as the
    user or root user that called ``GetSessionToken``, from its issue until it expires (the last position recorded
    at or before its ``Expiration``). A key of ``GetFederationToken`` is refused: a federated user is no node of the
    graph (and may call no IAM operation)."""
    try:
        session: Any = store.repository.get(uuid.UUID(str(key["owner_uuid"])))
    except (AggregateNotFoundError, ValueError):
        raise NoSuchEntityError(f"The session of {key['access_key_id']} cannot be found.") from None
    issued, expiration = int(key["valid_from"]), key["expiration"]
    ends = None if expiration is None or expiration > now.time else position_at(conn, expiration) + 1
    if key["valid_to"] is not None:
        ends = int(key["valid_to"]) if ends is None else min(ends, int(key["valid_to"]))
    windows: tuple[Span, ...] = ((issued, ends),) if ends is None or ends > issued else ()
    more = {"SessionArn": str(key["owner_arn"]), "Expiration": expiration}
    role_uuid = getattr(session, "role_uuid", None)
    if role_uuid is not None:
        with reading_at(issued):
            role = analysis.row_of(conn, "role", str(role_uuid))
        if role is None:
            raise NoSuchEntityError(f"The role of the session {key['owner_arn']} cannot be found.")
        more["SessionPolicies"] = bool(session.session_policy or session.policy_arns)
        return Credential("role", str(role_uuid), str(role["role_id"]), str(role["arn"]), windows, more)
    caller = str(getattr(session, "principal_arn", ""))
    if getattr(session, "federated_user_name", None) is not None or not caller:
        raise InvalidInputError(
            f"{key['access_key_id']} is a temporary credential of the federated user {key['owner_arn']}: ask for "
            "the blast radius of the user who called GetFederationToken (PrincipalArn) instead."
        )
    if caller.endswith(":root"):
        return Credential("root", caller, caller, caller, windows, more)
    held = [h for h in analysis.holders(conn, caller) if h.holds(issued)]
    if not held:
        raise NoSuchEntityError(f"The user {caller} of the session {key['owner_arn']} cannot be found.")
    return Credential("user", held[0].entity, held[0].principal_id, caller, windows, more)


def _arn_credentials(conn: Connection, account_id: str, arn: str) -> list[Credential]:
    found = analysis.holders(conn, arn)
    if not found or arn.split(":")[4] != account_id:
        raise NoSuchEntityError(f"The user or role {arn} cannot be found in the account's history.")
    if found[0].kind not in {"user", "role"}:
        raise InvalidInputError(f"{arn} is a group: the blast radius is that of a user or role (a credential).")
    return [Credential(h.kind, h.entity, h.principal_id, arn, h.held) for h in found]


def blast_radius(
    store: ServiceBase,
    *,
    AccessKeyId: str | None = None,
    PrincipalArn: str | None = None,
    MaxDepth: int | None = None,
) -> dict[str, Any]:
    """Everything reachable from a credential while it was active: an access key (``AccessKeyId``: from its
    creation to its deletion, less the periods it was ``Inactive``; a temporary key from its issue until it expired,
    acting as its role, or as the user that called ``GetSessionToken``) or a user or role (``PrincipalArn``: each
    principal that held the ARN, for the time it held it). For each: its active windows; every node reachable from
    it by escalation paths of at most ``MaxDepth`` hops, with the sub-windows in which it was reachable and the
    shortest path at the start of each; and the windows in which it could act as admin (admin-equivalent itself,
    or reaching ``admin`` or an admin-equivalent principal). Each window opens and closes at an event."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    depth = _check_depth(MaxDepth)
    if (AccessKeyId is None) == (PrincipalArn is None):
        raise InvalidInputError("Give exactly one of AccessKeyId and PrincipalArn.")
    now = _when(store, None, "now")
    with translated(), store.engine.connect() as conn:
        if AccessKeyId is not None:
            credentials = [_key_credential(store, conn, account_id, AccessKeyId, now)]
        else:
            credentials = _arn_credentials(conn, account_id, str(PrincipalArn))
        radius = _Radius(GraphHistory(conn, account_id, now.time), EventBook(store, conn), depth, now)
        principals = [radius.of(credential) for credential in credentials]
    answer: dict[str, Any] = {"AccessKeyId": AccessKeyId} if AccessKeyId is not None else {}
    if PrincipalArn is not None:
        answer["PrincipalArn"] = PrincipalArn
    answer.update({"MaxDepth": depth, "AsOf": describe_moment(now), "Principals": principals})
    return answer


class _Radius:
    """The reach of credentials, window by window, over the graph at each change point."""

    def __init__(self, history: GraphHistory, book: EventBook, depth: int, now: Moment) -> None:
        self.history, self.book, self.depth, self.now = history, book, depth, now
        self.conn = history.conn

    def _edge(self, position: int | None) -> dict[str, Any] | None:
        return None if position is None else boundary(self.book, self.conn, position)

    def window(self, start: int, stop: int | None, **more: Any) -> dict[str, Any]:
        return {"From": self._edge(start), "To": self._edge(stop), **more}

    def of(self, credential: Credential) -> dict[str, Any]:
        entry: dict[str, Any] = {"PrincipalArn": credential.arn, "PrincipalId": credential.principal_id}
        entry["Kind"] = credential.kind
        if credential.session is not None:
            entry["Session"] = credential.session
        entry["ActiveWindows"] = [self.window(a, b) for a, b in credential.windows]
        if credential.kind == "root":  # the root user may do anything in its account
            entry["AdminWindows"] = [self.window(a, b, Via="the account's root user") for a, b in credential.windows]
            entry["Reachable"] = []
            return entry
        admin: list[dict[str, Any]] = []
        nodes: dict[str, list[dict[str, Any]]] = {}
        admin_nodes: dict[str, list[dict[str, Any]]] = {}
        for start, stop in credential.windows:
            self._in_window(credential, start, stop, admin, nodes, admin_nodes)
        entry["AdminWindows"] = admin
        entry["Reachable"] = [
            {"Arn": node, "Windows": nodes[node], "AdminEquivalentWindows": admin_nodes.get(node, [])}
            for node in sorted(nodes)
        ]
        return entry

    def _in_window(
        self,
        credential: Credential,
        start: int,
        stop: int | None,
        admin: list[dict[str, Any]],
        nodes: dict[str, list[dict[str, Any]]],
        admin_nodes: dict[str, list[dict[str, Any]]],
    ) -> None:
        last = self.now.position if stop is None else stop - 1
        positions = [start, *self.history.points(start, last)] if last >= start else []
        reach_series: list[tuple[int, set[str]]] = []
        admin_series: list[tuple[int, set[str]]] = []
        equivalent_series: list[tuple[int, set[str]]] = []
        paths: dict[tuple[str, int], dict[str, Any]] = {}  # a node's path where its window opens, as shown
        vias: dict[int, str] = {}
        before: set[str] = set()
        for position in positions:
            with reading_at(position):
                row = analysis.row_of(self.conn, credential.kind, credential.entity)
            arn = None if row is None else str(row["arn"])
            graph = None if arn is None else self.history.reach(self.history.moment(position), arn, self.depth)
            found = {} if graph is None or arn is None else reachable(graph, arn, self.depth, graph.admins)
            reach_series.append((position, set(found)))
            equivalent_series.append((position, {n for n in found if graph is not None and n in graph.admins}))
            via = None if graph is None or arn is None else _admin_via(graph, arn, found)
            admin_series.append((position, set() if via is None else {ADMIN}))
            for node in set(found) - before:
                path = found[node]
                paths[(node, position)] = {"Length": len(path), "Path": path_text(path)}
                paths[(node, position)]["Hops"] = [hop_summary(e) for e in path]
            before = set(found)
            if via is not None:
                vias[position] = via
        if positions and stop is not None:  # the credential stopped acting at ``stop``
            for series in (reach_series, admin_series, equivalent_series):
                series.append((stop, set()))
        for node, spans in intervals(reach_series).items():
            nodes.setdefault(node, []).extend(self.window(a, b, **paths[(node, a)]) for a, b in spans)
        for node, spans in intervals(equivalent_series).items():
            admin_nodes.setdefault(node, []).extend(self.window(a, b) for a, b in spans)
        admin.extend(self.window(a, b, Via=vias[a]) for a, b in intervals(admin_series).get(ADMIN, []))


def _admin_via(graph: EscalationGraph, arn: str, found: dict[str, list[Edge]]) -> str | None:
    """How the principal could act as admin at a state: itself, or the shortest path to ``admin`` or to an
    admin-equivalent principal (as a line); ``None`` when it could not."""
    if arn in graph.admins:
        return f"{_short(arn)} is {_ADMIN_EQUIVALENT}"
    goals = [found[n] for n in found if n == ADMIN or n in graph.admins]
    if not goals:
        return None
    return min((path_text(p) for p in goals), key=lambda text: (text.count("]->"), text))
