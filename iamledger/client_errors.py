"""The store's errors as botocore's ``ClientError``, so that code written against boto3 carries over unchanged.

An error a method of :class:`~iamledger.IdentityStore` raises is caught by ``except ClientError as e`` (from
``botocore.exceptions``), with ``e.response["Error"]["Code"]``, ``["Message"]``, ``["Type"]``, the response's
``ResponseMetadata`` (``HTTPStatusCode``; ``RequestId`` when the call ran under a bound audit context) and
``e.operation_name`` (``CreateUser``), as boto3's; ``str(e)`` is botocore's text (``An error occurred (NoSuchEntity)
when calling the GetUser operation: The user with name bob cannot be found.``). It stays the store's own error too:
``except NoSuchEntityError``, ``.code``, ``.message``, ``.http_status``, ``.sender_fault`` and any attribute of its
kind (``pointer``...) are unchanged, and pickling or copying it gives the same.

Why here and not in ``domain/``: the domain layer imports only the standard library and eventsourcing's domain
module (``tests/test_layering.py``), so its errors cannot extend a botocore class. The library may. When an error
leaves a public method of the store (:func:`raising_client_errors`, the one boundary every call crosses, where the
operation is known), the error object itself is given a class that extends both its own class and ``ClientError``
(one such class per error class, made on first use and cached) and botocore's attributes: the same object, raised on
with its traceback. A method that calls another passes its error on, and the outermost call names the operation, as
the caller sees it.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

from botocore.exceptions import ClientError

from iamledger.domain.audit import audit_context
from iamledger.domain.policy.errors import AwsError

C = TypeVar("C", bound=type)

SKIPPED: Final = frozenset({"close", "reader", "acting", "lending"})
"""Public methods that only manage the store's resources or context (no call to convert; ``acting`` and ``lending``
return context managers)."""


def _client_str(self: Any) -> str:
    return str(ClientError.MSG_TEMPLATE).format(
        error_code=self.code, error_message=self.message, operation_name=self.operation_name, retry_info=""
    )


def _client_reduce(self: Any) -> tuple[Any, ...]:
    """Pickled (and copied) as the store's error class, rebuilt as its ``ClientError`` class with every attribute."""
    return _rebuild, (_store_class(type(self)), self.args, dict(self.__dict__))


def _store_class(cls: type) -> type:
    """The store's own error class of a class made by :func:`client_error_class`."""
    return next(c for c in cls.__mro__[1:] if issubclass(c, AwsError) and not issubclass(c, ClientError))


def _rebuild(cls: type[AwsError], args: tuple[Any, ...], state: dict[str, Any]) -> AwsError:
    twin = client_error_class(cls)
    error: AwsError = twin.__new__(twin, *args)
    error.__dict__.update(state)
    return error


_CLASSES: dict[type[AwsError], type[AwsError]] = {}
"""The classes :func:`client_error_class` made, by the store's class (a handful: one per kind of error raised)."""


def client_error_class(cls: type[AwsError]) -> type[AwsError]:
    """``cls`` extended with ``ClientError``, keeping its name, module and documentation (a traceback names the
    store's class); ``cls`` itself when it is one already. Made once per class."""
    if issubclass(cls, ClientError):
        return cls
    made = _CLASSES.get(cls)
    if made is not None:
        return made
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__str__": _client_str,
        "__reduce__": _client_reduce,
    }
    return _CLASSES.setdefault(cls, type(cls.__name__, (cls, ClientError), namespace))


def error_response(error: AwsError) -> dict[str, Any]:
    """The response botocore would have parsed from the endpoint's answer to ``error``: ``Error`` (``Type``,
    ``Code``, ``Message``) and ``ResponseMetadata`` (``HTTPStatusCode``, ``RetryAttempts``; ``RequestId`` when an
    audit context is bound)."""
    metadata: dict[str, Any] = {"HTTPStatusCode": error.http_status, "RetryAttempts": 0}
    ctx = audit_context.get()
    if ctx is not None:
        metadata = {"RequestId": ctx.request_id, **metadata}
    kind = "Sender" if error.sender_fault else "Receiver"
    return {"Error": {"Type": kind, "Code": error.code, "Message": error.message}, "ResponseMetadata": metadata}


def as_client_error(error: AwsError, operation_name: str) -> AwsError:
    """``error`` made a ``ClientError`` of ``operation_name`` too (see the module docstring); returned for
    convenience: it is the same object."""
    twin = client_error_class(type(error))
    if type(error) is not twin:
        error.__class__ = twin
    error.operation_name = operation_name  # type: ignore[attr-defined]
    error.response = error_response(error)  # type: ignore[attr-defined]
    return error


def reword(error: AwsError, message: str) -> None:
    """Give ``error`` a new ``message`` (its text, and its response's ``Message`` when it has one)."""
    error.message = message
    error.args = (message,)
    response = getattr(error, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        response["Error"]["Message"] = message


def operation_name_of(method: str, declared: dict[str, str]) -> str:
    """The operation a store method stands for: the declared AWS operation (``declared``, by method: ``create_user``
    is ``CreateUser``), else its name in the same style (``entity_history``: ``EntityHistory``)."""
    return declared.get(method) or "".join(part.capitalize() for part in method.split("_"))


def _converting(function: Callable[..., Any], operation: str) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generating(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from function(*args, **kwargs)
            except AwsError as error:
                as_client_error(error, operation)
                raise

        return generating

    @functools.wraps(function)
    def converting(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
        except AwsError as error:
            as_client_error(error, operation)
            raise
        if isinstance(result, types.GeneratorType):
            return _converted_items(result, operation)
        return result

    return converting


def _converted_items(items: Iterator[Any], operation: str) -> Iterator[Any]:
    try:
        yield from items
    except AwsError as error:
        as_client_error(error, operation)
        raise


def raising_client_errors(cls: C) -> C:
    """Make every error that leaves a public method of ``cls`` (a class method such as ``open`` too; a generator's
    errors as it is iterated) a ``ClientError`` naming the method's operation (:func:`operation_name_of`)."""
    from iamledger.services.operations import OPERATIONS

    declared = {operation.method: operation.name for operation in OPERATIONS.values()}
    for name in dir(cls):
        if name.startswith("_") or name in SKIPPED:
            continue
        member = inspect.getattr_static(cls, name)
        if isinstance(member, types.FunctionType):
            setattr(cls, name, _converting(member, operation_name_of(name, declared)))
        elif isinstance(member, classmethod) and isinstance(member.__func__, types.FunctionType):
            setattr(cls, name, classmethod(_converting(member.__func__, operation_name_of(name, declared))))
    return cls
