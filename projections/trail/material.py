"""The audit trail's records of the credential-material operations: virtual MFA devices, users' SSH public keys,
signing certificates and service-specific credentials, and server certificates (see
:mod:`iamledger.projections.trail.render`).

Certificate bodies and public keys are public and are recorded as AWS's CloudTrail records them; MFA seeds,
authentication codes, service-specific passwords and server certificates' private keys are in no event, so in no
record either."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from iamledger.domain.arns import iam_arn
from iamledger.domain.tagging import TaggedEvent, UntaggedEvent
from iamledger.projections.trail.records import Resource, _drop_none, _Fact, _tags, iso

if TYPE_CHECKING:
    from iamledger.projections.trail.state import TrailState

MFA_DEVICE: Final = "AWS::IAM::MFADevice"
SERVER_CERTIFICATE: Final = "AWS::IAM::ServerCertificate"
SSH_PUBLIC_KEY: Final = "AWS::IAM::SSHPublicKey"
SIGNING_CERTIFICATE: Final = "AWS::IAM::SigningCertificate"
SERVICE_CREDENTIAL: Final = "AWS::IAM::ServiceSpecificCredential"
MODULES: Final = frozenset(
    {"iamledger.domain.mfa", "iamledger.domain.server_certificates", "iamledger.domain.user_keys"}
)
"""The modules of the events this module makes facts of, named rather than imported: the trail's stored state
(``stored_state``) needs this module's records whenever a store is opened, the aggregates' modules only once their
events are decoded."""


@dataclass
class _Device:
    account_id: str
    serial_number: str
    name: str


@dataclass
class _Keyring:
    account_id: str
    user_uuid: uuid.UUID


@dataclass
class _Certificate:
    account_id: str
    name: str
    path: str


def is_material_event(event: Any) -> bool:
    """Whether ``event`` is one of this module's."""
    return type(event).__module__ in MODULES


def apply_material(trail: TrailState, event: Any) -> None:
    """Remember what later records of devices, keyrings and server certificates need."""
    from iamledger.domain.mfa import VirtualMFADevice
    from iamledger.domain.server_certificates import ServerCertificate
    from iamledger.domain.user_keys import UserKeyring

    oid = event.originator_id
    if isinstance(event, VirtualMFADevice.Created):
        trail.material[oid] = _Device(event.account_id, event.serial_number, event.virtual_mfa_device_name)
    elif isinstance(event, UserKeyring.Created):
        trail.material[oid] = _Keyring(event.account_id, event.user_uuid)
    elif isinstance(event, ServerCertificate.Created):
        trail.material[oid] = _Certificate(event.account_id, event.server_certificate_name, event.path)
    elif isinstance(event, VirtualMFADevice.Enabled):
        trail.mfa_users[oid] = event.user_uuid
    elif isinstance(event, VirtualMFADevice.Deactivated):
        trail.mfa_users.pop(oid, None)
    elif isinstance(event, ServerCertificate.Updated):
        old = trail.material.get(oid)
        if isinstance(old, _Certificate):
            trail.material[oid] = _Certificate(old.account_id, event.server_certificate_name, event.path)


def _resource(type_: str, name: str, *aliases: str) -> Any:

    return Resource(type_, name, frozenset({name, *aliases}))


def _new_fact(position: int, event: Any, operation: str, **kwargs: Any) -> _Fact:

    return _Fact(position, event, operation, **kwargs)


def material_fact(trail: TrailState, position: int, event: Any) -> _Fact | None:
    """What an event of this module says about its call (from the state before the event applies)."""
    from iamledger.domain.mfa import VirtualMFADevice
    from iamledger.domain.server_certificates import ServerCertificate
    from iamledger.domain.user_keys import UserKeyring

    if isinstance(event, VirtualMFADevice.Created | ServerCertificate.Created | UserKeyring.Created):
        return _created_fact(position, event)
    known = trail.material.get(event.originator_id)
    if isinstance(known, _Device):
        return _device_fact(trail, position, event, known)
    if isinstance(known, _Keyring):
        return _keyring_fact(trail, position, event, known)
    if isinstance(known, _Certificate):
        return _certificate_fact(position, event, known)
    return None


def _created_fact(position: int, event: Any) -> _Fact:

    from iamledger.domain.mfa import VirtualMFADevice
    from iamledger.domain.server_certificates import ServerCertificate
    from iamledger.domain.user_keys import UserKeyring

    if isinstance(event, UserKeyring.Created):
        joins = ("Upload*", "EnableMFADevice", "CreateServiceSpecificCredential")
        return _new_fact(position, event, "UserKeyring", primary=False, joins=joins)
    tags = _tags(event.tags) if event.tags else None
    if isinstance(event, VirtualMFADevice.Created):
        params = {"virtualMFADeviceName": event.virtual_mfa_device_name, "path": event.path, "tags": tags}
        return _new_fact(
            position,
            event,
            "CreateVirtualMFADevice",
            params=_drop_none(params),
            response={"virtualMFADevice": {"serialNumber": event.serial_number}},
            resources=[_resource(MFA_DEVICE, event.serial_number, event.virtual_mfa_device_name)],
            entities={event.originator_id},
            account=event.account_id,
        )
    arn = iam_arn(event.account_id, ServerCertificate.kind, event.path, event.server_certificate_name)
    params = {
        "serverCertificateName": event.server_certificate_name,
        "path": event.path,
        "certificateBody": event.certificate_body,
        "certificateChain": event.certificate_chain,
        "tags": tags,
    }
    metadata = {
        "path": event.path,
        "serverCertificateName": event.server_certificate_name,
        "serverCertificateId": event.server_certificate_id,
        "arn": arn,
        "uploadDate": iso(event.timestamp),
        "expiration": iso(event.expiration),
    }
    return _new_fact(
        position,
        event,
        "UploadServerCertificate",
        params=_drop_none(params),
        response={"serverCertificateMetadata": metadata},
        resources=[_resource(SERVER_CERTIFICATE, event.server_certificate_name, arn)],
        entities={event.originator_id},
        account=event.account_id,
    )


def _device_fact(trail: TrailState, position: int, event: Any, device: _Device) -> _Fact | None:
    from iamledger.domain.mfa import VirtualMFADevice

    fact = _new_fact(
        position,
        event,
        "",
        resources=[_resource(MFA_DEVICE, device.serial_number, device.name)],
        entities={event.originator_id},
        account=device.account_id,
    )
    base: dict[str, Any] = {"serialNumber": device.serial_number}
    user_uuid = getattr(event, "user_uuid", None)
    if isinstance(event, VirtualMFADevice.Resynced):
        user_uuid = _assigned_user(trail, event.originator_id)
    if user_uuid is not None:
        fact.resources += trail._resource_of(user_uuid)  # noqa: SLF001 - the trail's own helper
        fact.entities.add(user_uuid)
        base = {"userName": trail._name_of(user_uuid), **base}  # noqa: SLF001
    operations: dict[type, str] = {
        VirtualMFADevice.Enabled: "EnableMFADevice",
        VirtualMFADevice.Deactivated: "DeactivateMFADevice",
        VirtualMFADevice.Resynced: "ResyncMFADevice",
        VirtualMFADevice.Deleted: "DeleteVirtualMFADevice",
    }
    operation = operations.get(type(event))
    if operation is not None:
        return _set(fact, operation, base)
    return _tag_fact(fact, event, base, "MFADevice")


def _assigned_user(trail: TrailState, device_id: uuid.UUID) -> uuid.UUID | None:
    user: uuid.UUID | None = trail.mfa_users.get(device_id)
    return user


def _tag_fact(fact: _Fact, event: Any, base: dict[str, Any], suffix: str) -> _Fact | None:

    if isinstance(event, TaggedEvent):
        return _set(fact, f"Tag{suffix}", base | {"tags": _tags(event.tags)})
    if isinstance(event, UntaggedEvent):
        return _set(fact, f"Untag{suffix}", base | {"tagKeys": list(event.tag_keys)})
    return None


def _keyring_fact(trail: TrailState, position: int, event: Any, keyring: _Keyring) -> _Fact | None:  # noqa: PLR0911 - one return per event kind

    from iamledger.domain.user_keys import UserKeyring

    user_name = trail._name_of(keyring.user_uuid)  # noqa: SLF001 - the trail's own helper
    fact = _new_fact(
        position,
        event,
        "",
        resources=trail._resource_of(keyring.user_uuid),  # noqa: SLF001
        entities={event.originator_id, keyring.user_uuid},
        account=keyring.account_id,
    )
    base: dict[str, Any] = {"userName": user_name}
    if isinstance(event, UserKeyring.MFADeviceEnabled | UserKeyring.MFADeviceDeactivated):
        joins = ("EnableMFADevice",) if isinstance(event, UserKeyring.MFADeviceEnabled) else ("DeactivateMFADevice",)
        return _set(fact, "UserKeyring", None, primary=False, joins=joins)
    if isinstance(
        event,
        UserKeyring.ServiceCredentialCreated
        | UserKeyring.ServiceCredentialReset
        | UserKeyring.ServiceCredentialUpdated
        | UserKeyring.ServiceCredentialDeleted,
    ):
        return _service_credential_fact(fact, event, base)
    if isinstance(
        event, UserKeyring.SSHPublicKeyUploaded | UserKeyring.SSHPublicKeyUpdated | UserKeyring.SSHPublicKeyDeleted
    ):
        fact.resources.insert(0, _resource(SSH_PUBLIC_KEY, event.key_id))
        key = {"sSHPublicKeyId": event.key_id}
        if isinstance(event, UserKeyring.SSHPublicKeyUploaded):
            fact.response = {"sSHPublicKey": base | key | {"status": "Active", "uploadDate": iso(event.timestamp)}}
            return _set(fact, "UploadSSHPublicKey", base | {"sSHPublicKeyBody": event.body})
        if isinstance(event, UserKeyring.SSHPublicKeyUpdated):
            return _set(fact, "UpdateSSHPublicKey", base | key | {"status": event.status})
        return _set(fact, "DeleteSSHPublicKey", base | key)
    fact.resources.insert(0, _resource(SIGNING_CERTIFICATE, event.certificate_id))
    cert = {"certificateId": event.certificate_id}
    if isinstance(event, UserKeyring.SigningCertificateUploaded):
        fact.response = {"certificate": base | cert | {"status": "Active", "uploadDate": iso(event.timestamp)}}
        return _set(fact, "UploadSigningCertificate", base | {"certificateBody": event.body})
    if isinstance(event, UserKeyring.SigningCertificateUpdated):
        return _set(fact, "UpdateSigningCertificate", base | cert | {"status": event.status})
    if isinstance(event, UserKeyring.SigningCertificateDeleted):
        return _set(fact, "DeleteSigningCertificate", base | cert)
    return None


def _service_credential_fact(fact: _Fact, event: Any, base: dict[str, Any]) -> _Fact:
    """The record of a service-specific credential operation: what CloudTrail shows of it, never a password."""
    from iamledger.domain.user_keys import UserKeyring

    fact.resources.insert(0, _resource(SERVICE_CREDENTIAL, event.credential_id))
    credential = {"serviceSpecificCredentialId": event.credential_id}
    if isinstance(event, UserKeyring.ServiceCredentialCreated):
        created = {
            "createDate": iso(event.timestamp),
            "expirationDate": iso(event.expiration_date) if event.expiration_date else None,
            "serviceName": event.service_name,
            "serviceUserName": event.service_user_name,
            "serviceCredentialAlias": event.alias,
            "status": "Active",
        }
        fact.response = {"serviceSpecificCredential": base | credential | _drop_none(created)}
        return _set(fact, "CreateServiceSpecificCredential", base | {"serviceName": event.service_name})
    if isinstance(event, UserKeyring.ServiceCredentialReset):
        return _set(fact, "ResetServiceSpecificCredential", base | credential)
    if isinstance(event, UserKeyring.ServiceCredentialUpdated):
        return _set(fact, "UpdateServiceSpecificCredential", base | credential | {"status": event.status})
    return _set(fact, "DeleteServiceSpecificCredential", base | credential)


def _certificate_fact(position: int, event: Any, cert: _Certificate) -> _Fact | None:
    from iamledger.domain.server_certificates import ServerCertificate

    arn = iam_arn(cert.account_id, ServerCertificate.kind, cert.path, cert.name)
    fact = _new_fact(
        position,
        event,
        "",
        resources=[_resource(SERVER_CERTIFICATE, cert.name, arn)],
        entities={event.originator_id},
        account=cert.account_id,
    )
    base: dict[str, Any] = {"serverCertificateName": cert.name}
    if isinstance(event, ServerCertificate.Updated):
        params = dict(base)
        if event.server_certificate_name != cert.name:
            params["newServerCertificateName"] = event.server_certificate_name
            new_arn = iam_arn(cert.account_id, ServerCertificate.kind, event.path, event.server_certificate_name)
            fact.resources.append(_resource(SERVER_CERTIFICATE, event.server_certificate_name, new_arn))
        if event.path != cert.path:
            params["newPath"] = event.path
        return _set(fact, "UpdateServerCertificate", params)
    if isinstance(event, ServerCertificate.Deleted):
        return _set(fact, "DeleteServerCertificate", base)
    return _tag_fact(fact, event, base, "ServerCertificate")


def _set(
    fact: _Fact, operation: str, params: dict[str, Any] | None, *, primary: bool = True, joins: tuple[str, ...] = ()
) -> _Fact:
    fact.operation = operation
    fact.params = params
    fact.primary = primary
    fact.joins = joins
    return fact
