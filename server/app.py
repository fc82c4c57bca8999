"""The AWS-compatible IAM and STS endpoint: an ASGI application over one :class:`IdentityStore`.

One URL serves both services, as AWS's Query protocol: a ``POST /`` with a form-encoded body (or a ``GET /`` with
the same fields in the query string) names the ``Action``; the SigV4 signature's credential scope names the service
(``iam`` or ``sts``). Every request is authenticated with the store's own keys (:meth:`IdentityStore.verify_request`)
and then runs as the signing principal, under an audit context holding the caller's ARN, access key id, source IP,
user agent and a fresh request id (returned as ``RequestId`` and in the ``x-amzn-RequestId`` header); the store
authorizes the call with its own policies.

The store is used from the event loop's thread: every request's work (verification, the operation, serialisation)
runs there in turn, so the store never sees two threads at once (:class:`QueryApp`).

Each request starts by bringing the views up to the log's head (:class:`RequestViews`): a write made by any process
before the request started is seen by it, so a policy change applies from the next request on, in every worker.
Within one request the views are caught up again only after the request itself has written. Several processes
(``--workers N``, or several ``serve`` processes) share one PostgreSQL store: :func:`app_from_environment` is the
application factory each worker imports.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from botocore import xform_name
from botocore.model import OperationModel, ServiceModel
from sqlalchemy import Connection
from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from iamledger.auth import AuthenticationError, HttpRequest, parse_authorization
from iamledger.awsmodel import SERVICES, service_model
from iamledger.context import bound_audit_context
from iamledger.database import RELAXED_COMMITS
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import IdentityStoreError, InvalidInputError, SenderError
from iamledger.logconfig import configure_logging, get_logger
from iamledger.projections.projector import Progress, Projector
from iamledger.server.protocol import parse_parameters, serialize_error, serialize_result
from iamledger.server.proxies import TrustedProxies
from iamledger.server.unsigned import unsigned_caller
from iamledger.store import IdentityStore

log = get_logger(__name__)
_request_log = logging.getLogger(__name__)

ANONYMOUS: Final = "anonymous"
"""The actor of a request whose signature names no known access key (recorded with its refusal)."""
XML_CONTENT_TYPE: Final = b"text/xml; charset=utf-8"
REQUEST_ID_HEADER: Final = "x-amzn-RequestId"
VERSIONS: Final = {service_model(name).api_version: name for name in SERVICES}
"""API version -> service, to answer in the right namespace before the signature has named the service."""
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
STORE_ENV: Final = "IAMLEDGER_SERVE_DB"
"""The store URL a worker process of ``iamledger serve --workers N`` opens (set by the command for its workers)."""
EXPECTED_SERVICES: Final = frozenset(SERVICES)
LOG_LEVEL_ENV: Final = "IAMLEDGER_SERVE_LOG_LEVEL"
LOG_FORMAT_ENV: Final = "IAMLEDGER_SERVE_LOG_FORMAT"
FORWARDED_ALLOW_IPS_ENV: Final = "IAMLEDGER_SERVE_FORWARDED_ALLOW_IPS"
"""The proxies a worker process of ``iamledger serve --workers N`` believes (``--forwarded-allow-ips``; set by the
command for its workers, empty when none are named)."""


class InvalidActionError(SenderError):
    """An ``Action`` the service does not have (AWS: ``InvalidAction``, HTTP 400)."""

    code = "InvalidAction"


class MissingActionError(SenderError):
    """A request without an ``Action`` (AWS: ``MissingAction``, HTTP 400)."""

    code = "MissingAction"


class NotImplementedByStoreError(IdentityStoreError):
    """An operation AWS has and iamledger does not implement yet (HTTP 501, which SDKs do not retry)."""

    code = "NotImplemented"
    http_status = 501


class RequestViews(Projector):
    """The store's projector while it serves requests: the views are caught up with the log once when a request
    starts (one ``max(id)`` query when nothing is new), and again within the request only after it wrote.

    Outside a request (start-up, reset, the library's own use) every :meth:`catch_up` is a real one. A write by
    another process during a request is seen from the next request on, as AWS's own eventual consistency allows;
    a write by this request (noted through :meth:`index_recorded`, which every save calls) is seen by its own later
    reads."""

    def __init__(self, projector: Projector, *, sole_writer: bool = False, disposable: bool = False) -> None:
        super().__init__(projector._app, projector._engine)  # noqa: SLF001 - the same store and engine
        self.sole_writer = sole_writer
        """Whether this process is the only one writing the store (``--ephemeral``: a private temporary database):
        then the views, once current, stay current but for what this process saves, which it records and applies
        to the views at once (:meth:`record`), and a request need not ask the log for its head."""
        self.disposable = disposable
        """Whether the store is thrown away with this process (``--ephemeral``): its saves need not wait for the
        disk (SQLite ``synchronous = OFF``: neither a commit nor a WAL checkpoint is fsynced; a crash of the
        machine may lose or damage the database, which nobody opens again: a new process starts a new one)."""
        self._settled: int | None = None
        """With ``sole_writer``: the position the views are at, known to be the log's head."""
        self._indexed: tuple[int, datetime | None, str] | None = None
        """With ``sole_writer``: the time index's head as last written here (``None``: read it)."""
        self._writer: Connection | None = None
        """With ``sole_writer``: the connection that records this process's saves and applies them to the views
        (:meth:`record`)."""
        self._pending: list[Any] = []
        """With ``sole_writer``: this request's saves, recorded but not yet applied to the views (:meth:`record`)."""
        self._in_request = False
        self._current: int | None = None
        self.wrote = False
        self._known_head = -1
        """The log's head the views were last seen current to by this process (they never move backwards)."""

    def begin_request(self) -> None:
        self._in_request = True
        self._current = None
        self.wrote = False

    def end_request(self) -> bool:
        """End the request; whether it wrote (then the views are behind the log until the next catch-up)."""
        self._in_request = False
        self._current = None
        return self.wrote

    def catch_up(self, progress: Progress | None = None) -> int:
        if self._pending:
            self._apply_pending()
        if self._in_request and self._current is not None and progress is None:
            return self._current
        if self._settled is not None and progress is None:
            position = self._settled
        else:
            head = self.head()
            if head <= self._known_head and progress is None:  # no event since the views were current to ``head``
                position = self._known_head
            else:
                position = super().catch_up(progress)
                self._known_head = max(self._known_head, min(position, head))
            if self.sole_writer and position >= head:
                self._settled = position
                self._indexed = None
        if self._in_request:
            self._current = position
        return position

    def record(self, events: Sequence[Any]) -> list[Any] | None:
        """As the only writer with the views current: record ``events``; their recordings. ``None`` when this is not
        the case (the store records them as usual).

        In a request they are recorded in a transaction of their own (:meth:`Projector.record_in`) and applied to
        the views from memory by the next catch-up (:meth:`_apply_pending`): a later read of the same request, else
        the one the endpoint runs once the response is on its way, before the next request is handled. The client
        waits for the log's commit, not for the views'. Outside a request (start-up, the library's own use) they
        are recorded, applied and checkpointed in one transaction (:meth:`Projector.record_and_apply`)."""
        if not self.sole_writer or self._engine.dialect.name != "sqlite":
            return None
        if not self._in_request:
            self._apply_pending()
        settled = self._settled
        if settled is None:
            return None
        writer = self._writing()
        if self._in_request:
            recordings = self.record_in(writer, events)
            self._pending.extend(recordings)
            return recordings
        recordings, applied = self.record_and_apply(writer, settled, events, self._indexed)
        self._applied(applied)
        return recordings

    def _writing(self) -> Connection:
        """The connection this process records its saves on (kept open)."""
        if self._writer is None:
            self._writer = self._engine.connect()
            if self.disposable:
                self._writer.exec_driver_sql("PRAGMA synchronous = OFF")
                self._writer.info[RELAXED_COMMITS] = True  # restored when the pool gets the connection back
                self._writer.commit()  # (ends the transaction the statement began)
        return self._writer

    def _applied(self, applied: tuple[int, tuple[int, datetime | None, str]] | None) -> None:
        if applied is None:  # another writer after all: catch up from the log from now on
            self._settled = None
            self._indexed = None
        else:
            self._settled, self._indexed = applied
            self._known_head = max(self._known_head, applied[0])

    def _apply_pending(self) -> None:
        """Apply the saves :meth:`record` recorded in this request and has not applied yet to the views, from
        memory, in one transaction. When they do not follow the views (another writer got in) or cannot be
        applied, the views are left to the ordinary catch-up from the log (which then raises what failed)."""
        pending, self._pending = self._pending, []
        if not pending or self._settled is None:
            return
        applied = None
        try:
            applied = self.apply_recorded(self._writing(), self._settled, pending, self._indexed)
        finally:
            self._applied(applied)

    def index_recorded(self, recordings: Any) -> int:
        """Note that this request wrote. The checkpoints of what it saved are written by the catch-up that follows
        (in the views' own transaction: a later read of this request, else the catch-up right after the response
        is handed over, before the next request), not in a transaction of their own as a library writer's are.
        (The only writer's saves are applied and checkpointed with the views: :meth:`record`.)"""
        self._current = None  # this request wrote: its next read catches up again
        self.wrote = True
        known = self._pending[-1].notification.id if self._pending else self._settled
        if known is not None and recordings and recordings[-1].notification.id > known:
            self._settled = None  # saved without :meth:`record`: the views are behind, catch up from the log
        return 0

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a store being closed: what is not applied is in the log
            self._apply_pending()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        super().close()

    def rebuild(self, progress: Progress | None = None) -> int:
        self._pending = []  # recorded in the log: the rebuild reads them there
        self._known_head = -1
        self._settled = None
        self._indexed = None
        return super().rebuild(progress)


def serving_views(store: IdentityStore, *, sole_writer: bool = False, disposable: bool = False) -> IdentityStore:
    """``store`` with its projector replaced by a :class:`RequestViews` over the same store."""
    if not isinstance(store.projector, RequestViews):
        store.projector = RequestViews(store.projector, sole_writer=sole_writer, disposable=disposable)
        if sole_writer:
            store.only_writer()
    return store


@dataclass
class StoreHolder:
    """The store the endpoint serves, with how to open it again for ``POST /moto-api/reset`` (ephemeral mode)."""

    open_store: Callable[[], IdentityStore]
    reset_store: Callable[[IdentityStore], IdentityStore] | None = None
    """Given the current store, close it and return a fresh one; None when resetting is not offered."""
    close_store: Callable[[IdentityStore], None] = IdentityStore.close
    sole_writer: bool = False
    """Whether the stores opened are written by this process only (see :class:`RequestViews`)."""
    disposable: bool = False
    """Whether the stores opened are thrown away with this process (see :class:`RequestViews`)."""
    store: IdentityStore | None = field(default=None, init=False)

    def current(self) -> IdentityStore:
        if self.store is None:
            self.store = serving_views(self.open_store(), sole_writer=self.sole_writer, disposable=self.disposable)
        return self.store

    def reset(self) -> None:
        if self.reset_store is None:
            raise RuntimeError("this endpoint's store cannot be reset")
        self.store = serving_views(
            self.reset_store(self.current()), sole_writer=self.sole_writer, disposable=self.disposable
        )

    def close(self) -> None:
        if self.store is not None:
            self.close_store(self.store)
            self.store = None


@dataclass(slots=True)
class Outcome:
    """What one request answers: status, XML body, headers."""

    status: int
    body: bytes
    headers: dict[str, str]
    operation: str
    error_code: str | None = None
    wrote: bool = False
    """Whether the request recorded events (the views are then caught up after the response is sent)."""


@functools.cache
def _accepted_parameters(operation: OperationModel) -> frozenset[str] | None:
    """The input members the store's method takes (None: all of them, through ``**kwargs``)."""
    method = getattr(IdentityStore, xform_name(operation.name))
    parameters = inspect.signature(method).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


def _check_supported(operation: OperationModel, params: dict[str, Any]) -> None:
    """Refuse the input members the store's method does not take yet (rather than ignore them silently)."""
    accepted = _accepted_parameters(operation)
    unsupported = sorted(set(params) - accepted) if accepted is not None else []
    if unsupported:
        raise InvalidInputError(
            f"iamledger does not support the parameter(s) {', '.join(unsupported)} of {operation.name} yet."
        )


def implemented(service: str, action: str) -> bool:
    """Whether the store implements ``action`` of ``service`` (a method named after it exists)."""
    return action in service_model(service).operation_names and callable(
        getattr(IdentityStore, xform_name(action), None)
    )


def _form_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    pairs = [(name, value) for name, value in request.query_pairs() if not name.startswith("X-Amz-")]
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if request.body and (content_type in {FORM_CONTENT_TYPE, ""}):
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError("The request body is not UTF-8 form data.") from None
        pairs.extend(form_pairs(text))
    return pairs


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True)``, pair for pair: the fields are split on ``&`` (empty ones
    skipped), a field without ``=`` has the value ``""``, and ``+`` and percent escapes are decoded (UTF-8, invalid
    sequences replaced) only in the names and values that have them, which in an SDK's form body are few."""
    if "&&" in text or text.startswith("&") or text.endswith("&"):
        return parse_qsl(text, keep_blank_values=True)
    pairs = []
    for item in text.split("&") if text else ():
        name, _, value = item.partition("=")
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        if "%" in value or "+" in value:
            value = unquote(value.replace("+", " "))
        pairs.append((name, value))
    return pairs


def _first(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in pairs if key == name), None)


class Endpoint:
    """Handles requests against the held store, one at a time on the store's own thread."""

    def __init__(self, holder: StoreHolder) -> None:
        self.holder = holder

    def shutdown(self) -> None:
        self.holder.close()

    # -- one request ---------------------------------------------------------------------------------------------------

    def handle(self, request: HttpRequest, source_ip: str | None) -> Outcome:
        """Authenticate, route, run and serialise one Query-protocol request; every error becomes AWS's XML."""
        store = self.holder.current()
        views = store.projector
        if not isinstance(views, RequestViews):
            return self._handle(store, request, source_ip)
        views.begin_request()
        try:
            outcome = self._handle(store, request, source_ip)
        finally:
            wrote = views.end_request()
        outcome.wrote = wrote
        return outcome

    def refresh(self) -> None:
        """Catch the views and the audit trail up with the log (after a write, once its response is on its way):
        the next request then finds the views current, and an audit question finds the trail current (it has at
        most the writes since the last response to project). A failure is only logged: the next request catches
        the views up anyway, and a question the trail."""
        store = self.holder.store
        if store is None:
            return
        try:
            store.projector.catch_up()
        except Exception:
            log.exception("endpoint_catch_up_failed")
        try:
            # Not in the write's own transaction: rendering a record costs as much as the write itself (see
            # docs/performance.md), here it delays only a request that arrives meanwhile.
            store.trail.catch_up()
        except Exception:
            log.exception("endpoint_trail_catch_up_failed")

    def _handle(self, store: IdentityStore, request: HttpRequest, source_ip: str | None) -> Outcome:
        request_id = AuditContext.new_request_id()
        user_agent = request.header("user-agent")
        model: ServiceModel = service_model("iam")
        action = ""
        try:
            pairs = _form_pairs(request)
            action = _first(pairs, "Action") or ""
            version = _first(pairs, "Version")
            model = service_model(VERSIONS.get(version or "", "iam"))
            claimed = self._claimed_context(request, request_id, source_ip, user_agent)
            with bound_audit_context(claimed):
                caller = unsigned_caller(model, action, request) or store.verify_request(
                    request, expected_service=EXPECTED_SERVICES, as_key_owner=True
                )
            model = service_model(caller.service)
            operation = self._operation(model, action, version)
            params = parse_parameters(operation, pairs)
            _check_supported(operation, params)
            context = AuditContext(
                actor=caller.owner_arn,
                request_id=request_id,
                access_key_id=caller.access_key_id or None,
                source_ip=source_ip,
                user_agent=user_agent,
            )
            with bound_audit_context(context):
                result = getattr(store, xform_name(action))(**params)
            body = serialize_result(operation, result, request_id)
            return Outcome(200, body, self._headers(request_id), action)
        except IdentityStoreError as error:
            return self._error(
                model, action, error.code, error.message, error.http_status, request_id, sender=error.sender_fault
            )
        except Exception:
            log.exception("endpoint_internal_error", operation=action, request_id=request_id)
            return self._error(
                model,
                action,
                "InternalFailure",
                "The request processing has failed because of an unknown error.",
                500,
                request_id,
                sender=False,
            )

    @staticmethod
    def _claimed_context(
        request: HttpRequest, request_id: str, source_ip: str | None, user_agent: str | None
    ) -> AuditContext:
        """The audit context while the signature is checked: the access key id the request names, and the anonymous
        actor, which the check replaces by the key's owner when the store holds the key (a refusal is recorded
        under that claimed identity, an accepted key's use under its owner)."""
        access_key_id: str | None = None
        with contextlib.suppress(AuthenticationError):
            access_key_id = parse_authorization(request).access_key_id
        return AuditContext(
            actor=ANONYMOUS,
            request_id=request_id,
            access_key_id=access_key_id,
            source_ip=source_ip,
            user_agent=user_agent,
        )

    @staticmethod
    @functools.lru_cache(maxsize=512)  # every request asks; a refusal raises, and is not remembered
    def _operation(model: ServiceModel, action: str, version: str | None) -> OperationModel:
        if not action:
            raise MissingActionError("Missing Action")
        if action not in model.operation_names or (version is not None and version != model.api_version):
            raise InvalidActionError(f"Could not find operation {action} for version {version or model.api_version}")
        if not implemented(model.service_name, action):
            raise NotImplementedByStoreError(f"iamledger does not implement {model.service_name}:{action} yet.")
        return model.operation_model(action)

    @staticmethod
    def _headers(request_id: str) -> dict[str, str]:
        return {REQUEST_ID_HEADER: request_id}

    def _error(
        self, model: ServiceModel, action: str, code: str, message: str, status: int, request_id: str, *, sender: bool
    ) -> Outcome:
        body = serialize_error(model, code, message, sender_fault=sender, request_id=request_id)
        return Outcome(status, body, self._headers(request_id), action, code)

    def reset(self) -> None:
        self.holder.reset()


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
    framework's middleware between the server and the store; the other routes (``/moto-api/...``) and the lifespan
    go to a Starlette application.

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


def _raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


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
    holder: StoreHolder, *, server_process: bool = False, trusted_proxies: TrustedProxies | None = None
) -> QueryApp:
    """The endpoint's ASGI application over the store ``holder`` opens (at start-up). ``server_process``: the
    application is the process's only job (``iamledger serve``): its garbage collector is tuned for serving once the
    store is open (:func:`tune_collector`). ``trusted_proxies``: the proxies whose ``X-Forwarded-For`` names the
    client (``--forwarded-allow-ips``); none by default, and then the client is the TCP peer."""
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

    routes = [
        Route("/", query_elsewhere, methods=["GET", "POST"]),  # other methods: 405, as before QueryApp
        Route("/moto-api/reset", moto_reset, methods=["POST"]),
        Route("/moto-api/reset-auth", moto_reset_auth, methods=["POST"]),
    ]
    return QueryApp(endpoint, Starlette(routes=routes, lifespan=lifespan), trusted_proxies)


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
        StoreHolder(lambda: IdentityStore.open(url, create=False)),
        server_process=True,
        trusted_proxies=TrustedProxies.parse(os.environ.get(FORWARDED_ALLOW_IPS_ENV)),
    )
