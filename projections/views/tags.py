"""The tags view: the tags of users, roles, policies and instance profiles, in the order they were added."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, select

from iamledger.domain.tags import merge_tags, remove_tags
from iamledger.projections.engine.temporal import execute_prepared, live
from iamledger.projections.engine.temporal_rows import close_rows, current_rows, open_row
from iamledger.projections.views.tables import TAGS

# Users and roles compare tag keys case-insensitively; policies and instance profiles do not.
CASE_INSENSITIVE_KINDS = frozenset({"user", "role"})


def open_tags(
    conn: Connection, position: int, account_id: str, kind: str, entity: str, tags: Iterable[Mapping[str, str]]
) -> None:
    """Open a tag row for each of ``tags`` on a new entity."""
    for ordinal, tag in enumerate(tags):
        open_row(
            conn,
            TAGS,
            position,
            account_id=account_id,
            resource_kind=kind,
            resource_uuid=entity,
            tag_key=tag["Key"],
            tag_value=tag["Value"],
            ordinal=ordinal,
        )


def current_tags(conn: Connection, entity: str) -> list[tuple[str, str]]:
    """The current tags of an entity as ``(key, value)`` pairs, in order."""

    def build() -> Executable:
        return (
            select(TAGS.c.tag_key, TAGS.c.tag_value)
            .where(TAGS.c.resource_uuid == bindparam("entity"), live(TAGS))
            .order_by(TAGS.c.ordinal, TAGS.c.row_id)
        )

    rows: Iterable[Any] = execute_prepared(conn, current_tags, build, entity=entity)
    return [(str(key), str(value)) for key, value in rows]


def _tag_rows(conn: Connection, entity: str) -> list[dict[str, Any]]:
    """The current tag rows of an entity, in order (what :func:`current_tags` reads, for the projector)."""
    return sorted(current_rows(conn, TAGS, resource_uuid=entity), key=lambda r: int(r["ordinal"]))


def _rewrite(
    conn: Connection, position: int, entity: str, rows: list[dict[str, Any]], new: list[tuple[str, str]]
) -> None:
    close_rows(conn, TAGS, position, resource_uuid=entity)
    if rows:  # an entity's tag rows all carry its account and kind
        account_id, kind = rows[0]["account_id"], rows[0]["resource_kind"]
        open_tags(conn, position, account_id, kind, entity, [{"Key": k, "Value": v} for k, v in new])


def tag_entity(conn: Connection, event: Any, position: int, account_id: str, kind: str) -> None:
    """Apply a ``Tagged`` event of any entity kind."""
    entity = str(event.originator_id)
    rows = _tag_rows(conn, entity)
    current = [(r["tag_key"], r["tag_value"]) for r in rows]
    if not current:
        open_tags(conn, position, account_id, kind, entity, event.tags)
        return
    new = [(t["Key"], t["Value"]) for t in event.tags]
    merged = merge_tags(current, new, case_insensitive_keys=kind in CASE_INSENSITIVE_KINDS)
    _rewrite(conn, position, entity, rows, merged)


def untag_entity(conn: Connection, event: Any, position: int, kind: str) -> None:
    """Apply an ``Untagged`` event of any entity kind."""
    entity = str(event.originator_id)
    rows = _tag_rows(conn, entity)
    current = [(r["tag_key"], r["tag_value"]) for r in rows]
    kept = remove_tags(current, event.tag_keys, case_insensitive_keys=kind in CASE_INSENSITIVE_KINDS)
    if kept != current:
        _rewrite(conn, position, entity, rows, kept)


def current_tags_of_all(conn: Connection, entities: set[str]) -> dict[str, list[tuple[str, str]]]:
    """:func:`current_tags` of each of ``entities`` in one query (entities without tags are left out)."""
    query = (
        select(TAGS.c.resource_uuid, TAGS.c.tag_key, TAGS.c.tag_value)
        .where(live(TAGS))
        .order_by(TAGS.c.resource_uuid, TAGS.c.ordinal, TAGS.c.row_id)
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for entity, key, value in conn.execute(query):
        if str(entity) in entities:
            found.setdefault(str(entity), []).append((key, value))
    return found
