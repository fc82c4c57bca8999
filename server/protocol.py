"""AWS's Query protocol (IAM and STS), driven by botocore's service model.

:func:`parse_parameters` turns a form-encoded request (``Action=CreateUser&UserName=alice&Tags.member.1.Key=k...``)
into the boto3-style parameters of the operation's input shape; :func:`serialize_result` turns what the store returns
(boto3's shapes: dicts, lists, ``datetime``) into the XML AWS sends; :func:`serialize_error` writes AWS's
``<ErrorResponse>``. Member names, ``locationName``, list and map encodings and timestamp formats all come from the
model, the inverse of botocore's ``QuerySerializer`` and ``QueryParser``: no operation has a template of its own.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote
from xml.sax.saxutils import escape

from botocore.model import OperationModel, ServiceModel, Shape

from iamledger.domain.errors import SenderError, ValidationError

POLICY_DOCUMENT_SHAPE: Final = "policyDocumentType"
"""IAM's shape of policy documents: sent URL-encoded (botocore decodes them into dicts, as the store returns them)."""
RESERVED_PARAMETERS: Final = frozenset({"Action", "Version"})
TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
MAX_INDEX_DIGITS: Final = 9
"""The most digits a list element's or map entry's number may have: AWS's services read it as a 32-bit integer,
and a request never holds anywhere near a billion elements."""
PREFIX_DEPTH: Final = 16
"""How many dotted prefixes of a field's name are indexed for :meth:`_Form.has` (the models' deepest field,
``ContextEntries.member.1.ContextKeyValues.member.1`` and the like, has 8 parts); deeper ones are found by a scan."""
NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""The characters XML 1.0 cannot carry, not even as character references (``\\x00``, other control characters,
lone surrogates, U+FFFE and U+FFFF)."""
UNREPRESENTABLE: Final = "\ufffd"


class InvalidQueryParameterError(SenderError):
    """A form field the Query protocol cannot read, such as a list element numbered ``²`` (AWS's
    ``InvalidQueryParameter``, HTTP 400: "The AWS query string is malformed or does not adhere to AWS standards")."""

    code = "InvalidQueryParameter"


# --- requests ----------------------------------------------------------------------------------------------------


class _Form:
    """The request's parameters by name, with the set of their dotted prefixes for quick presence checks."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        for name, value in pairs:
            self.values.setdefault(name, value)
        # Only the first PREFIX_DEPTH prefixes of a name: all of a name made of many dots (``a.a.a...``, 100 KB)
        # would be quadratic in its length, seconds of the event loop's time for one request.
        prefixes: set[str] = set()
        for name in self.values:
            end = name.find(".")
            depth = 0
            while end != -1 and depth < PREFIX_DEPTH:
                prefixes.add(name[:end])
                end = name.find(".", end + 1)
                depth += 1
        self.prefixes = prefixes

    def has(self, key: str) -> bool:
        if key in self.values or key in self.prefixes:
            return True
        if key.count(".") < PREFIX_DEPTH:
            return False
        start = key + "."
        return any(name.startswith(start) for name in self.values)

    def indices(self, prefix: str) -> list[str]:
        """The element numbers under ``prefix``, as the request writes them, in numeric order (``Tags.member`` ->
        ``["1", "2"]`` for ``Tags.member.1.Key``, ...); ``InvalidQueryParameter`` for one that is not a number."""
        start = prefix + "."
        found: dict[str, int] = {}
        for name in self.values:
            if name.startswith(start):
                head = name[len(start) :].split(".", 1)[0]
                if head not in found:
                    found[head] = _index(prefix, head)
        return sorted(found, key=found.__getitem__)


def _index(prefix: str, head: str) -> int:
    # ASCII digits only: str.isdigit() also holds for "²" and "٣", which int() refuses or reads as another number;
    # and a bounded count of them: int() refuses more than 4,300 digits, and AWS reads an index as a 32-bit int.
    if 0 < len(head) <= MAX_INDEX_DIGITS and head.isascii() and head.isdigit():
        return int(head)
    shown = head if len(head) <= MAX_INDEX_DIGITS + 1 else head[: MAX_INDEX_DIGITS + 1] + "..."
    raise InvalidQueryParameterError(
        f"The AWS query string is malformed or does not adhere to AWS standards: {prefix}.{shown} is not an element "
        f"of a list (an element's number is 1 to {MAX_INDEX_DIGITS} digits 0-9)."
    )


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _invalid(value: str, where: str, must: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: Member must {must}"
    )


def _serialized_name(shape: Shape, default: str) -> str:
    name = shape.serialization.get("name")
    return str(name) if name else default


def parse_parameters(operation: OperationModel, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The boto3-style parameters of ``operation`` carried by the request's form fields ``pairs``.

    Fields the input shape does not know are ignored (as AWS does); a value that does not parse as its member's type
    (``MaxItems=ten``) is refused with ``ValidationError``.
    """
    shape = operation.input_shape
    if shape is None:
        return {}
    form = _Form((name, value) for name, value in pairs if name not in RESERVED_PARAMETERS)
    return _parse_structure(form, shape, "")


def _parse_structure(form: _Form, shape: Shape, prefix: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for member_name, member_shape in shape.members.items():
        key = _serialized_name(member_shape, member_name)
        if prefix:
            key = f"{prefix}.{key}"
        if member_shape.type_name == "list" and member_shape.serialization.get("flattened"):
            element = member_shape.member.serialization.get("name")
            if element:
                key = ".".join([*key.split(".")[:-1], str(element)])
        if not form.has(key):
            continue
        result[member_name] = _parse_value(form, member_shape, key)
    return result


def _parse_value(form: _Form, shape: Shape, key: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _parse_structure(form, shape, key)
    if kind == "list":
        if form.values.get(key) == "":
            return []  # the Query protocol's empty list: `Tags=`
        element_prefix = (
            key if shape.serialization.get("flattened") else f"{key}.{_serialized_name(shape.member, 'member')}"
        )
        return [_parse_value(form, shape.member, f"{element_prefix}.{i}") for i in form.indices(element_prefix)]
    if kind == "map":
        entry_prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
        key_name = _serialized_name(shape.key, "key")
        value_name = _serialized_name(shape.value, "value")
        mapping: dict[Any, Any] = {}
        for i in form.indices(entry_prefix):
            entry = f"{entry_prefix}.{i}"
            mapping[_parse_value(form, shape.key, f"{entry}.{key_name}")] = _parse_value(
                form, shape.value, f"{entry}.{value_name}"
            )
        return mapping
    raw = form.values.get(key, "")
    return _parse_scalar(shape, raw, key)


def _parse_scalar(shape: Shape, raw: str, key: str) -> Any:
    kind = shape.type_name
    if kind in {"integer", "long"}:
        try:
            return int(raw)
        except ValueError:
            raise _invalid(raw, _where(key), "be a number") from None
    if kind in {"float", "double"}:
        try:
            return float(raw)
        except ValueError:
            raise _invalid(raw, _where(key), "be a number") from None
    if kind == "boolean":
        lowered = raw.lower()
        if lowered not in {"true", "false"}:
            raise _invalid(raw, _where(key), "be a boolean")
        return lowered == "true"
    if kind == "timestamp":
        return _parse_timestamp(raw, key)
    if kind == "blob":
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(raw, _where(key), "be base64-encoded binary data") from None
    return raw


def _where(key: str) -> str:
    """A form field's name as AWS's validation errors write it (``Tags.member.1.Key`` -> ``tags.member.1.key``)."""
    return ".".join(_camel(part) for part in key.split("."))


def _parse_timestamp(raw: str, key: str) -> datetime:
    try:
        if raw.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(raw), UTC)
        parsed = datetime.fromisoformat(raw)
    except (ValueError, OverflowError, OSError):  # OSError: a time the platform's time_t cannot hold, on some systems
        raise _invalid(raw, _where(key), "be a timestamp (ISO 8601 or epoch seconds)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --- responses ---------------------------------------------------------------------------------------------------


def namespace(model: ServiceModel) -> str:
    """The XML namespace of the service's responses (``https://iam.amazonaws.com/doc/2010-05-08/``)."""
    return str(model.metadata["xmlNamespace"])


def _metadata(request_id: str) -> str:
    return f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"


def serialize_result(operation: OperationModel, result: Mapping[str, Any] | None, request_id: str) -> bytes:
    """The XML document AWS sends for a successful call of ``operation`` that returned ``result``.

    Only the output shape's members are written, in the model's order; ``None`` values are left out.
    """
    name = operation.name
    out: list[str] = [f'<{name}Response xmlns="{namespace(operation.service_model)}">']
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper")
        if wrapper:
            out.append(f"<{wrapper}>")
        _write_members(out, shape, result or {})
        if wrapper:
            out.append(f"</{wrapper}>")
    out.append(_metadata(request_id))
    out.append(f"</{name}Response>")
    return "".join(out).encode("utf-8")


def serialize_error(model: ServiceModel, code: str, message: str, *, sender_fault: bool, request_id: str) -> bytes:
    """AWS's ``<ErrorResponse>`` for the Query protocol."""
    fault = "Sender" if sender_fault else "Receiver"
    return (
        f'<ErrorResponse xmlns="{namespace(model)}"><Error><Type>{fault}</Type><Code>{escape(code)}</Code>'
        f"<Message>{xml_text(message)}</Message></Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    ).encode()


def _member_element_name(shape: Shape, member_name: str) -> str:
    """As botocore's ``_member_key_name``: a flattened list with a named member repeats that name."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        element = shape.member.serialization.get("name")
        if element:
            return str(element)
    return _serialized_name(shape, member_name)


@functools.cache
def _member_plan(shape: Shape) -> tuple[tuple[str, str, Shape, str, str, str], ...]:
    """How to write each member of a structure, in the model's order: ``(member name, element, member shape, how,
    key element, value element)``, ``how`` being ``flat-list``, ``flat-map`` or ``nested``. Worked out once per
    shape (the models are loaded once), not on every response."""
    plan = []
    for member_name, member_shape in shape.members.items():
        element = _member_element_name(member_shape, member_name)
        flattened = bool(member_shape.serialization.get("flattened"))
        key = value = ""
        if member_shape.type_name == "list" and flattened:
            how = "flat-list"
        elif member_shape.type_name == "map" and flattened:
            how = "flat-map"
            key = _serialized_name(member_shape.key, "key")
            value = _serialized_name(member_shape.value, "value")
        else:
            how = "nested"
        plan.append((member_name, element, member_shape, how, key, value))
    return tuple(plan)


@functools.cache
def _child_names(shape: Shape) -> tuple[str, str]:
    """The element names of a list's members (``member``) or of a map's keys and values (``key``, ``value``)."""
    if shape.type_name == "list":
        return _serialized_name(shape.member, "member"), ""
    return _serialized_name(shape.key, "key"), _serialized_name(shape.value, "value")


def _write_members(out: list[str], shape: Shape, value: Mapping[str, Any]) -> None:
    for member_name, element, member_shape, how, key_name, value_name in _member_plan(shape):
        item = value.get(member_name)
        if item is None:
            continue
        if how == "flat-list":
            for entry in item:
                _write(out, element, member_shape.member, entry)
        elif how == "flat-map":
            for key, entry in item.items():
                out.append(f"<{element}>")
                _write(out, key_name, member_shape.key, key)
                _write(out, value_name, member_shape.value, entry)
                out.append(f"</{element}>")
        else:
            _write(out, element, member_shape, item)


def _write(out: list[str], element: str, shape: Shape, value: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        out.append(f"<{element}>")
        _write_members(out, shape, value)
        out.append(f"</{element}>")
    elif kind == "list":
        out.append(f"<{element}>")
        member = _child_names(shape)[0]
        for entry in value:
            _write(out, member, shape.member, entry)
        out.append(f"</{element}>")
    elif kind == "map":
        out.append(f"<{element}>")
        key_name, value_name = _child_names(shape)
        for key, entry in value.items():
            out.append("<entry>")
            _write(out, key_name, shape.key, key)
            _write(out, value_name, shape.value, entry)
            out.append("</entry>")
        out.append(f"</{element}>")
    else:
        text = _scalar_text(shape, value)
        if kind == "string":  # numbers, booleans, timestamps and base64 are written here in characters XML takes
            text = xml_text(text)
        out.append(f"<{element}>{text}</{element}>")


def _scalar_text(shape: Shape, value: Any) -> str:  # noqa: PLR0911 - one branch per scalar type
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return format_timestamp(value)
    if kind in {"integer", "long"}:
        return str(int(value))
    if kind in {"float", "double"}:
        return repr(float(value))
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if shape.name == POLICY_DOCUMENT_SHAPE:
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return quote(text, safe="")
    return str(value)


def xml_text(text: str) -> str:
    """``text`` escaped for an XML element, each character XML cannot carry replaced by U+FFFD: a message quoting
    what the client sent (``Value '\\x00' at 'userName' ...``), or a stored value that holds one, would otherwise
    make the whole answer unreadable to the client's XML parser."""
    if not text.isprintable() and NOT_XML.search(text) is not None:  # isprintable: a quick test, true for nearly all
        text = NOT_XML.sub(UNREPRESENTABLE, text)
    return escape(text)


def format_timestamp(value: datetime | str) -> str:
    """A time as IAM and STS send it: ISO 8601 in UTC, whole seconds (``2026-11-27T10:00:00Z``)."""
    if isinstance(value, str):
        return value
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
