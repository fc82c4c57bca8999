"""The views' hot writes on SQLite: rows written through the driver (compiled once, values bind-processed by
iamledger) are the rows SQLAlchemy's own execution writes, and an entity's account is known from its creation on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, insert, select

from iamledger.projections.engine.temporal_rows import close_rows, current_rows, open_row
from iamledger.projections.views.principals import account_of, remember_account
from iamledger.projections.views.tables import USERS, metadata


@pytest.fixture
def conn(tmp_path: Any) -> Any:
    engine = create_engine(f"sqlite:///{tmp_path / 'views.db'}")
    metadata.create_all(engine)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _user(entity: str, name: str, created: datetime) -> dict[str, Any]:
    return {
        "entity_uuid": entity,
        "account_id": "123456789012",
        "user_id": f"AIDA{name.upper()}",
        "user_name": name,
        "name_key": name.lower(),
        "path": "/",
        "arn": f"arn:aws:iam::123456789012:user/{name}",
        "create_date": created,
        "boundary_arn": None,
    }


def _raw(conn: Connection, entity: str) -> tuple[Any, ...]:
    row = conn.exec_driver_sql(
        "SELECT create_date, valid_from, valid_to FROM iamledger_users WHERE entity_uuid = ?", (entity,)
    ).one()
    return tuple(row)


def test_a_row_with_a_timestamp_written_through_the_driver_is_the_row_sqlalchemy_writes(conn: Connection):
    created = datetime(2026, 11, 29, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    open_row(conn, USERS, 7, **_user("e-driver", "driver", created))
    conn.execute(insert(USERS), {**_user("e-sqlalchemy", "sqlalchemy", created), "valid_from": 7, "valid_to": None})
    conn.commit()

    assert _raw(conn, "e-driver") == _raw(conn, "e-sqlalchemy")  # the same stored text, UTC
    read = {r["user_name"]: r["create_date"] for r in current_rows(conn, USERS, account_id="123456789012")}
    assert read == {"driver": created.astimezone(UTC), "sqlalchemy": created.astimezone(UTC)}

    assert close_rows(conn, USERS, 9, entity_uuid="e-driver") == 1
    conn.commit()
    assert _raw(conn, "e-driver")[1:] == (7, 9)
    assert [r["user_name"] for r in current_rows(conn, USERS, account_id="123456789012")] == ["sqlalchemy"]


def test_an_entitys_account_is_known_without_a_query_once_its_creation_is_remembered(conn: Connection):
    statements: list[str] = []
    event.listen(conn, "before_cursor_execute", lambda *args: statements.append(args[2]))
    open_row(conn, USERS, 1, **_user("e-known", "known", datetime(2026, 1, 1, tzinfo=UTC)))
    open_row(conn, USERS, 2, **_user("e-found", "found", datetime(2026, 1, 1, tzinfo=UTC)))

    statements.clear()
    assert account_of(conn, "e-found") == "123456789012"  # read from the view once
    assert len(statements) == 1

    remember_account(conn, "e-known", "123456789012")
    statements.clear()
    assert account_of(conn, "e-known") == "123456789012"
    assert account_of(conn, "e-found") == "123456789012"
    assert statements == []
    assert account_of(conn, "e-unknown") == ""  # no row and nothing remembered: the views are asked
    assert statements


def test_views_written_through_the_driver_read_back_through_sqlalchemy(conn: Connection):
    created = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    open_row(conn, USERS, 3, **_user("e-1", "one", created))
    conn.commit()
    row = conn.execute(select(USERS.c.create_date, USERS.c.valid_to).where(USERS.c.entity_uuid == "e-1")).one()
    assert tuple(row) == (created, None)
