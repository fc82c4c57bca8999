"""The views and the audit trail as a hot standby of the primary holds them: replicated, never written there.

A PostgreSQL hot standby is read-only. The primary keeps the views and the trail current (``iamledger projections
follow`` against it catches up both); the standby replays what the primary committed, the tracking positions in the
same transactions as the rows they describe, in commit order. So the standby's views are always a consistent state
at the position its tracking row names, and a read there catches nothing up: it reads the views as they are and
answers at that position. A read that needs a later position (an explicit one, or a time the views have not reached)
waits for replication to deliver it (:meth:`StandbyViews.reach`), for a bounded time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import Engine

from iamledger.domain.errors import ReplicaBehindError
from iamledger.projections.engine.projector import Projector
from iamledger.projections.engine.view_rebuild import Progress
from iamledger.projections.trail.index import TrailProjection

READ_TIMEOUT: Final = 5.0
"""Seconds a read on a standby waits for a position its views have not reached (``--read-timeout``)."""
POLL_INTERVAL: Final = 0.05
"""Seconds between two looks at the standby's tracking row while a read waits: one indexed row, cheap to read."""


class StandbyViews(Projector):
    """The views of a hot standby: their position is read, never moved, here.

    ``primary_head`` reads the log's head on the primary, for the error a wait ends with: it tells a position that
    is not written yet from one the standby has not received or the primary has not projected yet."""

    def __init__(
        self,
        app: Any,
        engine: Engine,
        *,
        primary_head: Callable[[], int],
        timeout: float = READ_TIMEOUT,
        interval: float = POLL_INTERVAL,
    ) -> None:
        super().__init__(app, engine)
        self._primary_head = primary_head
        self.timeout = timeout
        self.interval = interval

    def create_tables(self) -> None:
        """Nothing to do: the primary created the tables, the standby holds their copy."""

    def catch_up(self, progress: Progress | None = None) -> int:
        """The position the views are current to: they are caught up on the primary and replicated here."""
        del progress
        return self.position()

    def reach(self, position: int | None = None) -> int:
        """The views' position once it is at least ``position`` (at once when ``None``): polled every
        :attr:`interval` seconds for up to :attr:`timeout`, then :class:`ReplicaBehindError` saying where the
        standby's views are, and why they may not get there."""
        current = self.position()
        if position is None or current >= position:
            return current
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            time.sleep(self.interval)
            current = self.position()
            if current >= position:
                return current
        head = self._primary_head()
        if position > head:
            why = f"the log ends at position {head} on the primary: position {position} is not written yet"
        else:
            why = (
                f"the primary's log reaches it (head {head}): check that `iamledger projections follow` runs against "
                "the primary and that the replica is streaming"
            )
        raise ReplicaBehindError(
            f"The read replica's views are at position {current}, behind position {position}, after waiting "
            f"{self.timeout:g}s; {why}."
        )


class StandbyTrail(TrailProjection):
    """The audit trail of a hot standby: its positions are read, never moved, here."""

    def create_tables(self) -> None:
        """Nothing to do: the primary created the tables, the standby holds their copy."""

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """How far the trail has read the identity log and the security log: it is caught up on the primary and
        replicated here."""
        del progress
        return self.positions()
