"""The identity provider views: OpenID Connect providers (issuer URL, client IDs, thumbprints), SAML providers
(name, metadata document) and their tags."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, select

from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import current_row, open_row, replace_row
from iamledger.projections.views.principals import account_of, close_principal
from iamledger.projections.views.tables import OIDC_PROVIDERS, SAML_PROVIDERS, TAGS
from iamledger.projections.views.tags import open_tags, tag_entity, untag_entity

if TYPE_CHECKING:
    from iamledger.domain.federation import OpenIDConnectProvider, SAMLProvider

PROVIDER_TABLES = (OIDC_PROVIDERS, SAML_PROVIDERS)


@prefetches(
    "iamledger.domain.federation:OpenIDConnectProvider.ClientIDAdded",
    "iamledger.domain.federation:OpenIDConnectProvider.ClientIDRemoved",
    "iamledger.domain.federation:OpenIDConnectProvider.ThumbprintsUpdated",
    "iamledger.domain.federation:OpenIDConnectProvider.Tagged",
    "iamledger.domain.federation:OpenIDConnectProvider.Deleted",
)
def _oidc_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(OIDC_PROVIDERS, "entity_uuid", str(event.originator_id))]


@prefetches(
    "iamledger.domain.federation:SAMLProvider.MetadataUpdated",
    "iamledger.domain.federation:SAMLProvider.Tagged",
    "iamledger.domain.federation:SAMLProvider.Deleted",
)
def _saml_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(SAML_PROVIDERS, "entity_uuid", str(event.originator_id))]


@prefetches(
    "iamledger.domain.federation:OpenIDConnectProvider.Tagged",
    "iamledger.domain.federation:OpenIDConnectProvider.Untagged",
    "iamledger.domain.federation:OpenIDConnectProvider.Deleted",
    "iamledger.domain.federation:SAMLProvider.Tagged",
    "iamledger.domain.federation:SAMLProvider.Untagged",
    "iamledger.domain.federation:SAMLProvider.Deleted",
)
def _tags(event: Any) -> list[tuple[Table, str, Any]]:
    return [(TAGS, "resource_uuid", str(event.originator_id))]


# -- OpenID Connect ---------------------------------------------------------------------------------------------------


@handles("iamledger.domain.federation:OpenIDConnectProvider.Created", batched=True)
def _oidc_created(conn: Connection, event: OpenIDConnectProvider.Created, position: int) -> None:
    from iamledger.domain.federation import OIDC_KIND, provider_arn

    entity = str(event.originator_id)
    open_row(
        conn,
        OIDC_PROVIDERS,
        position,
        entity_uuid=entity,
        account_id=event.account_id,
        url=event.url,
        arn=provider_arn(event.account_id, OIDC_KIND, event.url),
        client_ids=json.dumps(event.client_ids),
        thumbprints=json.dumps(event.thumbprints),
        create_date=event.timestamp,
    )
    open_tags(conn, position, event.account_id, OIDC_KIND, entity, event.tags)


def _oidc_lists(conn: Connection, entity: str) -> tuple[list[str], list[str]]:
    row = current_row(conn, OIDC_PROVIDERS, entity_uuid=entity)
    if row is None:
        return [], []
    return list(json.loads(row["client_ids"])), list(json.loads(row["thumbprints"]))


@handles(
    "iamledger.domain.federation:OpenIDConnectProvider.ClientIDAdded",
    "iamledger.domain.federation:OpenIDConnectProvider.ClientIDRemoved",
    batched=True,
)
def _oidc_client_ids(conn: Connection, event: Any, position: int) -> None:
    from iamledger.domain.federation import OpenIDConnectProvider

    entity = str(event.originator_id)
    client_ids, _ = _oidc_lists(conn, entity)
    if isinstance(event, OpenIDConnectProvider.ClientIDAdded):
        client_ids.append(event.client_id)
    elif event.client_id in client_ids:
        client_ids.remove(event.client_id)
    replace_row(conn, OIDC_PROVIDERS, position, {"entity_uuid": entity}, client_ids=json.dumps(client_ids))


@handles("iamledger.domain.federation:OpenIDConnectProvider.ThumbprintsUpdated", batched=True)
def _oidc_thumbprints(conn: Connection, event: OpenIDConnectProvider.ThumbprintsUpdated, position: int) -> None:
    entity = str(event.originator_id)
    replace_row(conn, OIDC_PROVIDERS, position, {"entity_uuid": entity}, thumbprints=json.dumps(event.thumbprints))


# -- SAML -------------------------------------------------------------------------------------------------------------


@handles("iamledger.domain.federation:SAMLProvider.Created", batched=True)
def _saml_created(conn: Connection, event: SAMLProvider.Created, position: int) -> None:
    from iamledger.domain.federation import SAML_KIND, provider_arn

    entity = str(event.originator_id)
    open_row(
        conn,
        SAML_PROVIDERS,
        position,
        entity_uuid=entity,
        account_id=event.account_id,
        name=event.name,
        arn=provider_arn(event.account_id, SAML_KIND, event.name),
        metadata_document=event.metadata_document,
        valid_until=event.valid_until,
        create_date=event.timestamp,
    )
    open_tags(conn, position, event.account_id, SAML_KIND, entity, event.tags)


@handles("iamledger.domain.federation:SAMLProvider.MetadataUpdated", batched=True)
def _saml_updated(conn: Connection, event: SAMLProvider.MetadataUpdated, position: int) -> None:
    replace_row(
        conn,
        SAML_PROVIDERS,
        position,
        {"entity_uuid": str(event.originator_id)},
        metadata_document=event.metadata_document,
        valid_until=event.valid_until,
    )


# -- both -------------------------------------------------------------------------------------------------------------


@handles(
    "iamledger.domain.federation:OpenIDConnectProvider.Tagged",
    "iamledger.domain.federation:SAMLProvider.Tagged",
    batched=True,
)
def _tagged(conn: Connection, event: Any, position: int) -> None:
    from iamledger.domain.federation import OIDC_KIND, SAML_KIND, OpenIDConnectProvider

    kind = OIDC_KIND if isinstance(event, OpenIDConnectProvider.Tagged) else SAML_KIND
    tag_entity(conn, event, position, account_of(conn, str(event.originator_id), PROVIDER_TABLES), kind)


@handles(
    "iamledger.domain.federation:OpenIDConnectProvider.Untagged",
    "iamledger.domain.federation:SAMLProvider.Untagged",
    batched=True,
)
def _untagged(conn: Connection, event: Any, position: int) -> None:
    from iamledger.domain.federation import OIDC_KIND, SAML_KIND, OpenIDConnectProvider

    kind = OIDC_KIND if isinstance(event, OpenIDConnectProvider.Untagged) else SAML_KIND
    untag_entity(conn, event, position, kind)


@handles(
    "iamledger.domain.federation:OpenIDConnectProvider.Deleted",
    "iamledger.domain.federation:SAMLProvider.Deleted",
    batched=True,
)
def _deleted(conn: Connection, event: Any, position: int) -> None:
    from iamledger.domain.federation import OpenIDConnectProvider

    table = OIDC_PROVIDERS if isinstance(event, OpenIDConnectProvider.Deleted) else SAML_PROVIDERS
    close_principal(conn, table, str(event.originator_id), position)


# -- reads ------------------------------------------------------------------------------------------------------------


def oidc_providers(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """The account's current OIDC providers, ordered by ARN."""
    query = select(OIDC_PROVIDERS).where(OIDC_PROVIDERS.c.account_id == account_id, live(OIDC_PROVIDERS))
    return [dict(r) for r in conn.execute(query.order_by(OIDC_PROVIDERS.c.arn)).mappings()]


def find_oidc_provider(conn: Connection, arn: str) -> dict[str, Any] | None:
    """The current OIDC provider of ``arn`` (exact), with its client IDs and thumbprints decoded, or ``None``."""
    row = conn.execute(select(OIDC_PROVIDERS).where(OIDC_PROVIDERS.c.arn == arn, live(OIDC_PROVIDERS))).mappings()
    found = row.first()
    if found is None:
        return None
    result = dict(found)
    result["client_ids"] = json.loads(result["client_ids"])
    result["thumbprints"] = json.loads(result["thumbprints"])
    return result


def saml_providers(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """The account's current SAML providers, ordered by ARN."""
    query = select(SAML_PROVIDERS).where(SAML_PROVIDERS.c.account_id == account_id, live(SAML_PROVIDERS))
    return [dict(r) for r in conn.execute(query.order_by(SAML_PROVIDERS.c.arn)).mappings()]


def find_saml_provider(conn: Connection, arn: str) -> dict[str, Any] | None:
    """The current SAML provider of ``arn`` (exact), or ``None``."""
    row = conn.execute(select(SAML_PROVIDERS).where(SAML_PROVIDERS.c.arn == arn, live(SAML_PROVIDERS))).mappings()
    found = row.first()
    return None if found is None else dict(found)
