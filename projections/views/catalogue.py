"""The AWS managed policies a store knows: the built-in catalogue, extended (and, for a policy AWS has changed since,
overridden) by the AWS managed policies imported with an account's authorization details.

AWS managed policies (``arn:aws:iam::aws:policy/...``) exist in every account, read-only: they can be attached and used
as boundaries, never edited, versioned, tagged or deleted by a customer. The built-in catalogue holds their real
documents (``iamledger/data/aws-managed-policies.json``).

Imported AWS managed policies are kept as :class:`~iamledger.domain.policies.ManagedPolicy` aggregates of the
pseudo-account ``aws`` (their ARNs are ``arn:aws:iam::aws:policy/...``), so their versions are temporal view rows
like a customer policy's, and an as-of read sees the documents that were in force then.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from importlib import resources
from typing import Any, Final

from sqlalchemy import Connection, select

from iamledger.domain.arns import is_aws_managed_policy_arn
from iamledger.projections.engine.temporal import live
from iamledger.projections.views.tables import POLICIES, POLICY_VERSIONS

# The account id of AWS managed policies in their ARNs, under which imported ones are stored.
AWS_ACCOUNT: Final = "aws"


@functools.cache
def aws_managed_policies() -> dict[str, dict[str, Any]]:
    """Every AWS managed policy of the built-in catalogue, by ARN; dates as ``datetime``, ``Document`` as JSON text."""
    text = resources.files("iamledger").joinpath("data/aws-managed-policies.json").read_text(encoding="utf-8")
    catalogue: dict[str, dict[str, Any]] = {}
    for entry in json.loads(text)["policies"]:
        policy = dict(entry)
        policy["CreateDate"] = datetime.fromisoformat(policy["CreateDate"])
        policy["UpdateDate"] = datetime.fromisoformat(policy["UpdateDate"])
        catalogue[policy["Arn"]] = policy
    return catalogue


class StoreCatalogue(Mapping[str, Mapping[str, Any]]):
    """AWS managed policies by ARN, shaped as the built-in catalogue's entries (``PolicyName``, ``PolicyId``,
    ``Arn``, ``Path``, ``DefaultVersionId``, ``IsAttachable``, ``CreateDate``, ``UpdateDate``, ``Document``).

    The imported ones are read from the views on first use, at the bound read position; a store that imported
    none costs one indexed query, and only when an AWS managed policy is looked up."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._imported: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._imported is None:
            query = (
                select(POLICIES, POLICY_VERSIONS.c.document)
                .join(POLICY_VERSIONS, POLICY_VERSIONS.c.policy_uuid == POLICIES.c.entity_uuid)
                .where(
                    POLICIES.c.account_id == AWS_ACCOUNT,
                    live(POLICIES),
                    POLICY_VERSIONS.c.version_id == POLICIES.c.default_version_id,
                    live(POLICY_VERSIONS),
                )
            )
            self._imported = {
                str(row["arn"]): {
                    "PolicyName": row["policy_name"],
                    "PolicyId": row["policy_id"],
                    "Arn": row["arn"],
                    "Path": row["path"],
                    "Description": row["description"],
                    "DefaultVersionId": row["default_version_id"],
                    "IsAttachable": True,
                    "CreateDate": row["create_date"],
                    "UpdateDate": row["update_date"],
                    "Document": row["document"],
                }
                for row in self._conn.execute(query).mappings()
            }
        return self._imported

    def __getitem__(self, arn: str) -> Mapping[str, Any]:
        if not is_aws_managed_policy_arn(arn):
            raise KeyError(arn)
        imported = self._load()
        return imported[arn] if arn in imported else aws_managed_policies()[arn]

    def __contains__(self, arn: object) -> bool:
        if not isinstance(arn, str) or not is_aws_managed_policy_arn(arn):
            return False
        return arn in self._load() or arn in aws_managed_policies()

    def __iter__(self) -> Iterator[str]:
        return iter(aws_managed_policies() | self._load())

    def __len__(self) -> int:
        return len(aws_managed_policies() | self._load())
