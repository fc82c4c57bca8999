"""Why a policy applies to a principal at a position: the rows that make it apply (the membership that brings a
group's policy, the attachment or inline put, a customer managed policy's default version and the version itself,
a boundary) and the positions of the events that made them true, one principal at a time (:func:`reasons_for`) or
for many, read set-based (:class:`ReasonBook`).

Reads go through :func:`~iamledger.projections.engine.temporal.live`, so they answer as of the position bound with
:func:`~iamledger.projections.engine.temporal.reading_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, select

from iamledger.domain.arns import is_aws_managed_policy_arn
from iamledger.projections.access.effective import EffectivePolicy
from iamledger.projections.engine.temporal import live, read_position
from iamledger.projections.views.principals import PRINCIPAL_TABLES
from iamledger.projections.views.tables import (
    ATTACHMENTS,
    GROUP_MEMBERS,
    GROUPS,
    INLINE_POLICIES,
    POLICIES,
    POLICY_VERSIONS,
)
from iamledger.projections.views.users import groups_of_user


@dataclass(frozen=True, slots=True)
class Reason:
    """One row that makes a policy apply, and the position of the event that made the row true."""

    position: int
    what: str  # membership | attachment | inline-policy | default-version | policy-version | boundary


def _valid_from(conn: Connection, table: Table, *where: Any) -> int | None:
    value = conn.execute(select(table.c.valid_from).where(*where, live(table)).order_by(table.c.valid_from)).first()
    return None if value is None else int(value[0])


def unchanged_since(conn: Connection, table: Table, key: Mapping[str, Any], column: str, value: Any) -> int | None:
    """The position since which ``column`` of the row keyed by ``key`` has held ``value`` without interruption, up to
    the bound position: the earliest ``valid_from`` of the unbroken run of rows with that value (a later row that
    changed something else, such as a rename, does not hide the event that set the value)."""
    position = read_position()
    query = select(table).where(*(table.c[k] == v for k, v in key.items()))
    if position is not None:
        query = query.where(table.c.valid_from <= position)
    rows = conn.execute(query.order_by(table.c.valid_from.desc(), table.c.row_id.desc())).mappings().all()
    since: int | None = None
    for row in rows:
        if row[column] != value:
            break
        if since is not None and row["valid_to"] != since:
            break
        since = int(row["valid_from"])
    return since


def _managed_reasons(conn: Connection, arn: str) -> list[Reason]:
    if is_aws_managed_policy_arn(arn):
        return []
    policy = conn.execute(select(POLICIES).where(POLICIES.c.arn == arn, live(POLICIES))).mappings().first()
    if policy is None:
        return []
    reasons = []
    entity, version = str(policy["entity_uuid"]), str(policy["default_version_id"])
    since = unchanged_since(conn, POLICIES, {"entity_uuid": entity}, "default_version_id", version)
    if since is not None:
        reasons.append(Reason(since, "default-version"))
    created = _valid_from(
        conn, POLICY_VERSIONS, POLICY_VERSIONS.c.policy_uuid == entity, POLICY_VERSIONS.c.version_id == version
    )
    if created is not None:
        reasons.append(Reason(created, "policy-version"))
    return reasons


def _owner_of(conn: Connection, kind: str, row: Mapping[str, Any], policy: EffectivePolicy) -> str | None:
    """The aggregate id of the entity a policy hangs on: the principal itself, or the group it comes through."""
    if policy.via is None:
        return str(row["entity_uuid"])
    if kind != "user":
        return None
    for group in groups_of_user(conn, str(row["entity_uuid"])):
        if group["group_name"] == policy.via:
            return str(group["entity_uuid"])
    return None


def reasons_for(conn: Connection, kind: str, row: Mapping[str, Any], policy: EffectivePolicy) -> list[Reason]:
    """Why ``policy`` applies to the principal ``row`` at the bound position: the membership that brings a group's
    policy, the attachment or inline put, and for a customer managed policy the event that made its version the
    default and the one that created that version; oldest first, one per position."""
    reasons: list[Reason] = []
    entity = str(row["entity_uuid"])
    if policy.role == "boundary":
        table = PRINCIPAL_TABLES[kind]
        since = unchanged_since(conn, table, {"entity_uuid": entity}, "boundary_arn", policy.policy_arn)
        if since is not None:
            reasons.append(Reason(since, "boundary"))
        reasons += _managed_reasons(conn, str(policy.policy_arn))
        return _ordered(reasons)
    owner = _owner_of(conn, kind, row, policy)
    if owner is None:
        return []
    if policy.via is not None:
        joined = _valid_from(
            conn, GROUP_MEMBERS, GROUP_MEMBERS.c.user_uuid == entity, GROUP_MEMBERS.c.group_uuid == owner
        )
        if joined is not None:
            reasons.append(Reason(joined, "membership"))
    if policy.policy_arn is None:
        put = _valid_from(
            conn,
            INLINE_POLICIES,
            INLINE_POLICIES.c.principal_uuid == owner,
            INLINE_POLICIES.c.policy_name == policy.source_id,
        )
        if put is not None:
            reasons.append(Reason(put, "inline-policy"))
    else:
        attached = _valid_from(
            conn, ATTACHMENTS, ATTACHMENTS.c.principal_uuid == owner, ATTACHMENTS.c.policy_arn == policy.policy_arn
        )
        if attached is not None:
            reasons.append(Reason(attached, "attachment"))
        reasons += _managed_reasons(conn, policy.policy_arn)
    return _ordered(reasons)


class ReasonBook:
    """:func:`reasons_for` for many principals at the bound position, read set-based: the memberships, inline policies
    and attachments of every principal once (the earliest ``valid_from`` of each live key, as :func:`_valid_from`
    answers), a managed policy's reasons once per ARN. Same answers as :func:`reasons_for`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._loaded = False
        self._groups: dict[str, list[tuple[str, str]]] = {}
        self._joined: dict[tuple[str, str], int] = {}
        self._put: dict[tuple[str, str], int] = {}
        self._attached: dict[tuple[str, str], int] = {}
        self._managed: dict[str, list[Reason]] = {}

    @staticmethod
    def _earliest(found: dict[tuple[str, str], int], key: tuple[str, str], position: int) -> None:
        if key not in found or position < found[key]:
            found[key] = position

    def _load(self) -> None:
        if self._loaded:
            return
        members = (
            select(GROUP_MEMBERS.c.user_uuid, GROUPS.c.entity_uuid, GROUPS.c.group_name, GROUP_MEMBERS.c.valid_from)
            .join(GROUPS, GROUP_MEMBERS.c.group_uuid == GROUPS.c.entity_uuid)
            .where(live(GROUP_MEMBERS), live(GROUPS))
            .order_by(GROUP_MEMBERS.c.user_uuid, GROUPS.c.name_key)
        )
        for user, group, name, since in self._conn.execute(members):
            self._groups.setdefault(str(user), []).append((str(name), str(group)))
            self._earliest(self._joined, (str(user), str(group)), int(since))
        inline = select(INLINE_POLICIES.c.principal_uuid, INLINE_POLICIES.c.policy_name, INLINE_POLICIES.c.valid_from)
        for owner, name, since in self._conn.execute(inline.where(live(INLINE_POLICIES))):
            self._earliest(self._put, (str(owner), str(name)), int(since))
        attached = select(ATTACHMENTS.c.principal_uuid, ATTACHMENTS.c.policy_arn, ATTACHMENTS.c.valid_from)
        for owner, arn, since in self._conn.execute(attached.where(live(ATTACHMENTS))):
            self._earliest(self._attached, (str(owner), str(arn)), int(since))
        self._loaded = True

    def _owner_of(self, kind: str, entity: str, policy: EffectivePolicy) -> str | None:
        if policy.via is None:
            return entity
        if kind != "user":
            return None
        for name, group in self._groups.get(entity, []):
            if name == policy.via:
                return group
        return None

    def _managed_reasons(self, arn: str) -> list[Reason]:
        if arn not in self._managed:
            self._managed[arn] = _managed_reasons(self._conn, arn)
        return self._managed[arn]

    def reasons_for(self, kind: str, row: Mapping[str, Any], policy: EffectivePolicy) -> list[Reason]:
        """What :func:`reasons_for` answers."""
        if policy.role == "boundary":
            return reasons_for(self._conn, kind, row, policy)
        self._load()
        entity = str(row["entity_uuid"])
        owner = self._owner_of(kind, entity, policy)
        if owner is None:
            return []
        reasons: list[Reason] = []
        if policy.via is not None:
            joined = self._joined.get((entity, owner))
            if joined is not None:
                reasons.append(Reason(joined, "membership"))
        if policy.policy_arn is None:
            put = self._put.get((owner, policy.source_id))
            if put is not None:
                reasons.append(Reason(put, "inline-policy"))
        else:
            attached = self._attached.get((owner, policy.policy_arn))
            if attached is not None:
                reasons.append(Reason(attached, "attachment"))
            reasons += self._managed_reasons(policy.policy_arn)
        return _ordered(reasons)


def _ordered(reasons: Iterable[Reason]) -> list[Reason]:
    seen: dict[int, Reason] = {}
    for reason in reasons:
        seen.setdefault(reason.position, reason)
    return [seen[p] for p in sorted(seen)]
