"""The built-in catalogue of AWS managed policies (``arn:aws:iam::aws:policy/...``), with their real documents.

AWS managed policies exist in every account, read-only: they can be attached and used as boundaries, never edited,
versioned, tagged or deleted by a customer.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from importlib import resources
from typing import Any


@functools.cache
def aws_managed_policies() -> dict[str, dict[str, Any]]:
    """Every AWS managed policy of the catalogue, by ARN; dates as ``datetime``, ``Document`` as JSON text."""
    text = resources.files("iamledger").joinpath("data/aws-managed-policies.json").read_text(encoding="utf-8")
    catalogue: dict[str, dict[str, Any]] = {}
    for entry in json.loads(text)["policies"]:
        policy = dict(entry)
        policy["CreateDate"] = datetime.fromisoformat(policy["CreateDate"])
        policy["UpdateDate"] = datetime.fromisoformat(policy["UpdateDate"])
        catalogue[policy["Arn"]] = policy
    return catalogue
