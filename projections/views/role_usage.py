"""``RoleLastUsed``: when each role was last assumed and in which region (a temporal view, so an as-of read sees the
last use before that moment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Executable, Table, bindparam, select

from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import execute_prepared, live
from iamledger.projections.engine.temporal_rows import close_rows, open_row
from iamledger.projections.views.tables import ROLE_LAST_USED

if TYPE_CHECKING:
    from iamledger.domain.roles import Role


@prefetches("iamledger.domain.roles:Role.LastUsed", "iamledger.domain.roles:Role.Deleted")
def _last_use(event: Any) -> list[tuple[Table, str, Any]]:
    return [(ROLE_LAST_USED, "entity_uuid", str(event.originator_id))]


@handles("iamledger.domain.roles:Role.LastUsed", batched=True)
def _used(conn: Connection, event: Role.LastUsed, position: int) -> None:
    entity = str(event.originator_id)
    close_rows(conn, ROLE_LAST_USED, position, entity_uuid=entity)
    open_row(
        conn, ROLE_LAST_USED, position, entity_uuid=entity, last_used_date=event.last_used_date, region=event.region
    )


@handles("iamledger.domain.roles:Role.Deleted", batched=True)
def _deleted(conn: Connection, event: Role.Deleted, position: int) -> None:
    close_rows(conn, ROLE_LAST_USED, position, entity_uuid=str(event.originator_id))


def role_last_used(conn: Connection, entity_uuid: str) -> dict[str, Any]:
    """``RoleLastUsed`` of a role: ``{"LastUsedDate", "Region"}``, or ``{}`` when it was never assumed."""

    def build() -> Executable:
        return select(ROLE_LAST_USED.c.last_used_date, ROLE_LAST_USED.c.region).where(
            ROLE_LAST_USED.c.entity_uuid == bindparam("entity_uuid"), live(ROLE_LAST_USED)
        )

    row = execute_prepared(conn, role_last_used, build, entity_uuid=entity_uuid).first()
    return {} if row is None else {"LastUsedDate": row.last_used_date, "Region": row.region}
