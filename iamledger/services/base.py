"""The machinery every operation of the store shares: input validation against AWS's model, the account and audit
context a call acts in, retries of saves that lost a race, error translation, and reads from caught-up views."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from sqlalchemy import Connection

from iamledger.authorization import (
    TemporaryCredentials,
    credentials_refusal,
    denial_message,
    permissions,
    temporary_credentials_of,
)
from iamledger.awsmodel import validate_input
from iamledger.domain.arns import is_aws_managed_policy_arn, policy_arn_parts
from iamledger.domain.audit import audit_context
from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import (
    AccessDeniedError,
    ConcurrentModificationError,
    IdentityStoreError,
    NoSuchEntityError,
    TranslatedError,
)
from iamledger.domain.names import NameIndex
from iamledger.domain.policy import PolicyError, PolicySet, Principal, Request, evaluate, request_context
from iamledger.projections.engine.temporal import read_position, reading_at, reading_now
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.projections.views.principals import find_named
from iamledger.projections.views.tags import current_tags
from iamledger.services.callers import Caller, resolve_caller
from iamledger.store_accounts import StoreAccounts

if TYPE_CHECKING:
    from iamledger.domain.sessions import UserSession

T = TypeVar("T")
A = TypeVar("A", bound=AuditedAggregate)
SAVE_RETRIES: Final = 10
TEMPORARY_KEY_PREFIX: Final = "ASIA"  # every session's key id; a long-term key is never a session's


class ServiceBase(StoreAccounts):
    """Shared helpers of the operation mixins of :class:`iamledger.IdentityStore`, over the store's kernel and
    accounts (:class:`~iamledger.kernel.StoreKernel`, :class:`~iamledger.store_accounts.StoreAccounts`)."""

    # -- running operations ---------------------------------------------------------------------------------------

    def current_account_id(self) -> str:
        """The account the bound caller belongs to, else the store's default account."""
        ctx = audit_context.get()
        if ctx is not None and ctx.actor.startswith(("arn:aws:iam::", "arn:aws:sts::")):
            account = ctx.actor.split(":")[4]
            if self.has_account(account):
                return account
        return self.default_account_id()

    def _command(
        self, operation: str, params: Mapping[str, Any], body: Callable[[str], T], *, service: str = "iam"
    ) -> T:
        """Run a write operation: validate, authorize the caller, act in its account, retry a save that lost a
        race. A service error of the validation or of the operation itself is recorded in the security log as a
        failed attempt (a denial by the caller's policies is recorded by :meth:`_authorize`)."""
        present = {k: v for k, v in params.items() if v is not None}
        self._refuse_by_credentials(service, operation, present)
        try:
            validate_input(service, operation, present)
        except IdentityStoreError as error:
            self._record_failed_write(service, operation, present, error)
            raise
        account_id = self.current_account_id()
        self._authorize(service, operation, present, account_id)
        with self.acting(account_id):
            try:
                with translated():
                    for attempt in range(1, SAVE_RETRIES + 1):
                        try:
                            with self.lending():  # a failed attempt leaves nothing it changed in the cache
                                return body(account_id)
                        except ConcurrentModificationError:
                            if attempt == SAVE_RETRIES:
                                raise
            except IdentityStoreError as error:
                self._record_failed_write(service, operation, present, error)
                raise
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _record_failed_write(
        self, service: str, operation: str, params: Mapping[str, Any], error: IdentityStoreError
    ) -> None:
        """Record a write that failed with ``error`` in the security log: the operation, the error's code and message
        (any secret the message quotes masked) and the request parameters without the secret ones. Recording never
        replaces the operation's own error."""
        from iamledger.logconfig import get_logger
        from iamledger.security_log import masked, secret_values, without_secrets

        message = masked(error.message, secret_values(params))
        try:
            with self.acting(self.current_account_id()):
                self.record_security_incident(
                    "OperationFailed",
                    action=f"{service}:{operation}",
                    reason=message,
                    event_name=operation,
                    event_source=f"{service}.amazonaws.com",
                    error_code=error.code,
                    error_message=message,
                    request_parameters=without_secrets(params),
                )
        except Exception:  # noqa: BLE001 - the failed operation's error is what the caller must see
            get_logger(__name__).warning("failed_write_not_recorded", operation=operation, error_code=error.code)

    def _query(
        self,
        operation: str,
        params: Mapping[str, Any],
        body: Callable[[Connection, str], T],
        *,
        service: str = "iam",
    ) -> T:
        """Run a read operation on the views, first caught up with the log (read-your-writes), once the caller is
        authorized."""
        position = read_position()
        with reading_now():
            present = {k: v for k, v in params.items() if v is not None}
            self._refuse_by_credentials(service, operation, present)
            validate_input(service, operation, present)
            account_id = self.current_account_id()
            self._authorize(service, operation, present, account_id)
            self.projector.catch_up()
        with reading_at(position), translated(), self.engine.connect() as conn:
            return body(conn, account_id)

    def _exchange(
        self,
        operation: str,
        params: Mapping[str, Any],
        body: Callable[[Connection, Caller], T],
        *,
        service: str = "sts",
        caller_policies: bool = False,
    ) -> T:
        """Run an STS operation the caller makes about its own credentials (:func:`~iamledger.services.operations.
        exchange`): hold the credentials to what their kind may call, validate, with ``caller_policies`` authorize
        the caller by its policies, then run ``body`` acting in the caller's account with a connection to the
        caught-up views and the resolved caller. A failure is not recorded as a failed write; a refusal is recorded
        where it is decided."""
        present = {k: v for k, v in params.items() if v is not None}
        self._refuse_by_credentials(service, operation, present)
        validate_input(service, operation, present)
        account_id = self.current_account_id()
        if caller_policies:
            self._authorize(service, operation, present, account_id)
        self.projector.catch_up()
        with self.acting(account_id), translated(), self.engine.connect() as conn:
            caller = self.caller(conn)
            assert caller is not None  # noqa: S101 - acting() binds a context
            return body(conn, caller)

    def _unsigned_exchange(
        self, operation: str, params: Mapping[str, Any], body: Callable[[Connection], T], *, service: str = "sts"
    ) -> T:
        """Run an unsigned STS operation (:func:`~iamledger.services.operations.unsigned_exchange`): validate, then
        run ``body`` with a connection to the caught-up views, in the audit context of the request as it is (the
        method binds the provider's as the session's). A failure of the operation other than a refusal (recorded
        where it is decided) is recorded in the security log as a failed attempt; an invalid input is not."""
        present = {k: v for k, v in params.items() if v is not None}
        validate_input(service, operation, present)
        self.projector.catch_up()
        try:
            with translated(), self.engine.connect() as conn:
                return body(conn)
        except AccessDeniedError:
            raise
        except IdentityStoreError as error:
            self._record_failed_write(service, operation, present, error)
            raise

    # -- authorization --------------------------------------------------------------------------------------------

    def clock(self) -> datetime:
        """The store's notion of now (tests replace it to expire credentials without sleeping)."""
        return datetime.now(UTC)

    def _load_session(self, entity: str) -> Any:
        try:
            return self.repository.get(uuid.UUID(entity))
        except (AggregateNotFoundError, ValueError):
            return None

    def caller(self, conn: Connection) -> Caller | None:
        """The bound caller resolved with its policies, or ``None`` for a library call with no audit context."""
        ctx = audit_context.get()
        if ctx is None:
            return None
        return resolve_caller(conn, ctx.actor, ctx.access_key_id, StoreCatalogue(conn), self._load_session)

    def _request_context(self, principal: Principal, extra: Mapping[str, Any]) -> dict[str, Any]:
        """The condition keys of a request of ``principal`` made now in the bound audit context (its source IP and
        user agent, if any), with ``extra``."""
        ctx = audit_context.get()
        return request_context(
            principal,
            now=self.clock(),
            source_ip=ctx.source_ip if ctx is not None else None,
            user_agent=ctx.user_agent if ctx is not None else None,
            extra=extra,
        )

    def _refuse_by_credentials(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """Refuse (and record the refusal of) an operation the caller's temporary credentials may not call whatever
        their policies allow, with AWS's error (:func:`iamledger.authorization.credentials_refusal`). Operations
        call it before they validate their input, as AWS checks credentials first; :meth:`_authorize` calls it
        again for the operations that call only that. Long-term keys and library calls are never refused here."""
        ctx = audit_context.get()
        if ctx is None:
            return
        credentials = self._temporary_credentials(ctx.actor, ctx.access_key_id)
        if credentials is None:
            return
        refusal = credentials_refusal(credentials, service, operation, ctx.actor, params)
        if refusal is None:
            return
        self.record_security_incident(
            "AccessDenied",
            action=f"{service}:{operation}",
            resource=str(params["RoleArn"]) if operation == "AssumeRole" and params.get("RoleArn") else None,
            reason=refusal.message,
            event_name=operation,
            event_source=f"{service}.amazonaws.com",
            error_code=refusal.code,
            error_message=refusal.message,
        )
        raise refusal

    def _temporary_credentials(self, actor: str, access_key_id: str | None) -> TemporaryCredentials | None:
        """The kind of temporary credentials ``actor`` acts with: a federated user or a role session by its ARN
        alone (whether it signed or was named with ``--as``), a user's or the root user's GetSessionToken session by
        its ``ASIA`` key; ``None`` for anything else."""
        if actor.startswith("arn:aws:sts::"):
            return temporary_credentials_of(actor)
        if not access_key_id or not access_key_id.startswith(TEMPORARY_KEY_PREFIX):
            return None  # a long-term key costs no lookup
        session = self._user_session(access_key_id)
        if session is None:
            return None
        if session.mfa_authenticated:
            return TemporaryCredentials.SESSION_TOKEN_WITH_MFA
        return TemporaryCredentials.SESSION_TOKEN

    def _user_session(self, access_key_id: str) -> UserSession | None:
        """The GetSessionToken session whose key ``access_key_id`` is, if it is one."""
        from iamledger.domain.sessions import UserSession

        position = self.projector.catch_up()
        row = self.access_key_rows.find(self.engine, access_key_id, position)
        if row is None or row["owner_kind"] != "session" or not row["owner_uuid"]:
            return None
        session = self._load_session(str(row["owner_uuid"]))
        return session if isinstance(session, UserSession) else None

    def authorize_operation(self, service: str, operation: str, params: Mapping[str, Any], account_id: str) -> None:
        """Refuse with ``AccessDenied`` (and record the refusal) unless the bound caller may call ``operation`` of
        ``service`` with ``params`` in ``account_id``: the check every operation of the store makes, for the
        questions answered outside its operation table (the audit trail and the audit analysis)."""
        self._authorize(service, operation, params, account_id)

    def _authorize(self, service: str, operation: str, params: Mapping[str, Any], account_id: str) -> None:
        """Refuse with ``AccessDenied`` (and record the refusal) unless the caller's policies allow the operation.
        The account's root user is allowed everything in its account; a library call without a bound context acts as
        that root user. Temporary credentials are first held to what their kind may call
        (:meth:`_refuse_by_credentials`), the root user's too."""
        self._refuse_by_credentials(service, operation, params)
        ctx = audit_context.get()
        if ctx is None or ctx.actor == f"arn:aws:iam::{account_id}:root":
            return
        self.projector.catch_up()
        with reading_now(), self.engine.connect() as conn:
            caller = self.caller(conn)
            assert caller is not None  # noqa: S101 - a context is bound here

            def path_of(kind: str, name: str) -> str | None:
                row = find_named(conn, kind, account_id, name)
                return None if row is None else str(row["path"])

            for needed in permissions(service, operation, params, account_id, ctx.actor, path_of):
                extra: dict[str, Any] = dict(needed.context)
                if needed.resource_tags_of is not None:
                    row = find_named(conn, needed.resource_tags_of[0], account_id, needed.resource_tags_of[1])
                    if row is not None:
                        for key, value in current_tags(conn, str(row["entity_uuid"])):
                            extra[f"aws:ResourceTag/{key}"] = value
                context = self._request_context(caller.principal, extra)
                request = Request(caller.principal, needed.action, needed.resource, context, account_id)
                policies = PolicySet(identity=caller.identity, boundary=caller.boundary, session=caller.session)
                decision = evaluate(request, policies)
                if not decision.allowed:
                    message = denial_message(
                        ctx.actor, needed.action, needed.resource, decision, missing=_missing_layer(request, policies)
                    )
                    self.record_security_incident(
                        "AccessDenied", action=needed.action, resource=needed.resource, reason=message
                    )
                    raise AccessDeniedError(message)

    def record_access_key_use(
        self, access_key_id: str, service: str, region: str, *, row: Mapping[str, Any] | None = None
    ) -> bool:
        """Note a use of an access key (implemented by the credentials service)."""
        del access_key_id, service, region, row
        return False

    def _save(self, *aggregates: AuditedAggregate | None) -> None:
        """Save every touched aggregate in one transaction; a lost race is retried by :meth:`_command`."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise ConcurrentModificationError("The entity was modified concurrently; try again.") from None

    def _save_with_secret(
        self, key_id: str, account_id: str, owner_arn: str, secret: str, *aggregates: AuditedAggregate | None
    ) -> None:
        """Put a temporary credential's secret in the vault and save the events issuing it; if the save fails the
        secret is deleted again, so no vault row outlives a refused session."""
        self.vault.put_secret(
            secret_id=key_id, account_id=account_id, kind="session", owner_arn=owner_arn, secret=secret
        )
        try:
            self._save(*aggregates)
        except BaseException:
            self.vault.delete_secret(key_id)
            raise

    # -- entities by name ---------------------------------------------------------------------------------------

    def _name_index(self, account_id: str, kind: str, name: str, *, to_change: bool = True) -> NameIndex | None:
        """The name index of ``name``, if any; ``to_change=False`` when the caller only reads it (then it may be the
        repository's cached copy itself, which must not be changed)."""
        try:
            index: NameIndex = self.repository.get(
                NameIndex.create_id(account_id, kind, name), deepcopy_from_cache=to_change
            )
        except AggregateNotFoundError:
            return None
        return index

    def _entity(self, account_id: str, kind: str, name: str, not_found: str) -> tuple[Any, NameIndex]:
        """The live entity holding ``name`` and its name index; ``NoSuchEntity`` with ``not_found`` otherwise."""
        index = self._name_index(account_id, kind, name)
        if index is None or index.entity_id is None:
            raise NoSuchEntityError(not_found)
        return self.repository.get(index.entity_id), index

    def _entity_only(self, account_id: str, kind: str, name: str, not_found: str) -> Any:
        """:meth:`_entity` without its name index (read, not copied)."""
        index = self._name_index(account_id, kind, name, to_change=False)
        if index is None or index.entity_id is None:
            raise NoSuchEntityError(not_found)
        return self.repository.get(index.entity_id)

    def _claim_name(self, account_id: str, kind: str, name: str, entity_id: uuid.UUID, conflict: str) -> NameIndex:
        """The name index of ``name`` claimed for ``entity_id`` (to save with the entity)."""
        index = self._name_index(account_id, kind, name)
        if index is None:
            return NameIndex(account_id=account_id, kind=kind, name=name, entity_id=entity_id)
        index.claim(name, entity_id, conflict)
        return index

    # -- managed policies by ARN ------------------------------------------------------------------------------

    def _require_policy(self, account_id: str, policy_arn: str) -> None:
        """``NoSuchEntity`` unless ``policy_arn`` names an AWS managed policy or a policy of this account."""
        missing = f"Policy {policy_arn} does not exist or is not attachable."
        if is_aws_managed_policy_arn(policy_arn):
            if self.aws_managed_policy(policy_arn) is None:
                raise NoSuchEntityError(missing)
            return
        parts = policy_arn_parts(policy_arn)
        if parts is None:
            raise TranslatedError("InvalidInput", f"ARN {policy_arn} is not valid.", 400, sender_fault=True)
        account, _, name = parts
        if account != account_id:
            raise NoSuchEntityError(missing)
        index = self._name_index(account_id, "policy", name, to_change=False)
        if index is None or index.entity_id is None:
            raise NoSuchEntityError(missing)
        policy: Any = self.repository.get(index.entity_id, deepcopy_from_cache=False)  # only read
        if getattr(policy, "arn", policy_arn) != policy_arn:  # ARNs match exactly: case and path count
            raise NoSuchEntityError(missing)


def _missing_layer(request: Request, policies: PolicySet) -> str:
    """Which layer lacked an allow for an implicit deny: the session policy, else the boundary, else identity."""
    without_session = PolicySet(identity=policies.identity, boundary=policies.boundary, resource=policies.resource)
    if policies.session is not None and evaluate(request, without_session).allowed:
        return "session"
    without_boundary = PolicySet(identity=policies.identity, session=policies.session, resource=policies.resource)
    if policies.boundary is not None and evaluate(request, without_boundary).allowed:
        return "boundary"
    return "identity"


def translated() -> _Translated:
    """Report the policy language's errors as the store's, under their own AWS codes."""
    return _TRANSLATED


class _Translated:
    """:func:`translated`'s block (a class: every command enters one)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, _kind: object, error: BaseException | None, _traceback: object) -> None:
        if isinstance(error, PolicyError):
            raise TranslatedError(error.code, error.message, error.http_status, error.sender_fault) from None


_TRANSLATED: Final = _Translated()
