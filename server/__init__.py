"""The AWS-compatible IAM and STS endpoint (``iamledger serve``): AWS's Query protocol over the identity store.

>>> from iamledger.server import create_app, open_for_serving, StoreHolder  # doctest: +SKIP
>>> app = create_app(StoreHolder(lambda: open_for_serving("sqlite:///iam.db")))  # doctest: +SKIP

Several worker processes (``iamledger serve --workers N``) each build the application with
:func:`app_from_environment`, which opens the store ``$IAMLEDGER_SERVE_DB`` names. See ``docs/endpoint.md``.
"""

from __future__ import annotations

from iamledger.server.app import app_from_environment, create_app
from iamledger.server.endpoint import Endpoint
from iamledger.server.ephemeral import EphemeralStores
from iamledger.server.store_holder import StoreHolder, open_for_serving

__all__ = ["Endpoint", "EphemeralStores", "StoreHolder", "app_from_environment", "create_app", "open_for_serving"]
