"""The AWS-compatible IAM and STS endpoint (``iamledger serve``): AWS's Query protocol over the identity store.

>>> from iamledger.server import create_app, StoreHolder  # doctest: +SKIP
>>> app = create_app(StoreHolder(lambda: IdentityStore.open("sqlite:///iam.db")))  # doctest: +SKIP

See ``docs/endpoint.md``.
"""

from __future__ import annotations

from iamledger.server.app import Endpoint, StoreHolder, create_app
from iamledger.server.ephemeral import EphemeralStores

__all__ = ["Endpoint", "EphemeralStores", "StoreHolder", "create_app"]
