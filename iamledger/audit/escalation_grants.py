"""The ``grant`` techniques' edges: P changes permissions, its own (an edge P -> admin) or another principal Q's
(an edge Q -> admin granted by P, usable by a path that went through P first): inline and managed policies on users,
roles and groups, group membership, policy versions, permissions boundaries."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, Final

from iamledger.audit.escalation_edges import ADMIN, Edge
from iamledger.audit.subjects import Subject, policies_only_key
from iamledger.audit.techniques import Technique
from iamledger.domain.arns import is_aws_managed_policy_arn
from iamledger.projections.access import analysis
from iamledger.projections.access.effective import EffectivePolicy

if TYPE_CHECKING:
    from iamledger.audit.escalation_graph import EscalationGraph

ADMINISTRATOR_ACCESS: Final = "arn:aws:iam::aws:policy/AdministratorAccess"


def resources_of(subject: Subject, target: str) -> dict[str, str]:
    return {"target": target, "self": subject.arn, "group": target, "policy": target, "*": "*"}


def self_grant(graph: EscalationGraph, technique: Technique, subject: Subject) -> list[Edge]:
    """A put or attach of a policy on oneself, or lifting one's own boundary when it alone holds back admin:
    ``P -> admin``; the same on others: :func:`_grants_on_others`."""
    kind = technique.target.split("-")[1]
    others = _grants_on_others(graph, technique, subject, kind)
    if subject.kind != kind:
        return others
    if technique.target.endswith("-bounded"):
        if subject.boundary is None:
            return others
        unbounded = graph._hypothetical(subject, [p for p in subject.policies if p.role == "identity"])  # noqa: SLF001
        if not graph.is_admin(unbounded, cache=False):
            return others
    grants = graph._all_granted(technique, subject, resources_of(subject, subject.arn), _boundary_context(technique))  # noqa: SLF001
    return ([] if grants is None else [graph.edge(technique, subject, ADMIN, grants)]) + others


def _boundary_context(technique: Technique) -> dict[str, str] | None:
    """Putting a boundary is asked with ``iam:PermissionsBoundary`` set to AdministratorAccess (the boundary that
    lifts every limit)."""
    action = technique.requires[0].action
    putting = action.startswith("iam:Put") and action.endswith("PermissionsBoundary")
    return {"iam:PermissionsBoundary": ADMINISTRATOR_ACCESS} if putting else None


def regrants(edge: Edge, groups: AbstractSet[str], principals: AbstractSet[str]) -> bool:
    """Whether ``edge``, a grant by one principal to another, depends on a group whose members changed (``groups``:
    ARNs) or on a principal whose own policies changed (``principals``: ARNs; what a boundary holds back)."""
    if edge.granter is None:
        return False
    if edge.technique.target == "own-group":
        return (edge.via or "") in groups
    return edge.technique.target.endswith("-bounded") and edge.source in principals


def granted_on(
    graph: EscalationGraph,
    technique: Technique,
    granter: Subject,
    *,
    groups: AbstractSet[str],
    principals: AbstractSet[str],
) -> list[Edge]:
    """The edges ``granter`` gives others by ``technique`` on the groups (aggregate ids) ``groups`` or to the
    principals (ARNs) ``principals`` only: what :func:`regrants` says changes with them."""
    if technique.target == "own-group":
        return [e for e in _group_policy_grants(graph, technique, granter, groups) if e.granter is not None]
    if technique.target.endswith("-bounded"):
        kind = technique.target.split("-")[1]
        return _grants_on_others(graph, technique, granter, kind, principals)
    return []


def _grants_on_others(
    graph: EscalationGraph,
    technique: Technique,
    subject: Subject,
    kind: str,
    only: AbstractSet[str] | None = None,
) -> list[Edge]:
    """The edges ``Q -> admin`` of the other users or roles Q that ``subject`` can put or attach a policy on, or
    whose boundary it can lift when only the boundary keeps Q from being admin-equivalent: usable by a path that went
    through ``subject`` (it grants Q anything, then uses Q's permissions)."""
    bounded = technique.target.endswith("-bounded")
    edges = []
    for row in graph.rows_for(technique, subject, kind, ("target", "self"), _boundary_context(technique)):
        other = str(row["arn"])
        if other == subject.arn or (only is not None and other not in only):
            continue
        if bounded and not _held_back_by_boundary(graph, row):
            continue
        resources = {**resources_of(subject, other), "self": other}  # "self" is the principal granted to
        grants = graph._all_granted(technique, subject, resources, _boundary_context(technique))  # noqa: SLF001
        if grants is not None:
            edges.append(graph.edge(technique, subject, ADMIN, grants, source=other, granter=subject.arn))
    return edges


def _held_back_by_boundary(graph: EscalationGraph, row: dict[str, Any]) -> bool:
    """Whether the user or role of ``row`` has a boundary and its identity policies alone are admin-equivalent
    (answered once per graph)."""
    if row.get("boundary_arn") is None:
        return False
    found = graph.held_back.get(str(row["entity_uuid"]))
    if found is None:
        found = graph.held_back[str(row["entity_uuid"])] = _unbounded_admin(graph, row)
    return found


def _unbounded_admin(graph: EscalationGraph, row: dict[str, Any]) -> bool:
    uuid, kind = str(row["entity_uuid"]), "user" if ":user/" in str(row["arn"]) else "role"
    loaded = graph._load({uuid} if kind == "user" else set(), {uuid} if kind == "role" else set())  # noqa: SLF001
    if not loaded:
        return False
    subject = loaded[0]
    unbounded = graph._hypothetical(subject, [p for p in subject.policies if p.role == "identity"])  # noqa: SLF001
    return graph.is_admin(unbounded, cache=False)


def group_grant(graph: EscalationGraph, technique: Technique, subject: Subject) -> list[Edge]:
    """A put or attach on a group: ``P -> admin`` for a group P is in; ``M -> admin`` granted by P for each other
    member M of a group P can change (a role is in no group, so only the latter). Joining a group whose policies
    would make P admin-equivalent: ``P -> admin``."""
    if technique.target == "own-group":
        return _group_policy_grants(graph, technique, subject)
    if subject.kind != "user":
        return []
    member_of = {str(g["entity_uuid"]) for g in graph._groups_by_user.get(str(subject.row["entity_uuid"]), [])}  # noqa: SLF001
    edges = []
    for row in graph.rows_for(technique, subject, "group", ("group",)):
        if str(row["entity_uuid"]) in member_of:
            continue
        joined = subject.policies + graph.group_policies(row)
        if not graph.is_admin(graph._hypothetical(subject, joined), cache=False):  # noqa: SLF001
            continue
        target = str(row["arn"])
        grants = graph._all_granted(technique, subject, resources_of(subject, target), None)  # noqa: SLF001
        if grants is not None:
            edges.append(graph.edge(technique, subject, ADMIN, grants, via=target))
    return edges


def policy_grant(graph: EscalationGraph, technique: Technique, subject: Subject) -> list[Edge]:
    edges = []
    held = sorted(
        {p.policy_arn for p in subject.policies if p.role == "identity" and p.policy_arn}
        - {a for a in (p.policy_arn for p in subject.policies) if a and is_aws_managed_policy_arn(a)}
    )
    for arn in held:
        grants = graph._all_granted(technique, subject, resources_of(subject, arn), None)  # noqa: SLF001
        if grants is None:
            continue
        via: str | None = arn
        if technique.target == "held-policy-version":
            via = _broader_version(graph, subject, arn)  # the costlier question, asked only of those allowed
            if via is None:
                continue
        edges.append(graph.edge(technique, subject, ADMIN, grants, via=via))
    return edges


def _broader_version(graph: EscalationGraph, subject: Subject, arn: str) -> str | None:
    """``<arn> <version>``: a stored, non-default version of ``arn`` that would make ``subject`` admin-equivalent
    as the default; ``None`` when there is none at the moment. Subjects with the same other policies and boundary
    (members of the same groups) get the same answer, found once."""
    others = tuple(sorted((p for p in subject.policies if p.policy_arn != arn), key=repr))
    key = (arn, others, None if policies_only_key(subject) is not None else subject.arn)  # conditions: its own
    if key not in graph.broader_versions:
        graph.broader_versions[key] = _find_broader_version(graph, subject, arn)
    return graph.broader_versions[key]


def _find_broader_version(graph: EscalationGraph, subject: Subject, arn: str) -> str | None:
    for entity in sorted(analysis.policy_ids(graph.conn, [arn])):
        for version in graph.versions_of(entity):
            current = next((p.document for p in subject.policies if p.policy_arn == arn), None)
            if version["document"] is None or str(version["document"]) == current:
                continue
            swapped = [
                EffectivePolicy(p.role, p.source_id, p.source_type, str(version["document"]), p.policy_arn, p.via)
                if p.policy_arn == arn and p.role == "identity"
                else p
                for p in subject.policies
            ]
            if graph.is_admin(graph._hypothetical(subject, swapped), cache=False):  # noqa: SLF001
                return f"{arn} {version['version_id']}"
    return None


def _group_policy_grants(
    graph: EscalationGraph, technique: Technique, subject: Subject, only: AbstractSet[str] | None = None
) -> list[Edge]:
    edges = []
    for row in graph.rows_for(technique, subject, "group", ("group",)):
        if only is not None and str(row["entity_uuid"]) not in only:
            continue
        members = graph.members_by_group.get(str(row["entity_uuid"]), [])
        if not members:
            continue  # a grant to a group without members reaches no one
        target = str(row["arn"])
        grants = graph._all_granted(technique, subject, resources_of(subject, target), None)  # noqa: SLF001
        if grants is None:
            continue
        for member in members:
            by_other = {} if member == subject.arn else {"source": member, "granter": subject.arn}
            edges.append(graph.edge(technique, subject, ADMIN, grants, via=target, **by_other))
    return edges
