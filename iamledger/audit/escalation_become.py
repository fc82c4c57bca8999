"""The escalation graph's edges to other principals (:class:`~iamledger.audit.escalation_graph.EscalationGraph`'s
builders for the techniques whose edge ends at a user or a role): becoming a user by making it a credential, and a
role by assuming it, rewriting its trust policy or passing it to a service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamledger.audit.escalation_edges import Edge
from iamledger.audit.escalation_grants import resources_of
from iamledger.audit.subjects import Subject
from iamledger.audit.techniques import Technique
from iamledger.audit.trust import trust_policy_of
from iamledger.domain.policy import AppliedPolicy, PolicySet, Principal, Request, evaluate

if TYPE_CHECKING:
    from iamledger.audit.escalation_graph import EscalationGraph


def become_users(graph: EscalationGraph, technique: Technique, subject: Subject) -> list[Edge]:
    """The edges from ``subject`` to each user it can become by ``technique`` (an access key or a console password
    made for the user), asked only about the users its statements can name."""
    edges = []
    for row in graph.rows_for(technique, subject, "user"):
        target = str(row["arn"])
        has_profile = str(row["entity_uuid"]) in graph._login_profiles  # noqa: SLF001
        if target == subject.arn or (technique.precondition == "login-profile" and not has_profile):
            continue
        if technique.precondition == "no-login-profile" and has_profile:
            continue
        grants = graph._all_granted(technique, subject, resources_of(subject, target), None)  # noqa: SLF001
        if grants is not None:
            edges.append(graph.edge(technique, subject, target, grants))
    return edges


def _passed_to(service: str | None) -> dict[str, str] | None:
    return None if service is None else {"iam:PassedToService": service}


def _service_admitted(trust: AppliedPolicy, service: str, role_arn: str, account_id: str) -> bool:
    request = Request(Principal.service(service), "sts:AssumeRole", role_arn, {}, account_id)
    return evaluate(request, PolicySet(resource=trust)).allowed


def become_roles(graph: EscalationGraph, technique: Technique, subject: Subject) -> list[Edge]:
    """The edges from ``subject`` to each role it can become by ``technique``: assumed (its trust policy and the
    subject's identity side), its trust policy rewritten, or passed to a service whose trust it admits."""
    edges = []
    if technique.precondition == "trust":  # the trust policy may allow it alone: every role is asked
        rows = graph._rows["role"]  # noqa: SLF001 - the graph's own rows
    else:  # the rows some service's request may be allowed on, in order
        kept = {
            id(row)
            for service in technique.services or (None,)
            for row in graph.rows_for(technique, subject, "role", extra=_passed_to(service))
        }
        rows = [row for row in graph._rows["role"] if id(row) in kept]  # noqa: SLF001
    for row in rows:
        target = str(row["arn"])
        if target == subject.arn:
            continue
        trust = trust_policy_of(row)
        if technique.precondition == "trust":
            grant = graph.decide(subject, "sts:AssumeRole", target, {"sts:RoleSessionName": "escalation"}, trust)
            if grant.decision.allowed:
                role = graph._load(set(), {str(row["entity_uuid"])})  # noqa: SLF001
                edges.append(graph.edge(technique, subject, target, (grant,), trust_role=role[0] if role else None))
            continue
        for service in technique.services or (None,):
            if service is not None and not _service_admitted(trust, service, target, graph.account_id):
                continue
            extra = _passed_to(service)
            grants = graph._all_granted(technique, subject, resources_of(subject, target), extra)  # noqa: SLF001
            if grants is not None:
                edges.append(graph.edge(technique, subject, target, grants, via=service))
                break
    return edges
