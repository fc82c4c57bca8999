"""The changes between two moments, category by category (users, groups, roles, policies, memberships...), each with
the events that made them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection

from iamledger.audit.provenance import EventBook
from iamledger.domain.errors import NoSuchEntityError
from iamledger.projections.access import analysis
from iamledger.projections.engine.temporal import reading_at
from iamledger.projections.engine.timeindex import Moment


@dataclass(frozen=True)
class _Category:
    """One kind of row a diff compares: its name (its rows: :data:`~iamledger.projections.access.analysis.DIFF_VIEWS`),
    the columns that identify a row, the columns whose change is a change of the row, and how a row is shown."""

    name: str
    key: tuple[str, ...]
    compared: tuple[str, ...]
    show: Callable[[Mapping[str, Any], _Names], dict[str, Any]]


_TYPES: Final = {"user": "User", "group": "Group", "role": "Role", "policy": "Policy"}


class _Names:
    """Names and ARNs of entities by aggregate id, as of either moment of a diff (the later one first)."""

    def __init__(self) -> None:
        self.by_uuid: dict[str, dict[str, Any]] = {}

    def add(self, conn: Connection, entities: Iterable[str] | None = None) -> None:
        for kind, entity, name, arn in analysis.entity_names(conn, entities):
            self.by_uuid.setdefault(entity, {"Type": _TYPES[kind], "Name": name, "Arn": arn})

    def arn(self, entity: Any) -> str | None:
        found = self.by_uuid.get(str(entity))
        return None if found is None else str(found["Arn"])

    def name(self, entity: Any) -> str | None:
        found = self.by_uuid.get(str(entity))
        return None if found is None else str(found["Name"])


def _show_entity(kind: str, column: str) -> Callable[[Mapping[str, Any], _Names], dict[str, Any]]:
    def show(row: Mapping[str, Any], _names: _Names) -> dict[str, Any]:
        out = {f"{kind}Name": row[column], "Arn": row["arn"]}
        if row.get("boundary_arn") is not None:
            out["PermissionsBoundary"] = row["boundary_arn"]
        if kind == "Policy":
            out["DefaultVersionId"] = row["default_version_id"]
        if kind == "Role":
            out["AssumeRolePolicyDocument"] = row["trust_policy"]
        return out

    return show


def _show_membership(row: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {"UserName": names.name(row["user_uuid"]), "GroupName": names.name(row["group_uuid"])}


def _show_attachment(row: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {
        "PrincipalType": str(row["principal_kind"]).capitalize(),
        "PrincipalArn": names.arn(row["principal_uuid"]),
        "PolicyArn": row["policy_arn"],
    }


def _show_inline(row: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {
        "PrincipalType": str(row["principal_kind"]).capitalize(),
        "PrincipalArn": names.arn(row["principal_uuid"]),
        "PolicyName": row["policy_name"],
        "PolicyDocument": row["document"],
    }


def _show_version(row: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {"PolicyArn": names.arn(row["policy_uuid"]), "VersionId": row["version_id"]}


def _show_key(row: Mapping[str, Any], _names: _Names) -> dict[str, Any]:
    return {"AccessKeyId": row["access_key_id"], "OwnerArn": row["owner_arn"], "Status": row["status"]}


def _show_session(row: Mapping[str, Any], _names: _Names) -> dict[str, Any]:
    return {"Arn": row["owner_arn"], "AccessKeyId": row["access_key_id"], "Expiration": row["expiration"]}


_CATEGORIES: Final = (
    _Category("User", ("entity_uuid",), ("user_name", "path", "boundary_arn"), _show_entity("User", "user_name")),
    _Category("Group", ("entity_uuid",), ("group_name", "path"), _show_entity("Group", "group_name")),
    _Category(
        "Role",
        ("entity_uuid",),
        ("role_name", "path", "boundary_arn", "trust_policy"),
        _show_entity("Role", "role_name"),
    ),
    _Category("Policy", ("entity_uuid",), ("policy_name", "default_version_id"), _show_entity("Policy", "policy_name")),
    _Category("PolicyVersion", ("policy_uuid", "version_id"), (), _show_version),
    _Category("GroupMembership", ("user_uuid", "group_uuid"), (), _show_membership),
    _Category("PolicyAttachment", ("principal_uuid", "policy_arn"), (), _show_attachment),
    _Category("InlinePolicy", ("principal_uuid", "policy_name"), ("document",), _show_inline),
    _Category("AccessKey", ("access_key_id",), ("status",), _show_key),
    _Category("Session", ("access_key_id",), (), _show_session),
)


# What a changed column means, for the readers of a diff.
_CHANGED_WHAT: Final = {
    "trust_policy": "AssumeRolePolicyDocument",
    "default_version_id": "DefaultVersionId",
    "boundary_arn": "PermissionsBoundary",
    "document": "PolicyDocument",
    "status": "Status",
    "user_name": "UserName",
    "group_name": "GroupName",
    "role_name": "RoleName",
    "policy_name": "PolicyName",
    "path": "Path",
}


@dataclass
class _Scope:
    """What affects the principal an ARN names at either moment of a diff: the holder at each moment (its aggregate
    id and unique id; ``None`` when the ARN named no one then), their groups (at either moment), the policies
    attached to them. AWS gives a deleted principal's ARN to the next one of that name, so the two holders may
    differ."""

    kind: str
    arn: str
    holders: tuple[str | None, str | None]
    principal_ids: tuple[str | None, str | None]
    groups: set[str]
    policies: set[str]
    policy_arns: set[str]
    # The positions between the moments at which the ARN began or stopped naming each moment's holder.
    handovers: tuple[list[int], list[int]]

    @property
    def handed_over(self) -> bool:
        """Whether the ARN named another principal (or no one) at one moment than at the other."""
        return self.holders[0] != self.holders[1]

    def covers(self, category: str, row: Mapping[str, Any], side: int) -> bool:  # noqa: PLR0911 - a rule per category
        """Whether ``row`` affects the principal at moment ``side`` (0: From, 1: To): a principal's own rows count
        only on the side of the moment it held the ARN, its groups' and policies' on both."""
        own = self.holders[side]
        holders = self.groups if own is None else {own} | self.groups
        if category in {"User", "Group", "Role"}:
            return str(row["entity_uuid"]) in holders
        if category == "Policy":
            return str(row["entity_uuid"]) in self.policies
        if category == "PolicyVersion":
            return str(row["policy_uuid"]) in self.policies
        if category == "GroupMembership":
            return str(row["user_uuid"]) == own
        if category in {"PolicyAttachment", "InlinePolicy"}:
            return str(row["principal_uuid"]) in holders
        if category == "AccessKey":
            return str(row["owner_uuid"]) == own
        if category == "Session":
            owner = str(row["owner_arn"])
            if self.kind == "role":
                name = self.arn.rsplit("/", 1)[1]
                return owner.startswith(f"arn:aws:sts::{self.arn.split(':')[4]}:assumed-role/{name}/")
            return owner == self.arn
        return False


def _scope(conn: Connection, account_id: str, arn: str, first: Moment, second: Moment) -> _Scope:
    found = analysis.holders(conn, arn)
    if not found or arn.split(":")[4] != account_id:
        raise NoSuchEntityError(f"The principal {arn} cannot be found.")
    # The ARN names whoever held it at each moment, not its latest holder.
    held = [next((h for h in found if h.holds(m.position)), None) for m in (first, second)]
    groups: set[str] = set()
    arns: set[str] = set()
    for moment, holder in zip((first, second), held, strict=True):
        with reading_at(moment.position):
            owners = list(groups)
            if holder is not None:
                if holder.kind == "user":
                    rows = analysis.memberships_of_user(conn, holder.entity)
                    groups |= {str(r["group_uuid"]) for r in rows}
                owners = [holder.entity, *groups]
                row = analysis.row_of(conn, holder.kind, holder.entity)
                if row is not None and row.get("boundary_arn"):
                    arns.add(str(row["boundary_arn"]))
            if owners:
                attached = analysis.attachments_of(conn, owners)
                arns |= {str(r["policy_arn"]) for r in attached}
    handovers = tuple(
        sorted(
            bound
            for span in ([] if holder is None else holder.held)
            for bound in span
            if bound is not None and first.position < bound <= second.position
        )
        for holder in held
    )
    return _Scope(
        found[0].kind,
        arn,
        (None if held[0] is None else held[0].entity, None if held[1] is None else held[1].entity),
        (None if held[0] is None else held[0].principal_id, None if held[1] is None else held[1].principal_id),
        groups,
        analysis.policy_ids(conn, arns),
        arns,
        (handovers[0], handovers[1]),
    )


def _rows_by_key(conn: Connection, category: _Category, account_id: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    rows = analysis.diff_rows(conn, category.name, account_id)
    return {tuple(str(r[k]) for k in category.key): r for r in rows}


def _events_of(
    conn: Connection,
    book: EventBook,
    category: _Category,
    row: Mapping[str, Any],
    span: tuple[int, int],
    bounds: _Bounds | None = None,
) -> list[dict[str, Any]]:
    """The events between the moments that changed the rows of ``row``'s key (from ``bounds`` when the rows that
    began or ended between them were read already)."""
    start, stop = span
    if bounds is not None:
        positions = bounds.get((category.name, tuple(str(row[k]) for k in category.key)), set())
    else:
        positions = set()
        key = {k: row[k] for k in category.key}
        for touched in analysis.diff_rows_touching(conn, category.name, key, start, stop):
            positions |= _bounds_within(touched, start, stop)
    return [book.describe(p) for p in sorted(positions)]


def _bounds_within(row: Mapping[str, Any], start: int, stop: int) -> set[int]:
    return {int(b) for b in (row["valid_from"], row["valid_to"]) if b is not None and start < int(b) <= stop}


_Sides = dict[str, dict[tuple[Any, ...], dict[str, Any]]]
_Bounds = dict[tuple[str, tuple[str, ...]], set[int]]
# The columns of the rows a change is shown with that name another entity (by aggregate id).
_NAMED: Final = ("user_uuid", "group_uuid", "principal_uuid", "policy_uuid", "entity_uuid")


def _both_sides(
    conn: Connection, account_id: str, first: Moment, second: Moment
) -> tuple[_Sides, _Sides, _Names, _Bounds | None]:
    """Each category's rows by key at ``first`` and at ``second``: only the keys of rows that began or ended between
    them, since a row true at both moments is the same on both sides (a key holds one row at a moment); and the
    positions between the moments at which each key's rows began or ended."""
    before: _Sides = {}
    after: _Sides = {}
    bounds: _Bounds = {}
    named: set[str] = set()
    for category in _CATEGORIES:
        before[category.name], after[category.name] = {}, {}
        for row in analysis.diff_rows_changed(conn, category.name, account_id, first.position, second.position):
            key = tuple(str(row[k]) for k in category.key)
            bounds.setdefault((category.name, key), set()).update(_bounds_within(row, first.position, second.position))
            named |= {str(row[c]) for c in _NAMED if row.get(c) is not None}
            for moment, side in ((first, before), (second, after)):
                if _true_at(row, moment.position):
                    side[category.name][key] = row
    names = _Names()
    for moment in (second, first):
        with reading_at(moment.position):
            names.add(conn, named)
    return before, after, names, bounds


def _true_at(row: Mapping[str, Any], position: int) -> bool:
    until = row["valid_to"]
    return int(row["valid_from"]) <= position and (until is None or int(until) > position)


def _whole_sides(
    conn: Connection, account_id: str, first: Moment, second: Moment
) -> tuple[_Sides, _Sides, _Names, _Bounds | None]:
    """Each category's rows by key at ``first`` and at ``second``, all of them: what a diff of an ARN that changed
    hands compares (the first holder's rows on one side, the second's on the other, changed or not)."""
    names = _Names()
    with reading_at(second.position):
        names.add(conn)
        after = {c.name: _rows_by_key(conn, c, account_id) for c in _CATEGORIES}
    with reading_at(first.position):
        names.add(conn)
        before = {c.name: _rows_by_key(conn, c, account_id) for c in _CATEGORIES}
    return before, after, names, None


def _changes(
    conn: Connection, book: EventBook, account_id: str, first: Moment, second: Moment, scope: _Scope | None
) -> list[dict[str, Any]]:
    sides = _whole_sides if scope is not None and scope.handed_over else _both_sides
    before, after, names, bounds = sides(conn, account_id, first, second)
    changes: list[dict[str, Any]] = []
    span = (first.position, second.position)
    for category in _CATEGORIES:
        old, new = before[category.name], after[category.name]
        for key in sorted(set(old) | set(new)):
            was, now = old.get(key), new.get(key)
            row = now if now is not None else was
            assert row is not None  # noqa: S101 - the key came from one side
            if scope is not None:
                # Each side keeps what affected the ARN's holder at its moment: when the ARN changed hands, the
                # first holder's own rows are only before and the second's only after (removed and added).
                kept = (
                    was if was is not None and scope.covers(category.name, was, 0) else None,
                    now if now is not None and scope.covers(category.name, now, 1) else None,
                )
                if kept == (None, None):
                    obtained = category.name == "Session" and any(
                        e.get("Actor") == scope.arn for e in _events_of(conn, book, category, row, span, bounds)
                    )
                    if not obtained:  # a session the principal obtained for a role still concerns it
                        continue
                else:
                    was, now = kept
                    row = now if now is not None else was
                    assert row is not None  # noqa: S101 - one side was kept
            change: dict[str, Any]
            if was is None:
                change = {"Category": category.name, "Change": "Added", **category.show(row, names)}
            elif now is None:
                change = {"Category": category.name, "Change": "Removed", **category.show(row, names)}
            else:
                changed = [c for c in category.compared if was[c] != now[c]]
                if not changed:
                    continue
                change = {"Category": category.name, "Change": "Changed", **category.show(now, names)}
                change["Changed"] = {_CHANGED_WHAT.get(c, c): {"From": was[c], "To": now[c]} for c in changed}
            change["Events"] = _events_of(conn, book, category, row, span, bounds)
            if not change["Events"] and scope is not None and scope.handed_over and change["Change"] != "Changed":
                # A row on one side only that did not change between the moments belongs to a holder of the ARN
                # at one moment only: what added or removed it is the event that handed the ARN over.
                side = 1 if change["Change"] == "Added" else 0
                change["Events"] = [book.describe(p) for p in scope.handovers[side]]
            changes.append(change)
    changes.sort(key=lambda c: c["Events"][0]["Position"] if c["Events"] else 0)
    return changes
