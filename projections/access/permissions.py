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

A policy whose decision can change with nothing but the time (a statement, ``Allow`` or ``Deny``, that reads
``aws:CurrentTime`` or ``aws:EpochTime``, as a condition key or a policy variable) also gets a marker row whose service
is :data:`TIME_MARKER`; :func:`time_dependent_holders` reads the principals holding one, so that a diff between two
moments evaluates them even when none of their rows changed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import Connection, select

from iamledger.domain.policy import PolicyError, PolicyKind, parse
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import close_rows, open_row
from iamledger.projections.views.catalogue import aws_managed_policies
from iamledger.projections.views.tables import (
    ATTACHMENTS,
    GROUP_MEMBERS,
    INLINE_POLICIES,
    POLICIES,
    POLICY_SERVICES,
    ROLES,
    USERS,
)

ANY_SERVICE: Final = "*"
# The index "service" of a policy that reads the time: ``@`` is in no service prefix (they are letters, digits and
# hyphens), and :func:`candidates` only ever asks for an action's service and ``*``, so the marker never makes one.
TIME_MARKER: Final = "@time"
# The request context keys whose values come from the moment asked about, not from any row (``request_context``).
TIME_KEYS: Final = ("aws:currenttime", "aws:epochtime")
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


@functools.lru_cache(maxsize=4096)
def reads_time(document: str) -> bool:
    """Whether some statement of ``document`` may read a time key: any key or string of the document that names one
    (lowercased, as key names are case-insensitive), wherever it is, so a ``Sid`` naming one is a false positive but
    no condition or ``${aws:CurrentTime}`` variable is missed. Both values of a repeated key are looked at."""
    found = False

    def look(pairs: list[tuple[str, Any]]) -> None:
        # called for every object, innermost first: its members' objects are already looked at (and are None)
        nonlocal found
        found = found or any(_names_time(key) or _names_time(value) for key, value in pairs)

    try:
        json.loads(document, object_pairs_hook=look)
    except ValueError:
        return False  # policies are stored valid; a document that does not parse has no statement to evaluate
    return found


def _names_time(value: Any) -> bool:
    if isinstance(value, str):
        lowered = value.lower()
        return any(key in lowered for key in TIME_KEYS)
    if isinstance(value, list):
        return any(_names_time(item) for item in value)
    return False


def index_entries(document: str) -> frozenset[str]:
    """The index rows of a policy: the services it can allow, and :data:`TIME_MARKER` when it reads the time."""
    services = services_allowed(document)
    return services | {TIME_MARKER} if reads_time(document) else services


def open_services(conn: Connection, position: int, account_id: str, owner: str, name: str, document: str) -> None:
    """Index a policy put (inline, by its principal and name) or created (a managed policy's version)."""
    for service in sorted(index_entries(document)):
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


@functools.lru_cache(maxsize=1)
def _catalogue_reading_time() -> frozenset[str]:
    """The built-in AWS managed policies that read the time."""
    return frozenset(arn for arn, entry in aws_managed_policies().items() if reads_time(str(entry["Document"])))


def candidates(conn: Connection, account_id: str, action: str) -> tuple[set[str], set[str]]:
    """The users and roles of ``account_id`` (their aggregate ids) that may be allowed ``action`` at the bound
    position: those holding, themselves or through a group, a policy whose ``Allow`` can match it."""
    holders, arns = _indexed(
        conn, account_id, [service_of(action), ANY_SERVICE], _catalogue_allowing(service_of(action))
    )
    return principals_holding(conn, account_id, holders, arns)


def time_dependent_holders(conn: Connection, account_id: str) -> tuple[set[str], set[str]]:
    """The users and roles of ``account_id`` (their aggregate ids) holding at the bound position a policy that reads
    the time (:data:`TIME_MARKER`): themselves or through a group, inline or managed, or as their boundary. Only
    their decisions can differ between two moments at which none of the rows they depend on differ."""
    holders, arns = _indexed(conn, account_id, [TIME_MARKER], _catalogue_reading_time())
    return principals_holding(conn, account_id, holders, arns, as_boundary=True)


def _indexed(
    conn: Connection, account_id: str, services: list[str], catalogue: frozenset[str]
) -> tuple[set[tuple[str, str]], set[str]]:
    """The holders (``(kind, uuid)``) of the inline policies indexed under one of ``services`` at the bound position,
    and the ARNs of the managed policies whose default version is (with the built-in AWS ones of ``catalogue``)."""
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
    arns = set(catalogue)
    for chunk in _chunks(inline_owners):
        policies = conn.execute(
            select(POLICIES.c.entity_uuid, POLICIES.c.default_version_id, POLICIES.c.arn).where(
                POLICIES.c.entity_uuid.in_(chunk), live(POLICIES)
            )
        )
        arns |= {str(arn) for uuid, version, arn in policies if (str(uuid), str(version)) in versions}
    return holders, arns


def principals_holding(
    conn: Connection, account_id: str, holders: set[tuple[str, str]], arns: set[str], *, as_boundary: bool = False
) -> tuple[set[str], set[str]]:
    """The users and roles among ``holders`` (``(kind, uuid)``), those the managed policies ``arns`` are attached
    to, and the members of the groups among both, at the bound position; with ``as_boundary``, also the users and
    roles with one of ``arns`` as their permissions boundary."""
    holders = set(holders)
    for chunk in _chunks(arns):
        attached = conn.execute(
            select(ATTACHMENTS.c.principal_kind, ATTACHMENTS.c.principal_uuid).where(
                ATTACHMENTS.c.policy_arn.in_(chunk), ATTACHMENTS.c.account_id == account_id, live(ATTACHMENTS)
            )
        )
        holders |= {(str(kind), str(uuid)) for kind, uuid in attached}
        if as_boundary:
            for kind, table in (("user", USERS), ("role", ROLES)):
                bounded = conn.execute(
                    select(table.c.entity_uuid).where(
                        table.c.boundary_arn.in_(chunk), table.c.account_id == account_id, live(table)
                    )
                )
                holders |= {(kind, str(uuid)) for (uuid,) in bounded}
    users = {uuid for kind, uuid in holders if kind == "user"}
    roles = {uuid for kind, uuid in holders if kind == "role"}
    groups = {uuid for kind, uuid in holders if kind == "group"}
    users |= members_of(conn, groups)
    return users, roles


def members_of(conn: Connection, groups: Iterable[str]) -> set[str]:
    """The users (aggregate ids) in any of ``groups`` at the bound position."""
    users: set[str] = set()
    for chunk in _chunks(groups):
        members = conn.execute(
            select(GROUP_MEMBERS.c.user_uuid).where(GROUP_MEMBERS.c.group_uuid.in_(chunk), live(GROUP_MEMBERS))
        )
        users |= {str(uuid) for (uuid,) in members}
    return users


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]
