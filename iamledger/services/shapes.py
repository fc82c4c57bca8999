"""View rows in the shapes boto3 returns. Dates are whole seconds, as AWS sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def aws_datetime(moment: datetime) -> datetime:
    """A timestamp as IAM reports it: UTC, whole seconds."""
    return moment.replace(microsecond=0)


def boundary_shape(arn: str | None) -> dict[str, Any]:
    """``{"PermissionsBoundary": {...}}`` when ``arn`` is set, else nothing."""
    if not arn:
        return {}
    boundary = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}
    return {"PermissionsBoundary": boundary}


def tags_shape(tags: list[tuple[str, str]]) -> dict[str, Any]:
    """``{"Tags": [...]}`` when there are tags, else nothing (as AWS omits an empty list)."""
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags]} if tags else {}


def user_shape(row: dict[str, Any]) -> dict[str, Any]:
    """A ``User`` as ``ListUsers`` returns it (no boundary, no tags)."""
    return {
        "Path": row["path"],
        "UserName": row["user_name"],
        "UserId": row["user_id"],
        "Arn": row["arn"],
        "CreateDate": aws_datetime(row["create_date"]),
    }


def group_shape(row: dict[str, Any]) -> dict[str, Any]:
    """A ``Group``."""
    return {
        "Path": row["path"],
        "GroupName": row["group_name"],
        "GroupId": row["group_id"],
        "Arn": row["arn"],
        "CreateDate": aws_datetime(row["create_date"]),
    }
