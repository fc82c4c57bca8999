"""The permission index: which services each policy can allow, so that reverse questions read only the principals
that hold such a policy.

An identity-based ``Allow`` is the only way a user or role can be allowed an action in who-can (boundaries and
session policies only take away), so a principal can be allowed ``s3:GetObject`` only if one of its identity policies
(its own, inline or attached, or a group's) has an ``Allow`` statement whose ``Action`` can match it. The index keeps,
for every inline policy and every managed policy version, the service prefixes of its ``Allow`` statements' action
patterns (``*`` for a pattern whose service part has a wildcard, and for ``NotAction``), as temporal rows beside the
policies themselves. :func:`candidates` reads the holders of the policies that can allow an action at the bound
position: a superset of the principals allowed, which the real evaluator then decides on; no approximation reaches an
answer.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Final

from sqlalchemy import Connection, select

from iamledger.catalogue import aws_managed_policies
from iamledger.domain.policy import PolicyError, PolicyKind, parse
from iamledger.projections.tables import ATTACHMENTS, GROUP_MEMBERS, INLINE_POLICIES, POLICIES, POLICY_SERVICES
from iamledger.projections.temporal import close_rows, live, open_row

ANY_SERVICE: Final = "*"
CHUNK: Final = 500


def service_of(pattern: str) -> str:
    """The lowercased service prefix an action pattern matches (``*`` when its service part has a wildcard)."""
    service, colon, _ = pattern.partition(":")
    if not colon or "*" in service or "?" in service:
        return ANY_SERVICE
    return service.lower()


@functools.lru_cache(maxsize=4096)
def services_allowed(document: str) -> frozenset[str]:
    """The services whose actions an ``Allow`` statement of ``document`` can match (policies are stored valid; a
    document that does not parse allows nothing)."""
    try:
        parsed = parse(document, PolicyKind.IDENTITY)
    except PolicyError:
        return frozenset()
    found: set[str] = set()
    for statement in parsed.statements:
        if statement.effect.value != "Allow":
            continue
        if statement.action is None:  # NotAction: anything it does not list, in any service
            found.add(ANY_SERVICE)
        else:
            found |= {service_of(pattern) for pattern in statement.action}
    return frozenset(found)


def open_services(conn: Connection, position: int, account_id: str, owner: str, name: str, document: str) -> None:
    """Index a policy put (inline, by its principal and name) or created (a managed policy's version)."""
    for service in sorted(services_allowed(document)):
        open_row(conn, POLICY_SERVICES, position, account_id=account_id, owner_uuid=owner, name=name, service=service)


def close_services(conn: Connection, position: int, owner: str, name: str | None = None) -> None:
    """End the index rows of a policy (``name``) or of everything ``owner`` holds."""
    if name is None:
        close_rows(conn, POLICY_SERVICES, position, owner_uuid=owner)
    else:
        close_rows(conn, POLICY_SERVICES, position, owner_uuid=owner, name=name)


@functools.lru_cache(maxsize=64)
def _catalogue_allowing(service: str) -> frozenset[str]:
    """The built-in AWS managed policies that can allow an action of ``service``."""
    return frozenset(
        arn
        for arn, entry in aws_managed_policies().items()
        if services_allowed(str(entry["Document"])) & {service, ANY_SERVICE}
    )


def candidates(conn: Connection, account_id: str, action: str) -> tuple[set[str], set[str]]:
    """The users and roles of ``account_id`` (their aggregate ids) that may be allowed ``action`` at the bound
    position: those holding, themselves or through a group, a policy whose ``Allow`` can match it."""
    services = [service_of(action), ANY_SERVICE]
    owners = conn.execute(
        select(POLICY_SERVICES.c.owner_uuid, POLICY_SERVICES.c.name).where(
            POLICY_SERVICES.c.service.in_(services),
            POLICY_SERVICES.c.account_id.in_([account_id, "aws"]),
            live(POLICY_SERVICES),
        )
    ).all()
    holders: set[tuple[str, str]] = set()  # (kind, uuid)
    inline_owners = {str(owner) for owner, _ in owners}
    versions = {(str(owner), str(name)) for owner, name in owners}
    for chunk in _chunks(inline_owners):
        rows = conn.execute(
            select(INLINE_POLICIES.c.principal_kind, INLINE_POLICIES.c.principal_uuid, INLINE_POLICIES.c.policy_name)
            .where(INLINE_POLICIES.c.principal_uuid.in_(chunk), live(INLINE_POLICIES))
            .where(INLINE_POLICIES.c.account_id == account_id)
        )
        holders |= {(str(kind), str(uuid)) for kind, uuid, name in rows if (str(uuid), str(name)) in versions}
    arns = set(_catalogue_allowing(service_of(action)))
    for chunk in _chunks(inline_owners):
        policies = conn.execute(
            select(POLICIES.c.entity_uuid, POLICIES.c.default_version_id, POLICIES.c.arn).where(
                POLICIES.c.entity_uuid.in_(chunk), live(POLICIES)
            )
        )
        arns |= {str(arn) for uuid, version, arn in policies if (str(uuid), str(version)) in versions}
    for chunk in _chunks(arns):
        attached = conn.execute(
            select(ATTACHMENTS.c.principal_kind, ATTACHMENTS.c.principal_uuid).where(
                ATTACHMENTS.c.policy_arn.in_(chunk), ATTACHMENTS.c.account_id == account_id, live(ATTACHMENTS)
            )
        )
        holders |= {(str(kind), str(uuid)) for kind, uuid in attached}
    users = {uuid for kind, uuid in holders if kind == "user"}
    roles = {uuid for kind, uuid in holders if kind == "role"}
    groups = {uuid for kind, uuid in holders if kind == "group"}
    for chunk in _chunks(groups):
        members = conn.execute(
            select(GROUP_MEMBERS.c.user_uuid).where(GROUP_MEMBERS.c.group_uuid.in_(chunk), live(GROUP_MEMBERS))
        )
        users |= {str(uuid) for (uuid,) in members}
    return users, roles


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]
