"""Reading an ``aws iam get-account-authorization-details`` dump: one response, several pages merged or as a list of
pages; documents as parsed JSON (boto3, the aws CLI) or as the URL-encoded text of the raw API.

Everything is checked before anything is written: a bad file is refused with ``MalformedAuthorizationDetails`` naming
the JSON path of the first problem (``$.UserDetailList[3].CreateDate: ...``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote

from iamledger.domain.arns import is_aws_managed_policy_arn
from iamledger.domain.errors import IdentityStoreError, TranslatedError
from iamledger.domain.policy import PolicyKind, check_document
from iamledger.domain.policy.errors import PolicyError

LIST_KEYS: Final = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
# Members of a page that are not entities: paging, and what `--query`-less CLI output may add.
PAGE_KEYS: Final = frozenset({*LIST_KEYS, "IsTruncated", "Marker", "NextToken", "ResponseMetadata"})
ERROR_CODE: Final = "MalformedAuthorizationDetails"
NAME: Final = re.compile(r"^[\w+=,.@-]{1,128}$")
PATH: Final = re.compile(r"^(/|/[\x21-\x7e]+/)$")
VERSION_ID: Final = re.compile(r"^v[1-9][0-9]*$")
ARN: Final = re.compile(r"^arn:aws:iam::(\d{12}|aws):(user|group|role|policy|instance-profile)(/.*)$")


def malformed(path: str, problem: str) -> IdentityStoreError:
    """The import's error: ``path`` is a JSON path into the file (``$.Policies[2].PolicyVersionList[0]``)."""
    return TranslatedError(ERROR_CODE, f"{path}: {problem}", 400, sender_fault=True)


@dataclass(slots=True)
class Principal:
    """What users, groups and roles share: identity, dates, inline and attached policies."""

    kind: str  # user | group | role
    account_id: str
    name: str
    entity_id: str  # UserId, GroupId, RoleId: kept as given, AWS's format or not
    path: str
    arn: str
    create_date: datetime
    inline: dict[str, str] = field(default_factory=dict)  # name -> document (JSON text)
    attached: list[str] = field(default_factory=list)  # policy ARNs, in the file's order
    boundary: str | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class DumpUser(Principal):
    groups: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DumpInstanceProfile:
    account_id: str
    name: str
    profile_id: str
    path: str
    arn: str
    create_date: datetime
    tags: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class DumpRole(Principal):
    trust_policy: str = ""
    description: str | None = None
    max_session_duration: int | None = None
    instance_profiles: list[DumpInstanceProfile] = field(default_factory=list)
    last_used: tuple[datetime, str] | None = None  # RoleLastUsed: when and in which region


@dataclass(frozen=True, slots=True)
class DumpVersion:
    version_id: str
    document: str
    create_date: datetime
    is_default: bool


@dataclass(slots=True)
class DumpPolicy:
    account_id: str  # "aws" for an AWS managed policy
    name: str
    policy_id: str
    path: str
    arn: str
    default_version_id: str
    create_date: datetime
    update_date: datetime
    description: str | None
    versions: list[DumpVersion]  # ascending by version number

    @property
    def aws_managed(self) -> bool:
        return is_aws_managed_policy_arn(self.arn)

    @property
    def default_document(self) -> str:
        return next(v.document for v in self.versions if v.version_id == self.default_version_id)


@dataclass(slots=True)
class Dump:
    """An account's authorization details, checked (a file may hold several accounts' entities)."""

    account_ids: list[str]
    users: list[DumpUser]
    groups: list[Principal]
    roles: list[DumpRole]
    policies: list[DumpPolicy]  # customer managed ones and AWS managed ones, as given

    def counts(self) -> dict[str, int]:
        return {
            "Users": len(self.users),
            "Groups": len(self.groups),
            "Roles": len(self.roles),
            "Policies": sum(1 for p in self.policies if not p.aws_managed),
            "AWSManagedPolicies": sum(1 for p in self.policies if p.aws_managed),
        }


class _Reader:
    """Typed access to one JSON object, naming the path of whatever is wrong."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise malformed(path, f"expected an object, found {_kind(value)}")
        self.value: dict[str, Any] = value
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def text(self, key: str, *, optional: bool = False) -> Any:
        value = self.value.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise malformed(self.at(key), "expected a string" if key in self.value else "missing")
        return value

    def name(self, key: str) -> str:
        value: str = self.text(key)
        if not NAME.match(value):
            raise malformed(self.at(key), f"{value!r} is not a valid IAM name")
        return value

    def iam_path(self, key: str) -> str:
        value: str = self.text(key, optional=True) or "/"
        if not PATH.match(value) or "//" in value:
            raise malformed(self.at(key), f"{value!r} is not a valid IAM path")
        return value

    def date(self, key: str, *, optional: bool = False) -> Any:
        value = self.value.get(key)
        if value is None and optional:
            return None
        try:
            if isinstance(value, str):
                moment = datetime.fromisoformat(value)
                return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, UTC)
        except (ValueError, OverflowError, OSError):  # not a time, or one before year 1 or after 9999
            pass
        raise malformed(self.at(key), "expected a time (ISO 8601 or epoch seconds)" if key in self.value else "missing")

    def array(self, key: str) -> list[Any]:
        value = self.value.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            raise malformed(self.at(key), f"expected a list, found {_kind(value)}")
        return value

    def items(self, key: str) -> Iterator[_Reader]:
        for index, item in enumerate(self.array(key)):
            yield _Reader(item, f"{self.at(key)}[{index}]")

    def document(self, key: str, kind: PolicyKind) -> str:
        value = self.value.get(key)
        path = self.at(key)
        if isinstance(value, str):
            text = value.strip()
            if text.startswith(("%7B", "%7b")):
                text = unquote(text)  # the raw Query API's URL-encoded JSON
        elif isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            raise malformed(path, "expected a policy document" if key in self.value else "missing")
        if (text, kind) not in _CHECKED:  # a dump repeats documents (the same inline policy on many principals)
            try:
                check_document(
                    text, kind
                )  # AWS accepted it, so no size limit: only that it is a policy IAM understands
            except PolicyError as error:
                raise malformed(path, f"{error.code}: {error.message}") from None
            if len(_CHECKED) >= _CHECKED_MAX:
                _CHECKED.clear()
            _CHECKED.add((text, kind))
        return text

    def tags(self, key: str = "Tags") -> list[tuple[str, str]]:
        return [(tag.text("Key"), tag.text("Value")) for tag in self.items(key)]


# Documents already found valid, by text and kind (bounded: a cache, not a record).
_CHECKED: set[tuple[str, PolicyKind]] = set()
_CHECKED_MAX: Final = 10_000


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _pages(document: Any) -> list[_Reader]:
    if isinstance(document, list):
        if not document:
            raise malformed("$", "an empty list of pages")
        return [_Reader(page, f"$[{index}]") for index, page in enumerate(document)]
    return [_Reader(document, "$")]


def _arn(reader: _Reader, key: str, kind: str, path: str, name: str, accounts: set[str]) -> tuple[str, str]:
    """The ARN at ``key`` checked against the entity's kind, path and name, and the account it names."""
    arn: str = reader.text(key)
    match = ARN.match(arn)
    if match is None or match.group(2) != kind:
        raise malformed(reader.at(key), f"{arn!r} is not the ARN of an IAM {kind}")
    if match.group(3) != f"{path}{name}":
        raise malformed(reader.at(key), f"{arn!r} does not match the path {path!r} and name {name!r}")
    if match.group(1) != "aws":
        accounts.add(match.group(1))
    return arn, match.group(1)


def _principal(reader: _Reader, kind: str, accounts: set[str], cls: type[Principal]) -> Any:
    title = kind.capitalize()
    name = reader.name(f"{title}Name")
    path = reader.iam_path("Path")
    arn, account_id = _arn(reader, "Arn", kind, path, name, accounts)
    if account_id == "aws":
        raise malformed(reader.at("Arn"), f"{arn!r} is not in a customer account")
    principal = cls(
        kind=kind,
        account_id=account_id,
        name=name,
        entity_id=reader.text(f"{title}Id"),
        path=path,
        arn=arn,
        create_date=reader.date("CreateDate"),
    )
    for inline in reader.items(f"{title}PolicyList"):
        policy_name = inline.name("PolicyName")
        if policy_name in principal.inline:
            raise malformed(inline.at("PolicyName"), f"the inline policy {policy_name!r} appears twice")
        principal.inline[policy_name] = inline.document("PolicyDocument", PolicyKind.IDENTITY)
    for attached in reader.items("AttachedManagedPolicies"):
        arn = attached.text("PolicyArn")
        if not ARN.match(arn) or ":policy/" not in arn:
            raise malformed(attached.at("PolicyArn"), f"{arn!r} is not the ARN of a managed policy")
        if arn not in principal.attached:
            principal.attached.append(arn)
    boundary = reader.value.get("PermissionsBoundary")
    if boundary:
        principal.boundary = _Reader(boundary, reader.at("PermissionsBoundary")).text("PermissionsBoundaryArn")
    if kind != "group":
        principal.tags = reader.tags()
    return principal


def _role(reader: _Reader, accounts: set[str]) -> DumpRole:
    role: DumpRole = _principal(reader, "role", accounts, DumpRole)
    role.trust_policy = reader.document("AssumeRolePolicyDocument", PolicyKind.TRUST)
    role.description = reader.text("Description", optional=True)
    duration = reader.value.get("MaxSessionDuration")
    if duration is not None:
        if not isinstance(duration, int) or isinstance(duration, bool) or not 3600 <= duration <= 43200:  # noqa: PLR2004
            raise malformed(reader.at("MaxSessionDuration"), "expected seconds from 3600 to 43200")
        role.max_session_duration = duration
    last_used = reader.value.get("RoleLastUsed")
    if last_used:
        used = _Reader(last_used, reader.at("RoleLastUsed"))
        when = used.date("LastUsedDate", optional=True)
        if when is not None:
            role.last_used = (when, used.text("Region", optional=True) or "us-east-1")
    for profile in reader.items("InstanceProfileList"):
        name = profile.name("InstanceProfileName")
        path = profile.iam_path("Path")
        arn, account_id = _arn(profile, "Arn", "instance-profile", path, name, accounts)
        if account_id != role.account_id:
            raise malformed(profile.at("Arn"), f"{arn!r} is not in the role's account {role.account_id}")
        role.instance_profiles.append(
            DumpInstanceProfile(
                account_id=account_id,
                name=name,
                profile_id=profile.text("InstanceProfileId"),
                path=path,
                arn=arn,
                create_date=profile.date("CreateDate"),
                tags=profile.tags(),
            )
        )
    return role


def _policy(reader: _Reader, accounts: set[str]) -> DumpPolicy:
    name = reader.name("PolicyName")
    path = reader.iam_path("Path")
    arn, account_id = _arn(reader, "Arn", "policy", path, name, accounts)
    default = reader.text("DefaultVersionId")
    versions = []
    for version in reader.items("PolicyVersionList"):
        version_id = version.text("VersionId")
        if not VERSION_ID.match(version_id):
            raise malformed(version.at("VersionId"), f"{version_id!r} is not a policy version id (v1, v2, ...)")
        versions.append(
            DumpVersion(
                version_id=version_id,
                document=version.document("Document", PolicyKind.IDENTITY),
                create_date=version.date("CreateDate", optional=True) or reader.date("CreateDate"),
                is_default=bool(version.value.get("IsDefaultVersion", version_id == default)),
            )
        )
    ids = [v.version_id for v in versions]
    if len(set(ids)) != len(ids):
        raise malformed(reader.at("PolicyVersionList"), "a version id appears twice")
    if default not in ids:
        raise malformed(reader.at("DefaultVersionId"), f"{default!r} is not in PolicyVersionList")
    versions.sort(key=lambda v: int(v.version_id[1:]))
    return DumpPolicy(
        account_id=account_id,
        name=name,
        policy_id=reader.text("PolicyId"),
        path=path,
        arn=arn,
        default_version_id=default,
        create_date=reader.date("CreateDate"),
        update_date=reader.date("UpdateDate", optional=True) or reader.date("CreateDate"),
        description=reader.text("Description", optional=True),
        versions=versions,
    )


@dataclass(slots=True)
class _Found:
    accounts: set[str] = field(default_factory=set)
    users: dict[tuple[str, str], DumpUser] = field(default_factory=dict)
    groups: dict[tuple[str, str], Principal] = field(default_factory=dict)
    roles: dict[tuple[str, str], DumpRole] = field(default_factory=dict)
    policies: dict[str, DumpPolicy] = field(default_factory=dict)
    group_lists: dict[str, str] = field(default_factory=dict)  # user ARN -> the JSON path of its GroupList


def _read_page(page: _Reader, found: _Found) -> None:
    unknown = sorted(set(page.value) - PAGE_KEYS)
    if unknown:
        raise malformed(page.at(unknown[0]), "not a member of GetAccountAuthorizationDetails's response")
    accounts = found.accounts
    for item in page.items("UserDetailList"):
        user: DumpUser = _principal(item, "user", accounts, DumpUser)
        user.groups = [str(g) for g in item.array("GroupList")]
        for index, group in enumerate(user.groups):
            if not NAME.match(group):
                raise malformed(f"{item.at('GroupList')}[{index}]", f"{group!r} is not a valid group name")
        _add(found.users, (user.account_id, user.name.lower()), user, item.at("UserName"))
        found.group_lists[user.arn] = item.at("GroupList")
    for item in page.items("GroupDetailList"):
        group_ = _principal(item, "group", accounts, Principal)
        _add(found.groups, (group_.account_id, group_.name.lower()), group_, item.at("GroupName"))
    for item in page.items("RoleDetailList"):
        role = _role(item, accounts)
        _add(found.roles, (role.account_id, role.name.lower()), role, item.at("RoleName"))
    for item in page.items("Policies"):
        policy = _policy(item, accounts)
        _add(found.policies, policy.arn, policy, item.at("Arn"))


def read_dump(document: Any) -> Dump:
    """Check a parsed dump and return it as a :class:`Dump`; ``MalformedAuthorizationDetails`` names the path of
    the first problem. Entities go to the accounts their ARNs name; a membership names a group of the user's
    account that the file holds."""
    found = _Found()
    for page in _pages(document):
        _read_page(page, found)
    if not found.accounts:
        raise malformed("$", "no user, group, role or customer managed policy names an account")
    for user in found.users.values():
        for group in user.groups:
            if (user.account_id, group.lower()) not in found.groups:
                raise malformed(found.group_lists[user.arn], f"the group {group!r} is not in the file")
    return Dump(
        account_ids=sorted(found.accounts),
        users=list(found.users.values()),
        groups=list(found.groups.values()),
        roles=list(found.roles.values()),
        policies=list(found.policies.values()),
    )


def _add(found: dict[Any, Any], key: Any, value: Any, path: str) -> None:
    if key in found:
        raise malformed(path, f"{value.arn!r} appears twice")
    found[key] = value
