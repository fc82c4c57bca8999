"""The policy documents of a synthetic organisation (:mod:`iamledger.generate`): identity policies of a few
statements over common services, and role trust policies."""

# The odds of the generator's random choices are plain numbers (as in iamledger/generate.py, which pyproject.toml
# exempts likewise).
# ruff: noqa: PLR2004

from __future__ import annotations

import json
import random
from typing import Any, Final

SERVICES: Final = ("s3", "ec2", "iam", "dynamodb", "sqs", "sns", "lambda", "kms", "logs", "cloudwatch")
VERBS: Final = ("Get", "Put", "List", "Describe", "Create", "Delete", "Update", "Tag")
NOUNS: Final = ("Object", "Bucket", "Instance", "User", "Table", "Queue", "Topic", "Function", "Key", "LogGroup")


def policy_document(rng: random.Random, account_id: str) -> str:
    statements = []
    for index in range(rng.randint(1, 4)):
        service = rng.choice(SERVICES)
        choices: list[str | list[str]] = [
            f"{service}:*",
            f"{service}:{rng.choice(VERBS)}*",
            [f"{service}:{rng.choice(VERBS)}{rng.choice(NOUNS)}"],
        ]
        action = rng.choice(choices)
        if service == "s3":
            specific = f"arn:aws:s3:::bucket-{rng.randrange(50)}/*"
        elif service == "iam":
            specific = f"arn:aws:iam::{account_id}:user/team{rng.randrange(50)}/*"
        else:
            specific = f"arn:aws:{service}:us-east-1:{account_id}:thing-{rng.randrange(50)}/*"
        resource = rng.choice(["*", specific])
        statement: dict[str, Any] = {"Sid": f"S{index}", "Effect": "Allow", "Action": action, "Resource": resource}
        if rng.random() < 0.1:
            statement["Effect"] = "Deny"
        statements.append(statement)
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def trust_policy(rng: random.Random, account_id: str) -> str:
    principal = rng.choice(
        [
            {"Service": "ec2.amazonaws.com"},
            {"Service": "lambda.amazonaws.com"},
            {"AWS": f"arn:aws:iam::{account_id}:root"},
        ]
    )
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
