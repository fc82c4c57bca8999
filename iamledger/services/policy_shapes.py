"""Managed policies in the shapes boto3 returns: ``Policy``, ``PolicyVersion``, ``ManagedPolicyDetail``."""

from __future__ import annotations

from typing import Any

from iamledger.services.permissions import policy_document_shape
from iamledger.services.shapes import aws_datetime, tags_shape


def policy_not_found(policy_arn: str) -> str:
    """AWS's message for a managed policy that does not exist."""
    return f"Policy {policy_arn} was not found."


def policy_shape(
    row: dict[str, Any], *, description: bool = False, tags: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """A ``Policy``: ``ListPolicies`` omits the description and tags, ``GetPolicy`` has both (when set)."""
    shape: dict[str, Any] = {
        "PolicyName": row["policy_name"],
        "PolicyId": row["policy_id"],
        "Arn": row["arn"],
        "Path": row["path"],
        "DefaultVersionId": row["default_version_id"],
        "AttachmentCount": row.get("attachment_count", 0),
        "PermissionsBoundaryUsageCount": row.get("boundary_count", 0),
        "IsAttachable": row["is_attachable"],
        "CreateDate": aws_datetime(row["create_date"]),
        "UpdateDate": aws_datetime(row["update_date"]),
    }
    if description and row.get("description"):
        shape["Description"] = row["description"]
    return shape | tags_shape(tags or [])


def version_shape(
    version_id: str, create_date: Any, *, is_default: bool, document: str | None = None
) -> dict[str, Any]:
    """A ``PolicyVersion``; the document (as parsed JSON) only where AWS returns it."""
    shape: dict[str, Any] = {}
    if document is not None:
        shape["Document"] = policy_document_shape(document)
    return shape | {"VersionId": version_id, "IsDefaultVersion": is_default, "CreateDate": aws_datetime(create_date)}


def aws_managed_versions(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored versions of an AWS managed policy as the view functions give them: the catalogue holds its
    default version only."""
    return [{"version_id": row["default_version_id"], "document": row["document"], "create_date": row["update_date"]}]


def policy_detail_shape(row: dict[str, Any], versions: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``ManagedPolicyDetail`` of ``GetAccountAuthorizationDetails``: the policy with every stored version."""
    shape = policy_shape(row, description=True)
    shape["PolicyVersionList"] = [
        version_shape(
            v["version_id"],
            v["create_date"],
            is_default=v["version_id"] == row["default_version_id"],
            document=v["document"],
        )
        for v in versions
    ]
    return shape
