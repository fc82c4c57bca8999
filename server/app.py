"""The AWS-compatible IAM and STS endpoint: an ASGI application over one :class:`IdentityStore`.

One URL serves both services, as AWS's Query protocol: a ``POST /`` with a form-encoded body (or a ``GET /`` with
the same fields in the query string) names the ``Action``; the SigV4 signature's credential scope names the service
(``iam`` or ``sts``). Every request is authenticated with the store's own keys (:meth:`IdentityStore.verify_request`)
and then runs as the signing principal, under an audit context holding the caller's ARN, access key id, source IP,
user agent and a fresh request id (returned as ``RequestId`` and in the ``x-amzn-RequestId`` header); the store
authorizes the call with its own policies.

The store is used from the event loop's thread: every request's work (verification, the operation, serialisation)
runs there in turn, so the store never sees two threads at once (:class:`QueryApp`).

The stores are opened for serving (``IdentityStore.open(url, serving=ServingConfig(...))``), which gives them the
projector that catches the views up per request (:class:`~iamledger.projections.engine.serving.ServingProjector`); the
endpoint marks where each request begins and ends. Each request starts by bringing the views up to the log's head: a
write made by any process before the request started is seen by it, so a policy change applies from the next request
on, in every worker. Within one request the views are caught up again only after the request itself has written.
Several processes (``--workers N``, or several ``serve`` processes) share one PostgreSQL store:
:func:`app_from_environment` is the application factory each worker imports.

This module is the ASGI application and its factories; one request's handling is :class:`~iamledger.server.endpoint.
Endpoint`'s, the store it serves is held by :class:`~iamledger.server.store_holder.StoreHolder`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from typing import Any, Final

from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from iamledger.auth import HttpRequest
from iamledger.logconfig import configure_logging, get_logger
from iamledger.server.endpoint import REQUEST_ID_HEADER, Endpoint
from iamledger.server.health import HEALTH_PATHS, health_endpoint
from iamledger.server.proxies import TrustedProxies
from iamledger.server.store_holder import StoreHolder, open_for_serving

__all__ = [
    "FORWARDED_ALLOW_IPS_ENV",
    "GC_THRESHOLDS",
    "LOG_FORMAT_ENV",
    "LOG_LEVEL_ENV",
    "STORE_ENV",
    "QueryApp",
    "app_from_environment",
    "create_app",
    "tune_collector",
]

log = get_logger(__name__)
_request_log = logging.getLogger(__name__)

XML_CONTENT_TYPE: Final = b"text/xml; charset=utf-8"
TRAIL_DELAY: Final = 0.2
"""Seconds between a write and the catch-up of the audit trail that follows it (:meth:`QueryApp._follow_trail_soon`)."""
STORE_ENV: Final = "IAMLEDGER_SERVE_DB"
"""The store URL a worker process of ``iamledger serve --workers N`` opens (set by the command for its workers)."""
LOG_LEVEL_ENV: Final = "IAMLEDGER_SERVE_LOG_LEVEL"
LOG_FORMAT_ENV: Final = "IAMLEDGER_SERVE_LOG_FORMAT"
FORWARDED_ALLOW_IPS_ENV: Final = "IAMLEDGER_SERVE_FORWARDED_ALLOW_IPS"
"""The proxies a worker process of ``iamledger serve --workers N`` believes (``--forwarded-allow-ips``; set by the
command for its workers, empty when none are named)."""


_PLAIN_HOST: Final = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
_MAX_PORT: Final = 65535


@functools.lru_cache(maxsize=256)
def _plain_host(host: bytes) -> str | None:
    """A ``Host`` header's value as text when it is a plain name or IPv4 address with an optional port (an
    endpoint's clients send one or a few: the answer is remembered)."""
    text = host.decode("latin-1")
    if _PLAIN_HOST.fullmatch(text) and (":" not in text or 0 < int(text.rsplit(":", 1)[1]) <= _MAX_PORT):
        return text
    return None


def _request_url(scope: Any) -> str:
    """The request's full URL, as Starlette's ``URL(scope=scope)`` gives it: built directly for the usual request to
    ``/`` with a plain ``Host`` header (name or IPv4 address, optional port), by Starlette otherwise."""
    if scope["path"] == "/" and not scope.get("root_path"):
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        if host is not None:
            text = _plain_host(host)
            if text is not None:
                query = scope.get("query_string", b"")
                url = f"{scope.get('scheme', 'http')}://{text}/"
                return f"{url}?{query.decode()}" if query else url
    return str(URL(scope=scope))


class QueryApp:
    """The ASGI application: ``GET``/``POST /`` (every IAM and STS call) is handled here directly, without a
    framework's middleware between the server and the store; the other routes (``/moto-api/...``, ``/health``,
    ``/_localstack/health``) and the lifespan go to a Starlette application.

    A request runs on the event loop's own thread, start to end: the store is used from that one thread, and requests
    are handled one at a time, in the order they arrive (the store serialises writes anyway; handing each request to
    a worker thread cost more, in thread switches, than the work of a typical read). After a write, the views are
    caught up once the response has been handed to the server, so the next request finds them current.

    The client's address (``aws:SourceIp``, the trail's ``sourceIPAddress``) is the TCP peer's, or, for a request from
    one of ``proxies``, the one its ``X-Forwarded-For`` gives (:meth:`TrustedProxies.client_address`). The server must
    not rewrite the peer itself (uvicorn: ``proxy_headers=False``), else a forwarding header from any client on an
    address it trusts by default (loopback) would be believed."""

    def __init__(self, endpoint: Endpoint, fallback: Starlette, proxies: TrustedProxies | None = None) -> None:
        self.endpoint = endpoint
        self.fallback = fallback
        self.proxies = proxies
        self._trail_due: asyncio.TimerHandle | None = None

    def _follow_trail_soon(self) -> None:
        """Catch the trail up :data:`TRAIL_DELAY` seconds after a write, once for all the writes of that time.
        Rendering a record costs about as much as the write itself, and a catch-up has a cost of its own (the
        renderer's state, a transaction): done after every write, it halved the endpoint's write rate
        (docs/performance.md); done for many writes at once, it costs a fraction of a write each."""
        if self._trail_due is None:
            self._trail_due = asyncio.get_running_loop().call_later(TRAIL_DELAY, self._follow_trail_now)

    def _follow_trail_now(self) -> None:
        self._trail_due = None
        self.endpoint.follow_trail()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in {"GET", "POST"}:
            await self.query(scope, receive, send)
        else:
            await self.fallback(scope, receive, send)

    async def query(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = [(name.decode("latin-1"), value) for name, value in scope["headers"]]  # values: UTF-8 or Latin-1
        http = HttpRequest(scope["method"], _request_url(scope), headers, b"".join(chunks))
        client = scope.get("client")
        source_ip = client[0] if client else None
        if self.proxies is not None:
            source_ip = self.proxies.client_address(source_ip, scope["headers"])
        outcome = self.endpoint.handle(http, source_ip)
        await send(
            {
                "type": "http.response.start",
                "status": outcome.status,
                "headers": [
                    (b"content-type", XML_CONTENT_TYPE),
                    (b"content-length", str(len(outcome.body)).encode("ascii")),
                    *(
                        (name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in outcome.headers.items()
                    ),
                ],
            }
        )
        await send({"type": "http.response.body", "body": outcome.body})
        if outcome.wrote:  # the response is on its way: catch the views up before the next request
            self.endpoint.refresh()
            self._follow_trail_soon()
        if _request_log.isEnabledFor(logging.INFO):  # a cheap test first: below INFO the line is dropped anyway
            log.info(
                "endpoint_request",
                operation=outcome.operation,
                status=outcome.status,
                error_code=outcome.error_code,
                source_ip=source_ip,
                request_id=outcome.headers.get(REQUEST_ID_HEADER),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )


GC_THRESHOLDS: Final = (50_000, 50, 100)
"""The collector's thresholds in a serving process: Python's default (700 allocations a young collection) runs the
collector every few requests, a tenth of a write call's CPU in ``bench/endpoint.py``; at 50,000 it runs every few
hundred."""


def tune_collector() -> None:
    """Set the garbage collector up for a long-running server process: what start-up allocated (modules, botocore's
    service models, the store) is moved out of the collector's sight for good (``gc.freeze``), and young collections
    run far less often (:data:`GC_THRESHOLDS`). Collection itself stays on: cycles are still freed."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(
    holder: StoreHolder,
    *,
    server_process: bool = False,
    trusted_proxies: TrustedProxies | None = None,
    console: bool = True,
) -> QueryApp:
    """The endpoint's ASGI application over the store ``holder`` opens (at start-up). ``server_process``: the
    application is the process's only job (``iamledger serve``): its garbage collector is tuned for serving once the
    store is open (:func:`tune_collector`). ``trusted_proxies``: the proxies whose ``X-Forwarded-For`` names the
    client (``--forwarded-allow-ips``); none by default, and then the client is the TCP peer. ``console``: the audit
    console is served at ``/console/`` too (docs/console.md)."""
    endpoint = Endpoint(holder)

    async def moto_reset(request: Request) -> Response:
        del request
        if holder.reset_store is None:
            return JSONResponse(
                {"message": "This endpoint's store cannot be reset (not --ephemeral)."}, status_code=404
            )
        endpoint.reset()
        return JSONResponse({"status": "ok"})

    async def moto_reset_auth(request: Request) -> Response:
        # moto's switch for its optional authentication; iamledger always authenticates, so nothing changes.
        if holder.reset_store is None:
            return JSONResponse({"message": "Only offered with --ephemeral."}, status_code=404)
        with contextlib.suppress(ValueError):
            json.loads(await request.body() or b"{}")
        return JSONResponse({"PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": 0})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        holder.current()
        if server_process:
            tune_collector()
        try:
            yield
        finally:
            endpoint.shutdown()

    async def query_elsewhere(request: Request) -> Response:  # pragma: no cover - QueryApp answers these itself
        del request
        raise RuntimeError("GET and POST / are handled by QueryApp")

    routes: list[BaseRoute] = [
        Route("/", query_elsewhere, methods=["GET", "POST"]),  # other methods: 405, as before QueryApp
        Route("/moto-api/reset", moto_reset, methods=["POST"]),
        Route("/moto-api/reset-auth", moto_reset_auth, methods=["POST"]),
        *(Route(path, health_endpoint(holder), methods=["GET"]) for path in HEALTH_PATHS),  # HEAD too; others: 405
    ]
    if console:
        routes += console_routes(holder, trusted_proxies)
    return QueryApp(endpoint, Starlette(routes=routes, lifespan=lifespan), trusted_proxies)


def console_routes(holder: StoreHolder, trusted_proxies: TrustedProxies | None = None) -> list[BaseRoute]:
    """The audit console's routes (docs/console.md): ``/console`` redirects to ``/console/``, where the console's own
    application answers."""
    from iamledger.server.console.app import Console

    async def to_console(request: Request) -> Response:
        del request
        return RedirectResponse("/console/", status_code=307)

    return [
        Route("/console", to_console, methods=["GET"]),
        Mount("/console", app=Console(holder, trusted_proxies).app()),
    ]


def app_from_environment() -> QueryApp:
    """The application over the store ``$IAMLEDGER_SERVE_DB`` names, believing the proxies
    ``$IAMLEDGER_SERVE_FORWARDED_ALLOW_IPS`` names (none when unset): the factory each worker process of
    ``iamledger serve --workers N`` imports (``uvicorn iamledger.server.app:app_from_environment --factory``; run
    that way, pass uvicorn ``--no-proxy-headers``, else uvicorn itself believes forwarding headers from loopback)."""
    url = os.environ.get(STORE_ENV)
    if not url:
        raise RuntimeError(f"${STORE_ENV} must name the store the endpoint serves")
    configure_logging(
        level=os.environ.get(LOG_LEVEL_ENV, "WARNING"),
        log_format=os.environ.get(LOG_FORMAT_ENV, "auto"),  # type: ignore[arg-type]
    )
    return create_app(
        StoreHolder(lambda: open_for_serving(url)),
        server_process=True,
        trusted_proxies=TrustedProxies.parse(os.environ.get(FORWARDED_ALLOW_IPS_ENV)),
    )
