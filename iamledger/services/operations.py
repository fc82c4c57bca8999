"""Operations declared once: each IAM or STS operation of the store is a method marked :func:`command` (it writes)
or :func:`query` (it reads the views), under the name botocore gives it. The mark binds the operation to the one
pipeline every call goes through (:meth:`ServiceBase._command`, :meth:`ServiceBase._query`): the caller's
credentials held to what their kind may call, the input validated against AWS's model, the caller authorized for
the operation's action on its resource (:mod:`iamledger.authorization`), the audit context bound, a save that lost
a race retried, a failed write recorded. The method receives what the pipeline established (the account the call
acts in; for a query, a connection to the views as of the call) and its parameters, which are the operation's
request members, named and typed as boto3 names them; nothing restates them.

The method's public signature, seen by callers, by ``inspect.signature`` (the endpoint, the CLI, the tests) and by
mypy, is the declared one without what the pipeline passes::

    @command("CreateUser")
    def create_user(self, account_id: str, *, UserName: str, Path: str | None = None) -> dict[str, Any]: ...

    store.create_user(UserName="alice")

:data:`OPERATIONS` lists every declared operation by service and name.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Final, Literal, ParamSpec, TypeVar

from sqlalchemy import Connection

if TYPE_CHECKING:
    from iamledger.services.base import ServiceBase

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="ServiceBase")


@dataclass(frozen=True)
class Operation:
    """One declared operation: botocore's service and operation name, whether it writes, the store's method."""

    service: str
    name: str
    kind: Literal["command", "query"]
    method: str


OPERATIONS: Final[dict[tuple[str, str], Operation]] = {}
"""Every declared operation, by ``(service, name)``."""


def _declare(operation: Operation, body: Callable[..., Any], passed: int, run: Callable[..., Any]) -> _Members:
    """Record ``operation``, give ``run`` the public signature (``body``'s without the ``passed`` parameters the
    pipeline gives after ``self``) and return its members."""
    key = (operation.service, operation.name)
    if key in OPERATIONS and OPERATIONS[key] != operation:
        raise TypeError(f"{operation.service}:{operation.name} is declared twice ({OPERATIONS[key].method})")
    OPERATIONS[key] = operation
    signature = inspect.signature(body)
    parameters = list(signature.parameters.values())
    members = parameters[1 + passed :]
    bad = [p.name for p in members if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    if bad:
        raise TypeError(f"{body.__qualname__}: the request members must be keyword-only ({', '.join(bad)})")
    run.__signature__ = signature.replace(parameters=[parameters[0], *members])  # type: ignore[attr-defined]
    return _Members(
        operation.method,
        frozenset(p.name for p in members),
        frozenset(p.name for p in members if p.default is inspect.Parameter.empty),
    )


@dataclass(frozen=True)
class _Members:
    """The request members a declared method takes, and those it requires."""

    method: str
    accepted: frozenset[str]
    required: frozenset[str]

    def check(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The members of a call. An argument the method does not take is Python's ``TypeError``, as for any
        method; a required member left out reaches the pipeline as ``None``, the null AWS's ``Value null at
        'userName' ... Member must not be null`` names (a request to the endpoint can leave any member out)."""
        if args:
            raise TypeError(f"{self.method}() takes keyword arguments only ({len(args)} positional given)")
        if not kwargs.keys() <= self.accepted:
            unexpected = min(kwargs.keys() - self.accepted)
            raise TypeError(f"{self.method}() got an unexpected keyword argument '{unexpected}'")
        if not kwargs.keys() >= self.required:
            return dict.fromkeys(self.required - kwargs.keys()) | kwargs
        return kwargs


def command(
    name: str, *, service: str = "iam"
) -> Callable[[Callable[Concatenate[S, str, P], T]], Callable[Concatenate[S, P], T]]:
    """Declare a writing operation: the method gets the account the call acts in, then the request members."""

    def declare(body: Callable[Concatenate[S, str, P], T]) -> Callable[Concatenate[S, P], T]:
        call: Callable[..., T] = body  # called with the members checked (and nulls filled in) by ``members``

        @functools.wraps(body)
        def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            params = members.check(args, kwargs)
            return self._command(name, params, lambda account_id: call(self, account_id, **params), service=service)

        members = _declare(Operation(service, name, "command", body.__name__), body, 1, run)
        return run

    return declare


def query(
    name: str, *, service: str = "iam"
) -> Callable[[Callable[Concatenate[S, Connection, str, P], T]], Callable[Concatenate[S, P], T]]:
    """Declare a reading operation: the method gets a connection to the views (caught up with the log, read as of
    the call) and the account the call acts in, then the request members."""

    def declare(body: Callable[Concatenate[S, Connection, str, P], T]) -> Callable[Concatenate[S, P], T]:
        call: Callable[..., T] = body  # called with the members checked (and nulls filled in) by ``members``

        @functools.wraps(body)
        def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            params = members.check(args, kwargs)
            return self._query(
                name, params, lambda conn, account_id: call(self, conn, account_id, **params), service=service
            )

        members = _declare(Operation(service, name, "query", body.__name__), body, 2, run)
        return run

    return declare
