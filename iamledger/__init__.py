"""iamledger: AWS IAM's core as an event-sourced identity store with a full audit trail.

>>> from iamledger import IdentityStore
>>> store = IdentityStore.open("sqlite:///./iamledger.db")  # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import IdentityStoreError
from iamledger.projections.engine.serving import ServingConfig
from iamledger.store import IdentityStore

try:
    __version__ = version("iamledger")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["AuditContext", "IdentityStore", "IdentityStoreError", "ServingConfig", "__version__"]
