"""Identity providers an account trusts for federation: OpenID Connect providers (named by their issuer URL) and SAML
providers (named by a friendly name, holding the IdP's metadata document), and the role sessions they obtain with
``sts:AssumeRoleWithSAML`` and ``sts:AssumeRoleWithWebIdentity``.

A provider's ARN is ``arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`` (the URL without its scheme) or
``arn:aws:iam::ACCOUNT:saml-provider/NAME``. Tag keys of providers are case-sensitive, at most 50 per provider.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Final
from urllib.parse import urlsplit

from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import LimitExceededError, ValidationError
from iamledger.domain.sessions import RoleSession
from iamledger.domain.tagging import Taggable, TaggedEvent, UntaggedEvent
from iamledger.domain.tags import Tag

MAX_CLIENT_IDS: Final = 100
MAX_THUMBPRINTS: Final = 5
OIDC_KIND: Final = "oidc-provider"
SAML_KIND: Final = "saml-provider"
INVALID_URL: Final = "Invalid Open ID Connect Provider URL"
_THUMBPRINT: Final = re.compile(r"[0-9A-Fa-f]{40}")
_ARN: Final = re.compile(r"arn:aws:iam::(?P<account>\d{12}):(?P<kind>oidc-provider|saml-provider)/(?P<name>.+)")


def oidc_provider_name(url: str) -> str:
    """The name an OIDC provider's ARN carries: its issuer URL without ``https://`` (host in lower case, no trailing
    slash). The URL must be an ``https`` URL with a host and, as OpenID Connect requires of an issuer, no query,
    fragment or credentials (``ValidationError`` otherwise)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(INVALID_URL) from None
    host = parts.hostname or ""
    if (
        parts.scheme.lower() != "https"
        or not host
        or parts.query
        or parts.fragment
        or parts.username is not None
        or any(c.isspace() for c in url)
    ):
        raise ValidationError(INVALID_URL)
    netloc = host.lower() if port is None else f"{host.lower()}:{port}"
    return netloc + parts.path.rstrip("/")


def provider_arn(account_id: str, kind: str, name: str) -> str:
    """``arn:aws:iam::ACCOUNT:oidc-provider/NAME`` or ``...:saml-provider/NAME``."""
    return f"arn:aws:iam::{account_id}:{kind}/{name}"


def parse_provider_arn(arn: str) -> tuple[str, str, str] | None:
    """``(account, kind, name)`` of a provider ARN, or ``None`` when ``arn`` is not one."""
    match = _ARN.fullmatch(arn)
    return None if match is None else (match["account"], match["kind"], match["name"])


def check_thumbprints(thumbprints: list[str]) -> None:
    """At most five thumbprints, each the 40 hex digits of a SHA-1 certificate fingerprint."""
    if len(thumbprints) > MAX_THUMBPRINTS:
        raise ValidationError("Thumbprint list must contain fewer than 5 entries.")
    for thumbprint in thumbprints:
        if not _THUMBPRINT.fullmatch(thumbprint):
            raise ValidationError(f"Thumbprint {thumbprint} is not 40 hexadecimal digits.")


def check_client_ids(client_ids: list[str]) -> None:
    """At most 100 client IDs (audiences) per provider."""
    if len(set(client_ids)) > MAX_CLIENT_IDS:
        raise LimitExceededError(f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}")


class OpenIDConnectProvider(Taggable, AuditedAggregate):
    """An OpenID Connect identity provider: its issuer URL, the client IDs (audiences) it issues tokens for and the
    thumbprints of its server certificates."""

    case_insensitive_tag_keys: ClassVar[bool] = False
    kind: ClassVar[str] = OIDC_KIND

    class Created(AuditedAggregate.Created):
        account_id: str
        url: str
        client_ids: list[str]
        thumbprints: list[str]
        tags: list[dict[str, str]]

    def __init__(
        self, account_id: str, url: str, client_ids: list[str], thumbprints: list[str], tags: list[dict[str, str]]
    ) -> None:
        self.account_id = account_id
        self.url = url
        self.client_ids = list(client_ids)
        self.thumbprints = list(thumbprints)
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.deleted = False

    @property
    def arn(self) -> str:
        """``arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH``."""
        return provider_arn(self.account_id, OIDC_KIND, self.url)

    class ClientIDAdded(AuditedAggregate.Event):
        client_id: str

        def apply(self, aggregate: OpenIDConnectProvider) -> None:
            aggregate.client_ids.append(self.client_id)

    def add_client_id(self, client_id: str) -> None:
        """Add an audience; adding one it already has changes nothing (AWS: the operation is idempotent)."""
        if client_id in self.client_ids:
            return
        check_client_ids([*self.client_ids, client_id])
        self.trigger_event(self.ClientIDAdded, client_id=client_id)

    class ClientIDRemoved(AuditedAggregate.Event):
        client_id: str

        def apply(self, aggregate: OpenIDConnectProvider) -> None:
            aggregate.client_ids.remove(self.client_id)

    def remove_client_id(self, client_id: str) -> None:
        """Remove an audience; removing one it does not have changes nothing (AWS: idempotent)."""
        if client_id in self.client_ids:
            self.trigger_event(self.ClientIDRemoved, client_id=client_id)

    class ThumbprintsUpdated(AuditedAggregate.Event):
        thumbprints: list[str]

        def apply(self, aggregate: OpenIDConnectProvider) -> None:
            aggregate.thumbprints = list(self.thumbprints)

    def update_thumbprints(self, thumbprints: list[str]) -> None:
        """Replace the certificate thumbprints."""
        check_thumbprints(thumbprints)
        self.trigger_event(self.ThumbprintsUpdated, thumbprints=list(thumbprints))

    class Tagged(TaggedEvent):
        pass

    class Untagged(UntaggedEvent):
        pass

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: OpenIDConnectProvider) -> None:
            aggregate.deleted = True

    def delete(self) -> None:
        """Delete the provider (role trust policies naming it stay as they are, as in AWS)."""
        self.trigger_event(self.Deleted)


class SAMLProvider(Taggable, AuditedAggregate):
    """A SAML 2.0 identity provider: a name and the IdP's metadata document, kept exactly as given."""

    case_insensitive_tag_keys: ClassVar[bool] = False
    kind: ClassVar[str] = SAML_KIND

    class Created(AuditedAggregate.Created):
        account_id: str
        name: str
        metadata_document: str
        valid_until: datetime | None
        tags: list[dict[str, str]]

    def __init__(
        self,
        account_id: str,
        name: str,
        metadata_document: str,
        valid_until: datetime | None,
        tags: list[dict[str, str]],
    ) -> None:
        self.account_id = account_id
        self.name = name
        self.metadata_document = metadata_document
        self.valid_until = valid_until
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.deleted = False

    @property
    def arn(self) -> str:
        """``arn:aws:iam::ACCOUNT:saml-provider/NAME``."""
        return provider_arn(self.account_id, SAML_KIND, self.name)

    class MetadataUpdated(AuditedAggregate.Event):
        metadata_document: str
        valid_until: datetime | None

        def apply(self, aggregate: SAMLProvider) -> None:
            aggregate.metadata_document = self.metadata_document
            aggregate.valid_until = self.valid_until

    def update_metadata(self, metadata_document: str, valid_until: datetime | None) -> None:
        """Replace the metadata document."""
        self.trigger_event(self.MetadataUpdated, metadata_document=metadata_document, valid_until=valid_until)

    class Tagged(TaggedEvent):
        pass

    class Untagged(UntaggedEvent):
        pass

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: SAMLProvider) -> None:
            aggregate.deleted = True

    def delete(self) -> None:
        """Delete the provider."""
        self.trigger_event(self.Deleted)


class SAMLRoleSession(RoleSession):
    """A role session obtained with ``sts:AssumeRoleWithSAML``: a :class:`RoleSession` that also records the SAML
    provider, the assertion's subject, issuer and audience, and whether its signature was verified."""

    if TYPE_CHECKING:  # set by RoleAssumedWithSAML.apply; not dataclass fields of the aggregate
        provider_arn: str
        subject: str
        issuer: str
        signature_verified: bool

    class RoleAssumedWithSAML(RoleSession.RoleAssumed):
        provider_arn: str
        subject: str
        subject_type: str | None
        issuer: str
        audience: str | None
        name_qualifier: str
        signature_verified: bool
        verification: str

        def apply(self, aggregate: SAMLRoleSession) -> None:
            aggregate.provider_arn = self.provider_arn
            aggregate.subject = self.subject
            aggregate.issuer = self.issuer
            aggregate.signature_verified = self.signature_verified

    assumed_event = "RoleAssumedWithSAML"


class WebIdentityRoleSession(RoleSession):
    """A role session obtained with ``sts:AssumeRoleWithWebIdentity``: a :class:`RoleSession` that also records the
    identity provider, the token's subject and audience, and whether its signature was verified."""

    if TYPE_CHECKING:  # set by RoleAssumedWithWebIdentity.apply; not dataclass fields of the aggregate
        provider: str
        provider_arn: str | None
        subject: str
        signature_verified: bool

    class RoleAssumedWithWebIdentity(RoleSession.RoleAssumed):
        provider: str
        provider_arn: str | None
        subject: str
        audience: str
        signature_verified: bool
        verification: str

        def apply(self, aggregate: WebIdentityRoleSession) -> None:
            aggregate.provider = self.provider
            aggregate.provider_arn = self.provider_arn
            aggregate.subject = self.subject
            aggregate.signature_verified = self.signature_verified

    assumed_event = "RoleAssumedWithWebIdentity"
