"""The AWS-compatible IAM and STS endpoint: a Starlette ASGI application over one :class:`IdentityStore`.

One URL serves both services, as AWS's Query protocol: a ``POST /`` with a form-encoded body (or a ``GET /`` with
the same fields in the query string) names the ``Action``; the SigV4 signature's credential scope names the service
(``iam`` or ``sts``). Every request is authenticated with the store's own keys (:meth:`IdentityStore.verify_request`)
and then runs as the signing principal, under an audit context holding the caller's ARN, access key id, source IP,
user agent and a fresh request id (returned as ``RequestId`` and in the ``x-amzn-RequestId`` header); the store
authorizes the call with its own policies.

The store is used from one dedicated thread: every request's work (verification, the operation, serialisation) runs
there in turn, so the store never sees two threads at once. The event loop only reads requests and writes responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl

from botocore import xform_name
from botocore.model import OperationModel, ServiceModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from iamledger.auth import AuthenticationError, HttpRequest, parse_authorization
from iamledger.awsmodel import SERVICES, service_model
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import IdentityStoreError, InvalidInputError, SenderError
from iamledger.logconfig import get_logger
from iamledger.projections.access_keys import find_access_key
from iamledger.server.protocol import parse_parameters, serialize_error, serialize_result
from iamledger.server.unsigned import unsigned_caller
from iamledger.store import IdentityStore

log = get_logger(__name__)

ANONYMOUS: Final = "anonymous"
"""The actor of a request whose signature names no known access key (recorded with its refusal)."""
XML_CONTENT_TYPE: Final = "text/xml"
REQUEST_ID_HEADER: Final = "x-amzn-RequestId"
VERSIONS: Final = {service_model(name).api_version: name for name in SERVICES}
"""API version -> service, to answer in the right namespace before the signature has named the service."""
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"


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


@dataclass
class StoreHolder:
    """The store the endpoint serves, with how to open it again for ``POST /moto-api/reset`` (ephemeral mode)."""

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


@dataclass(frozen=True)
class Outcome:
    """What one request answers: status, XML body, headers."""

    status: int
    body: bytes
    headers: dict[str, str]
    operation: str
    error_code: str | None = None


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
        pairs.extend(parse_qsl(text, keep_blank_values=True))
    return pairs


def _first(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in pairs if key == name), None)


class Endpoint:
    """Handles requests against the held store, one at a time on the store's own thread."""

    def __init__(self, holder: StoreHolder) -> None:
        self.holder = holder
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iamledger-store")

    async def run(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the store's thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function)

    def shutdown(self) -> None:
        self.executor.submit(self.holder.close).result()
        self.executor.shutdown(wait=True)

    # -- one request, on the store's thread ------------------------------------------------------------------------

    def handle(self, request: HttpRequest, source_ip: str | None) -> Outcome:
        """Authenticate, route, run and serialise one Query-protocol request; every error becomes AWS's XML."""
        request_id = AuditContext.new_request_id()
        user_agent = request.header("user-agent")
        model: ServiceModel = service_model("iam")
        action = ""
        try:
            pairs = _form_pairs(request)
            action = _first(pairs, "Action") or ""
            version = _first(pairs, "Version")
            model = service_model(VERSIONS.get(version or "", "iam"))
            store = self.holder.current()
            claimed = self._claimed_context(store, request, request_id, source_ip, user_agent)
            with bound_audit_context(claimed):
                caller = unsigned_caller(model, action, request) or store.verify_request(
                    request, expected_service=set(SERVICES)
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

    def _claimed_context(
        self, store: IdentityStore, request: HttpRequest, request_id: str, source_ip: str | None, user_agent: str | None
    ) -> AuditContext:
        """The audit context while the signature is checked: the owner of the access key the request names (a refusal
        is recorded under that claimed identity), or ``anonymous`` when it names no known key."""
        actor = ANONYMOUS
        access_key_id: str | None = None
        with contextlib.suppress(AuthenticationError):
            access_key_id = parse_authorization(request).access_key_id
        if access_key_id is not None:
            store.projector.catch_up()
            with store.engine.connect() as conn:
                row = find_access_key(conn, access_key_id)
            if row is not None:
                actor = str(row["owner_arn"])
        return AuditContext(
            actor=actor, request_id=request_id, access_key_id=access_key_id, source_ip=source_ip, user_agent=user_agent
        )

    @staticmethod
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


def create_app(holder: StoreHolder) -> Starlette:
    """The endpoint's ASGI application over the store ``holder`` opens (on the store's own thread, at start-up)."""
    endpoint = Endpoint(holder)

    async def query(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        headers = [(name.decode("latin-1"), value) for name, value in request.headers.raw]  # values: UTF-8 or Latin-1
        http = HttpRequest(request.method, str(request.url), headers, body)
        source_ip = request.client.host if request.client is not None else None
        outcome: Outcome = await endpoint.run(functools.partial(endpoint.handle, http, source_ip))
        log.info(
            "endpoint_request",
            operation=outcome.operation,
            status=outcome.status,
            error_code=outcome.error_code,
            source_ip=source_ip,
            request_id=outcome.headers.get(REQUEST_ID_HEADER),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return Response(outcome.body, status_code=outcome.status, headers=outcome.headers, media_type=XML_CONTENT_TYPE)

    async def moto_reset(request: Request) -> Response:
        del request
        if holder.reset_store is None:
            return JSONResponse(
                {"message": "This endpoint's store cannot be reset (not --ephemeral)."}, status_code=404
            )
        await endpoint.run(endpoint.reset)
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
        await endpoint.run(holder.current)
        try:
            yield
        finally:
            await asyncio.get_running_loop().run_in_executor(None, endpoint.shutdown)

    routes = [
        Route("/", query, methods=["GET", "POST"]),
        Route("/moto-api/reset", moto_reset, methods=["POST"]),
        Route("/moto-api/reset-auth", moto_reset_auth, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
