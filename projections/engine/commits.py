"""Commits of derived data: what the views, their checkpoints and the trail write can be derived again from the
event log, so those transactions need not wait for the disk."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection

RELAXED_COMMITS: Final = "iamledger_relaxed_commits"
"""Set in a SQLite connection's ``info`` when it was told not to wait for the disk (``PRAGMA synchronous = NORMAL``,
for data derived from the log): the setting lasts as long as the connection, so the pool restores the durable one when
it gets the connection back (:mod:`iamledger.database`), and its next user (the vault) commits durably again."""


def derived_data_commit(conn: Connection) -> None:
    """Let this transaction commit without waiting for the disk: it writes only what can be derived again from the
    log (views, checkpoints). On SQLite (WAL) the next fsync of the log's own commits covers it; on PostgreSQL the
    WAL flush is asynchronous for this transaction only."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
        conn.info[RELAXED_COMMITS] = True  # restored when the pool gets the connection back
    else:
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
