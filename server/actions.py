"""The operation a Query-protocol request's ``Action`` names, and whether the store implements it with the
parameters given: refused otherwise with AWS's ``MissingAction`` or ``InvalidAction``, or iamledger's
``NotImplemented``."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Final

from botocore import xform_name
from botocore.model import OperationModel, ServiceModel

from iamledger.awsmodel import SERVICES, service_model
from iamledger.domain.errors import IdentityStoreError, InvalidInputError, SenderError
from iamledger.store import IdentityStore

VERSIONS: Final = {service_model(name).api_version: name for name in SERVICES}
"""API version -> service, to answer in the right namespace before the signature has named the service."""


class InvalidActionError(SenderError):
    """An ``Action`` the service does not have (AWS: ``InvalidAction``, HTTP 400)."""

    code = "InvalidAction"


class MissingActionError(SenderError):
    """A request without an ``Action`` (AWS: ``MissingAction``, HTTP 400)."""

    code = "MissingAction"


class NotImplementedByStoreError(IdentityStoreError):
    """An operation AWS has and iamledger does not implement yet (HTTP 501, which SDKs do not retry)."""

    code = "NotImplemented"
    http_status = 501


def implemented(service: str, action: str) -> bool:
    """Whether the store implements ``action`` of ``service`` (a method named after it exists)."""
    return action in service_model(service).operation_names and callable(
        getattr(IdentityStore, xform_name(action), None)
    )


@functools.lru_cache(maxsize=512)  # every request asks; a refusal raises, and is not remembered
def requested_operation(model: ServiceModel, action: str, version: str | None) -> OperationModel:
    """The operation ``action`` names in ``model`` (at ``version``, when the request gives one), or the refusal."""
    if not action:
        raise MissingActionError("Missing Action")
    if action not in model.operation_names or (version is not None and version != model.api_version):
        raise InvalidActionError(f"Could not find operation {action} for version {version or model.api_version}")
    if not implemented(model.service_name, action):
        raise NotImplementedByStoreError(f"iamledger does not implement {model.service_name}:{action} yet.")
    return model.operation_model(action)


@functools.cache
def _accepted_parameters(operation: OperationModel) -> frozenset[str] | None:
    """The input members the store's method takes (None: all of them, through ``**kwargs``)."""
    method = getattr(IdentityStore, xform_name(operation.name))
    parameters = inspect.signature(method).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


def check_supported(operation: OperationModel, params: dict[str, Any]) -> None:
    """Refuse the input members the store's method does not take yet (rather than ignore them silently)."""
    accepted = _accepted_parameters(operation)
    unsupported = sorted(set(params) - accepted) if accepted is not None else []
    if unsupported:
        raise InvalidInputError(
            f"iamledger does not support the parameter(s) {', '.join(unsupported)} of {operation.name} yet."
        )
