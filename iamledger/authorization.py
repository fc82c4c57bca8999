"""What each operation asks permission for: the action (``iam:CreateUser``), the resource ARN AWS checks it on
(``arn:aws:iam::ACCOUNT:user/PATH/NAME``) and the condition keys the request supplies; and AWS's text for a denial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from iamledger.domain.errors import AccessDeniedError, IdentityStoreError, TranslatedError, ValidationError
from iamledger.domain.policy import Decision, EvalDecision, PolicyRole

# Entity parameters, in the order they name the resource when several are given: group membership is checked on
# the group, an instance profile's roles on the instance profile.
ENTITY_PARAMS: Final = (
    ("InstanceProfileName", "instance-profile"),
    ("GroupName", "group"),
    ("RoleName", "role"),
    ("UserName", "user"),
    ("ServerCertificateName", "server-certificate"),
)
LIST_RESOURCES: Final = {
    "ListUsers": "user",
    "ListGroups": "group",
    "ListRoles": "role",
    "ListInstanceProfiles": "instance-profile",
    "ListPolicies": "policy",
    "ListServerCertificates": "server-certificate",
    "ListVirtualMFADevices": "mfa",
}
# Operations that create a resource named by a parameter and an optional Path: (kind, name parameter).
CREATED_WITH_PATH: Final = {
    "CreateVirtualMFADevice": ("mfa", "VirtualMFADeviceName"),
    "UploadServerCertificate": ("server-certificate", "ServerCertificateName"),
}
# Operations on the calling user when no UserName is given.
SELF_SERVICE: Final = frozenset(
    {
        "GetUser",
        "CreateAccessKey",
        "ListAccessKeys",
        "UpdateAccessKey",
        "DeleteAccessKey",
        "ChangePassword",
        "ListMFADevices",
        "DeactivateMFADevice",
        "ListSSHPublicKeys",
        "UploadSigningCertificate",
        "ListSigningCertificates",
        "UpdateSigningCertificate",
        "DeleteSigningCertificate",
        "GetMFADevice",
        "ListServiceSpecificCredentials",
        "ResetServiceSpecificCredential",
        "UpdateServiceSpecificCredential",
        "DeleteServiceSpecificCredential",
    }
)
# Operations that need no permission at all.
UNCHECKED: Final = frozenset(
    {"GetCallerIdentity", "GetSessionToken", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"}
)  # the federation operations are unsigned: the role's trust policy decides them
# What temporary credentials may call depends on how they were obtained, whatever their policies allow (IAM User
# Guide, "Compare AWS STS credentials"): GetSessionToken's call IAM only when the request that made them carried MFA,
# and of STS only AssumeRole and GetCallerIdentity; GetFederationToken's call no IAM operation and of STS only
# GetCallerIdentity; a role session's call neither GetSessionToken nor GetFederationToken. The unsigned federation
# operations have no caller credentials to restrict.
STS_FOR_SESSION_TOKENS: Final = frozenset({"AssumeRole", "GetCallerIdentity"})
STS_FOR_FEDERATION_TOKENS: Final = frozenset({"GetCallerIdentity"})
STS_NOT_FOR_ROLE_SESSIONS: Final = frozenset({"GetSessionToken", "GetFederationToken"})
UNSIGNED_OPERATIONS: Final = frozenset({"AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"})
# AWS's text for IAM refusing these credentials; IAM sends it without the final full stop it has for unknown keys.
INVALID_SESSION_TOKEN: Final = "The security token included in the request is invalid"  # noqa: S105 - a message
# Identity providers are named by ARN; their Create operations by the ARN they will have.
PROVIDER_ARN_PARAMS: Final = ("OpenIDConnectProviderArn", "SAMLProviderArn")

PathLookup = Callable[[str, str], str | None]


@dataclass(frozen=True)
class Permission:
    """One permission a request needs."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    resource_tags_of: tuple[str, str] | None = None  # (kind, name) of the entity whose tags are aws:ResourceTag


def permissions(
    service: str, operation: str, params: Mapping[str, Any], account_id: str, caller_arn: str, path_of: PathLookup
) -> list[Permission]:
    """The permissions ``operation`` with ``params`` needs in ``account_id`` (none for the unchecked ones)."""
    if operation in UNCHECKED:
        return []
    action = f"{service}:{operation}"
    context = _request_keys(params)
    resource, target = _resource(operation, params, account_id, caller_arn, path_of)
    needed = [Permission(action, resource, context, target)]
    if operation == "AddRoleToInstanceProfile":
        role = str(params["RoleName"])
        role_arn = _entity_arn(account_id, "role", role, path_of)
        needed.append(Permission("iam:PassRole", role_arn, {"iam:PassedToService": "ec2.amazonaws.com"}))
    return needed


def _entity_arn(account_id: str, kind: str, name: str, path_of: PathLookup) -> str:
    path = path_of(kind, name) or "/"
    return f"arn:aws:iam::{account_id}:{kind}{path}{name}"


def _service_role_resource(operation: str, params: Mapping[str, Any], account_id: str) -> str | None:
    """The resource of the service-linked role operations and of GetFederationToken; ``None`` for others."""
    from iamledger.domain.roles import service_linked_role_name

    if operation == "CreateServiceLinkedRole":
        service = str(params["AWSServiceName"])
        role_name = service_linked_role_name(service, params.get("CustomSuffix"))
        return f"arn:aws:iam::{account_id}:role/aws-service-role/{service}/{role_name}"
    if operation == "GetServiceLinkedRoleDeletionStatus":
        parts = str(params["DeletionTaskId"]).split("/")
        if len(parts) == 5 and parts[0] == "task" and parts[1] == "aws-service-role":  # noqa: PLR2004
            return f"arn:aws:iam::{account_id}:role/aws-service-role/{parts[2]}/{parts[3]}"
        return "*"
    if operation == "GetFederationToken":
        return f"arn:aws:sts::{account_id}:federated-user/{params['Name']}"
    return None


def _resource(  # noqa: C901, PLR0911 - one return per kind of resource
    operation: str, params: Mapping[str, Any], account_id: str, caller_arn: str, path_of: PathLookup
) -> tuple[str, tuple[str, str] | None]:
    if operation in LIST_RESOURCES:
        return f"arn:aws:iam::{account_id}:{LIST_RESOURCES[operation]}{params.get('PathPrefix') or '/'}", None
    special = _provider_resource(operation, params, account_id) or _service_role_resource(operation, params, account_id)
    if special is not None:
        return special, None
    if operation == "CreatePolicy":
        return f"arn:aws:iam::{account_id}:policy{params.get('Path') or '/'}{params['PolicyName']}", None
    if operation in CREATED_WITH_PATH:
        kind, name_param = CREATED_WITH_PATH[operation]
        return f"arn:aws:iam::{account_id}:{kind}{params.get('Path') or '/'}{params[name_param]}", None
    for param, kind in ENTITY_PARAMS:
        name = params.get(param)
        if name:
            if operation.startswith("Create") and operation.endswith(("User", "Group", "Role", "InstanceProfile")):
                return f"arn:aws:iam::{account_id}:{kind}{params.get('Path') or '/'}{name}", None
            return _entity_arn(account_id, kind, str(name), path_of), (kind, str(name))
    for param in ("PolicyArn", "PolicySourceArn", "Arn"):  # Arn: ListPoliciesGrantingServiceAccess's principal
        if params.get(param):
            return str(params[param]), None
    if operation == "ListServiceSpecificCredentials" and params.get("AllUsers"):
        return f"arn:aws:iam::{account_id}:user/*", None
    if operation in SELF_SERVICE and ":user/" in caller_arn:
        return caller_arn, None
    if params.get("SerialNumber"):  # a virtual MFA device's ARN
        return str(params["SerialNumber"]), None
    return "*", None


def _provider_resource(operation: str, params: Mapping[str, Any], account_id: str) -> str | None:
    """The identity provider an operation acts on (the one it creates, for the Create operations), or ``None``."""
    if operation == "CreateOpenIDConnectProvider":
        return _oidc_create_arn(account_id, str(params.get("Url", "")))
    if operation == "CreateSAMLProvider":
        return f"arn:aws:iam::{account_id}:saml-provider/{params.get('Name', '')}"
    return next((str(params[p]) for p in PROVIDER_ARN_PARAMS if params.get(p)), None)


def _oidc_create_arn(account_id: str, url: str) -> str:
    """The ARN CreateOpenIDConnectProvider would give ``url`` (``*`` for a URL it refuses)."""
    from iamledger.domain.federation import oidc_provider_name

    try:
        return f"arn:aws:iam::{account_id}:oidc-provider/{oidc_provider_name(url)}"
    except ValidationError:
        return "*"


def _request_keys(params: Mapping[str, Any]) -> dict[str, Any]:
    """Condition keys the request itself supplies (aws:RequestTag/*, aws:TagKeys, iam:PolicyARN, ...)."""
    keys: dict[str, Any] = {}
    tags = params.get("Tags")
    if tags:
        for tag in tags:
            keys[f"aws:RequestTag/{tag['Key']}"] = tag.get("Value", "")
        keys["aws:TagKeys"] = [tag["Key"] for tag in tags]
    if params.get("TagKeys"):
        keys["aws:TagKeys"] = list(params["TagKeys"])
    if params.get("PolicyArn"):
        keys["iam:PolicyARN"] = params["PolicyArn"]
    if params.get("AWSServiceName"):
        keys["iam:AWSServiceName"] = params["AWSServiceName"]
    if params.get("PermissionsBoundary"):
        keys["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
    return keys


class TemporaryCredentials(StrEnum):
    """How the temporary credentials of a request were obtained (the kinds AWS restricts)."""

    SESSION_TOKEN = "GetSessionToken"  # noqa: S105 - the operation's name, not a secret
    SESSION_TOKEN_WITH_MFA = "GetSessionToken with MFA"  # noqa: S105 - likewise
    FEDERATION_TOKEN = "GetFederationToken"  # noqa: S105 - likewise
    ROLE_SESSION = "AssumeRole"


def temporary_credentials_of(actor: str) -> TemporaryCredentials | None:
    """The kind of temporary credentials an ``arn:aws:sts::`` actor holds, by its ARN alone: a federated user's
    come from GetFederationToken, a role session's from AssumeRole (and its federated variants)."""
    resource = actor.split(":", 5)[-1]
    if resource.startswith("federated-user/"):
        return TemporaryCredentials.FEDERATION_TOKEN
    if resource.startswith("assumed-role/"):
        return TemporaryCredentials.ROLE_SESSION
    return None


def credentials_refusal(
    credentials: TemporaryCredentials, service: str, operation: str, caller_arn: str, params: Mapping[str, Any]
) -> IdentityStoreError | None:
    """AWS's refusal of ``operation`` of ``service`` to temporary ``credentials`` of that kind, or ``None`` when
    they may call it (their policies then decide). IAM refuses with ``InvalidClientTokenId``, STS with
    ``AccessDenied``; an ``AssumeRole`` refusal has the text of any other (it does not say why)."""
    if operation in UNSIGNED_OPERATIONS:
        return None
    if service == "iam":
        if credentials in {TemporaryCredentials.SESSION_TOKEN, TemporaryCredentials.FEDERATION_TOKEN}:
            return TranslatedError("InvalidClientTokenId", INVALID_SESSION_TOKEN, 403, sender_fault=True)
        return None
    if service != "sts":
        return None
    if credentials is TemporaryCredentials.ROLE_SESSION:
        allowed = operation not in STS_NOT_FOR_ROLE_SESSIONS
    elif credentials is TemporaryCredentials.FEDERATION_TOKEN:
        allowed = operation in STS_FOR_FEDERATION_TOKENS
    else:
        allowed = operation in STS_FOR_SESSION_TOKENS
    if allowed:
        return None
    if operation == "AssumeRole":
        message = (
            f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {params.get('RoleArn')}"
        )
    else:
        message = f"Cannot call {operation} with session credentials"
    return AccessDeniedError(message)


_PLACES: Final = {
    PolicyRole.IDENTITY: "an identity-based policy",
    PolicyRole.BOUNDARY: "a permissions boundary",
    PolicyRole.SESSION: "a session policy",
    PolicyRole.RESOURCE: "a resource-based policy",
}


def denial_message(caller_arn: str, action: str, resource: str, decision: Decision, *, missing: str) -> str:
    """AWS's ``AccessDenied`` text: who may not do what on which resource, and why. ``missing`` names the layer
    that lacked an allow for an implicit deny: ``identity``, ``boundary`` or ``session``."""
    head = f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource}"
    if decision.decision is EvalDecision.EXPLICIT_DENY:
        roles = [s.role for s in decision.matched_statements]
        place = _PLACES.get(roles[0], "an identity-based policy") if roles else "an identity-based policy"
        return f"{head} with an explicit deny in {place}"
    layer = {"boundary": "permissions boundary", "session": "session policy"}.get(missing, "identity-based policy")
    return f"{head} because no {layer} allows the {action} action"
