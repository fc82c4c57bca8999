"""What policies say, without evaluating a request: GetContextKeysForCustomPolicy and
GetContextKeysForPrincipalPolicy (the context keys the policies refer to, which a simulation may need values for)
and ListPoliciesGrantingServiceAccess (which of a user's, group's or role's policies can allow actions of a
service, from the permission index's reading of ``Allow`` statements)."""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy import Connection

from iamledger.domain.errors import InvalidInputError, NoSuchEntityError
from iamledger.domain.policy import PolicyError, PolicyKind, parse
from iamledger.domain.policy.context_key_names import context_key_names
from iamledger.projections.access.effective import EffectivePolicy, effective_policies
from iamledger.projections.access.permissions import ANY_SERVICE, services_allowed
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.projections.views.principals import find_principal_by_arn
from iamledger.services.base import ServiceBase
from iamledger.services.operations import query

PRINCIPAL_ARN: Final = re.compile(r"arn:aws:iam::(?P<account>\d{12}):(?P<kind>user|group|role)(?:/.*)?/(?P<name>[^/]+)")
INLINE_OWNERS: Final = {"user": "USER", "group": "GROUP", "role": "ROLE"}


def _documents(texts: list[str]) -> list[Any]:
    """The parsed policies of a ``PolicyInputList``; ``InvalidInput`` (with the policy language's reason) for one
    IAM would refuse."""
    parsed = []
    for number, text in enumerate(texts, start=1):
        try:
            parsed.append(parse(text, PolicyKind.IDENTITY))
        except PolicyError as error:
            raise InvalidInputError(f"policyInputList.{number}: {error.message}") from None
    return parsed


class PolicyInsightsService(ServiceBase):
    """The operations that read what policies refer to or can allow."""

    def _principal(self, conn: Connection, account_id: str, arn: str, member: str) -> tuple[str, dict[str, Any]]:
        """The kind (``user``, ``group``, ``role``) and view row of the principal ``arn`` names, in this account."""
        match = PRINCIPAL_ARN.fullmatch(arn)
        if match is None:
            raise InvalidInputError(f"Invalid {member}: {arn}. It must be the ARN of a user, group or role.")
        kind = match["kind"]
        row = find_principal_by_arn(conn, kind, arn)
        if row is None or match["account"] != account_id:
            raise NoSuchEntityError(f"The {kind} with name {match['name']} cannot be found.")
        return kind, dict(row)

    def _identity_policies(
        self, conn: Connection, account_id: str, arn: str, member: str
    ) -> tuple[tuple[str, str], list[EffectivePolicy]]:
        """The principal ``arn`` names (its kind and name) and its identity-based policies (a user's with its
        groups'), with the documents in force."""
        kind, row = self._principal(conn, account_id, arn, member)
        found = effective_policies(conn, account_id, kind, row, StoreCatalogue(conn))
        return (kind, str(row[f"{kind}_name"])), [p for p in found if p.role == "identity"]

    @query("GetContextKeysForCustomPolicy")
    def get_context_keys_for_custom_policy(
        self, conn: Connection, account_id: str, *, PolicyInputList: list[str]
    ) -> dict[str, Any]:
        """The context keys the given policies refer to (condition keys and policy variables), each once."""
        del conn, account_id  # nothing stored is read
        return {"ContextKeyNames": context_key_names(_documents(PolicyInputList))}

    @query("GetContextKeysForPrincipalPolicy")
    def get_context_keys_for_principal_policy(
        self,
        conn: Connection,
        account_id: str,
        *,
        PolicySourceArn: str,
        PolicyInputList: list[str] | None = None,
    ) -> dict[str, Any]:
        """The context keys referred to by the identity-based policies of a user (with its groups'), group or role
        (inline and attached; not its permissions boundary), then by the given policies, each once."""
        _, stored = self._identity_policies(conn, account_id, PolicySourceArn, "PolicySourceArn")
        documents = [parse(p.document, PolicyKind.IDENTITY) for p in stored]
        documents += _documents(list(PolicyInputList or []))
        return {"ContextKeyNames": context_key_names(documents)}

    @query("ListPoliciesGrantingServiceAccess")
    def list_policies_granting_service_access(
        self,
        conn: Connection,
        account_id: str,
        *,
        Arn: str,
        ServiceNamespaces: list[str],
        Marker: str | None = None,
    ) -> dict[str, Any]:
        """For each service namespace, the identity-based policies of the user (its own and its groups'), group or
        role ``Arn`` that have an ``Allow`` statement whose actions can match an action of that service (``*``,
        ``s3:*``, ``s3:Get*``; a ``NotAction`` statement counts for every service). Boundaries and resource-based
        policies take no part, as in AWS. Every answer fits one page (``Marker`` is accepted for the model's sake)."""
        del Marker
        principal, stored = self._identity_policies(conn, account_id, Arn, "Arn")
        answer = []
        for namespace in ServiceNamespaces:
            wanted = namespace.lower()
            policies = [
                _granting_shape(p, principal)
                for p in stored
                if wanted in (allowed := services_allowed(p.document)) or ANY_SERVICE in allowed
            ]
            answer.append({"ServiceNamespace": namespace, "Policies": policies})
        return {"PoliciesGrantingServiceAccess": answer, "IsTruncated": False}


def _granting_shape(policy: EffectivePolicy, principal: tuple[str, str]) -> dict[str, Any]:
    """``PolicyGrantingServiceAccess``: a managed policy by name and ARN; an inline one by name and its owner (the
    principal, or the group a user's policy comes through)."""
    if policy.policy_arn is not None:
        return {"PolicyName": policy.source_id, "PolicyType": "MANAGED", "PolicyArn": policy.policy_arn}
    if policy.via is not None:
        owner_kind, owner_name = "GROUP", policy.via
    else:
        owner_kind, owner_name = INLINE_OWNERS[principal[0]], principal[1]
    return {"PolicyName": policy.source_id, "PolicyType": "INLINE", "EntityType": owner_kind, "EntityName": owner_name}
