"""Audit and as-of reads on a hot standby of the store's PostgreSQL primary (``IdentityStore.open(url,
read_url=...)``, the CLI's ``--read-db``).

A :class:`StandbyStore` is the store's read side on the standby: the same read methods, on an engine and an event
recorder connected to the standby, with views and a trail that are read, never caught up, there
(:mod:`iamledger.projections.engine.standby`). Everything that writes stays the primary's: the security log (a refused
read is recorded there), the credential vault; so does deciding whether the caller may read at all. The primary store
routes its audit reads and ``at(...)`` to it (:meth:`iamledger.IdentityStore.reader`); nothing sends a write to it,
and a hot standby would refuse one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from eventsourcing.application import Application
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from iamledger.config import StoreURL
from iamledger.database import create_store_engine
from iamledger.domain.errors import ConfigurationError, DatabaseUnavailableError
from iamledger.projections.engine.standby import READ_TIMEOUT, StandbyTrail, StandbyViews
from iamledger.projections.views.access_keys import AccessKeyRows
from iamledger.store import IdentityStore

READ_DB_ENV_VAR: Final = "IAMLEDGER_READ_DB"
READ_TIMEOUT_ENV_VAR: Final = "IAMLEDGER_READ_TIMEOUT"


def standby_url(read_url: str, primary: StoreURL) -> StoreURL:
    """``read_url`` parsed as the standby of ``primary``: both PostgreSQL; without a ``?schema=`` of its own it
    reads the primary's schema (a standby is a physical copy: the store is in the same schema there)."""
    parsed = StoreURL.parse(read_url)
    if primary.backend != "postgres" or parsed.backend != "postgres":
        raise ConfigurationError(
            "A read replica needs a PostgreSQL store and a PostgreSQL hot standby of it "
            f"(store {primary.display()}, read replica {parsed.display()})."
        )
    if not parsed.schema:
        return dataclasses.replace(parsed, schema=primary.schema)
    if parsed.schema != primary.schema:
        raise ConfigurationError(
            f"The read replica's schema '{parsed.schema}' is not the store's ('{primary.schema or 'public'}'): a "
            "standby holds the store in the same schema as its primary."
        )
    return parsed


class StandbyStore(IdentityStore):
    """The read side of ``primary`` on its hot standby at ``store_url``; see the module docstring. ``timeout``: how
    long a read waits for a position the standby's views have not reached (:meth:`StandbyViews.reach`)."""

    def __init__(self, primary: IdentityStore, store_url: StoreURL, *, timeout: float = READ_TIMEOUT) -> None:
        # Not IdentityStore.__init__: that creates the schema, the tables and their first rows, which a read-only
        # standby refuses and holds already as its copy of the primary.
        self.primary = primary
        self.store_url = store_url
        self.engine = create_store_engine(store_url)
        self._known_accounts = ()
        self.access_key_rows = AccessKeyRows()
        self.vault = primary.vault
        self.security_log = primary.security_log
        self.projector = StandbyViews(self, self.engine, primary_head=primary.projector.head, timeout=timeout)
        self.trail = StandbyTrail(self, self.security_log, self.engine)
        self._check()  # first: eventsourcing's recorder would wait out its connect timeout on an unreachable host
        Application.__init__(self, env={**store_url.eventsourcing_env(), "CREATE_TABLE": "no"})
        self._closed = False

    def _check(self) -> None:
        """Refuse a standby that cannot be reached or holds no store, with the reason, before any read."""
        try:
            self.projector.position()
        except OperationalError as error:
            self.engine.dispose()
            raise DatabaseUnavailableError(
                f"Cannot open the read replica at {self.store_url.display()}: {_reason(error)}"
            ) from None
        except SQLAlchemyError as error:
            self.engine.dispose()
            raise ConfigurationError(
                f"The read replica at {self.store_url.display()} holds no iamledger store ({_reason(error)}): it must "
                "be a hot standby of the store's primary."
            ) from None

    def clock(self) -> datetime:
        """The primary's clock (tests replace it there)."""
        return self.primary.clock()

    # Who may read is decided on the primary, against the policies of now: a permission revoked there must not
    # outlive the standby's lag. Only the answer is read here (a refusal is recorded in the primary's security log).

    def _refuse_by_credentials(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        self.primary._refuse_by_credentials(service, operation, params)  # noqa: SLF001 - the primary's own check

    def _authorize(self, service: str, operation: str, params: Mapping[str, Any], account_id: str) -> None:
        self.primary._authorize(service, operation, params, account_id)  # noqa: SLF001 - the primary's own check

    def close(self) -> None:
        """Release the standby's connections; the security log and the vault are the primary's, and stay open."""
        if getattr(self, "_closed", True):  # closed, or never opened (refused by :meth:`_check`)
            return
        self._closed = True
        Application.close(self)
        self.engine.dispose()


def _reason(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
