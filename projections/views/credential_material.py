"""The views of credential material: virtual MFA devices (and whom each is enabled for), users' SSH public keys and
signing certificates (by keyring), server certificates, and the tags of devices and server certificates. No secret
is ever in them: MFA seeds stay in the vault and server certificates' private keys are never kept."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, func, select

from iamledger.domain.arns import iam_arn
from iamledger.domain.names import name_key
from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import close_rows, open_row, replace_row
from iamledger.projections.views.principals import account_of, under_path
from iamledger.projections.views.tables import (
    MFA_DEVICES,
    SERVER_CERTIFICATES,
    SIGNING_CERTIFICATES,
    SSH_PUBLIC_KEYS,
    TAGS,
)
from iamledger.projections.views.tags import open_tags, tag_entity, untag_entity

if TYPE_CHECKING:
    from iamledger.domain.mfa import VirtualMFADevice
    from iamledger.domain.server_certificates import ServerCertificate
    from iamledger.domain.user_keys import UserKeyring

MFA_KIND = "mfa"  # VirtualMFADevice.kind, named here so that the view needs no aggregate module imported
CERT_KIND = "server-certificate"  # ServerCertificate.kind
MATERIAL_TABLES = (MFA_DEVICES, SERVER_CERTIFICATES)


# -- virtual MFA devices ---------------------------------------------------------------------------------------------


@prefetches(
    "iamledger.domain.mfa:VirtualMFADevice.Enabled",
    "iamledger.domain.mfa:VirtualMFADevice.Deactivated",
    "iamledger.domain.mfa:VirtualMFADevice.Tagged",
    "iamledger.domain.mfa:VirtualMFADevice.Untagged",
    "iamledger.domain.mfa:VirtualMFADevice.Deleted",
)
def _device_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(MFA_DEVICES, "entity_uuid", str(event.originator_id)), (TAGS, "resource_uuid", str(event.originator_id))]


@handles("iamledger.domain.mfa:VirtualMFADevice.Created", batched=True)
def _device_created(conn: Connection, event: VirtualMFADevice.Created, position: int) -> None:
    entity = str(event.originator_id)
    open_row(
        conn,
        MFA_DEVICES,
        position,
        entity_uuid=entity,
        account_id=event.account_id,
        serial_number=event.serial_number,
        virtual_mfa_device_name=event.virtual_mfa_device_name,
        path=event.path,
        create_date=event.timestamp,
        user_uuid=None,
        enable_date=None,
    )
    open_tags(conn, position, event.account_id, MFA_KIND, entity, event.tags)


@handles("iamledger.domain.mfa:VirtualMFADevice.Enabled", batched=True)
def _device_enabled(conn: Connection, event: VirtualMFADevice.Enabled, position: int) -> None:
    key = {"entity_uuid": str(event.originator_id)}
    replace_row(conn, MFA_DEVICES, position, key, user_uuid=str(event.user_uuid), enable_date=event.timestamp)


@handles("iamledger.domain.mfa:VirtualMFADevice.Deactivated", batched=True)
def _device_deactivated(conn: Connection, event: VirtualMFADevice.Deactivated, position: int) -> None:
    replace_row(
        conn, MFA_DEVICES, position, {"entity_uuid": str(event.originator_id)}, user_uuid=None, enable_date=None
    )


@handles(
    "iamledger.domain.mfa:VirtualMFADevice.Tagged",
    "iamledger.domain.server_certificates:ServerCertificate.Tagged",
    batched=True,
)
def _tagged(conn: Connection, event: Any, position: int) -> None:
    from iamledger.domain.mfa import VirtualMFADevice

    kind = MFA_KIND if isinstance(event, VirtualMFADevice.Tagged) else CERT_KIND
    tag_entity(conn, event, position, account_of(conn, str(event.originator_id), MATERIAL_TABLES), kind)


@handles(
    "iamledger.domain.mfa:VirtualMFADevice.Untagged",
    "iamledger.domain.server_certificates:ServerCertificate.Untagged",
    batched=True,
)
def _untagged(conn: Connection, event: Any, position: int) -> None:
    from iamledger.domain.mfa import VirtualMFADevice

    kind = MFA_KIND if isinstance(event, VirtualMFADevice.Untagged) else CERT_KIND
    untag_entity(conn, event, position, kind)


@handles(
    "iamledger.domain.mfa:VirtualMFADevice.Deleted",
    "iamledger.domain.server_certificates:ServerCertificate.Deleted",
    batched=True,
)
def _deleted(conn: Connection, event: Any, position: int) -> None:
    from iamledger.domain.mfa import VirtualMFADevice

    entity = str(event.originator_id)
    table = MFA_DEVICES if isinstance(event, VirtualMFADevice.Deleted) else SERVER_CERTIFICATES
    close_rows(conn, table, position, entity_uuid=entity)
    close_rows(conn, TAGS, position, resource_uuid=entity)


def current_mfa_devices(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """The account's virtual MFA devices, ordered by serial number."""
    query = (
        select(MFA_DEVICES)
        .where(MFA_DEVICES.c.account_id == account_id, live(MFA_DEVICES))
        .order_by(MFA_DEVICES.c.serial_number)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def mfa_devices_of_user(conn: Connection, user_uuid: str) -> list[dict[str, Any]]:
    """The virtual MFA devices enabled for a user, ordered by enable date."""
    query = (
        select(MFA_DEVICES)
        .where(MFA_DEVICES.c.user_uuid == user_uuid, live(MFA_DEVICES))
        .order_by(MFA_DEVICES.c.enable_date, MFA_DEVICES.c.serial_number)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def find_mfa_device(conn: Connection, account_id: str, serial_number: str) -> dict[str, Any] | None:
    """The current virtual MFA device with ``serial_number``, or ``None``."""
    query = select(MFA_DEVICES).where(
        MFA_DEVICES.c.account_id == account_id, MFA_DEVICES.c.serial_number == serial_number, live(MFA_DEVICES)
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


# -- SSH public keys and signing certificates -----------------------------------------------------------------------


@handles("iamledger.domain.user_keys:UserKeyring.SSHPublicKeyUploaded", batched=True)
def _ssh_uploaded(conn: Connection, event: UserKeyring.SSHPublicKeyUploaded, position: int) -> None:
    open_row(
        conn,
        SSH_PUBLIC_KEYS,
        position,
        keyring_uuid=str(event.originator_id),
        ssh_public_key_id=event.key_id,
        body=event.body,
        fingerprint=event.fingerprint,
        status="Active",
        upload_date=event.timestamp,
    )


@handles("iamledger.domain.user_keys:UserKeyring.SSHPublicKeyUpdated", batched=True)
def _ssh_updated(conn: Connection, event: UserKeyring.SSHPublicKeyUpdated, position: int) -> None:
    key = {"keyring_uuid": str(event.originator_id), "ssh_public_key_id": event.key_id}
    replace_row(conn, SSH_PUBLIC_KEYS, position, key, status=event.status)


@handles("iamledger.domain.user_keys:UserKeyring.SSHPublicKeyDeleted", batched=True)
def _ssh_deleted(conn: Connection, event: UserKeyring.SSHPublicKeyDeleted, position: int) -> None:
    close_rows(conn, SSH_PUBLIC_KEYS, position, keyring_uuid=str(event.originator_id), ssh_public_key_id=event.key_id)


@handles("iamledger.domain.user_keys:UserKeyring.SigningCertificateUploaded", batched=True)
def _cert_uploaded(conn: Connection, event: UserKeyring.SigningCertificateUploaded, position: int) -> None:
    open_row(
        conn,
        SIGNING_CERTIFICATES,
        position,
        keyring_uuid=str(event.originator_id),
        certificate_id=event.certificate_id,
        body=event.body,
        status="Active",
        upload_date=event.timestamp,
    )


@handles("iamledger.domain.user_keys:UserKeyring.SigningCertificateUpdated", batched=True)
def _cert_updated(conn: Connection, event: UserKeyring.SigningCertificateUpdated, position: int) -> None:
    key = {"keyring_uuid": str(event.originator_id), "certificate_id": event.certificate_id}
    replace_row(conn, SIGNING_CERTIFICATES, position, key, status=event.status)


@handles("iamledger.domain.user_keys:UserKeyring.SigningCertificateDeleted", batched=True)
def _cert_deleted(conn: Connection, event: UserKeyring.SigningCertificateDeleted, position: int) -> None:
    close_rows(
        conn,
        SIGNING_CERTIFICATES,
        position,
        keyring_uuid=str(event.originator_id),
        certificate_id=event.certificate_id,
    )


def ssh_public_keys_of(conn: Connection, keyring_uuid: str) -> list[dict[str, Any]]:
    """A user's current SSH public keys, oldest first."""
    table = SSH_PUBLIC_KEYS
    query = select(table).where(table.c.keyring_uuid == keyring_uuid, live(table)).order_by(table.c.valid_from)
    return [dict(r) for r in conn.execute(query).mappings()]


def signing_certificates_of(conn: Connection, keyring_uuid: str) -> list[dict[str, Any]]:
    """A user's current signing certificates, oldest first."""
    table = SIGNING_CERTIFICATES
    query = select(table).where(table.c.keyring_uuid == keyring_uuid, live(table)).order_by(table.c.upload_date)
    return [dict(r) for r in conn.execute(query).mappings()]


def root_has_signing_certificate(conn: Connection, account_id: str) -> bool:
    """Whether the account's root user has a signing certificate at the bound position."""
    from iamledger.domain.accounts import Account
    from iamledger.domain.user_keys import UserKeyring

    keyring = str(UserKeyring.create_id(Account.create_id(account_id)))
    table = SIGNING_CERTIFICATES
    query = select(func.count()).where(table.c.keyring_uuid == keyring, live(table))
    return bool(conn.execute(query).scalar())


# -- server certificates ---------------------------------------------------------------------------------------------


@prefetches(
    "iamledger.domain.server_certificates:ServerCertificate.Updated",
    "iamledger.domain.server_certificates:ServerCertificate.Tagged",
    "iamledger.domain.server_certificates:ServerCertificate.Untagged",
    "iamledger.domain.server_certificates:ServerCertificate.Deleted",
)
def _server_certificate_row(event: Any) -> list[tuple[Table, str, Any]]:
    entity = str(event.originator_id)
    return [(SERVER_CERTIFICATES, "entity_uuid", entity), (TAGS, "resource_uuid", entity)]


@handles("iamledger.domain.server_certificates:ServerCertificate.Created", batched=True)
def _server_certificate_created(conn: Connection, event: ServerCertificate.Created, position: int) -> None:
    entity = str(event.originator_id)
    open_row(
        conn,
        SERVER_CERTIFICATES,
        position,
        entity_uuid=entity,
        account_id=event.account_id,
        server_certificate_id=event.server_certificate_id,
        server_certificate_name=event.server_certificate_name,
        name_key=name_key(event.server_certificate_name),
        path=event.path,
        arn=iam_arn(event.account_id, CERT_KIND, event.path, event.server_certificate_name),
        certificate_body=event.certificate_body,
        certificate_chain=event.certificate_chain,
        upload_date=event.timestamp,
        expiration=event.expiration,
    )
    open_tags(conn, position, event.account_id, CERT_KIND, entity, event.tags)


@handles("iamledger.domain.server_certificates:ServerCertificate.Updated", batched=True)
def _server_certificate_updated(conn: Connection, event: ServerCertificate.Updated, position: int) -> None:
    entity = str(event.originator_id)
    account = account_of(conn, entity, MATERIAL_TABLES)
    replace_row(
        conn,
        SERVER_CERTIFICATES,
        position,
        {"entity_uuid": entity},
        server_certificate_name=event.server_certificate_name,
        name_key=name_key(event.server_certificate_name),
        path=event.path,
        arn=iam_arn(account, CERT_KIND, event.path, event.server_certificate_name),
    )


def current_server_certificates(conn: Connection, account_id: str, path_prefix: str = "/") -> list[dict[str, Any]]:
    """The account's server certificates whose path starts with ``path_prefix``, ordered by name."""
    return under_path(conn, SERVER_CERTIFICATES, "server_certificate_name", account_id, path_prefix)


def find_server_certificate(conn: Connection, account_id: str, name: str) -> dict[str, Any] | None:
    """The current server certificate called ``name`` (any case), or ``None``."""
    table = SERVER_CERTIFICATES
    query = select(table).where(table.c.account_id == account_id, table.c.name_key == name_key(name), live(table))
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None
