"""Reading the credentials an identity provider hands a user: SAML 2.0 responses (base64 XML) and OpenID Connect ID
tokens (JWTs), as ``sts:AssumeRoleWithSAML`` and ``sts:AssumeRoleWithWebIdentity`` present them.

What is checked: the structure (a SAML ``Assertion`` with an ``Issuer``, a ``Subject``/``NameID``, the
``RoleSessionName`` attribute; a JWT with ``iss``, ``sub``, ``aud`` and ``exp``), the validity period, and the claims.
What is **not** checked: the signature. A SAML assertion is signed over its exclusive-C14N canonical form, which the
standard library cannot produce, and a JWT is signed with keys the provider publishes at its JWKS URL, which an
offline store cannot fetch. The callers record that the credential was unverified; they never claim otherwise.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from iamledger.domain.errors import TranslatedError

SAML_ASSERTION_NS: Final = "urn:oasis:names:tc:SAML:2.0:assertion"
SAML_METADATA_NS: Final = "urn:oasis:names:tc:SAML:2.0:metadata"
NAMEID_PREFIX: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
ATTRIBUTE_PREFIX: Final = "https://aws.amazon.com/SAML/Attributes/"
ROLE_SESSION_NAME: Final = ATTRIBUTE_PREFIX + "RoleSessionName"
ROLE: Final = ATTRIBUTE_PREFIX + "Role"
SESSION_DURATION: Final = ATTRIBUTE_PREFIX + "SessionDuration"
SOURCE_IDENTITY: Final = ATTRIBUTE_PREFIX + "SourceIdentity"
UNVERIFIED_SAML: Final = "signature not verified: iamledger cannot canonicalise XML (exclusive C14N) to check it"
UNVERIFIED_JWT: Final = "signature not verified: iamledger does not fetch the provider's signing keys (JWKS)"
_SESSION_NAME: Final = re.compile(r"[\w+=,.@-]{2,64}")


def invalid_token(message: str) -> TranslatedError:
    """STS's ``InvalidIdentityToken`` (HTTP 400)."""
    return TranslatedError("InvalidIdentityToken", message, 400, sender_fault=True)


def expired_token(now: datetime, expiry: datetime) -> TranslatedError:
    """STS's ``ExpiredTokenException`` text for a credential past its expiry."""
    return TranslatedError(
        "ExpiredTokenException",
        f"Token expired: current date/time {int(now.timestamp())} must be before the expiration date/time "
        f"{int(expiry.timestamp())}",
        400,
        sender_fault=True,
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(text: str) -> ET.Element:
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise invalid_token("Invalid SAML response: DTDs are not accepted.")
    try:
        return ET.fromstring(text.strip())  # noqa: S314 - no DTD, hence no entity expansion
    except ET.ParseError:
        raise invalid_token("Invalid SAML response: the assertion is not well-formed XML.") from None


def _find(element: ET.Element, name: str) -> ET.Element | None:
    """The first descendant called ``name`` in any namespace (IdPs differ in prefixes and default namespaces)."""
    return next((e for e in element.iter() if _local(e.tag) == name), None)


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element if _local(e.tag) == name]


def parse_saml_time(value: str) -> datetime:
    """An ``xs:dateTime`` of SAML (``2012-01-01T12:00:00.000Z``) as an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise invalid_token(f"Invalid SAML response: {value!r} is not a date and time.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class SAMLAssertion:
    """What a SAML response says about its user."""

    issuer: str
    subject: str
    subject_format: str | None
    audience: str | None
    not_on_or_after: datetime | None
    not_before: datetime | None
    session_not_on_or_after: datetime | None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    signed: bool = False

    @property
    def subject_type(self) -> str | None:
        """AWS's ``SubjectType``: the NameID format without the SAML 2.0 prefix (``persistent``)."""
        if self.subject_format is None:
            return None
        return self.subject_format.removeprefix(NAMEID_PREFIX)

    @property
    def role_session_name(self) -> str | None:
        """The ``RoleSessionName`` attribute, if given."""
        values = self.attributes.get(ROLE_SESSION_NAME)
        return values[0] if values else None

    def role_pairs(self) -> set[tuple[str, str]]:
        """The ``(role ARN, provider ARN)`` pairs of the ``Role`` attribute (either order within a value)."""
        pairs: set[tuple[str, str]] = set()
        for value in self.attributes.get(ROLE, []):
            parts = [p.strip() for p in value.split(",")]
            if len(parts) != 2:  # noqa: PLR2004 - a role and a provider
                continue
            role = next((p for p in parts if ":role/" in p), None)
            provider = next((p for p in parts if ":saml-provider/" in p), None)
            if role and provider:
                pairs.add((role, provider))
        return pairs


def parse_saml_response(encoded: str) -> SAMLAssertion:
    """The assertion of a base64-encoded SAML 2.0 response (or of a bare assertion)."""
    try:
        text = base64.b64decode(encoded.strip(), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_token("Invalid SAML response: the assertion is not base64-encoded UTF-8.") from None
    root = _parse_xml(text)
    assertion = root if _local(root.tag) == "Assertion" else _find(root, "Assertion")
    if assertion is None:
        raise invalid_token("Invalid SAML response: it holds no Assertion.")
    issuer_element = next(iter(_children(assertion, "Issuer")), None) or _find(root, "Issuer")
    issuer = (issuer_element.text or "").strip() if issuer_element is not None else ""
    subject_element = _find(assertion, "Subject")
    name_id = _find(subject_element, "NameID") if subject_element is not None else None
    if not issuer or name_id is None or not (name_id.text or "").strip():
        raise invalid_token("Invalid SAML response: the assertion needs an Issuer and a Subject NameID.")
    confirmation = _find(subject_element, "SubjectConfirmationData") if subject_element is not None else None
    conditions = _find(assertion, "Conditions")
    audience_element = _find(conditions, "Audience") if conditions is not None else None
    authn = _find(assertion, "AuthnStatement")
    ends = [
        e.get("NotOnOrAfter") for e in (confirmation, conditions) if e is not None and e.get("NotOnOrAfter") is not None
    ]
    attributes: dict[str, list[str]] = {}
    for attribute in (e for e in assertion.iter() if _local(e.tag) == "Attribute"):
        name = attribute.get("Name", "")
        values = [(v.text or "").strip() for v in attribute if _local(v.tag) == "AttributeValue"]
        attributes.setdefault(name, []).extend(values)
    recipient = confirmation.get("Recipient") if confirmation is not None else None
    session_end = authn.get("SessionNotOnOrAfter") if authn is not None else None
    not_before = conditions.get("NotBefore") if conditions is not None else None
    return SAMLAssertion(
        issuer=issuer,
        subject=(name_id.text or "").strip(),
        subject_format=name_id.get("Format"),
        audience=recipient or (None if audience_element is None else (audience_element.text or "").strip() or None),
        not_on_or_after=min(parse_saml_time(e) for e in ends if e) if ends else None,
        not_before=parse_saml_time(not_before) if not_before else None,
        session_not_on_or_after=parse_saml_time(session_end) if session_end else None,
        attributes=attributes,
        signed=_find(assertion, "Signature") is not None or _find(root, "Signature") is not None,
    )


def check_saml_assertion(assertion: SAMLAssertion, now: datetime) -> str:
    """Refuse an assertion that is outside its validity period or names no valid session name; returns the
    role session name."""
    if assertion.not_on_or_after is not None and now >= assertion.not_on_or_after:
        raise expired_token(now, assertion.not_on_or_after)
    if assertion.not_before is not None and now < assertion.not_before:
        raise invalid_token("Invalid SAML response: the assertion is not yet valid (NotBefore).")
    name = assertion.role_session_name
    if name is None:
        raise invalid_token("Invalid SAML response: RoleSessionName is required in AuthnResponse.")
    if not _SESSION_NAME.fullmatch(name):
        raise invalid_token(
            "Invalid SAML response: the RoleSessionName attribute must be 2 to 64 characters of [\\w+=,.@-]."
        )
    return name


def metadata_entity(document: str) -> tuple[str | None, datetime | None]:
    """The ``entityID`` and ``validUntil`` of a SAML metadata document (``None`` for what it does not say, or when it
    is no XML: the document is kept as given either way)."""
    if "<!DOCTYPE" in document.upper() or "<!ENTITY" in document.upper():
        return None, None
    try:
        root = ET.fromstring(document.strip())  # noqa: S314 - no DTD, hence no entity expansion
    except ET.ParseError:
        return None, None
    descriptor = root if _local(root.tag) == "EntityDescriptor" else _find(root, "EntityDescriptor")
    if descriptor is None:
        return None, None
    valid_until = descriptor.get("validUntil") or root.get("validUntil")
    try:
        until = parse_saml_time(valid_until) if valid_until else None
    except TranslatedError:
        until = None
    return descriptor.get("entityID"), until


# -- JWT ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebIdentityToken:
    """The claims of an OpenID Connect ID token (or an OAuth 2.0 access token in JWT form)."""

    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def issuer(self) -> str:
        """``iss``."""
        return str(self.claims.get("iss", ""))

    @property
    def subject(self) -> str:
        """``sub``."""
        return str(self.claims.get("sub", ""))

    @property
    def audiences(self) -> list[str]:
        """``aud`` as a list (a JWT may hold one string or a list)."""
        aud = self.claims.get("aud")
        if isinstance(aud, str):
            return [aud]
        if isinstance(aud, list):
            return [str(a) for a in aud]
        return []


def _b64url_json(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_token("The web identity token is not a valid JWT.") from None
    if not isinstance(value, dict):
        raise invalid_token("The web identity token is not a valid JWT.")
    return value


def parse_jwt(token: str) -> WebIdentityToken:
    """The header and claims of a compact JWS (three base64url segments); the signature is not checked."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts[:2]):  # noqa: PLR2004 - header, payload, signature
        raise invalid_token("The web identity token is not a valid JWT.")
    jwt = WebIdentityToken(_b64url_json(parts[0]), _b64url_json(parts[1]))
    if not jwt.issuer or not jwt.subject or not jwt.audiences:
        raise invalid_token("The web identity token must carry the iss, sub and aud claims.")
    return jwt


def check_jwt_times(jwt: WebIdentityToken, now: datetime) -> None:
    """Refuse a token without ``exp``, past it, or before its ``nbf``."""
    exp = jwt.claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise invalid_token("The web identity token must carry a numeric exp claim.")
    expiry = datetime.fromtimestamp(exp, UTC)
    if now >= expiry:
        raise expired_token(now, expiry)
    nbf = jwt.claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now.timestamp() < nbf:
        raise invalid_token("The web identity token is not valid yet (nbf).")
