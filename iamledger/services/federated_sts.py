"""STS federation: AssumeRoleWithSAML and AssumeRoleWithWebIdentity.

Both are unsigned in AWS (the caller has no AWS credentials yet): the identity provider's assertion or token is the
credential. The store checks what it can offline, as AWS does: the provider is registered (an OIDC provider whose URL
is the token's ``iss``, or one of the built-in web identity providers; the SAML provider of ``PrincipalArn``), the
token's audience is one of the provider's client IDs, the assertion names the role and provider in its ``Role``
attribute, the credential is within its validity period, the role exists and its trust policy allows
``sts:AssumeRoleWithSAML`` / ``sts:AssumeRoleWithWebIdentity`` for the ``Federated`` provider with the request's
``saml:*`` or ``<provider>:aud``/``:sub`` keys. Signatures are **not** verified (see
:mod:`iamledger.domain.federation_tokens`); every session records ``signature_verified=False`` and why.

The session is a :class:`~iamledger.domain.sessions.RoleSession` like AssumeRole's, acting with the role's
policies; its event's actor is the provider (its ARN, or the built-in provider's name).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection

from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext, audit_context
from iamledger.domain.errors import AccessDeniedError, ValidationError
from iamledger.domain.federation_tokens import (
    SESSION_DURATION,
    SOURCE_IDENTITY,
    UNVERIFIED_JWT,
    UNVERIFIED_SAML,
    SAMLAssertion,
    check_jwt_times,
    check_saml_assertion,
    invalid_token,
    metadata_entity,
    parse_jwt,
    parse_saml_response,
)
from iamledger.domain.policy import (
    AppliedPolicy,
    PolicyKind,
    PolicySet,
    PolicySource,
    Principal,
    Request,
    evaluate,
)
from iamledger.projections.views.federation import find_oidc_provider, find_saml_provider
from iamledger.projections.views.roles import find_role_by_arn
from iamledger.services.base import ServiceBase
from iamledger.services.operations import unsigned_exchange
from iamledger.services.sts import (
    DEFAULT_DURATION,
    check_session_policies,
    new_role_session,
    role_session_response,
)

if TYPE_CHECKING:
    from iamledger.domain.federation import SAMLRoleSession, WebIdentityRoleSession

BUILT_IN_PROVIDERS: Final = frozenset(
    {"accounts.google.com", "graph.facebook.com", "www.amazon.com", "cognito-identity.amazonaws.com"}
)
"""Web identity providers AWS knows without an OIDC provider in the account (trust policies name them as is)."""
MIN_DURATION: Final = 900
MAX_DURATION: Final = 43200


def name_qualifier(issuer: str, account_id: str, provider_name: str) -> str:
    """AWS's ``NameQualifier``: ``BASE64(SHA1(issuer + account id + "/" + provider name))``."""
    digest = hashlib.sha1(f"{issuer}{account_id}/{provider_name}".encode(), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _issuer_name(issuer: str) -> str:
    """A token's ``iss`` as OIDC provider names are kept: without ``https://``, no trailing slash."""
    return issuer.removeprefix("https://").rstrip("/")


class FederatedStsService(ServiceBase):
    """The STS federation operations of the store."""

    def _trusted_role(
        self,
        conn: Connection,
        role_arn: str,
        action: str,
        principal: Principal,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        """The role of ``role_arn`` if its trust policy allows ``action`` for ``principal``; ``AccessDenied``
        (recorded) otherwise, also when there is no such role."""
        row = find_role_by_arn(conn, role_arn)
        denied = f"Not authorized to perform {action}"
        if row is not None:
            trust = AppliedPolicy.from_text(
                row["trust_policy"], PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
            )
            context = self._request_context(principal, extra)
            request = Request(principal, action, role_arn, context, str(row["account_id"]))
            if evaluate(request, PolicySet(resource=trust)).allowed:
                return dict(row)
        self.record_security_incident("AccessDenied", action=action, resource=role_arn, reason=denied)
        raise AccessDeniedError(denied)

    @staticmethod
    def _duration(requested: int | None, role: dict[str, Any]) -> int:
        duration = requested or DEFAULT_DURATION
        if duration > int(role["max_session_duration"]):
            raise ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        return duration

    def _issue(
        self,
        conn: Connection,
        session_class: type[SAMLRoleSession | WebIdentityRoleSession],
        actor: str,
        role: dict[str, Any],
        session_name: str,
        duration: int,
        *,
        policy: str | None,
        policy_arns: list[dict[str, str]] | None,
        minimum_token_size: int | None,
        expiration_cap: datetime | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        """Check the session policies, issue the session's credentials (secret in the vault only) and save its event
        under the provider as actor; returns the ``Credentials``/``AssumedRoleUser``/``PackedPolicySize`` part of the
        response. ``details``: the session's created event's own fields, ``source_identity`` included."""
        check_session_policies(conn, role["account_id"], policy, policy_arns)
        outer = audit_context.get()
        context = AuditContext(
            actor=actor,
            request_id=outer.request_id if outer else AuditContext.new_request_id(),
            source_ip=outer.source_ip if outer else None,
            user_agent=outer.user_agent if outer else None,
        )
        with bound_audit_context(context):
            session, secret, token = new_role_session(
                session_class,
                role,
                actor,
                session_name,
                self.clock(),
                duration,
                policy=policy,
                policy_arns=policy_arns,
                minimum_token_size=minimum_token_size,
                expiration_cap=expiration_cap,
                **details,
            )
            self._save_with_secret(session.key_id, role["account_id"], session.arn, secret, session)
        return role_session_response(session, secret, token)

    # -- AssumeRoleWithSAML -------------------------------------------------------------------------------------

    @unsigned_exchange("AssumeRoleWithSAML")
    def assume_role_with_saml(
        self,
        conn: Connection,
        *,
        RoleArn: str,
        PrincipalArn: str,
        SAMLAssertion: str,
        PolicyArns: list[dict[str, str]] | None = None,
        Policy: str | None = None,
        DurationSeconds: int | None = None,
        MinimumSessionTokenSize: int | None = None,
    ) -> dict[str, Any]:
        """Temporary credentials of ``RoleArn`` for the user a SAML assertion of the provider ``PrincipalArn``
        vouches for; unsigned, as in AWS. The assertion's signature is not verified (recorded as such)."""
        from iamledger.domain.federation import SAMLRoleSession

        now = self.clock()
        assertion = parse_saml_response(SAMLAssertion)
        session_name = check_saml_assertion(assertion, now)
        role, qualifier = self._saml_role(conn, assertion, RoleArn, PrincipalArn)
        requested = DurationSeconds
        if requested is None and assertion.attributes.get(SESSION_DURATION):
            try:
                requested = min(max(int(assertion.attributes[SESSION_DURATION][0]), MIN_DURATION), MAX_DURATION)
            except ValueError:
                raise invalid_token("Invalid SAML response: SessionDuration must be a number of seconds.") from None
        duration = self._duration(requested, role)
        source = assertion.attributes.get(SOURCE_IDENTITY)
        result = self._issue(
            conn,
            SAMLRoleSession,
            PrincipalArn,
            role,
            session_name,
            duration,
            policy=Policy,
            policy_arns=PolicyArns,
            minimum_token_size=MinimumSessionTokenSize,
            expiration_cap=assertion.session_not_on_or_after,
            provider_arn=PrincipalArn,
            subject=assertion.subject,
            subject_type=assertion.subject_type,
            issuer=assertion.issuer,
            audience=assertion.audience,
            name_qualifier=qualifier,
            signature_verified=False,
            verification=UNVERIFIED_SAML,
            source_identity=source[0] if source else None,
        )
        result |= {"Subject": assertion.subject, "Issuer": assertion.issuer, "NameQualifier": qualifier}
        if assertion.subject_type is not None:
            result["SubjectType"] = assertion.subject_type
        if assertion.audience is not None:
            result["Audience"] = assertion.audience
        return result

    def _saml_role(
        self, conn: Connection, assertion: SAMLAssertion, role_arn: str, provider: str
    ) -> tuple[dict[str, Any], str]:
        """The role the assertion of the SAML provider ``provider`` may assume, with the assertion's
        ``NameQualifier``: the provider registered, its metadata's issuer the assertion's, the assertion's ``Role``
        attribute naming the role with the provider, the role's trust policy allowing it."""
        found = find_saml_provider(conn, provider)
        if found is None:
            raise invalid_token("Specified provider doesn't exist.")
        entity_id, _ = metadata_entity(found["metadata_document"])
        if entity_id is not None and entity_id != assertion.issuer:
            raise invalid_token("Issuer of the SAML assertion does not match the provider's metadata.")
        if (role_arn, provider) not in assertion.role_pairs():
            denied = "Not authorized to perform sts:AssumeRoleWithSAML"
            self.record_security_incident(
                "AccessDenied", action="sts:AssumeRoleWithSAML", resource=role_arn, reason=denied
            )
            raise AccessDeniedError(denied)
        qualifier = name_qualifier(assertion.issuer, found["account_id"], found["name"])
        extra: dict[str, Any] = {
            "saml:iss": assertion.issuer,
            "saml:sub": assertion.subject,
            "saml:namequalifier": qualifier,
            "aws:FederatedProvider": provider,
        }
        if assertion.audience is not None:
            extra["saml:aud"] = assertion.audience
        if assertion.subject_type is not None:
            extra["saml:sub_type"] = assertion.subject_type
        principal = Principal.identity_provider(provider, saml=True)
        return self._trusted_role(conn, role_arn, "sts:AssumeRoleWithSAML", principal, extra), qualifier

    # -- AssumeRoleWithWebIdentity ------------------------------------------------------------------------------

    @unsigned_exchange("AssumeRoleWithWebIdentity")
    def assume_role_with_web_identity(
        self,
        conn: Connection,
        *,
        RoleArn: str,
        RoleSessionName: str,
        WebIdentityToken: str,
        ProviderId: str | None = None,
        PolicyArns: list[dict[str, str]] | None = None,
        Policy: str | None = None,
        DurationSeconds: int | None = None,
        MinimumSessionTokenSize: int | None = None,
    ) -> dict[str, Any]:
        """Temporary credentials of ``RoleArn`` for the user an OpenID Connect ID token vouches for; unsigned, as
        in AWS. The token's signature is not verified (recorded as such)."""
        from iamledger.domain.federation import OIDC_KIND, WebIdentityRoleSession, provider_arn

        jwt = parse_jwt(WebIdentityToken)
        check_jwt_times(jwt, self.clock())
        name = _issuer_name(ProviderId or jwt.issuer)
        role_account = RoleArn.split(":")[4] if RoleArn.count(":") >= 5 else ""  # noqa: PLR2004
        registered = find_oidc_provider(conn, provider_arn(role_account, OIDC_KIND, name))
        if registered is None and name not in BUILT_IN_PROVIDERS:
            raise invalid_token(f"No OpenIDConnect provider found in your account for {jwt.issuer}")
        audience = next(iter(jwt.audiences))
        if registered is not None:
            matching = [a for a in jwt.audiences if a in registered["client_ids"]]
            if not matching:
                raise invalid_token("Incorrect token audience")
            audience = matching[0]
        federated = registered["arn"] if registered is not None else name
        extra: dict[str, Any] = {
            f"{name}:aud": audience,
            f"{name}:sub": jwt.subject,
            "sts:RoleSessionName": RoleSessionName,
            "aws:FederatedProvider": federated,
        }
        if "amr" in jwt.claims:
            extra[f"{name}:amr"] = jwt.claims["amr"]
        principal = Principal.identity_provider(federated)
        role = self._trusted_role(conn, RoleArn, "sts:AssumeRoleWithWebIdentity", principal, extra)
        duration = self._duration(DurationSeconds, role)
        source = jwt.claims.get("https://aws.amazon.com/source_identity")
        result = self._issue(
            conn,
            WebIdentityRoleSession,
            federated,
            role,
            RoleSessionName,
            duration,
            policy=Policy,
            policy_arns=PolicyArns,
            minimum_token_size=MinimumSessionTokenSize,
            provider=name,
            provider_arn=registered["arn"] if registered is not None else None,
            subject=jwt.subject,
            audience=audience,
            signature_verified=False,
            verification=UNVERIFIED_JWT,
            source_identity=str(source) if source is not None else None,
        )
        return result | {
            "SubjectFromWebIdentityToken": jwt.subject,
            "Provider": jwt.issuer if ProviderId is None else ProviderId,
            "Audience": audience,
        }
