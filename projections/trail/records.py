"""The audit trail's vocabulary: CloudTrail's constants and resource types, the records (:class:`TrailRecord`), what the
replay knows of an entity or a session, and the small helpers of the renderer.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from iamledger.domain.arns import iam_arn, policy_arn_parts

EVENT_VERSION: Final = "1.08"


REGION: Final = "us-east-1"


IAM: Final = "iam.amazonaws.com"


STS: Final = "sts.amazonaws.com"


ORGANIZATIONS: Final = "organizations.amazonaws.com"


IMPORT: Final = "iamledger.import"  # an import of authorization details: iamledger's own, no AWS service


SIGNIN: Final = "signin.amazonaws.com"


POSITION_KEY: Final = "iamledgerPosition"


SECURITY_POSITION_KEY: Final = "iamledgerSecurityPosition"


MAX_RESULTS: Final = 50


BATCH: Final = 1000


NAMESPACE: Final = uuid.UUID("0b6d1a8e-7c3f-5d21-9e4a-3f2b1c0d9e8f")


LOOKUP_KEYS: Final = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)


USER: Final = "AWS::IAM::User"


GROUP: Final = "AWS::IAM::Group"


ROLE: Final = "AWS::IAM::Role"


POLICY: Final = "AWS::IAM::Policy"


ACCESS_KEY: Final = "AWS::IAM::AccessKey"


INSTANCE_PROFILE: Final = "AWS::IAM::InstanceProfile"


ASSUMED_ROLE: Final = "AWS::STS::AssumedRole"


ACCOUNT: Final = "AWS::Organizations::Account"


ACCOUNT_ALIAS: Final = "AWS::IAM::AccountAlias"


RESOURCE_TYPES: Final = {
    "user": USER,
    "group": GROUP,
    "role": ROLE,
    "policy": POLICY,
    "instance-profile": INSTANCE_PROFILE,
    "oidc-provider": "AWS::IAM::OIDCProvider",
    "saml-provider": "AWS::IAM::SAMLProvider",
}


SUFFIXES: Final = {
    "user": "User",
    "group": "Group",
    "role": "Role",
    "policy": "Policy",
    "instance-profile": "InstanceProfile",
    "oidc-provider": "OpenIDConnectProvider",
    "saml-provider": "SAMLProvider",
}


NAME_PARAMS: Final = {
    "user": "userName",
    "group": "groupName",
    "role": "roleName",
    "policy": "policyArn",
    "instance-profile": "instanceProfileName",
    "oidc-provider": "openIDConnectProviderArn",
    "saml-provider": "sAMLProviderArn",
}


NAMED_BY_ARN: Final = frozenset({"policy", "oidc-provider", "saml-provider"})  # kinds whose parameters are ARNs


# Request parameters that name an entity, as a failed attempt records them: (parameter, kind).
PARAM_RESOURCES: Final = (
    ("UserName", "user"),
    ("NewUserName", "user"),
    ("GroupName", "group"),
    ("NewGroupName", "group"),
    ("RoleName", "role"),
    ("InstanceProfileName", "instance-profile"),
    ("PolicyArn", "policy"),
    ("PermissionsBoundary", "policy"),
    ("OpenIDConnectProviderArn", "oidc-provider"),
    ("SAMLProviderArn", "saml-provider"),
)


_BASE_FIELDS: Final = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "access_key_id",
        "source_ip",
        "user_agent",
        "request_id",
    }
)


_NO_PARAMS: Final = frozenset({"ChangePassword", "DeleteAccountPasswordPolicy"})


def iso(moment: datetime) -> str:
    """A time as CloudTrail writes ``eventTime``: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def camel(name: str) -> str:
    """``UserName`` or ``user_name`` as CloudTrail names a request parameter: ``userName``."""
    if "_" in name:
        head, *rest = name.split("_")
        return head + "".join(part[:1].upper() + part[1:] for part in rest)
    return name[:1].lower() + name[1:]


def camel_keys(value: Any) -> Any:
    """``value`` with every mapping key in CloudTrail's camelCase (``Tags: [{Key, Value}]`` -> ``tags: [{key,
    value}]``)."""
    if isinstance(value, Mapping):
        return {camel(str(k)): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camel_keys(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    return value


def _tags(tags: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t.get("Value", "")} for t in tags]


def _payload(event: Any) -> dict[str, Any]:
    """An event's own fields (not the audit fields nor eventsourcing's)."""
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name not in _BASE_FIELDS}


def _drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != []}


def _account_of(arn: str | None) -> str | None:
    if not arn or not arn.startswith("arn:"):
        return None
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None  # noqa: PLR2004


@dataclass(frozen=True)
class Resource:
    """A resource a record touches: CloudTrail's ``ResourceType`` and ``ResourceName``, and the other names it is
    found by (its name and its ARN)."""

    type: str
    name: str
    aliases: frozenset[str] = frozenset()

    def matches(self, value: str) -> bool:
        """Whether ``value`` names this resource."""
        return value == self.name or value in self.aliases

    def shape(self) -> dict[str, str]:
        """As ``LookupEvents`` lists it."""
        return {"ResourceType": self.type, "ResourceName": self.name}


def resource_of_arn(arn: str) -> Resource | None:
    """The resource an IAM or STS ARN names (``None`` for ``*`` or an ARN of another service)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] not in {"iam", "sts"}:  # noqa: PLR2004
        return None
    resource = parts[5]
    name = resource.rsplit("/", 1)[-1]
    if parts[2] == "sts" and resource.startswith("assumed-role/"):
        return Resource(ASSUMED_ROLE, arn, frozenset({arn, resource.split("/")[1]}))
    for kind, type_ in RESOURCE_TYPES.items():
        if resource.startswith(f"{kind}/"):
            display = arn if kind in NAMED_BY_ARN else name
            return Resource(type_, display, frozenset({name, arn}))
    return None


@dataclass
class _Entity:
    kind: str
    account_id: str
    name: str
    path: str = "/"
    unique_id: str | None = None

    @property
    def arn(self) -> str:
        if self.kind == "account":
            return f"arn:aws:iam::{self.account_id}:root"
        if self.kind == "role-session":
            return self.path
        return iam_arn(self.account_id, self.kind, self.path, self.name)

    def resource(self) -> Resource:
        arn = self.arn
        display = arn if self.kind in NAMED_BY_ARN else self.name
        return Resource(RESOURCE_TYPES[self.kind], display, frozenset({self.name, arn}))

    def param(self) -> tuple[str, str]:
        return NAME_PARAMS[self.kind], (self.arn if self.kind in NAMED_BY_ARN else self.name)


@dataclass(frozen=True)
class _Session:
    arn: str
    account_id: str
    role_id: str
    role_arn: str
    role_name: str
    session_name: str
    issued_at: datetime
    source_identity: str | None


@dataclass(frozen=True)
class _UserSession:
    principal_arn: str
    created: datetime
    mfa: bool


@dataclass
class _Fact:
    """What one event says about the call that caused it."""

    position: int
    event: Any
    operation: str
    source: str = IAM
    primary: bool = True
    joins: tuple[str, ...] = ()
    params: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    resources: list[Resource] = field(default_factory=list)
    entities: set[uuid.UUID] = field(default_factory=set)
    key_ids: set[str] = field(default_factory=set)
    account: str | None = None


def _joins(fact: _Fact, operation: str) -> bool:
    return any(operation.startswith(j[:-1]) if j.endswith("*") else operation == j for j in fact.joins)


@dataclass
class TrailRecord:
    """One CloudTrail record and what lookups filter it on."""

    record: dict[str, Any]
    time: datetime
    order: tuple[datetime, int, int]
    username: str
    resources: list[Resource]
    access_key_ids: set[str]
    entities: set[uuid.UUID]
    accounts: set[str]

    @property
    def event_id(self) -> str:
        """The record's ``eventID``."""
        return str(self.record["eventID"])

    def lookup_shape(self) -> dict[str, Any]:
        """The record as an element of ``LookupEvents``' ``Events``."""
        shape: dict[str, Any] = {
            "EventId": self.record["eventID"],
            "EventName": self.record["eventName"],
            "ReadOnly": "true" if self.record["readOnly"] else "false",
        }
        key = self.record["userIdentity"].get("accessKeyId")
        if key:
            shape["AccessKeyId"] = key
        shape |= {
            "EventTime": _second(self.time),
            "EventSource": self.record["eventSource"],
            "Username": self.username,
            "Resources": [r.shape() for r in self.resources],
            "CloudTrailEvent": json.dumps(self.record, ensure_ascii=False),
        }
        return shape


def _policy_resource(arn: str) -> Resource:
    parts = policy_arn_parts(arn)
    name = parts[2] if parts else arn
    return Resource(POLICY, arn, frozenset({arn, name}))


def _param_resources(params: Mapping[str, Any], account_id: str) -> list[Resource]:
    """The entities the request parameters of a failed attempt name."""
    found: list[Resource] = []
    for param, kind in PARAM_RESOURCES:
        value = params.get(param)
        if not isinstance(value, str) or not value:
            continue
        if kind == "policy":
            found.append(_policy_resource(value))
        elif kind in NAMED_BY_ARN:
            found.append(Resource(RESOURCE_TYPES[kind], value, frozenset({value})))
        else:
            path = params.get("Path") if param in {"UserName", "GroupName", "RoleName", "InstanceProfileName"} else None
            arn = iam_arn(account_id, kind, str(path or "/"), value) if account_id else value
            found.append(Resource(RESOURCE_TYPES[kind], value, frozenset({value, arn})))
    key = params.get("AccessKeyId")
    if isinstance(key, str) and key:
        found.append(Resource(ACCESS_KEY, key, frozenset({key})))
    return found
