"""IAM ARNs: ``arn:aws:iam::123456789012:user/division/alice``."""

from __future__ import annotations

from typing import Final

AWS_MANAGED_ACCOUNT: Final = "aws"


def iam_arn(account_id: str, resource_type: str, path: str, name: str) -> str:
    """The ARN of an IAM entity: type ``user``, ``group``, ``role``, ``policy`` or ``instance-profile``."""
    return f"arn:aws:iam::{account_id}:{resource_type}{path}{name}"


def is_aws_managed_policy_arn(arn: str) -> bool:
    """Whether ``arn`` names an AWS managed policy (``arn:aws:iam::aws:policy/...``)."""
    return arn.startswith(f"arn:aws:iam::{AWS_MANAGED_ACCOUNT}:policy/")


def policy_arn_parts(arn: str) -> tuple[str, str, str] | None:
    """``(account, path, name)`` of a managed policy ARN, or ``None`` when ``arn`` is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("policy/"):  # noqa: PLR2004
        return None
    resource = parts[5][len("policy") :]
    cut = resource.rfind("/")
    return parts[4], resource[: cut + 1], resource[cut + 1 :]
