"""What can: what a principal could do at a moment, by service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from iamledger.audit.moments import _authorize, _reading, describe_moment
from iamledger.audit.subjects import resolve_subject
from iamledger.awsmodel import service_model
from iamledger.domain.policy import PolicyKind, parse
from iamledger.domain.policy.wildcards import compile_glob
from iamledger.projections.access.effective import EffectivePolicy
from iamledger.services.base import ServiceBase

_EXPANDED_SERVICES: Final = ("iam", "sts")


def _service_actions(service: str) -> list[str]:
    return sorted(f"{service}:{name}" for name in service_model(service).operation_names)


@dataclass
class _Statement:
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    condition_keys: tuple[str, ...]
    source: dict[str, Any]

    def covers(self, action: str) -> bool:
        if self.actions is not None:
            return any(compile_glob(p.lower())(action.lower()) for p in self.actions)
        return not any(compile_glob(p.lower())(action.lower()) for p in self.not_actions or ())

    def where(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.resources is not None:
            out["Resources"] = list(self.resources)
        if self.not_resources is not None:
            out["NotResources"] = list(self.not_resources)
        if self.condition_keys:
            out["Conditional"] = True
            out["ConditionKeys"] = list(self.condition_keys)
        return out


def _statements(text: str, source: dict[str, Any]) -> list[_Statement]:
    document = parse(text, PolicyKind.IDENTITY)
    return [
        _Statement(
            s.effect.value,
            s.action,
            s.not_action,
            s.resource,
            s.not_resource,
            s.condition_keys(),
            source,
        )
        for s in document.statements
    ]


def _source_of(policy: EffectivePolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"SourcePolicyId": policy.source_id, "SourcePolicyType": policy.source_type}
    if policy.policy_arn:
        out["PolicyArn"] = policy.policy_arn
    if policy.via:
        out["GroupName"] = policy.via
    return out


def _service_of(pattern: str) -> str:
    return pattern.split(":", 1)[0].lower() if ":" in pattern else "*"


def _by_service(identity: Sequence[_Statement]) -> dict[str, dict[str, Any]]:
    """The identity statements grouped by the service prefix of their action patterns (``*`` for every service and
    for ``NotAction``), Allow and Deny apart; ``AllActions`` when some Allow names the whole service."""
    services: dict[str, dict[str, Any]] = {}
    for statement in identity:
        patterns = statement.actions if statement.actions is not None else ("*",)
        for service in sorted({_service_of(p) for p in patterns}):
            bucket = services.setdefault(service, {"Service": service, "Allow": [], "Deny": []})
            entry: dict[str, Any] = {}
            if statement.actions is not None:
                entry["Actions"] = [p for p in statement.actions if _service_of(p) in {service, "*"}]
            else:
                entry["NotActions"] = list(statement.not_actions or ())
            entry.update(statement.where())
            entry["Source"] = statement.source
            bucket["Allow" if statement.effect == "Allow" else "Deny"].append(entry)
    for service, bucket in services.items():
        whole = [a for a in bucket["Allow"] if any(p.split(":", 1)[-1] == "*" for p in a.get("Actions", []))]
        bucket["AllActions"] = bool(bucket["Allow"]) if service == "*" else bool(whole)
    return services


def what_can(
    store: ServiceBase,
    *,
    PrincipalArn: str,
    At: str | int | datetime | None = None,
) -> dict[str, Any]:
    """What ``PrincipalArn`` (a user, group, role or role session) could do at ``At`` (default now), by service: the
    allowed action patterns with their resources and conditions, the denies, and for ``iam`` and ``sts`` the
    operations they expand to (a pattern's operations less those an unconditional ``Deny`` on every resource removes,
    and less those the permissions boundary or session policies do not allow)."""
    account_id = store.current_account_id()
    _authorize(store, "SimulatePrincipalPolicy", {"PolicySourceArn": PrincipalArn}, account_id)
    with _reading(store, At) as (conn, moment):
        subject = resolve_subject(store, conn, account_id, PrincipalArn, moment)
        identity: list[_Statement] = []
        limits: list[list[_Statement]] = []
        for policy in subject.policies:
            statements = _statements(policy.document, _source_of(policy))
            if policy.role == "identity":
                identity += statements
            else:
                limits.append(statements)
        if subject.session_policies is not None:
            limits.append([s for text, source in subject.session_documents for s in _statements(text, source)])
        services = _by_service(identity)
        for service in _EXPANDED_SERVICES:
            expanded = _expand(service, identity, limits)
            if expanded:
                bucket = services.setdefault(
                    service, {"Service": service, "Allow": [], "Deny": [], "AllActions": False}
                )
                bucket["AllowedActions"] = expanded
        ordered = [services[k] for k in sorted(services, key=lambda s: (s != "*", s))]
        return {
            "PrincipalArn": subject.arn,
            "Type": subject.kind,
            "AsOf": describe_moment(moment),
            "PermissionsBoundary": next((p.policy_arn for p in subject.policies if p.role == "boundary"), None),
            "HasSessionPolicies": subject.session_policies is not None,
            "Services": ordered,
        }


def _expand(
    service: str, identity: Sequence[_Statement], limits: Sequence[Sequence[_Statement]]
) -> list[dict[str, Any]]:
    """The operations of ``service`` some Allow covers, each with the resources allowed and whether only under
    conditions; an unconditional Deny on ``*`` removes an operation, a boundary or session policy without an
    Allow covering it too."""
    out = []
    for action in _service_actions(service):
        allows = [s for s in identity if s.effect == "Allow" and s.covers(action)]
        if not allows:
            continue
        if any(
            s.effect == "Deny" and s.covers(action) and not s.condition_keys and s.resources == ("*",) for s in identity
        ):
            continue
        if any(not any(s.effect == "Allow" and s.covers(action) for s in limit) for limit in limits):
            continue
        resources = sorted({r for s in allows for r in (s.resources or ("NotResource",))})
        denied = [s for s in identity if s.effect == "Deny" and s.covers(action)]
        item: dict[str, Any] = {"Action": action, "Resources": resources}
        item["Conditional"] = all(s.condition_keys for s in allows)
        if denied:
            item["PartlyDenied"] = True
        out.append(item)
    return out
