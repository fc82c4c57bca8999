"""The store the endpoint serves, opened once at start-up and, in ephemeral mode, replaced by a fresh one on
``POST /moto-api/reset``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from iamledger.projections.engine.serving import ServingConfig
from iamledger.store import IdentityStore


def open_for_serving(url: str | None) -> IdentityStore:
    """The initialized store at ``url`` (``None``: as :meth:`IdentityStore.open` chooses) opened for serving requests,
    other processes writing it too, as ``iamledger serve`` opens it: ``IdentityStore.open(url, create=False,
    serving=ServingConfig())``."""
    return IdentityStore.open(url, create=False, serving=ServingConfig())


@dataclass
class StoreHolder:
    """The store the endpoint serves, with how to open it again for ``POST /moto-api/reset`` (ephemeral mode).

    ``open_store`` opens the store for serving (``IdentityStore.open(url, serving=ServingConfig(...))``, as
    :func:`open_for_serving` does): its views are then caught up once per request. A store opened without that
    configuration is served too, catching its views up before every read."""

    open_store: Callable[[], IdentityStore]
    reset_store: Callable[[IdentityStore], IdentityStore] | None = None
    """Given the current store, close it and return a fresh one; None when resetting is not offered."""
    close_store: Callable[[IdentityStore], None] = IdentityStore.close
    store: IdentityStore | None = field(default=None, init=False)

    def current(self) -> IdentityStore:
        if self.store is None:
            self.store = self.open_store()
        return self.store

    def reset(self) -> None:
        if self.reset_store is None:
            raise RuntimeError("this endpoint's store cannot be reset")
        self.store = self.reset_store(self.current())

    def close(self) -> None:
        if self.store is not None:
            self.close_store(self.store)
            self.store = None
