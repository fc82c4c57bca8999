"""Throwaway stores for test suites (``iamledger serve --ephemeral``): a temporary SQLite database whose account root
signs with given (or random) credentials, and a fresh one with the same credentials on ``POST /moto-api/reset``."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from iamledger.domain.ids import new_access_key_id, new_secret_access_key
from iamledger.masterkey import KEY_BYTES
from iamledger.projections.engine.serving import ServingConfig
from iamledger.server.store_holder import StoreHolder
from iamledger.services.root_keys import install_root_access_key
from iamledger.store import IdentityStore

DEFAULT_ACCOUNT_ID = "123456789012"
SERVING: Final = ServingConfig(sole_writer=True, disposable=True)
"""How an ephemeral store is opened: this process is its only writer, and it is deleted with the process."""


@dataclass
class EphemeralStores:
    """Makes, resets and removes the temporary stores of one ephemeral endpoint.

    ``generated`` tells whether the credentials were made up here (then they are printed at start-up).
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    generated: bool = field(default=False, init=False)
    directory: Path = field(init=False)
    _count: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if bool(self.access_key_id) != bool(self.secret_access_key):
            msg = "give both the access key id and the secret access key, or neither"
            raise ValueError(msg)
        if not self.access_key_id:
            self.access_key_id = new_access_key_id()
            self.secret_access_key = new_secret_access_key()
            self.generated = True
        self.directory = Path(tempfile.mkdtemp(prefix="iamledger-ephemeral-"))

    @property
    def store_url(self) -> str:
        """The URL of the current temporary database."""
        return f"sqlite:///{self.directory / f'store-{self._count}.db'}"

    def open(self) -> IdentityStore:
        """A new, initialized store whose root signs with this endpoint's credentials, opened for serving as its only
        writer (:data:`SERVING`)."""
        self._count += 1
        store = IdentityStore.open(self.store_url, master_key=secrets.token_bytes(KEY_BYTES), serving=SERVING)
        try:
            store.init(self.account_id)
            install_root_access_key(store, self.access_key_id, self.secret_access_key, self.account_id)
        except BaseException:
            store.close()
            raise
        return store

    def reset(self, store: IdentityStore) -> IdentityStore:
        """Close and delete ``store``; a fresh one with the same account and credentials."""
        self.discard(store)
        return self.open()

    def discard(self, store: IdentityStore) -> None:
        """Close ``store`` and delete its files."""
        path = store.store_url.path
        store.close()
        if path is not None:
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink(missing_ok=True)

    def close(self, store: IdentityStore) -> None:
        """Close ``store`` and remove the temporary directory."""
        store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def holder(self) -> StoreHolder:
        """The endpoint's store holder: opens, resets and removes stores as above."""
        return StoreHolder(open_store=self.open, reset_store=self.reset, close_store=self.close)
