"""Operations declared once: each IAM or STS operation of the store is a method marked :func:`command` (it writes),
:func:`query` (it reads the views) or, for STS's credential exchanges, :func:`exchange` (signed) or
:func:`unsigned_exchange`, under the name botocore gives it. The mark binds the operation to the one pipeline of its
kind every call goes through (:meth:`ServiceBase._command`, :meth:`ServiceBase._query`,
:meth:`ServiceBase._exchange`, :meth:`ServiceBase._unsigned_exchange`): the caller's credentials held to what their
kind may call, the input validated against AWS's model, the caller authorized for the operation's action on its
resource (:mod:`iamledger.authorization`), the audit context bound, a save that lost a race retried, a failed write
recorded. The method receives what the pipeline established (the account the call acts in; for a query, a
connection to the views as of the call; for an exchange, a connection and the resolved caller) and its parameters,
which are the operation's request members, named and typed as boto3 names them; nothing restates them.

The method's public signature, seen by callers, by ``inspect.signature`` (the endpoint, the CLI, the tests) and by
mypy, is the declared one without what the pipeline passes::

    @command("CreateUser")
    def create_user(self, account_id: str, *, UserName: str, Path: str | None = None) -> dict[str, Any]: ...

    store.create_user(UserName="alice")

A method that takes ``**params`` instead of named members takes whichever the model has (the pipeline's validation
refuses the others): it keeps a public signature that was recorded so.

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
    from iamledger.services.callers import Caller

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="ServiceBase")
Kind = Literal["command", "query", "exchange", "unsigned_exchange"]


@dataclass(frozen=True)
class Operation:
    """One declared operation: botocore's service and operation name, its kind (whether it writes, reads the views
    or exchanges credentials), the store's method."""

    service: str
    name: str
    kind: Kind
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
    any_members = [p.kind for p in members] == [inspect.Parameter.VAR_KEYWORD]
    bad = [p.name for p in members if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    if bad and not any_members:
        raise TypeError(f"{body.__qualname__}: the request members must be keyword-only ({', '.join(bad)})")
    # ``self`` as usual, also where what the pipeline passes is positional-only (as it must be before ``**params``)
    public = [parameters[0].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD), *members]
    run.__signature__ = signature.replace(parameters=public)  # type: ignore[attr-defined]
    if any_members:
        return _Members(operation.method, None, frozenset())
    return _Members(
        operation.method,
        frozenset(p.name for p in members),
        frozenset(p.name for p in members if p.default is inspect.Parameter.empty),
    )


@dataclass(frozen=True)
class _Members:
    """The request members a declared method takes (``None``: any, for a method taking ``**params``), and those it
    requires."""

    method: str
    accepted: frozenset[str] | None
    required: frozenset[str]

    def check(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The members of a call. An argument the method does not take is Python's ``TypeError``, as for any
        method; a required member left out reaches the pipeline as ``None``, the null AWS's ``Value null at
        'userName' ... Member must not be null`` names (a request to the endpoint can leave any member out)."""
        if args:
            raise TypeError(f"{self.method}() takes keyword arguments only ({len(args)} positional given)")
        if self.accepted is not None and not kwargs.keys() <= self.accepted:
            unexpected = min(kwargs.keys() - self.accepted)
            raise TypeError(f"{self.method}() got an unexpected keyword argument '{unexpected}'")
        if not kwargs.keys() >= self.required:
            return dict.fromkeys(self.required - kwargs.keys()) | kwargs
        return kwargs


def _bind(
    kind: Kind, name: str, service: str, body: Callable[..., T], passed: int, pipeline: Callable[..., T]
) -> Callable[..., T]:
    """The public method of ``body``: its members checked, then ``pipeline(self, name, params, call, service=...)``
    runs ``call(*established)``, the body given what the pipeline established (``passed`` values) and the
    members."""

    @functools.wraps(body)
    def run(self: Any, /, *args: Any, **kwargs: Any) -> T:
        params = members.check(args, kwargs)
        return pipeline(self, name, params, lambda *given: body(self, *given, **params), service=service)

    members = _declare(Operation(service, name, kind, body.__name__), body, passed, run)
    return run


def _through(method: str, **options: Any) -> Callable[..., Any]:
    """The pipeline that is the store's method ``method`` (of :class:`ServiceBase`), given ``options`` too."""

    def pipeline(self: ServiceBase, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, method)(*args, **options, **kwargs)

    return pipeline


def command(
    name: str, *, service: str = "iam", pipeline: Callable[..., Any] | None = None
) -> Callable[[Callable[Concatenate[S, str, P], T]], Callable[Concatenate[S, P], T]]:
    """Declare a writing operation: the method gets the account the call acts in, then the request members.
    ``pipeline``: a variant of :meth:`ServiceBase._command` taking the same arguments (with the store first), for
    an operation its own rule authorizes (ChangePassword)."""

    def declare(body: Callable[Concatenate[S, str, P], T]) -> Callable[Concatenate[S, P], T]:
        return _bind("command", name, service, body, 1, pipeline or _through("_command"))

    return declare


def query(
    name: str, *, service: str = "iam"
) -> Callable[[Callable[Concatenate[S, Connection, str, P], T]], Callable[Concatenate[S, P], T]]:
    """Declare a reading operation: the method gets a connection to the views (caught up with the log, read as of
    the call) and the account the call acts in, then the request members."""

    def declare(body: Callable[Concatenate[S, Connection, str, P], T]) -> Callable[Concatenate[S, P], T]:
        return _bind("query", name, service, body, 2, _through("_query"))

    return declare


def exchange(
    name: str, *, service: str = "sts", caller_policies: bool = False
) -> Callable[[Callable[Concatenate[S, Connection, Caller, P], T]], Callable[Concatenate[S, P], T]]:
    """Declare an STS operation the caller makes about its own credentials, signing with them: exchanging them for
    temporary ones (AssumeRole, GetSessionToken, GetFederationToken) or asking whose they are (GetCallerIdentity).
    The caller's policies do not decide it as they decide a command: once the pipeline held the credentials to what
    their kind may call, the method decides, with the role's trust policy (AssumeRole) or by the caller's kind
    (GetSessionToken). ``caller_policies``: the caller's policies must allow the operation first, as for a command
    (GetFederationToken). The method gets a connection to the views (caught up with the log) and the resolved
    caller, then the request members."""

    def declare(body: Callable[Concatenate[S, Connection, Caller, P], T]) -> Callable[Concatenate[S, P], T]:
        return _bind("exchange", name, service, body, 2, _through("_exchange", caller_policies=caller_policies))

    return declare


def unsigned_exchange(
    name: str, *, service: str = "sts"
) -> Callable[[Callable[Concatenate[S, Connection, P], T]], Callable[Concatenate[S, P], T]]:
    """Declare an STS operation that exchanges an identity provider's assertion or token, the request's only
    credential (it is unsigned, as in AWS), for temporary credentials (AssumeRoleWithSAML,
    AssumeRoleWithWebIdentity). The method decides, with the role's trust policy; it gets a connection to the views
    (caught up with the log), then the request members."""

    def declare(body: Callable[Concatenate[S, Connection, P], T]) -> Callable[Concatenate[S, P], T]:
        return _bind("unsigned_exchange", name, service, body, 1, _through("_unsigned_exchange"))

    return declare
