"""Reading the JSON case corpus (tests/policy/cases, format in its README.md) into library calls."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from iamledger.domain.policy import (
    AppliedPolicy,
    Decision,
    PolicyKind,
    PolicySet,
    PolicySource,
    Principal,
    Request,
    Session,
    evaluate,
    normalize_context,
    request_context,
    simulate_custom_policy,
)

CASES = Path(__file__).parent / "cases"
DEFAULT_NOW = "2024-05-01T12:00:00Z"


@dataclass(frozen=True)
class Case:
    file: str
    name: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file}: {self.name}"


def _merge(defaults: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    merged = {**defaults, **case}
    request = {**defaults.get("request", {}), **case.get("request", {})}
    request["context"] = {
        **defaults.get("request", {}).get("context", {}),
        **case.get("request", {}).get("context", {}),
    }
    merged["request"] = request
    return merged


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES.glob("*.json")):
        content = json.loads(path.read_text(encoding="utf-8"))
        defaults = content.get("defaults", {})
        cases.extend(Case(path.stem, case["name"], _merge(defaults, case)) for case in content["cases"])
    return cases


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _session(spec: dict[str, Any]) -> Session | None:
    raw = spec.get("session")
    if raw is None:
        return None
    return Session(_when(raw["issued_at"]), raw.get("mfa", False), raw.get("mfa_age"), raw.get("source_identity"))


def build_principal(spec: dict[str, Any]) -> Principal:
    builders = {
        "User": lambda: Principal.user(
            spec["account"],
            spec["name"],
            path=spec.get("path", "/"),
            unique_id=spec.get("id"),
            tags=spec.get("tags"),
            session=_session(spec),
        ),
        "AssumedRole": lambda: Principal.assumed_role(
            spec["account"],
            spec["role"],
            spec.get("session_name", "s1"),
            role_path=spec.get("role_path", "/"),
            role_id=spec.get("role_id"),
            tags=spec.get("tags"),
            session=_session(spec),
        ),
        "FederatedUser": lambda: Principal.federated_user(
            spec["account"],
            spec["name"],
            source_user_arn=spec.get("source_user"),
            tags=spec.get("tags"),
            session=_session(spec),
        ),
        "Account": lambda: Principal.root(spec["account"]),
        "Service": lambda: Principal.service(spec["name"]),
        "WebIdentityUser": lambda: Principal.identity_provider(spec["name"]),
        "SAMLUser": lambda: Principal.identity_provider(spec["name"], saml=True),
        "Anonymous": Principal.anonymous,
    }
    return builders[spec["type"]]()


def _applied(spec: dict[str, Any]) -> AppliedPolicy:
    role = spec["role"]
    kind = PolicyKind(spec.get("kind", "resource" if role == "resource" else "identity"))
    source_type = "Resource Policy" if role == "resource" else "IAM Policy"
    return AppliedPolicy.from_text(json.dumps(spec["document"]), PolicySource(spec.get("id", role), source_type), kind)


def build_policies(specs: list[dict[str, Any]]) -> PolicySet:
    by_role: dict[str, list[AppliedPolicy]] = {}
    for spec in specs:
        by_role.setdefault(spec["role"], []).append(_applied(spec))
    boundaries = by_role.get("boundary", [])
    resources = by_role.get("resource", [])
    return PolicySet(
        identity=tuple(by_role.get("identity", [])),
        boundary=boundaries[0] if boundaries else None,
        session=tuple(by_role["session"]) if "session" in by_role else None,
        resource=resources[0] if resources else None,
    )


def run_case(data: dict[str, Any]) -> Decision:
    principal = build_principal(data["principal"])
    request = data["request"]
    if data.get("principal_keys", False):
        context = request_context(
            principal,
            now=_when(request.get("now", DEFAULT_NOW)),
            source_ip=request.get("source_ip"),
            extra=request.get("context", {}),
        )
    else:
        context = normalize_context(request.get("context", {}))
    return evaluate(
        Request(principal, request["action"], request["resource"], context, request.get("resource_account")),
        build_policies(data.get("policies", [])),
    )


def simulate_case(data: dict[str, Any]) -> dict[str, Any]:
    """Run a ``simulate: true`` case through simulate_custom_policy, as the CLI runner would."""
    principal = data["principal"]
    assert principal["type"] == "User"
    request = data["request"]
    policies = data.get("policies", [])
    identity = [json.dumps(p["document"]) for p in policies if p["role"] == "identity"]
    boundary = [json.dumps(p["document"]) for p in policies if p["role"] == "boundary"]
    resource = [json.dumps(p["document"]) for p in policies if p["role"] == "resource"]
    types = request.get("context_types", {})
    entries = []
    for key, value in request.get("context", {}).items():
        values = value if isinstance(value, list) else [value]
        key_type = types.get(key, "stringList" if isinstance(value, list) else "string")
        entries.append({"ContextKeyName": key, "ContextKeyValues": values, "ContextKeyType": key_type})
    kwargs: dict[str, Any] = {
        "PolicyInputList": identity,
        "ActionNames": [request["action"]],
        "ResourceArns": [request["resource"]],
        "ContextEntries": entries,
    }
    if boundary:
        kwargs["PermissionsBoundaryPolicyInputList"] = boundary
    if resource:
        kwargs["ResourcePolicy"] = resource[0]
        kwargs["CallerArn"] = f"arn:aws:iam::{principal['account']}:user{principal.get('path', '/')}{principal['name']}"
    if request.get("resource_account"):
        kwargs["ResourceOwner"] = f"arn:aws:iam::{request['resource_account']}:root"
    return simulate_custom_policy(**kwargs)
