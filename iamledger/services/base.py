"""The machinery every operation of the store shares: input validation against AWS's model, the account and audit
context a call acts in, retries of saves that lost a race, error translation, and reads from caught-up views."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from sqlalchemy import Connection

from iamledger.awsmodel import validate_input
from iamledger.domain.arns import is_aws_managed_policy_arn, policy_arn_parts
from iamledger.domain.audit import audit_context
from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import ConcurrentModificationError, NoSuchEntityError, TranslatedError
from iamledger.domain.names import NameIndex
from iamledger.domain.policy import PolicyError

if TYPE_CHECKING:
    from eventsourcing.application import Repository
    from sqlalchemy import Engine

    from iamledger.projections.projector import Projector

T = TypeVar("T")
A = TypeVar("A", bound=AuditedAggregate)
SAVE_RETRIES: Final = 10


class ServiceBase:
    """Shared helpers of the operation mixins of :class:`iamledger.IdentityStore`."""

    if TYPE_CHECKING:
        engine: Engine
        projector: Projector

        @property
        def repository(self) -> Repository[uuid.UUID]: ...

        def save(self, *objs: Any, **kwargs: Any) -> Any: ...

        def default_account_id(self) -> str: ...

        def account_ids(self) -> list[str]: ...

        def acting(self, account_id: str) -> Any: ...

        def aws_managed_policy(self, arn: str) -> Mapping[str, Any] | None: ...

    # -- running operations ---------------------------------------------------------------------------------------

    def current_account_id(self) -> str:
        """The account the bound caller belongs to, else the store's default account."""
        ctx = audit_context.get()
        if ctx is not None and ctx.actor.startswith(("arn:aws:iam::", "arn:aws:sts::")):
            account = ctx.actor.split(":")[4]
            if account in self.account_ids():
                return account
        return self.default_account_id()

    def _command(self, operation: str, params: Mapping[str, Any], body: Callable[[str], T]) -> T:
        """Run a write operation: validate, act in the caller's account, retry a save that lost a race."""
        validate_input("iam", operation, {k: v for k, v in params.items() if v is not None})
        account_id = self.current_account_id()
        with self.acting(account_id), translated():
            for attempt in range(1, SAVE_RETRIES + 1):
                try:
                    return body(account_id)
                except ConcurrentModificationError:
                    if attempt == SAVE_RETRIES:
                        raise
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _query(self, operation: str, params: Mapping[str, Any], body: Callable[[Connection, str], T]) -> T:
        """Run a read operation on the views, first caught up with the log (read-your-writes)."""
        validate_input("iam", operation, {k: v for k, v in params.items() if v is not None})
        account_id = self.current_account_id()
        self.projector.catch_up()
        with translated(), self.engine.connect() as conn:
            return body(conn, account_id)

    def _save(self, *aggregates: AuditedAggregate | None) -> None:
        """Save every touched aggregate in one transaction; a lost race is retried by :meth:`_command`."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise ConcurrentModificationError("The entity was modified concurrently; try again.") from None

    # -- entities by name ---------------------------------------------------------------------------------------

    def _name_index(self, account_id: str, kind: str, name: str) -> NameIndex | None:
        try:
            index: NameIndex = self.repository.get(NameIndex.create_id(account_id, kind, name))
        except AggregateNotFoundError:
            return None
        return index

    def _entity(self, account_id: str, kind: str, name: str, not_found: str) -> tuple[Any, NameIndex]:
        """The live entity holding ``name`` and its name index; ``NoSuchEntity`` with ``not_found`` otherwise."""
        index = self._name_index(account_id, kind, name)
        if index is None or index.entity_id is None:
            raise NoSuchEntityError(not_found)
        return self.repository.get(index.entity_id), index

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
        index = self._name_index(account_id, "policy", name)
        if index is None or index.entity_id is None:
            raise NoSuchEntityError(missing)
        policy: Any = self.repository.get(index.entity_id)
        if getattr(policy, "arn", policy_arn) != policy_arn:  # ARNs match exactly: case and path count
            raise NoSuchEntityError(missing)


@contextmanager
def translated() -> Iterator[None]:
    """Report the policy language's errors as the store's, under their own AWS codes."""
    try:
        yield
    except PolicyError as error:
        raise TranslatedError(error.code, error.message, error.http_status, error.sender_fault) from None
