"""iamledger: AWS IAM's core as an event-sourced identity store with a full audit trail.

>>> from iamledger import IdentityStore
>>> store = IdentityStore.open("sqlite:///./iamledger.db")  # doctest: +SKIP

The names below are imported on first use (PEP 562), so that ``import iamledger`` (which every module of the
package, the command line's too, does first) costs nothing: ``iamledger --version`` loads no store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from iamledger.domain.audit import AuditContext
    from iamledger.domain.errors import IdentityStoreError
    from iamledger.projections.engine.serving import ServingConfig
    from iamledger.store import IdentityStore

    __version__: str

_LAZY: Final = {
    "AuditContext": "iamledger.domain.audit",
    "IdentityStore": "iamledger.store",
    "IdentityStoreError": "iamledger.domain.errors",
    "ServingConfig": "iamledger.projections.engine.serving",
}


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("iamledger")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """The package's public names, each imported the first time it is asked for."""
    if name == "__version__":
        value: Any = _installed_version()
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = ["AuditContext", "IdentityStore", "IdentityStoreError", "ServingConfig", "__version__"]
