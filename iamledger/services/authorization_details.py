"""The detail lists of ``GetAccountAuthorizationDetails``: every user, group, role and managed policy of an account
with everything that grants or limits permissions, in the shapes boto3 returns (documents as parsed JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Connection

from iamledger.projections.views import policies as policy_views
from iamledger.projections.views.groups import current_groups
from iamledger.projections.views.instance_profiles import instance_profiles_of_role, roles_of_instance_profile
from iamledger.projections.views.principals import attached_policy_arns, inline_policies
from iamledger.projections.views.role_usage import role_last_used
from iamledger.projections.views.roles import current_roles
from iamledger.projections.views.tags import current_tags
from iamledger.projections.views.users import current_users, groups_of_user
from iamledger.services.permissions import policy_document_shape
from iamledger.services.policy_shapes import aws_managed_versions, policy_detail_shape
from iamledger.services.roles import role_shape
from iamledger.services.shapes import aws_datetime, boundary_shape, group_shape, user_shape

FILTERS: Final = ("User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy")
LIST_KEYS: Final = {
    "User": "UserDetailList",
    "Group": "GroupDetailList",
    "Role": "RoleDetailList",
    "LocalManagedPolicy": "Policies",
    "AWSManagedPolicy": "Policies",
}


def _attached(conn: Connection, entity: str) -> list[dict[str, str]]:
    return [{"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a} for a in attached_policy_arns(conn, entity)]


def _inline(conn: Connection, entity: str) -> list[dict[str, Any]]:
    return [
        {"PolicyName": p["policy_name"], "PolicyDocument": policy_document_shape(p["document"])}
        for p in inline_policies(conn, entity)
    ]


def user_details(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """``UserDetailList``: ``UserPolicyList`` only when the user has inline policies, ``Tags`` always."""
    details = []
    for row in current_users(conn, account_id):
        entity = row["entity_uuid"]
        detail = user_shape(row)
        inline = _inline(conn, entity)
        if inline:
            detail["UserPolicyList"] = inline
        detail["GroupList"] = [g["group_name"] for g in groups_of_user(conn, entity)]
        detail["AttachedManagedPolicies"] = _attached(conn, entity)
        detail |= boundary_shape(row["boundary_arn"])
        detail["Tags"] = [{"Key": k, "Value": v} for k, v in current_tags(conn, entity)]
        details.append(detail)
    return details


def group_details(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """``GroupDetailList``."""
    return [
        group_shape(row)
        | {
            "GroupPolicyList": _inline(conn, row["entity_uuid"]),
            "AttachedManagedPolicies": _attached(conn, row["entity_uuid"]),
        }
        for row in current_groups(conn, account_id)
    ]


def _instance_profile_shape(conn: Connection, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Path": row["path"],
        "InstanceProfileName": row["instance_profile_name"],
        "InstanceProfileId": row["instance_profile_id"],
        "Arn": row["arn"],
        "CreateDate": aws_datetime(row["create_date"]),
        "Roles": [role_shape(r) for r in roles_of_instance_profile(conn, row["entity_uuid"])],
    }


def role_details(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """``RoleDetailList``, with each role's ``RoleLastUsed``."""
    details = []
    for row in current_roles(conn, account_id):
        entity = row["entity_uuid"]
        detail = role_shape(row)
        detail["InstanceProfileList"] = [
            _instance_profile_shape(conn, p) for p in instance_profiles_of_role(conn, entity)
        ]
        detail["RolePolicyList"] = _inline(conn, entity)
        detail["AttachedManagedPolicies"] = _attached(conn, entity)
        detail |= boundary_shape(row["boundary_arn"])
        detail["Tags"] = [{"Key": k, "Value": v} for k, v in current_tags(conn, entity)]
        detail["RoleLastUsed"] = role_last_used(conn, entity)
        details.append(detail)
    return details


def local_policy_details(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """The account's customer managed policies with every stored version."""
    return [
        policy_detail_shape(row, policy_views.policy_versions(conn, row["entity_uuid"]))
        for row in policy_views.customer_policies(conn, account_id)
    ]


def aws_policy_details(
    conn: Connection, account_id: str, catalogue: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The AWS managed policies in use in the account (attached or a boundary), as AWS lists only those."""
    return [
        policy_detail_shape(row, aws_managed_versions(row))
        for row in policy_views.aws_managed_policies(conn, account_id, catalogue)
        if row["attachment_count"] or row["boundary_count"]
    ]


def authorization_details(
    conn: Connection, account_id: str, filters: list[str], catalogue: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """Every detail item the filters select, each with the response list it belongs to, in AWS's order."""
    wanted = set(filters or FILTERS)
    builders = {
        "User": lambda: user_details(conn, account_id),
        "Group": lambda: group_details(conn, account_id),
        "Role": lambda: role_details(conn, account_id),
        "LocalManagedPolicy": lambda: local_policy_details(conn, account_id),
        "AWSManagedPolicy": lambda: aws_policy_details(conn, account_id, catalogue),
    }
    items: list[tuple[str, dict[str, Any]]] = []
    for name in FILTERS:
        if name in wanted:
            items += [(LIST_KEYS[name], item) for item in builders[name]()]
    return items
