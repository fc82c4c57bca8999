"""Identity providers: the OpenID Connect provider operations (CreateOpenIDConnectProvider, Get, List, Delete,
Add/RemoveClientID, UpdateThumbprint and tags) and the SAML provider operations (CreateSAMLProvider, Get, List,
Update, Delete and tags). Providers are named by ARN in every operation but Create."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from iamledger.domain.errors import NoSuchEntityError
from iamledger.domain.federation_tokens import metadata_entity
from iamledger.domain.names import NameIndex
from iamledger.domain.tags import parse_tags
from iamledger.projections.views.federation import (
    find_oidc_provider,
    find_saml_provider,
    oidc_providers,
    saml_providers,
)
from iamledger.projections.views.tags import current_tags
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.shapes import aws_datetime, tags_shape

if TYPE_CHECKING:
    from iamledger.domain.federation import OpenIDConnectProvider, SAMLProvider


def oidc_not_found(arn: str) -> str:
    """AWS's message for an OIDC provider that does not exist."""
    return f"OpenIDConnect Provider not found for arn {arn}"


def saml_not_found(arn: str) -> str:
    """AWS's message for a SAML provider that does not exist."""
    return f"Manifest not found for arn {arn}"


def oidc_index_name(url: str) -> str:
    """The name-index key of an OIDC provider: a digest of its exact URL name (name indexes fold case; a URL's path
    does not)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def saml_shape(row: dict[str, Any]) -> dict[str, Any]:
    """An element of ``SAMLProviderList``."""
    shape: dict[str, Any] = {"Arn": row["arn"]}
    if row.get("valid_until") is not None:
        shape["ValidUntil"] = aws_datetime(row["valid_until"])
    return shape | {"CreateDate": aws_datetime(row["create_date"])}


class FederationService(ServiceBase):
    """The identity provider operations of the store."""

    # -- loading ------------------------------------------------------------------------------------------------

    def _provider(self, account_id: str, arn: str, kind: str) -> tuple[Any, NameIndex] | None:
        """The live provider of ``arn`` in ``account_id`` and its name index, or ``None``."""
        from iamledger.domain.federation import OIDC_KIND, parse_provider_arn

        parts = parse_provider_arn(arn)
        if parts is None or parts[0] != account_id or parts[1] != kind:
            return None
        name = oidc_index_name(parts[2]) if kind == OIDC_KIND else parts[2]
        index = self._name_index(account_id, kind, name)
        if index is None or index.entity_id is None:
            return None
        provider: Any = self.repository.get(index.entity_id)
        if provider.arn != arn:  # SAML names fold case in the index; ARNs match exactly
            return None
        return provider, index

    def _oidc(self, account_id: str, arn: str) -> tuple[OpenIDConnectProvider, NameIndex]:
        from iamledger.domain.federation import OIDC_KIND

        found = self._provider(account_id, arn, OIDC_KIND)
        if found is None:
            raise NoSuchEntityError(oidc_not_found(arn))
        return found

    def _saml(self, account_id: str, arn: str) -> tuple[SAMLProvider, NameIndex]:
        from iamledger.domain.federation import SAML_KIND

        found = self._provider(account_id, arn, SAML_KIND)
        if found is None:
            raise NoSuchEntityError(saml_not_found(arn))
        return found

    # -- OpenID Connect -----------------------------------------------------------------------------------------

    @command("CreateOpenIDConnectProvider")
    def create_open_id_connect_provider(
        self,
        account_id: str,
        *,
        Url: str,
        ClientIDList: list[str] | None = None,
        ThumbprintList: list[str] | None = None,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Register an OIDC identity provider by its ``https`` issuer URL; ``EntityAlreadyExists`` when the account
        has one for that URL. At most 100 client IDs and 5 thumbprints (an empty thumbprint list is accepted, as
        AWS now does)."""
        from iamledger.domain.federation import (
            OIDC_KIND,
            OpenIDConnectProvider,
            check_client_ids,
            check_thumbprints,
            oidc_provider_name,
        )

        thumbprints = list(ThumbprintList or [])
        client_ids = list(dict.fromkeys(ClientIDList or []))
        check_thumbprints(thumbprints)
        check_client_ids(client_ids)
        name = oidc_provider_name(Url)
        tags = parse_tags(Tags)
        entity_id = uuid.uuid4()
        conflict = f"Provider with url {Url} already exists."
        index = self._claim_name(account_id, OIDC_KIND, oidc_index_name(name), entity_id, conflict)
        provider = OpenIDConnectProvider.create_with_id(
            entity_id,
            account_id=account_id,
            url=name,
            client_ids=client_ids,
            thumbprints=thumbprints,
            tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        self._save(provider, index)
        return {"OpenIDConnectProviderArn": provider.arn} | tags_shape(tags)

    @query("GetOpenIDConnectProvider")
    def get_open_id_connect_provider(
        self, conn: Connection, account_id: str, *, OpenIDConnectProviderArn: str
    ) -> dict[str, Any]:
        """The provider's URL (without scheme), client IDs, thumbprints, creation date and tags."""
        arn = OpenIDConnectProviderArn
        row = find_oidc_provider(conn, arn)
        if row is None or row["account_id"] != account_id:
            raise NoSuchEntityError(oidc_not_found(arn))
        return {
            "Url": row["url"],
            "ClientIDList": row["client_ids"],
            "ThumbprintList": row["thumbprints"],
            "CreateDate": aws_datetime(row["create_date"]),
        } | tags_shape(current_tags(conn, row["entity_uuid"]))

    @query("ListOpenIDConnectProviders")
    def list_open_id_connect_providers(self, conn: Connection, account_id: str) -> dict[str, Any]:
        """The ARNs of the account's OIDC providers."""
        return {"OpenIDConnectProviderList": [{"Arn": r["arn"]} for r in oidc_providers(conn, account_id)]}

    @command("DeleteOpenIDConnectProvider")
    def delete_open_id_connect_provider(self, account_id: str, *, OpenIDConnectProviderArn: str) -> dict[str, Any]:
        """Delete an OIDC provider; deleting one that does not exist succeeds (AWS: the operation is idempotent)."""
        from iamledger.domain.federation import OIDC_KIND

        arn = OpenIDConnectProviderArn
        found = self._provider(account_id, arn, OIDC_KIND)
        if found is not None:
            provider, index = found
            provider.delete()
            index.release()
            self._save(provider, index)
        return {}

    @command("AddClientIDToOpenIDConnectProvider")
    def add_client_id_to_open_id_connect_provider(
        self, account_id: str, *, OpenIDConnectProviderArn: str, ClientID: str
    ) -> dict[str, Any]:
        """Add an audience (client ID) to a provider; adding one it has already changes nothing."""
        provider, _ = self._oidc(account_id, OpenIDConnectProviderArn)
        provider.add_client_id(ClientID)
        self._save(provider)
        return {}

    @command("RemoveClientIDFromOpenIDConnectProvider")
    def remove_client_id_from_open_id_connect_provider(
        self, account_id: str, *, OpenIDConnectProviderArn: str, ClientID: str
    ) -> dict[str, Any]:
        """Remove an audience from a provider; removing one it does not have changes nothing."""
        provider, _ = self._oidc(account_id, OpenIDConnectProviderArn)
        provider.remove_client_id(ClientID)
        self._save(provider)
        return {}

    @command("UpdateOpenIDConnectProviderThumbprint")
    def update_open_id_connect_provider_thumbprint(
        self, account_id: str, *, OpenIDConnectProviderArn: str, ThumbprintList: list[str]
    ) -> dict[str, Any]:
        """Replace a provider's certificate thumbprints (at most 5)."""
        provider, _ = self._oidc(account_id, OpenIDConnectProviderArn)
        provider.update_thumbprints(list(ThumbprintList))
        self._save(provider)
        return {}

    @command("TagOpenIDConnectProvider")
    def tag_open_id_connect_provider(
        self, account_id: str, *, OpenIDConnectProviderArn: str, Tags: list[dict[str, str]]
    ) -> dict[str, Any]:
        """Add or overwrite tags of an OIDC provider (keys are case-sensitive); at most 50."""
        provider, _ = self._oidc(account_id, OpenIDConnectProviderArn)
        provider.tag(parse_tags(Tags))
        self._save(provider)
        return {}

    @command("UntagOpenIDConnectProvider")
    def untag_open_id_connect_provider(
        self, account_id: str, *, OpenIDConnectProviderArn: str, TagKeys: list[str]
    ) -> dict[str, Any]:
        """Remove tags of an OIDC provider (unknown keys are ignored)."""
        provider, _ = self._oidc(account_id, OpenIDConnectProviderArn)
        provider.untag(TagKeys)
        self._save(provider)
        return {}

    @query("ListOpenIDConnectProviderTags")
    def list_open_id_connect_provider_tags(
        self,
        conn: Connection,
        account_id: str,
        *,
        OpenIDConnectProviderArn: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The tags of an OIDC provider, a page at a time."""
        arn = OpenIDConnectProviderArn
        row = find_oidc_provider(conn, arn)
        if row is None or row["account_id"] != account_id:
            raise NoSuchEntityError(oidc_not_found(arn))
        tags, more = page(current_tags(conn, row["entity_uuid"]), Marker, MaxItems)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags], **more}

    # -- SAML ---------------------------------------------------------------------------------------------------

    @command("CreateSAMLProvider")
    def create_saml_provider(
        self, account_id: str, *, SAMLMetadataDocument: str, Name: str, Tags: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        """Register a SAML identity provider with its metadata document (kept exactly as given);
        ``EntityAlreadyExists`` when the name is taken."""
        from iamledger.domain.federation import SAML_KIND, SAMLProvider

        tags = parse_tags(Tags)
        entity_id = uuid.uuid4()
        index = self._claim_name(account_id, SAML_KIND, Name, entity_id, f"SAMLProvider {Name} already exists.")
        _, valid_until = metadata_entity(SAMLMetadataDocument)
        provider = SAMLProvider.create_with_id(
            entity_id,
            account_id=account_id,
            name=Name,
            metadata_document=SAMLMetadataDocument,
            valid_until=valid_until,
            tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        self._save(provider, index)
        return {"SAMLProviderArn": provider.arn} | tags_shape(tags)

    @query("GetSAMLProvider")
    def get_saml_provider(self, conn: Connection, account_id: str, *, SAMLProviderArn: str) -> dict[str, Any]:
        """The provider's metadata document, creation date, expiry (the metadata's ``validUntil``) and tags."""
        arn = SAMLProviderArn
        row = find_saml_provider(conn, arn)
        if row is None or row["account_id"] != account_id:
            raise NoSuchEntityError(saml_not_found(arn))
        shape: dict[str, Any] = {
            "SAMLProviderUUID": row["entity_uuid"],
            "SAMLMetadataDocument": row["metadata_document"],
            "CreateDate": aws_datetime(row["create_date"]),
        }
        if row["valid_until"] is not None:
            shape["ValidUntil"] = aws_datetime(row["valid_until"])
        return shape | tags_shape(current_tags(conn, row["entity_uuid"]))

    @query("ListSAMLProviders")
    def list_saml_providers(self, conn: Connection, account_id: str) -> dict[str, Any]:
        """The account's SAML providers: ARN, expiry and creation date."""
        return {"SAMLProviderList": [saml_shape(r) for r in saml_providers(conn, account_id)]}

    @command("UpdateSAMLProvider")
    def update_saml_provider(
        self, account_id: str, *, SAMLProviderArn: str, SAMLMetadataDocument: str | None = None
    ) -> dict[str, Any]:
        """Replace a SAML provider's metadata document."""
        provider, _ = self._saml(account_id, SAMLProviderArn)
        if SAMLMetadataDocument is not None:
            _, valid_until = metadata_entity(SAMLMetadataDocument)
            provider.update_metadata(SAMLMetadataDocument, valid_until)
            self._save(provider)
        return {"SAMLProviderArn": provider.arn}

    @command("DeleteSAMLProvider")
    def delete_saml_provider(self, account_id: str, *, SAMLProviderArn: str) -> dict[str, Any]:
        """Delete a SAML provider; ``NoSuchEntity`` when there is none of that ARN."""
        provider, index = self._saml(account_id, SAMLProviderArn)
        provider.delete()
        index.release()
        self._save(provider, index)
        return {}

    @command("TagSAMLProvider")
    def tag_saml_provider(self, account_id: str, *, SAMLProviderArn: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        """Add or overwrite tags of a SAML provider (keys are case-sensitive); at most 50."""
        provider, _ = self._saml(account_id, SAMLProviderArn)
        provider.tag(parse_tags(Tags))
        self._save(provider)
        return {}

    @command("UntagSAMLProvider")
    def untag_saml_provider(self, account_id: str, *, SAMLProviderArn: str, TagKeys: list[str]) -> dict[str, Any]:
        """Remove tags of a SAML provider (unknown keys are ignored)."""
        provider, _ = self._saml(account_id, SAMLProviderArn)
        provider.untag(TagKeys)
        self._save(provider)
        return {}

    @query("ListSAMLProviderTags")
    def list_saml_provider_tags(
        self,
        conn: Connection,
        account_id: str,
        *,
        SAMLProviderArn: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The tags of a SAML provider, a page at a time."""
        arn = SAMLProviderArn
        row = find_saml_provider(conn, arn)
        if row is None or row["account_id"] != account_id:
            raise NoSuchEntityError(saml_not_found(arn))
        tags, more = page(current_tags(conn, row["entity_uuid"]), Marker, MaxItems)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags], **more}
