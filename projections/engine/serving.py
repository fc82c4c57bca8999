"""The projector of a store that serves requests one after another (the HTTP endpoint): the views are caught up once
per request rather than before every read, and, when the process is the store's only writer, its saves are recorded
and applied to the views by the projector itself.

A store is opened with it by its configuration: ``IdentityStore.open(url, serving=ServingConfig(...))``
(:class:`ServingConfig`); without one a store has the plain :class:`~iamledger.projections.engine.projector.Projector`,
which catches the views up before every read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from sqlalchemy import Connection, Engine

from iamledger.projections.engine.commits import RELAXED_COMMITS
from iamledger.projections.engine.projector import Projector
from iamledger.projections.engine.view_rebuild import Progress


@dataclass(frozen=True, slots=True)
class ServingConfig:
    """How a store that serves requests keeps its views (``IdentityStore.open(url, serving=ServingConfig(...))``):
    with it the store's projector is a :class:`ServingProjector`, which catches the views up once per request (the
    server marks each request with :meth:`ServingProjector.begin_request` and :meth:`ServingProjector.end_request`)."""

    sole_writer: bool = False
    """Whether this process is the only one writing the store (``serve --ephemeral``: a private temporary database).
    Then the views, once current, stay current but for what this process saves, which the projector records and
    applies to the views itself (on SQLite), and a request need not ask the log for its head; the store's cached
    aggregates are trusted as current and an aggregate it never saw as absent (``IdentityStore.only_writer``).
    Another writer breaks the promise: the views see its events only once a save of this process finds them in its
    way (they then catch up from the log again), and the cached aggregates never see its changes."""
    disposable: bool = False
    """Whether the store is thrown away with this process (``serve --ephemeral``), which must be its only writer
    (``sole_writer``): the saves the projector records need not wait for the disk (SQLite ``synchronous = OFF``:
    neither a commit nor a WAL checkpoint is fsynced; a crash of the machine may lose or damage the database, which
    nobody opens again: a new process starts a new one)."""

    def __post_init__(self) -> None:
        if self.disposable and not self.sole_writer:
            msg = "a disposable store is written by this process only: give sole_writer=True with disposable=True"
            raise ValueError(msg)


class ServingProjector(Projector):
    """The projector of a store opened with a :class:`ServingConfig`: in a request (between :meth:`begin_request` and
    :meth:`end_request`) the views are caught up with the log once, by the request's first read (one ``max(id)``
    query when nothing is new), and again only after the request itself wrote.

    Outside a request (start-up, reset, the library's own use) every :meth:`catch_up` looks at the log's head, and
    catches up when it moved past the position the views were last seen current to. A write by another process
    during a request is seen from the next request on, as AWS's own eventual consistency allows; a write by this
    request (noted through :meth:`index_recorded`, which every save calls) is seen by its own later reads. A save's
    checkpoints are written by the catch-up that follows it, with the views, not right after the save.

    With :attr:`ServingConfig.sole_writer`, once the views have reached the log's head a catch-up does not ask the log
    again, and the projector records the store's saves itself (:meth:`record`), applying them to the views at once
    or, in a request, by the next catch-up."""

    def __init__(self, app: Application[Any], engine: Engine, config: ServingConfig | None = None) -> None:
        super().__init__(app, engine)
        self.config = config or ServingConfig()
        self.sole_writer = self.config.sole_writer
        """:attr:`ServingConfig.sole_writer`."""
        self.disposable = self.config.disposable
        """:attr:`ServingConfig.disposable`."""
        self._settled: int | None = None
        """With ``sole_writer``: the position the views are at, known to be the log's head."""
        self._indexed: tuple[int, datetime | None, str] | None = None
        """With ``sole_writer``: the time index's head as last written here (``None``: read it)."""
        self._writer: Connection | None = None
        """With ``sole_writer``: the connection that records this process's saves and applies them to the views
        (:meth:`record`)."""
        self._pending: list[Any] = []
        """With ``sole_writer``: this request's saves, recorded but not yet applied to the views (:meth:`record`)."""
        self._in_request = False
        self._current: int | None = None
        self.wrote = False
        self._known_head = -1
        """The log's head the views were last seen current to by this process (they never move backwards)."""

    def begin_request(self) -> None:
        """A request starts: its first read catches the views up (:meth:`catch_up`), its later reads only after it
        wrote."""
        self._in_request = True
        self._current = None
        self.wrote = False

    def end_request(self) -> bool:
        """End the request; whether it wrote (then the views are behind the log until the next catch-up)."""
        self._in_request = False
        self._current = None
        return self.wrote

    def catch_up(self, progress: Progress | None = None) -> int:
        if self._pending:
            self._apply_pending()
        if self._in_request and self._current is not None and progress is None:
            return self._current
        if self._settled is not None and progress is None:
            position = self._settled
        else:
            head = self.head()
            if head <= self._known_head and progress is None:  # no event since the views were current to ``head``
                position = self._known_head
            else:
                position = super().catch_up(progress)
                self._known_head = max(self._known_head, min(position, head))
            if self.sole_writer and position >= head:
                self._settled = position
                self._indexed = None
        if self._in_request:
            self._current = position
        return position

    def record(self, events: Sequence[Any]) -> list[Any] | None:
        """As the only writer with the views current: record ``events``; their recordings. ``None`` when this is not
        the case (the store records them as usual).

        In a request they are recorded in a transaction of their own (:meth:`Projector.record_in`) and applied to
        the views from memory by the next catch-up (:meth:`_apply_pending`): a later read of the same request, else
        the one the endpoint runs once the response is on its way, before the next request is handled. The client
        waits for the log's commit, not for the views'. Outside a request (start-up, the library's own use) they
        are recorded, applied and checkpointed in one transaction (:meth:`Projector.record_and_apply`)."""
        if not self.sole_writer or self._engine.dialect.name != "sqlite":
            return None
        if not self._in_request:
            self._apply_pending()
        settled = self._settled
        if settled is None:
            return None
        writer = self._writing()
        if self._in_request:
            recordings = self.record_in(writer, events)
            self._pending.extend(recordings)
            return recordings
        recordings, applied = self.record_and_apply(writer, settled, events, self._indexed)
        self._applied(applied)
        return recordings

    def _writing(self) -> Connection:
        """The connection this process records its saves on (kept open)."""
        if self._writer is None:
            self._writer = self._engine.connect()
            if self.disposable:
                self._writer.exec_driver_sql("PRAGMA synchronous = OFF")
                self._writer.info[RELAXED_COMMITS] = True  # restored when the pool gets the connection back
                self._writer.commit()  # (ends the transaction the statement began)
        return self._writer

    def _applied(self, applied: tuple[int, tuple[int, datetime | None, str]] | None) -> None:
        if applied is None:  # another writer after all: catch up from the log from now on
            self._settled = None
            self._indexed = None
        else:
            self._settled, self._indexed = applied
            self._known_head = max(self._known_head, applied[0])

    def _apply_pending(self) -> None:
        """Apply the saves :meth:`record` recorded in this request and has not applied yet to the views, from
        memory, in one transaction. When they do not follow the views (another writer got in) or cannot be
        applied, the views are left to the ordinary catch-up from the log (which then raises what failed)."""
        pending, self._pending = self._pending, []
        if not pending or self._settled is None:
            return
        applied = None
        try:
            applied = self.apply_recorded(self._writing(), self._settled, pending, self._indexed)
        finally:
            self._applied(applied)

    def index_recorded(self, recordings: Any) -> int:
        """Note that the store wrote (in a request: that the request did). The checkpoints of what it saved are
        written by the catch-up that follows (in the views' own transaction: a later read of this request, else the
        catch-up right after the response is handed over, before the next request), not in a transaction of their
        own as the plain projector's are. (The only writer's saves are applied and checkpointed with the views:
        :meth:`record`.)"""
        self._current = None  # this request wrote: its next read catches up again
        self.wrote = True
        known = self._pending[-1].notification.id if self._pending else self._settled
        if known is not None and recordings and recordings[-1].notification.id > known:
            self._settled = None  # saved without :meth:`record`: the views are behind, catch up from the log
        return 0

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a store being closed: what is not applied is in the log
            self._apply_pending()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        super().close()

    def rebuild(self, progress: Progress | None = None) -> int:
        self._pending = []  # recorded in the log: the rebuild reads them there
        self._known_head = -1
        self._settled = None
        self._indexed = None
        return super().rebuild(progress)
