"""The library's public API stays what it was when the operations became declarations (issue 20): every public
name of :class:`iamledger.IdentityStore` with the same signature (boto3's names, parameters and types), recorded in
tests/data/public_api.json. A deliberate change of the API updates that file (the command is in the failure)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from botocore import xform_name

from iamledger import IdentityStore
from iamledger.awsmodel import aws_operation
from iamledger.services.operations import OPERATIONS

RECORDED = Path(__file__).parent / "data" / "public_api.json"


def _own(name: str) -> bool:
    """Whether ``name`` is iamledger's alone: ``eventsourcing``'s ``Application`` API (which the store may
    override) is that library's."""
    return all(klass.__module__.startswith("iamledger.") for klass in IdentityStore.__mro__ if name in vars(klass))


def public_api() -> dict[str, Any]:
    """Each public name the store defines: its signature if it is callable, else the kind of attribute it is."""
    api: dict[str, Any] = {}
    for name in sorted(dir(IdentityStore)):
        if name.startswith("_") or not _own(name):
            continue
        value = getattr(IdentityStore, name)
        if callable(value):
            try:
                api[name] = str(inspect.signature(value))
            except (TypeError, ValueError):
                api[name] = None
        else:
            api[name] = type(inspect.getattr_static(IdentityStore, name)).__name__
    return api


def test_the_public_api_is_what_it_was():
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    current = public_api()
    changed = {name: (recorded.get(name), current.get(name)) for name in recorded.keys() | current.keys()}
    changed = {name: pair for name, pair in changed.items() if pair[0] != pair[1]}
    assert not changed, (
        "IdentityStore's public API changed (recorded, now): "
        + json.dumps(changed, indent=1)
        + "\nIf on purpose: python -c 'import json, tests.test_public_api as t; "
        + "print(json.dumps(t.public_api(), indent=1, sort_keys=True))' > tests/data/public_api.json"
    )


def test_each_declared_operation_is_the_store_method_named_as_boto3_names_it():
    assert OPERATIONS
    for (service, name), operation in OPERATIONS.items():
        assert service in {"iam", "sts"}
        assert operation.method == xform_name(name), name
        method = getattr(IdentityStore, operation.method)
        assert "account_id" not in inspect.signature(method).parameters, name


def test_every_operation_of_the_store_is_declared():
    declared = {operation.method for operation in OPERATIONS.values()}
    named = {name for name in dir(IdentityStore) if not name.startswith("_") and aws_operation(name) is not None}
    assert named - declared == set()
