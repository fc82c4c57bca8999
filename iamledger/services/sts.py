"""STS: AssumeRole, GetSessionToken, GetFederationToken, GetCallerIdentity and GetAccessKeyInfo.

AssumeRole is evaluated as AWS does: the role's trust policy is the resource-based policy of the request, and the
caller's own policies count as the evaluation logic requires (a same-account caller named in the trust policy needs
nothing more; a caller trusted through its account, or from another account, needs an identity allow too). A role
session's credentials are an ``ASIA`` key, a secret kept only in the vault, and a session token of which only a
digest is kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy import Connection

from iamledger.authorization import denial_message
from iamledger.domain.errors import AccessDeniedError, TranslatedError, ValidationError
from iamledger.domain.ids import new_access_key_id, new_secret_access_key, secret_fingerprint
from iamledger.domain.policy import (
    AppliedPolicy,
    PolicyKind,
    PolicySet,
    PolicySource,
    Request,
    evaluate,
    parse,
    policy_size,
    session_policy_limit,
)
from iamledger.projections.access.effective import managed_document
from iamledger.projections.views.access_keys import find_access_key
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.projections.views.roles import find_role_by_arn
from iamledger.projections.views.users import user_uuid_of_arn
from iamledger.services.base import ServiceBase
from iamledger.services.callers import Caller
from iamledger.services.mfa import seed_secret_id
from iamledger.services.operations import exchange, query

if TYPE_CHECKING:
    from iamledger.domain.mfa import VirtualMFADevice
    from iamledger.domain.sessions import RoleSession

DEFAULT_DURATION: Final = 3600
MAX_POLICY_ARNS: Final = 10
SESSION_TOKEN_BYTES: Final = 192
USER_SESSION_DEFAULT: Final = 43200
USER_SESSION_MAX: Final = 129600
ROOT_SESSION_MAX: Final = 3600
# The region a role's use is recorded in: STS's global endpoint (us-east-1), boto3's and the aws CLI's default.
ROLE_USE_REGION: Final = "us-east-1"
# AWS's refusals of GetSessionToken's MFA: a code that is not the device's, a device that is not the caller's.
MFA_INVALID_CODE: Final = "MultiFactorAuthentication failed with invalid MFA one time pass code."
MFA_UNKNOWN_DEVICE: Final = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and "
    "associated with this user."
)
KEY_ID_ACCOUNT_BYTES: Final = 6
KEY_ID_ACCOUNT_MASK: Final = 0x7FFFFFFFFF80
S = TypeVar("S", bound="RoleSession")


def new_session_token(minimum_size: int | None = None) -> str:
    """A session token: opaque, long, random (AWS's are several hundred base64 characters), at least
    ``minimum_size`` bytes long when asked (``MinimumSessionTokenSize``)."""
    size = max(SESSION_TOKEN_BYTES, -(-(minimum_size or 0) * 3 // 4))
    return base64.b64encode(secrets.token_bytes(size)).decode("ascii")


def token_digest(token: str) -> str:
    """What the store keeps of a session token: its SHA-256, enough to check a presented token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def account_of_key_id(access_key_id: str) -> str | None:
    """The account an AWS access key id encodes (keys issued since 2019: the base32 text after the 4-letter prefix
    holds the account number in bits 1..40 of its first six bytes); ``None`` when the id cannot be decoded."""
    body = access_key_id[4:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError):
        return None
    if len(raw) < KEY_ID_ACCOUNT_BYTES:
        return None
    number = (int.from_bytes(raw[:KEY_ID_ACCOUNT_BYTES], "big") & KEY_ID_ACCOUNT_MASK) >> 7
    return f"{number:012d}"


def new_role_session(
    session_class: type[S],
    role: Mapping[str, Any],
    caller_arn: str,
    session_name: str,
    now: datetime,
    duration: int,
    *,
    policy: str | None,
    policy_arns: list[dict[str, str]] | None,
    minimum_token_size: int | None,
    source_identity: str | None,
    tags: list[dict[str, str]] | None = None,
    transitive_tag_keys: list[str] | None = None,
    external_id: str | None = None,
    chained: bool = False,
    expiration_cap: datetime | None = None,
    **details: Any,
) -> tuple[S, str, str]:
    """A new session of ``role`` for ``caller_arn`` (not saved yet), issued ``now`` for ``duration`` seconds (or
    until ``expiration_cap``, if sooner), with its secret and session token. ``policy``, ``policy_arns``,
    ``minimum_token_size``, ``tags``, ``transitive_tag_keys`` and ``external_id`` are the request's ``Policy``,
    ``PolicyArns``, ``MinimumSessionTokenSize``, ``Tags``, ``TransitiveTagKeys`` and ``ExternalId`` (``None`` when
    not given); ``details`` are the further fields of a subclass's created event."""
    key_id = new_access_key_id(temporary=True)
    secret = new_secret_access_key()
    token = new_session_token(minimum_token_size)
    issued_at = now.replace(microsecond=0)
    expiration = issued_at + timedelta(seconds=duration)
    if expiration_cap is not None and expiration_cap < expiration:
        expiration = expiration_cap.replace(microsecond=0)
    session = session_class.assume(
        account_id=role["account_id"],
        role_uuid=role["entity_uuid"],
        role_arn=role["arn"],
        role_id=role["role_id"],
        role_name=role["role_name"],
        session_name=session_name,
        caller_arn=caller_arn,
        key_id=key_id,
        secret_fingerprint=secret_fingerprint(secret),
        session_token_digest=token_digest(token),
        issued_at=issued_at,
        expiration=expiration,
        duration_seconds=duration,
        session_policy=policy,
        policy_arns=[p["arn"] for p in policy_arns or []],
        source_identity=source_identity,
        tags=[{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags or []],
        transitive_tag_keys=list(transitive_tag_keys or []),
        chained=chained,
        external_id_given=external_id is not None,
        **details,
    )
    return session, secret, token


def check_session_policies(
    conn: Connection, account_id: str, policy: str | None, policy_arns: list[dict[str, str]] | None
) -> None:
    """Refuse a session policy (``Policy``) that is not a valid identity policy within the packed limit, more than
    :data:`MAX_POLICY_ARNS` managed session policies (``PolicyArns``), or one that is not a managed policy of
    ``account_id`` or AWS's."""
    if policy is not None:
        parse(policy, PolicyKind.IDENTITY)
        session_policy_limit().check(policy_size(policy))
    arns = [p["arn"] for p in policy_arns or []]
    if len(arns) > MAX_POLICY_ARNS:
        raise ValidationError(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )
    for arn in arns:
        if managed_document(conn, account_id, arn, StoreCatalogue(conn)) is None:
            raise TranslatedError("InvalidParameterValue", f"Invalid policy ARN: {arn}", 400, sender_fault=True)


def credentials(key_id: str, secret: str, token: str, expiration: datetime) -> dict[str, Any]:
    """The ``Credentials`` of an STS response: the only time the secret and the session token are shown."""
    return {"AccessKeyId": key_id, "SecretAccessKey": secret, "SessionToken": token, "Expiration": expiration}


def packed_policy_size(policy: str | None, tags: list[dict[str, str]]) -> int | None:
    """A session's ``PackedPolicySize``: how much of the packed limit its session policy and tags take, in percent
    (at least 1); ``None`` for a session with neither."""
    if policy is None and not tags:
        return None
    packed = policy_size(policy or "") + sum(len(t["Key"]) + len(t.get("Value", "")) for t in tags)
    return max(1, packed * 100 // 2048)


def role_session_response(session: RoleSession, secret: str, token: str) -> dict[str, Any]:
    """What AssumeRole, AssumeRoleWithSAML and AssumeRoleWithWebIdentity answer of the session they issued:
    ``Credentials``, ``AssumedRoleUser``, and ``PackedPolicySize`` and ``SourceIdentity`` when it has them."""
    result: dict[str, Any] = {
        "Credentials": credentials(session.key_id, secret, token, session.expiration),
        "AssumedRoleUser": {"AssumedRoleId": session.assumed_role_id, "Arn": session.arn},
    }
    packed = packed_policy_size(session.session_policy, session.tags)
    if packed is not None:
        result["PackedPolicySize"] = packed
    if session.source_identity is not None:
        result["SourceIdentity"] = session.source_identity
    return result


class StsService(ServiceBase):
    """The STS operations of the store."""

    @query("GetAccessKeyInfo", service="sts")
    def get_access_key_info(self, conn: Connection, account_id: str, *, AccessKeyId: str) -> dict[str, Any]:
        """The account owning an access key: the store's own record of the key when it knows it, else the account
        AWS's key id encodes (AWS answers from the id alone, whoever owns it)."""
        del account_id
        row = find_access_key(conn, AccessKeyId)
        account = str(row["account_id"]) if row is not None else account_of_key_id(AccessKeyId)
        if account is None:
            raise ValidationError(f"The access key ID {AccessKeyId} is not valid.")
        return {"Account": account}

    @exchange("GetCallerIdentity")
    def get_caller_identity(self, conn: Connection, caller: Caller) -> dict[str, Any]:
        """Who the call acts as: ``UserId``, ``Account``, ``Arn``; needs no permission."""
        del conn
        return {
            "UserId": caller.principal.unique_id or caller.arn,
            "Account": caller.arn.split(":")[4],
            "Arn": caller.arn,
        }

    @exchange("AssumeRole")
    def assume_role(
        self,
        conn: Connection,
        caller: Caller,
        *,
        RoleArn: str,
        RoleSessionName: str,
        PolicyArns: list[dict[str, str]] | None = None,
        Policy: str | None = None,
        DurationSeconds: int | None = None,
        Tags: list[dict[str, str]] | None = None,
        TransitiveTagKeys: list[str] | None = None,
        ExternalId: str | None = None,
        SerialNumber: str | None = None,
        TokenCode: str | None = None,
        SourceIdentity: str | None = None,
        ProvidedContexts: list[dict[str, str]] | None = None,
        MinimumSessionTokenSize: int | None = None,
    ) -> dict[str, Any]:
        """Temporary credentials of ``RoleArn`` for the caller, if the trust policy (and, as AWS requires, the
        caller's own policies) allow ``sts:AssumeRole``. Parameters and result as boto3's (``SerialNumber``,
        ``TokenCode`` and ``ProvidedContexts`` are validated, not checked)."""
        from iamledger.domain.sessions import RoleSession

        del SerialNumber, TokenCode, ProvidedContexts
        if caller.is_root:
            raise AccessDeniedError("Roles may not be assumed by root accounts.")
        role_account = RoleArn.split(":")[4] if RoleArn.count(":") >= 5 else ""  # noqa: PLR2004
        row = find_role_by_arn(conn, RoleArn)
        denied = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {RoleArn}"
        if row is None:
            self.record_security_incident("AccessDenied", action="sts:AssumeRole", resource=RoleArn, reason=denied)
            raise AccessDeniedError(denied)
        extra: dict[str, Any] = {"sts:RoleSessionName": RoleSessionName}
        if ExternalId is not None:
            extra["sts:ExternalId"] = ExternalId
        if SourceIdentity is not None:
            extra["sts:SourceIdentity"] = SourceIdentity
        for tag in Tags or []:
            extra[f"aws:RequestTag/{tag['Key']}"] = tag.get("Value", "")
        if Tags:
            extra["aws:TagKeys"] = [t["Key"] for t in Tags]
        actions = ["sts:AssumeRole"]
        if Tags:
            actions.append("sts:TagSession")
        if SourceIdentity is not None:
            actions.append("sts:SetSourceIdentity")
        self._check_trust(caller, row["trust_policy"], RoleArn, role_account, actions, extra, denied)
        duration = self._session_duration(DurationSeconds, int(row["max_session_duration"]), caller)
        check_session_policies(conn, role_account, Policy, PolicyArns)
        session, secret, token = new_role_session(
            RoleSession,
            dict(row),
            caller.arn,
            RoleSessionName,
            self.clock(),
            duration,
            policy=Policy,
            policy_arns=PolicyArns,
            minimum_token_size=MinimumSessionTokenSize,
            source_identity=SourceIdentity,
            tags=Tags,
            transitive_tag_keys=TransitiveTagKeys,
            external_id=ExternalId,
            chained=caller.kind == "role-session",
        )
        role: Any = self.repository.get(uuid.UUID(str(row["entity_uuid"])))
        used = role.record_use(session.issued_at, ROLE_USE_REGION)
        self._save_with_secret(session.key_id, row["account_id"], session.arn, secret, session, role if used else None)
        return role_session_response(session, secret, token)

    def _check_trust(
        self,
        caller: Caller,
        trust_policy: str,
        role_arn: str,
        role_account: str,
        actions: list[str],
        extra: dict[str, Any],
        denied: str,
    ) -> None:
        """Refuse (and record) unless each of ``actions`` is allowed on the role by its trust policy together with
        the caller's own policies, as AWS's evaluation logic combines a resource-based policy with them; the
        refusal of ``sts:AssumeRole`` itself says ``denied``, AWS's text, which does not say why."""
        trust = AppliedPolicy.from_text(
            trust_policy, PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
        )
        policies = PolicySet(identity=caller.identity, boundary=caller.boundary, session=caller.session, resource=trust)
        context = self._request_context(caller.principal, extra)
        for action in actions:
            decision = evaluate(Request(caller.principal, action, role_arn, context, role_account), policies)
            if not decision.allowed:
                message = (
                    denied
                    if action == "sts:AssumeRole"
                    else denial_message(caller.arn, action, role_arn, decision, missing="identity")
                )
                self.record_security_incident("AccessDenied", action=action, resource=role_arn, reason=message)
                raise AccessDeniedError(message)

    def _session_duration(self, requested: int | None, role_max: int, caller: Caller) -> int:
        from iamledger.domain.sessions import ROLE_CHAINING_MAX_SECONDS

        duration = requested or DEFAULT_DURATION
        chained = caller.kind == "role-session"
        if chained and duration > ROLE_CHAINING_MAX_SECONDS:
            raise ValidationError(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
            )
        if duration > role_max:
            raise ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        return duration

    @exchange("GetSessionToken")
    def get_session_token(
        self,
        conn: Connection,
        caller: Caller,
        *,
        DurationSeconds: int | None = None,
        SerialNumber: str | None = None,
        TokenCode: str | None = None,
        MinimumSessionTokenSize: int | None = None,
    ) -> dict[str, Any]:
        """Temporary credentials of the calling IAM user (or root user): 900 s to 36 h (root: 1 h), default 12 h."""
        from iamledger.domain.sessions import UserSession

        if caller.kind not in {"root", "user"}:
            raise AccessDeniedError("Cannot call GetSessionToken with session credentials")
        if SerialNumber is not None or TokenCode is not None:
            self._check_mfa(conn, caller, SerialNumber, TokenCode)
        limit = ROOT_SESSION_MAX if caller.is_root else USER_SESSION_MAX
        duration = (
            min(DurationSeconds or USER_SESSION_DEFAULT, limit)
            if caller.is_root
            else (DurationSeconds or USER_SESSION_DEFAULT)
        )
        if duration > limit:
            raise ValidationError(f"The requested DurationSeconds exceeds the {limit} seconds limit.")
        key_id = new_access_key_id(temporary=True)
        secret = new_secret_access_key()
        token = new_session_token(MinimumSessionTokenSize)
        expiration = (self.clock() + timedelta(seconds=duration)).replace(microsecond=0)
        session = UserSession(
            account_id=caller.account_id,
            principal_arn=caller.arn,
            key_id=key_id,
            secret_fingerprint=secret_fingerprint(secret),
            session_token_digest=token_digest(token),
            expiration=expiration,
            duration_seconds=duration,
            mfa_authenticated=SerialNumber is not None and TokenCode is not None,
        )
        self._save_with_secret(key_id, caller.account_id, caller.arn, secret, session)
        return {"Credentials": credentials(key_id, secret, token, expiration)}

    def _check_mfa(self, conn: Connection, caller: Caller, serial_number: str | None, token_code: str | None) -> None:
        """Refuse (and record) a GetSessionToken whose MFA is not the caller's device and its code: the session's
        ``mfa_authenticated`` is what lets its credentials call IAM, so it must be earned. The device must be
        assigned to the calling user; the code must be the device's for a step around now, later than the codes
        that enabled or resynchronized it. AWS's texts; the code itself is a secret and never recorded."""
        from iamledger.domain.mfa import SIGN_IN_WINDOW_STEPS, VirtualMFADevice, code_step, device_key_of

        device: VirtualMFADevice | None = None
        key = device_key_of(caller.account_id, serial_number or "")
        user = user_uuid_of_arn(conn, caller.arn)
        if key is not None and user is not None:
            index = self._name_index(caller.account_id, VirtualMFADevice.kind, key, to_change=False)
            found: Any = (
                None
                if index is None or index.entity_id is None
                else self.repository.get(index.entity_id, deepcopy_from_cache=False)  # only read
            )
            if isinstance(found, VirtualMFADevice) and str(found.user_uuid) == user:
                device = found
        message = MFA_UNKNOWN_DEVICE
        if device is not None:
            seed = self.vault.get_secret(seed_secret_id(device.id))
            step = None if seed is None else code_step(seed, token_code or "", self.clock(), SIGN_IN_WINDOW_STEPS)
            if step is not None and step > device.last_step:
                return
            message = MFA_INVALID_CODE
        self.record_security_incident(
            "AccessDenied",
            action="sts:GetSessionToken",
            resource=serial_number,
            reason=message,
            event_name="GetSessionToken",
            event_source="sts.amazonaws.com",
            error_code=AccessDeniedError.code,
            error_message=message,
        )
        raise AccessDeniedError(message)

    @exchange("GetFederationToken", caller_policies=True)
    def get_federation_token(
        self,
        conn: Connection,
        caller: Caller,
        *,
        Name: str,
        Policy: str | None = None,
        PolicyArns: list[dict[str, str]] | None = None,
        DurationSeconds: int | None = None,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Temporary credentials of a federated user ``arn:aws:sts::A:federated-user/NAME`` for the calling IAM user
        (or root user): 900 s to 36 h (root: at most 1 h), default 12 h. The session may do what both the caller's
        policies and the session policies (``Policy``, ``PolicyArns``) allow: nothing when none is passed."""
        from iamledger.domain.sessions import FederatedSession

        if caller.kind not in {"root", "user"}:
            raise AccessDeniedError("Cannot call GetFederationToken with session credentials")
        check_session_policies(conn, caller.account_id, Policy, PolicyArns)
        requested = DurationSeconds or USER_SESSION_DEFAULT
        duration = min(requested, ROOT_SESSION_MAX) if caller.is_root else requested
        key_id = new_access_key_id(temporary=True)
        secret = new_secret_access_key()
        token = new_session_token()
        now = self.clock()
        expiration = (now + timedelta(seconds=duration)).replace(microsecond=0)
        session = FederatedSession(
            account_id=caller.account_id,
            principal_arn=caller.arn,
            federated_user_name=Name,
            key_id=key_id,
            secret_fingerprint=secret_fingerprint(secret),
            session_token_digest=token_digest(token),
            issued_at=now,
            expiration=expiration,
            duration_seconds=duration,
            session_policy=Policy,
            policy_arns=[p["arn"] for p in PolicyArns or []],
            tags=[{"Key": t["Key"], "Value": t.get("Value", "")} for t in Tags or []],
        )
        self._save_with_secret(key_id, caller.account_id, session.arn, secret, session)
        result: dict[str, Any] = {
            "Credentials": credentials(key_id, secret, token, expiration),
            "FederatedUser": {"FederatedUserId": f"{caller.account_id}:{Name}", "Arn": session.arn},
        }
        packed = packed_policy_size(session.session_policy, session.tags)
        if packed is not None:
            result["PackedPolicySize"] = packed
        return result
