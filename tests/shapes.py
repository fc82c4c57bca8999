"""Check a result against botocore's output shape of its operation: what boto3 would return for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from iamledger.awsmodel import operation_model


def assert_output_shape(service: str, operation: str, result: Any) -> None:
    """``result`` has only the members of the operation's output shape, each of the modelled type, and every
    required member (no ``ResponseMetadata``: the library returns the parsed body)."""
    shape = operation_model(service, operation).output_shape
    if shape is None:
        assert result in ({}, None), f"{operation} has no output, got {result!r}"
        return
    _check(shape, result, operation)


def _check(shape: Any, value: Any, where: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{where}: expected a structure, got {value!r}"
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{where}: members not in the model: {sorted(unknown)}"
        missing = set(shape.required_members) - set(value)
        assert not missing, f"{where}: required members missing: {sorted(missing)}"
        for name, item in value.items():
            _check(shape.members[name], item, f"{where}.{name}")
    elif kind == "list":
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        for index, item in enumerate(value):
            _check(shape.member, item, f"{where}[{index}]")
    elif kind == "map":
        assert isinstance(value, dict), f"{where}: expected a map, got {value!r}"
    elif kind == "string":
        if shape.name == "policyDocumentType":
            assert isinstance(value, dict | str), f"{where}: expected a document, got {value!r}"
        else:
            assert isinstance(value, str), f"{where}: expected a string, got {value!r}"
            if shape.enum:
                assert value in shape.enum, f"{where}: {value!r} not in {shape.enum}"
    elif kind == "timestamp":
        assert isinstance(value, datetime), f"{where}: expected a datetime, got {value!r}"
        assert value.tzinfo is not None, f"{where}: naive datetime"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: expected a boolean, got {value!r}"
    elif kind in {"integer", "long"}:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer"
