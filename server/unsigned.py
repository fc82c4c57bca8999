"""Unsigned requests: the operations AWS serves without credentials (``sts:AssumeRoleWithSAML`` and
``sts:AssumeRoleWithWebIdentity``, whose botocore model says ``auth: smithy.api#noAuth``). A request for one of them
that carries no signature at all runs as the anonymous caller; the operation itself checks the identity provider's
assertion or token and the role's trust policy. Any other request, and a signed request for these operations, is
verified as usual."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from botocore.model import ServiceModel

from iamledger.auth import HttpRequest
from iamledger.auth.sigv4 import VerifiedCaller
from iamledger.domain.audit import ANONYMOUS


@functools.lru_cache(maxsize=512)  # every request asks; the models never change
def _served_unsigned(model: ServiceModel, action: str) -> bool:
    return action in model.operation_names and model.operation_model(action).auth_type == "none"


def unsigned_caller(model: ServiceModel, action: str, request: HttpRequest) -> VerifiedCaller | None:
    """The anonymous caller of an unsigned request for an operation AWS serves unsigned, else ``None``."""
    if not _served_unsigned(model, action):
        return None
    signed = request.header("authorization") is not None or any(
        name == "X-Amz-Signature" for name, _ in request.query_pairs()
    )
    if signed:
        return None
    return VerifiedCaller(
        access_key_id="",
        owner_arn=ANONYMOUS,
        account_id="",
        region="",
        service=model.service_name,
        temporary=False,
        signing_time=datetime.now(UTC),
        presigned=False,
    )
