"""The store's kernel: what every operation of :class:`~iamledger.store.IdentityStore` stands on, as one typed
class. Opening and closing the store (its engine, the event log, the vault and its master key, the projector, the
security log and the trail), the repository (reading aggregates as of a past position too), ``save`` (one
transaction per command), the audit context a call acts in, and the AWS managed policies it knows.

The operations (``iamledger/services/``, ``iamledger/audit/``) are mixins over
:class:`~iamledger.services.base.ServiceBase`, which extends :class:`~iamledger.store_accounts.StoreAccounts` (the
accounts), which extends :class:`StoreKernel`: what an operation may use of the store is what these classes define,
checked by mypy, not a list of stubs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final, Self

from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.domain import BaseAggregate, DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import Recording
from sqlalchemy import Engine, text

from iamledger.config import APPLICATION_NAME, StoreURL
from iamledger.context import bound_audit_context
from iamledger.database import create_store_engine
from iamledger.domain.audit import AuditContext, audit_context
from iamledger.domain.errors import ConfigurationError
from iamledger.domain.ids import root_arn
from iamledger.logconfig import get_logger
from iamledger.masterkey import key_check, load_master_key
from iamledger.projections.engine.projector import Projector
from iamledger.projections.engine.serving import ServingConfig, ServingProjector
from iamledger.projections.engine.view_rebuild import Progress
from iamledger.projections.log.chain_report import VerifyReport
from iamledger.projections.trail.index import TrailProjection
from iamledger.projections.views.access_keys import AccessKeyRows
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.repository import TemporalRepository, aggregate_cache_size
from iamledger.security_log import SecurityLog
from iamledger.store_opening import prepare_sqlite_file, schema_lock
from iamledger.vault import Vault

__all__ = ["KEY_CHECK_META", "LIBRARY_USER_AGENT", "REPLICATED_SAVE", "StoreKernel", "check_replicated_save"]

log = get_logger("iamledger.store")  # the store's logger

LIBRARY_USER_AGENT: Final = "iamledger-library"
KEY_CHECK_META: Final = "master_key_check"


# StoreKernel.save replicates eventsourcing's Application.save step for step (a measured gain: docs/performance.md,
# "Library internals"). What it replicates, as eventsourcing 9.5.6 has it, by the names each function uses (sorted):
# checked when this module is imported, so that another eventsourcing fails here, loudly, rather than saving
# differently; tests/test_library_overrides.py compares their whole source with 9.5.6's.
REPLICATED_SAVE: Final[dict[Callable[..., Any], str]] = {
    Application.save: "ProcessingEvent _notify _record _take_snapshots collect_events events notify",
    ProcessingEvent.collect_events: (
        "CollectEventsProtocol DomainEventProtocol aggregates append collect_events events id isinstance saved_kwargs "
        "update"
    ),
    ProcessingEvent.__init__: "aggregates events saved_kwargs tracking",
}


def check_replicated_save() -> None:
    """Raise :class:`ImportError` unless eventsourcing's ``Application.save`` (and the ``ProcessingEvent`` methods
    it relies on) are the ones :meth:`StoreKernel.save` replicates."""
    changed = [
        function.__qualname__
        for function, names in REPLICATED_SAVE.items()
        if " ".join(sorted(set(getattr(getattr(function, "__code__", None), "co_names", ())))) != names
    ]
    if changed:
        from importlib.metadata import version

        raise ImportError(
            f"iamledger's StoreKernel.save replicates eventsourcing 9.5.6's Application.save, but the installed "
            f"eventsourcing {version('eventsourcing')} has a different {', '.join(changed)}: install "
            f"eventsourcing==9.5.6 (pyproject.toml's pin), or bring StoreKernel.save (iamledger/kernel.py) in line "
            f"with the new Application.save, then update REPLICATED_SAVE and tests/test_library_overrides.py."
        )


check_replicated_save()


class StoreKernel(Application[uuid.UUID]):
    """The kernel of an event-sourced identity store on one database (SQLite file or PostgreSQL): see the module."""

    name = APPLICATION_NAME
    """The application's name, after which eventsourcing names the log's tables (``iamledger_events`` on
    PostgreSQL): the same for every subclass (:meth:`__init_subclass__`)."""
    serving: ServingConfig | None = None
    """How the store serves requests (:meth:`open`'s ``serving``); ``None`` for the library's own use."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # eventsourcing names a subclass's application (and so its tables) after the subclass: IdentityStore's log
        # would become identitystore_events and a store written before would read as empty. Every store is iamledger.
        super().__init_subclass__(**kwargs)
        cls.name = APPLICATION_NAME

    def __init__(
        self, store_url: StoreURL, *, master_key: bytes | None = None, serving: ServingConfig | None = None
    ) -> None:
        self.store_url = store_url
        self.serving = serving
        self.engine: Engine = create_store_engine(store_url)
        self._known_accounts: tuple[str, ...] = ()
        self.access_key_rows = AccessKeyRows()
        """The account ids last read from the registry: accounts are only ever added, so an id found here exists
        and the first is the default for good (the hot path of every request reads them)."""
        with schema_lock(self.engine, store_url):
            super().__init__(env=store_url.eventsourcing_env())
            self._master_key = master_key
            self.vault = Vault(self.engine, self._require_master_key)
            self.vault.create_tables()
            self.projector = (
                Projector(self, self.engine) if serving is None else ServingProjector(self, self.engine, serving)
            )
            self.projector.create_tables()
            self.security_log = SecurityLog(store_url)
            self.trail = TrailProjection(self, self.security_log, self.engine)
            self.trail.create_tables()
        if serving is not None and serving.sole_writer:
            self.only_writer()

    def construct_repository(self) -> Repository[uuid.UUID]:
        """The repository, reading aggregates as of a bound past position when there is one."""
        base = super().construct_repository()
        repository = TemporalRepository(
            event_store=base.event_store,
            snapshot_store=base.snapshot_store,
            cache_maxsize=aggregate_cache_size(),
            fastforward=True,  # a cached aggregate is brought up to date with the events saved since (any process)
            deepcopy_from_cache=True,  # a command's changes never touch the cached copy until they are saved
        )
        repository.version_at = self._version_at
        return repository

    def only_writer(self) -> None:
        """Declare this process the only writer of the store from now on (``serve --ephemeral``, whose temporary
        database nothing else opens; a store opened with ``ServingConfig(sole_writer=True)`` does it when it is
        opened): cached aggregates are then trusted as current (no query for newer events before each use) and so is
        an aggregate's absence. Another writer after this would go unseen."""
        repository = self.repository
        if isinstance(repository, TemporalRepository):
            sqlite = self.store_url.backend == "sqlite"
            with self.engine.connect() as conn:
                ids = conn.execute(text(f"SELECT DISTINCT originator_id FROM {self.events_table()}")).scalars()
                known = {uuid.UUID(hex=i) if sqlite else uuid.UUID(str(i)) for i in ids}
            repository.only_writer(known)

    def _version_at(self, aggregate_id: uuid.UUID, position: int) -> int | None:
        """The version an aggregate had at notification id ``position`` (``None``: it did not exist yet)."""
        sqlite = self.store_url.backend == "sqlite"
        column = "rowid" if sqlite else "notification_id"
        query = text(
            f"SELECT max(originator_version) FROM {self.events_table()} "
            f"WHERE originator_id = :id AND {column} <= :position"
        )
        with self.engine.connect() as conn:
            key = aggregate_id.hex if sqlite else aggregate_id
            value = conn.execute(query, {"id": key, "position": position}).scalar()
        return None if value is None else int(value)

    def save(
        self,
        *objs: MutableOrImmutableAggregate[uuid.UUID] | DomainEventProtocol[uuid.UUID] | None,
        **kwargs: Any,
    ) -> list[Recording[uuid.UUID]]:
        """``Application.save``, step for step, except that an aggregate's pending events are collected directly:
        eventsourcing tells aggregates from events with ``isinstance`` against runtime-checkable protocols, about
        9 µs an aggregate, more than collecting the events (a bulk import saves thousands of aggregates a
        transaction: 8% of an import's CPU, docs/performance.md). Anything else (an event, an object that only has
        the protocol's shape) takes eventsourcing's own path. The module checks, when imported, that eventsourcing's
        ``save`` is still the one replicated here (:data:`REPLICATED_SAVE`)."""
        processing_event: ProcessingEvent[uuid.UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, BaseAggregate):  # an ABC: a cached C-level check
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            else:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        repository = self.repository
        if isinstance(repository, TemporalRepository) and repository.known is not None:
            repository.saved(event.originator_id for event in processing_event.events)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # deprecated in eventsourcing, called as Application.save does
        return recordings

    def _record(self, processing_event: ProcessingEvent[uuid.UUID]) -> list[Recording[uuid.UUID]]:
        """``Application._record``, unless the projector records the events itself (the only writer of an
        ephemeral store records and projects a save in one transaction)."""
        recordings = self.projector.record(processing_event.events)
        if recordings is None:
            return super()._record(processing_event)
        repository = self.repository
        if repository.cache and not repository.fastforward:  # as Application._record does
            for aggregate_id, aggregate in processing_event.aggregates.items():
                repository.cache.put(aggregate_id, aggregate)
        return recordings

    def _notify(self, recordings: list[Recording[uuid.UUID]]) -> None:
        """Checkpoint the events just saved, so the hash chain covers every event from the moment it is recorded
        (not only once some read has caught the views up)."""
        super()._notify(recordings)
        self.projector.index_recorded(recordings)

    # -- master key and vault ------------------------------------------------------------------------------------

    def _require_master_key(self) -> bytes:
        if self._master_key is None:
            key = load_master_key(self.store_url)
            if key is None:
                raise ConfigurationError(
                    "No master key for the credential vault: set $IAMLEDGER_MASTER_KEY or run `iamledger init`."
                )
            self._check_master_key(key)
            self._master_key = key
        return self._master_key

    def _check_master_key(self, key: bytes) -> None:
        stored = self.vault.get_meta(KEY_CHECK_META)
        if stored is not None and stored != key_check(key):
            raise ConfigurationError(
                "The master key does not match this store's credential vault: check $IAMLEDGER_MASTER_KEY."
            )

    def verify_log(
        self, *, expect_head: str | None = None, extend: bool = True, progress: Progress | None = None
    ) -> VerifyReport:
        """Re-compute the hash chain over the stored events and compare it with the checkpoints; the report names
        the first position where an event was changed, removed or reordered (see docs/tamper-evidence.md)."""
        return self.projector.verify_log(progress=progress, expect_head=expect_head, extend=extend)

    def existing_aggregates(self, aggregate_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``aggregate_ids`` have events (one query per thousand ids)."""
        sqlite = self.store_url.backend == "sqlite"
        ids = list(aggregate_ids)
        found: set[uuid.UUID] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                keys = {f"k{i}": (value.hex if sqlite else value) for i, value in enumerate(chunk)}
                placeholders = ", ".join(f":{k}" for k in keys)
                query = text(
                    f"SELECT DISTINCT originator_id FROM {self.events_table()} WHERE originator_id IN ({placeholders})"
                )
                found.update(uuid.UUID(str(row[0])) for row in conn.execute(query, keys))
        return found

    def events_table(self) -> str:
        """The (possibly schema-qualified) name of the table the events are stored in."""
        return str(getattr(self.recorder, "events_table_name", "stored_events"))

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        master_key: bytes | None = None,
        create: bool = True,
        serving: ServingConfig | None = None,
    ) -> Self:
        """Open the store at ``url`` (default ``$IAMLEDGER_DB``, else ``sqlite:///./iamledger.db``).

        With ``create=False`` a SQLite file that does not exist yet is refused with
        :class:`StoreNotInitializedError` instead of being created empty.

        ``serving`` (a :class:`~iamledger.projections.engine.serving.ServingConfig`, also ``iamledger.ServingConfig``)
        opens the store for serving requests one after another, as the HTTP endpoint does: its projector is then a
        :class:`~iamledger.projections.engine.serving.ServingProjector`, which catches the views up once per request
        (the server marks each one) rather than before every read. With ``ServingConfig(sole_writer=True)``, for a store
        only this process writes, the projector records the saves and applies them to the views itself (SQLite), and
        the cached aggregates are trusted as current. Without it (the default) every read catches the views up with
        the log.
        """
        store_url = StoreURL.parse(url)
        prepare_sqlite_file(store_url, create=create)
        return cls(store_url, master_key=master_key, serving=serving)

    def close(self) -> None:
        """Release the database connections."""
        self.projector.close()
        self.security_log.close()
        super().close()
        self.engine.dispose()

    # -- a command's aggregates ----------------------------------------------------------------------------------

    def lending(self) -> AbstractContextManager[None]:
        """A command's block: see :meth:`TemporalRepository.lending`."""
        repository = self.repository
        return repository.lending() if isinstance(repository, TemporalRepository) else nullcontext()

    # -- audit context -------------------------------------------------------------------------------------------

    def acting(self, account_id: str) -> AbstractContextManager[AuditContext]:
        """The bound audit context, or, when none is bound, the root of ``account_id`` under a fresh request id."""
        current = audit_context.get()
        if current is not None:
            return nullcontext(current)
        ctx = AuditContext(
            actor=root_arn(account_id), request_id=AuditContext.new_request_id(), user_agent=LIBRARY_USER_AGENT
        )
        return bound_audit_context(ctx)

    def aws_managed_policy(self, arn: str) -> Mapping[str, Any] | None:
        """The AWS managed policy with ``arn`` (built in, or imported with an account's authorization details), or
        ``None``."""
        with self.engine.connect() as conn:
            entry = StoreCatalogue(conn).get(arn)
            return None if entry is None else dict(entry)
