"""One Query-protocol request against the served store, start to end: authenticated with the store's own keys, routed
to the store's method its ``Action`` names, run under the caller's audit context, and answered in AWS's XML (every
error too, with AWS's code)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Final

from botocore import xform_name
from botocore.model import ServiceModel

from iamledger.auth import AuthenticationError, HttpRequest, parse_authorization
from iamledger.awsmodel import SERVICES, service_model
from iamledger.context import bound_audit_context
from iamledger.domain.audit import ANONYMOUS, AuditContext
from iamledger.domain.errors import IdentityStoreError
from iamledger.logconfig import get_logger
from iamledger.projections.engine.serving import ServingProjector
from iamledger.server.actions import VERSIONS, check_supported, requested_operation
from iamledger.server.protocol import parse_parameters, serialize_error, serialize_result
from iamledger.server.query_form import first_value, request_fields
from iamledger.server.store_holder import StoreHolder
from iamledger.server.unsigned import unsigned_caller
from iamledger.store import IdentityStore

log = get_logger(__name__)

REQUEST_ID_HEADER: Final = "x-amzn-RequestId"
EXPECTED_SERVICES: Final = frozenset(SERVICES)


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
        if not isinstance(views, ServingProjector):  # a store not opened for serving: every read catches up
            return self._handle(store, request, source_ip)
        views.begin_request()
        try:
            outcome = self._handle(store, request, source_ip)
        finally:
            wrote = views.end_request()
        outcome.wrote = wrote
        return outcome

    def refresh(self) -> None:
        """Catch the views up with the log (after a write, once its response is on its way): the next request then
        finds them current. A failure is only logged: the next request catches up anyway."""
        store = self.holder.store
        if store is None:
            return
        try:
            store.projector.catch_up()
        except Exception:
            log.exception("endpoint_catch_up_failed")

    def follow_trail(self) -> None:
        """Catch the audit trail up with the log (:class:`~iamledger.server.app.QueryApp` does it a moment after the
        writes), so that an audit question finds at most the writes of that moment to project. A failure is only
        logged: a question catches the trail up anyway."""
        store = self.holder.store
        if store is None:
            return
        try:
            store.trail.catch_up()
        except Exception:
            log.exception("endpoint_trail_catch_up_failed")

    def _handle(self, store: IdentityStore, request: HttpRequest, source_ip: str | None) -> Outcome:
        request_id = AuditContext.new_request_id()
        user_agent = request.header("user-agent")
        model: ServiceModel = service_model("iam")
        action = ""
        try:
            pairs = request_fields(request)
            action = first_value(pairs, "Action") or ""
            version = first_value(pairs, "Version")
            model = service_model(VERSIONS.get(version or "", "iam"))
            claimed = self._claimed_context(request, request_id, source_ip, user_agent)
            with bound_audit_context(claimed):
                caller = unsigned_caller(model, action, request) or store.verify_request(
                    request, expected_service=EXPECTED_SERVICES, as_key_owner=True
                )
            model = service_model(caller.service)
            operation = requested_operation(model, action, version)
            params = parse_parameters(operation, pairs)
            check_supported(operation, params)
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
    def _headers(request_id: str) -> dict[str, str]:
        return {REQUEST_ID_HEADER: request_id}

    def _error(
        self, model: ServiceModel, action: str, code: str, message: str, status: int, request_id: str, *, sender: bool
    ) -> Outcome:
        body = serialize_error(model, code, message, sender_fault=sender, request_id=request_id)
        return Outcome(status, body, self._headers(request_id), action, code)

    def reset(self) -> None:
        self.holder.reset()
