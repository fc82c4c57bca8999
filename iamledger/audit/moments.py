"""The moment an answer is computed at, the audit operation's authorization, and reading the views as of a moment."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from iamledger.domain.policy import check_simulation_input
from iamledger.projections.engine.temporal import reading_at, reading_now
from iamledger.projections.engine.timeindex import Moment, settle
from iamledger.services.base import ServiceBase, translated

_ANALYSIS_OPERATION: Final = "GetAccountAuthorizationDetails"


def _moment(store: ServiceBase, conn: Connection, when: str | int | datetime | None) -> Moment:
    """The moment ``when`` names, the views current to it; ``None`` is now, at the position the views are current
    to (caught up here; on a read replica, where they are, or waited for: see :func:`settle`)."""
    return settle(conn, when, store.clock(), store.projector.reach)


def describe_moment(moment: Moment) -> dict[str, Any]:
    """A moment as answers report it."""
    return {"Position": moment.position, "Time": moment.time}


def _authorize(store: ServiceBase, operation: str, params: Mapping[str, Any], account_id: str) -> None:
    store.authorize_operation("iam", operation, params, account_id)


@contextmanager
def _reading(store: ServiceBase, when: str | int | datetime | None) -> Iterator[tuple[Connection, Moment]]:
    """Catch the views up, resolve ``when``, and read as of it."""
    with reading_now(), store.engine.connect() as conn:
        moment = _moment(store, conn, when)
    with reading_at(moment.position), translated(), store.engine.connect() as conn:
        yield conn, moment


def _check_action(action: str) -> None:
    check_simulation_input(
        ActionNames=[action],
        PolicyInputList=[],
        PermissionsBoundaryPolicyInputList=None,
        ResourcePolicy=None,
        ResourceHandlingOption=None,
    )
