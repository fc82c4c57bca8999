"""AWS's own service models (from botocore) as the single source of truth for operation and parameter names, and
the validation of input against their constraints, with AWS's ``ValidationError`` texts.

``1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular
expression pattern: [\\w+=,.@-]+`` is what AWS answers; this module answers the same.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
from collections.abc import Callable, Mapping
from types import FunctionType
from typing import TYPE_CHECKING, Any, Final, TypeVar

import regex

from iamledger.domain.errors import ValidationError

if TYPE_CHECKING:  # botocore itself is imported when a model is first needed: a process that never needs one
    # (a projection rebuild) is spared its memory
    from botocore.loaders import Loader
    from botocore.model import OperationModel, ServiceModel, Shape

SERVICES: Final = ("iam", "sts")
STORABLE_PATTERN: Final = "[^\\u0000\\uD800-\\uDFFF]*"
"""The constraint every string member meets beyond its model's: no NUL, no lone surrogate (which only a Python
caller can pass, a command-line argument that is not UTF-8 among them)."""
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")
C = TypeVar("C", bound=type)


@functools.cache
def _loader() -> Loader:
    """botocore's data loader, as a botocore session makes it (its data, ``~/.aws/models``, ``$AWS_DATA_PATH``),
    without the session, whose client machinery the command line's start-up would import for nothing but the models
    (tests/test_cli_startup.py checks that the models are the session's)."""
    from botocore.loaders import create_loader

    return create_loader(os.environ.get("AWS_DATA_PATH"))


def _load(service: str, type_name: str, api_version: str | None = None) -> dict[str, Any]:
    """``Loader.load_service_model(service, type_name, api_version)`` without its first step, which lists every
    service botocore has data for (a directory and a file look-up each, some 400) only to refuse a name that is
    not among them, some 30 ms of every command that needs a model (docs/performance.md, "CLI start-up"). Ours are
    :data:`SERVICES`, and a missing file still raises ``DataNotFoundError``. The rest is the method's steps: the
    latest API version, the data, then the extras found for it (``sdk-extras``) merged in."""
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import ExtrasProcessor

    loader = _loader()
    version = api_version or loader.determine_latest_version(service, type_name)
    model: dict[str, Any] = loader.load_data(f"{service}/{version}/{type_name}")
    extras = []
    for extras_type in loader.extras_types:
        with contextlib.suppress(DataNotFoundError):
            extras.append(loader.load_data(f"{service}/{version}/{type_name}.{extras_type}-extras"))
    ExtrasProcessor().process(model, extras)
    return model


@functools.cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service`` (``iam`` or ``sts``), the one ``botocore.session.Session.get_service_model``
    returns."""
    from botocore.model import ServiceModel

    return ServiceModel(_load(service, "service-2"), service_name=service)


@functools.cache
def operation_model(service: str, operation: str) -> OperationModel:
    """botocore's model of one operation, such as ``("iam", "CreateUser")``."""
    return service_model(service).operation_model(operation)


@functools.cache
def _paginators(service: str) -> dict[str, Any]:
    import botocore.exceptions

    version = service_model(service).api_version
    try:
        data = _load(service, "paginators-1", version)
    except botocore.exceptions.DataNotFoundError:
        return {}
    return dict(data.get("pagination", {}))


def paginator_config(service: str, operation: str) -> dict[str, Any] | None:
    """botocore's paginator configuration of an operation (``result_key``, ``input_token``...), if it pages."""
    return _paginators(service).get(operation)


@functools.cache
def _compile(pattern: str) -> regex.Pattern[str]:
    # The models' patterns are Java regular expressions: \w and \d are ASCII there, \p{L} etc. are Unicode classes.
    translated = pattern.replace(r"\w", "A-Za-z0-9_").replace(r"\d", "0-9")
    translated = _wrap_bare_classes(translated)
    return regex.compile(translated, regex.VERSION0)


def _wrap_bare_classes(pattern: str) -> str:
    """After the textual translation, ``A-Za-z0-9_`` standing outside brackets must become a bracketed class."""
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        for ascii_class in ("A-Za-z0-9_", "0-9"):
            if depth == 0 and pattern.startswith(ascii_class, i):
                out.append(f"[{ascii_class}]")
                i += len(ascii_class)
                break
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _value_text(value: Any) -> str:
    return "null" if value is None else f"'{value}'"


def _failed(meta: Mapping[str, Any], value: Any, where: str, must: str) -> str:
    """One validation error, in AWS's words. A sensitive value (a password) is never repeated back: AWS then writes
    "Value at 'password' failed ..."."""
    shown = "" if meta.get("sensitive") else f" {_value_text(value)}"
    return f"Value{shown} at '{where}' failed to satisfy constraint: Member must {must}"


def _check(shape: Shape, value: Any, where: str, errors: list[str]) -> None:  # noqa: C901, PLR0912
    meta = shape.metadata
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            errors.append(_failed(meta, value, where, "be a string"))
            return
        if "min" in meta and len(value) < meta["min"]:
            errors.append(_failed(meta, value, where, f"have length greater than or equal to {meta['min']}"))
        if "max" in meta and len(value) > meta["max"]:
            errors.append(_failed(meta, value, where, f"have length less than or equal to {meta['max']}"))
        if "pattern" in meta and _compile(meta["pattern"]).fullmatch(value) is None:
            errors.append(_failed(meta, value, where, f"satisfy regular expression pattern: {meta['pattern']}"))
        elif ("\x00" in value or not value.isascii()) and _UNSTORABLE.search(value) is not None:
            # Some members have no pattern (a policy's Description, an OIDC client id): PostgreSQL's text cannot hold
            # a NUL, and one recorded in the log could never be projected, every later read of the store failing;
            # a lone surrogate cannot be encoded to be stored at all.
            errors.append(_failed(meta, value, where, f"satisfy regular expression pattern: {STORABLE_PATTERN}"))
        if shape.enum and value not in shape.enum:
            errors.append(_failed(meta, value, where, f"satisfy enum value set: [{', '.join(shape.enum)}]"))
    elif kind in {"integer", "long"}:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(_failed(meta, value, where, "be a number"))
            return
        if "min" in meta and value < meta["min"]:
            errors.append(_failed(meta, value, where, f"have value greater than or equal to {meta['min']}"))
        if "max" in meta and value > meta["max"]:
            errors.append(_failed(meta, value, where, f"have value less than or equal to {meta['max']}"))
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(_failed(meta, value, where, "be a boolean"))
    elif kind == "list":
        if not isinstance(value, list | tuple):
            errors.append(_failed(meta, value, where, "be a list"))
            return
        if "min" in meta and len(value) < meta["min"]:
            errors.append(_failed(meta, value, where, f"have length greater than or equal to {meta['min']}"))
        if "max" in meta and len(value) > meta["max"]:
            errors.append(_failed(meta, value, where, f"have length less than or equal to {meta['max']}"))
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{where}.{index}.member", errors)
    elif kind == "structure":
        if not isinstance(value, Mapping):
            errors.append(_failed(meta, value, where, "be a structure"))
            return
        _check_structure(shape, value, where + ".", errors)


@functools.cache
def _member_checks(shape: Shape) -> tuple[tuple[str, Shape, str, bool], ...]:
    """A structure's members in the model's order, as :func:`_check_structure` checks them: ``(name, shape, name as
    AWS's messages write it, required)``. Worked out once per shape (the models are loaded once)."""
    required = set(shape.required_members)
    return tuple((name, member, _camel(name), name in required) for name, member in shape.members.items())


def _check_structure(shape: Shape, params: Mapping[str, Any], prefix: str, errors: list[str]) -> None:
    # One pass in the model's order, a missing required member and a bad value alike: AWS lists its errors in the
    # order of the members, whatever order the caller's parameters come in. Members the shape does not have are
    # not looked at here (:func:`validate_input` refuses them at the top level).
    for name, member, where, required in _member_checks(shape):
        value = params.get(name)
        if value is None:
            if required:
                errors.append(f"Value null at '{prefix}{where}' failed to satisfy constraint: Member must not be null")
            continue
        _check(member, value, prefix + where, errors)


def validate_input(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Raise ``ValidationError`` in AWS's words when ``params`` break the operation's model constraints.

    Unknown parameter names are refused too (boto3 refuses them before sending, the endpoint as ``InvalidInput``).
    """
    op = operation_model(service, operation)
    shape = op.input_shape
    unknown = sorted(set(params) - set(shape.members if shape is not None else {}))
    if unknown:
        raise ValidationError(f"Unknown parameter(s) for {operation}: {', '.join(unknown)}")
    if shape is None:
        return
    errors: list[str] = []
    _check_structure(shape, params, "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise ValidationError(f"{count} validation {noun} detected: " + "; ".join(errors))


@functools.cache
def _operations_by_method() -> dict[str, tuple[str, str]]:
    from botocore import xform_name

    return {
        xform_name(name): (service, name) for service in SERVICES for name in service_model(service).operation_names
    }


def aws_operation(method_name: str) -> tuple[str, str] | None:
    """The AWS operation a store method is named after (``create_user`` -> ``("iam", "CreateUser")``), if any."""
    return _operations_by_method().get(method_name)


def missing_members_as_null(cls: C) -> C:
    """Let every method of ``cls`` named after an AWS operation be called without a required member, which then
    reaches it as ``None``, the null AWS's ``Value null at 'userName' ... Member must not be null`` names.

    The store's methods take the operation's required members as required keyword-only arguments, which keeps them
    typed for the library's callers; but a request to the endpoint can leave any member out, and Python would refuse
    such a call with a ``TypeError`` before the method's own validation (:func:`validate_input`) could answer in
    AWS's words, record a refused write in the security log, and leave the store unchanged, as it does for a
    ``None``. Methods not named after an AWS operation keep Python's ``TypeError``; so does an argument a method does
    not take. The check costs a set comparison per call; botocore's models are consulted only when a required
    argument is missing."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        function = inspect.getattr_static(cls, name)
        if not isinstance(function, FunctionType):
            continue
        code = function.__code__
        keyword_only = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
        required = frozenset(keyword_only) - set(function.__kwdefaults__ or ())
        if required:
            setattr(cls, name, _with_nulls(function, required))
    return cls


def _with_nulls(function: Callable[..., Any], required: frozenset[str]) -> Callable[..., Any]:
    name = function.__name__

    @functools.wraps(function)
    def operation(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.keys() >= required and aws_operation(name) is not None:
            kwargs = dict.fromkeys(required - kwargs.keys()) | kwargs
        return function(*args, **kwargs)

    return operation
