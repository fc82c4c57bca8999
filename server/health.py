"""``GET /health`` and ``GET /_localstack/health``: whether the endpoint is up, for load balancers, container
orchestrators, test fixtures and the tools that probe LocalStack before they call it.

Both paths answer the same JSON: iamledger's own fields (``status``, ``version``, the store's ``backend`` and the
``position`` of the head of its event log) and the ones LocalStack's health resource answers (``services``, each
with its state, ``edition`` and ``version``), so a tool written for LocalStack finds ``iam`` and ``sts`` running.
The request is neither signed nor recorded, and the answer holds no secret and no database URL. The head is one
``MAX`` over the log's index, read without catching the views up: a probe every second costs the store nothing.
``HEAD`` answers the same status without a body; any other method is refused with 405.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from iamledger.logconfig import get_logger
from iamledger.server.store_holder import StoreHolder

log = get_logger(__name__)

HEALTH_PATHS: Final = ("/health", "/_localstack/health")
SERVICES: Final = ("iam", "sts")
EDITION: Final = "iamledger"
"""What ``edition`` says: LocalStack answers ``community`` or ``pro``; this endpoint is neither."""
BACKENDS: Final = {"sqlite": "sqlite", "postgres": "postgresql"}
"""The store's backend as its URL's scheme names it."""


def health(holder: StoreHolder) -> tuple[int, dict[str, Any]]:
    """The status and body of a health answer: 200 with the log's head, or 503 when the store cannot be read."""
    from iamledger import __version__

    body: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "backend": None,
        "position": None,
        "services": dict.fromkeys(SERVICES, "running"),
        "edition": EDITION,
    }
    try:
        store = holder.current()
        body["backend"] = BACKENDS.get(store.store_url.backend, store.store_url.backend)
        body["position"] = store.projector.head()
    except Exception as error:  # noqa: BLE001 - any failure to read the store is the answer: unavailable
        log.warning("health_check_failed", error=type(error).__name__)
        body["status"] = "unavailable"
        body["services"] = dict.fromkeys(SERVICES, "error")
        return 503, body
    return 200, body


def health_endpoint(holder: StoreHolder) -> Any:
    """The Starlette endpoint answering :data:`HEALTH_PATHS` over the store ``holder`` serves. It is a coroutine,
    so it runs on the event loop's thread, where the store is used (``QueryApp``)."""

    async def endpoint(request: Request) -> Response:
        del request
        status, body = health(holder)
        return JSONResponse(body, status_code=status)

    return endpoint
