"""The kinds of policy document, which decide the validation rules a document must pass."""

from __future__ import annotations

from enum import StrEnum


class PolicyKind(StrEnum):
    """Where a document is used.

    * ``IDENTITY``: managed policies, inline user/group/role policies, permissions boundaries and session policies.
      ``Version`` must be ``2012-10-17``; ``Principal``/``NotPrincipal`` are refused; ``Resource`` is required.
    * ``RESOURCE``: resource-based policies (bucket, queue, key policies...). ``Principal`` or ``NotPrincipal`` is
      required; ``Version`` may be ``2008-10-17`` or absent.
    * ``TRUST``: a role's trust policy (its resource-based policy for ``sts:AssumeRole*``). ``Principal`` is
      required, ``NotPrincipal``/``Resource``/``NotResource`` are refused and actions must be STS trust actions.
    """

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"


TRUST_ACTIONS = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:DecodeAuthorizationMessage",
    "sts:GetAccessKeyInfo",
    "sts:GetCallerIdentity",
    "sts:GetFederationToken",
    "sts:GetServiceBearerToken",
    "sts:GetSessionToken",
    "sts:SetSourceIdentity",
    "sts:TagSession",
    "sts:SetContext",
)
"""Actions a trust policy statement may name (compared case-insensitively; a wildcard must match one of them)."""
