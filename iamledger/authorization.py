"""What each operation asks permission for: the action (``iam:CreateUser``), the resource ARN AWS checks it on
(``arn:aws:iam::ACCOUNT:user/PATH/NAME``) and the condition keys the request supplies; and AWS's text for a denial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from iamledger.domain.errors import ValidationError
from iamledger.domain.federation import oidc_provider_name
from iamledger.domain.policy import Decision, EvalDecision, PolicyRole
from iamledger.domain.roles import service_linked_role_name

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
    }
)
# Operations that need no permission at all.
UNCHECKED: Final = frozenset(
    {"GetCallerIdentity", "GetSessionToken", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"}
)  # the federation operations are unsigned: the role's trust policy decides them
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
    for param in ("PolicyArn", "PolicySourceArn"):
        if params.get(param):
            return str(params[param]), None
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
