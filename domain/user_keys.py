"""A user's keyring: its SSH public keys (for CodeCommit), its X.509 signing certificates, its service-specific
credentials and the MFA devices enabled for it. One aggregate per user (its id derives from the user's), so the
per-user quotas hold under concurrent writers and ``DeleteUser`` can refuse while anything is left on it. Only
public material is recorded: public keys, certificates, device serial numbers, and of a service-specific credential
its id, service and user name (its password lives only in the credential vault, hashed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import (
    DeleteConflictError,
    LimitExceededError,
    NoSuchEntityError,
    TranslatedError,
    ValidationError,
)

NAMESPACE: Final = uuid.UUID("6f1c2b7e-3d0a-5e8f-9b41-2c7d5e0a8f13")
SSH_PUBLIC_KEYS_PER_USER: Final = 5
SIGNING_CERTIFICATES_PER_USER: Final = 2
MFA_DEVICES_PER_USER: Final = 8
SERVICE_CREDENTIALS_PER_SERVICE: Final = 2
STATUSES: Final = ("Active", "Inactive")


def ssh_public_key_not_found(key_id: str) -> str:
    """AWS's message for an SSH public key the user does not have."""
    return f"The Public Key with id {key_id} cannot be found."


def signing_certificate_not_found(certificate_id: str) -> str:
    """AWS's message for a signing certificate the user does not have."""
    return f"The Certificate with id {certificate_id} cannot be found."


def check_status(status: str) -> str:
    """``Active`` or ``Inactive``; AWS's validation error otherwise."""
    if status not in STATUSES:
        raise ValidationError(
            f"1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: "
            "Member must satisfy enum value set: [Active, Inactive]"
        )
    return status


@dataclass(frozen=True)
class SSHPublicKey:
    """An SSH public key of a user."""

    key_id: str
    body: str
    fingerprint: str
    status: str
    upload_date: datetime


@dataclass(frozen=True)
class SigningCertificate:
    """An X.509 signing certificate of a user."""

    certificate_id: str
    body: str
    status: str
    upload_date: datetime


def service_credential_not_found(credential_id: str) -> str:
    """The message for a service-specific credential the user does not have (AWS's wording is not documented)."""
    return f"No such entity. The service-specific credential with id {credential_id} cannot be found."


@dataclass(frozen=True)
class ServiceCredential:
    """A service-specific credential of a user: a user name (or, for an API key, an alias) and a password kept only
    in the vault, for one service."""

    credential_id: str
    service_name: str
    service_user_name: str | None
    alias: str | None
    status: str
    create_date: datetime
    expiration_date: datetime | None


class UserKeyring(AuditedAggregate):
    """The SSH public keys, signing certificates, service-specific credentials and enabled MFA devices of one
    user."""

    @staticmethod
    def create_id(user_uuid: uuid.UUID) -> uuid.UUID:
        """The keyring id of the user whose aggregate id is ``user_uuid``."""
        return uuid.uuid5(NAMESPACE, str(user_uuid))

    class Created(AuditedAggregate.Created):
        account_id: str
        user_uuid: uuid.UUID

    def __init__(self, account_id: str, user_uuid: uuid.UUID) -> None:
        self.account_id = account_id
        self.user_uuid = user_uuid
        self.ssh_public_keys: dict[str, SSHPublicKey] = {}
        self.signing_certificates: dict[str, SigningCertificate] = {}
        self.mfa_devices: dict[str, datetime] = {}  # serial number -> enable date
        self.service_credentials: dict[str, ServiceCredential] = {}

    def require_empty(self) -> None:
        """``DeleteConflict`` (in AWS's words) while the user still has keys, certificates or MFA devices."""
        blockers = [
            (self.mfa_devices, "must delete MFA device first."),
            (self.signing_certificates, "must delete signing certificates first."),
            (self.ssh_public_keys, "must delete SSH public keys first."),
            (self.service_credentials, "must delete service specific credentials first."),
        ]
        for present, what in blockers:
            if present:
                raise DeleteConflictError(f"Cannot delete entity, {what}")

    # -- SSH public keys --------------------------------------------------------------------------------------

    class SSHPublicKeyUploaded(AuditedAggregate.Event):
        key_id: str
        body: str
        fingerprint: str

        def apply(self, aggregate: UserKeyring) -> None:
            aggregate.ssh_public_keys[self.key_id] = SSHPublicKey(
                self.key_id, self.body, self.fingerprint, "Active", self.timestamp
            )

    def upload_ssh_public_key(self, key_id: str, body: str, fingerprint: str) -> None:
        """Add an (already validated) public key; at most five per user, each once."""
        if any(k.fingerprint == fingerprint for k in self.ssh_public_keys.values()):
            raise TranslatedError(
                "DuplicateSSHPublicKey",
                "The request was rejected because the SSH public key is already associated with the specified "
                "IAM user.",
                400,
                sender_fault=True,
            )
        if len(self.ssh_public_keys) >= SSH_PUBLIC_KEYS_PER_USER:
            raise LimitExceededError(f"Cannot exceed quota for PublicKeysPerUser: {SSH_PUBLIC_KEYS_PER_USER}")
        self.trigger_event(self.SSHPublicKeyUploaded, key_id=key_id, body=body, fingerprint=fingerprint)

    def ssh_public_key(self, key_id: str) -> SSHPublicKey:
        """One of the user's SSH public keys; ``NoSuchEntity`` otherwise."""
        key = self.ssh_public_keys.get(key_id)
        if key is None:
            raise NoSuchEntityError(ssh_public_key_not_found(key_id))
        return key

    class SSHPublicKeyUpdated(AuditedAggregate.Event):
        key_id: str
        status: str

        def apply(self, aggregate: UserKeyring) -> None:
            key = aggregate.ssh_public_keys[self.key_id]
            aggregate.ssh_public_keys[self.key_id] = replace(key, status=self.status)

    def update_ssh_public_key(self, key_id: str, status: str) -> None:
        """Activate or deactivate a key (nothing is recorded when it already has ``status``)."""
        key = self.ssh_public_key(key_id)
        if key.status != check_status(status):
            self.trigger_event(self.SSHPublicKeyUpdated, key_id=key_id, status=status)

    class SSHPublicKeyDeleted(AuditedAggregate.Event):
        key_id: str

        def apply(self, aggregate: UserKeyring) -> None:
            aggregate.ssh_public_keys.pop(self.key_id, None)

    def delete_ssh_public_key(self, key_id: str) -> None:
        """Forget a key."""
        self.ssh_public_key(key_id)
        self.trigger_event(self.SSHPublicKeyDeleted, key_id=key_id)

    # -- signing certificates ---------------------------------------------------------------------------------

    class SigningCertificateUploaded(AuditedAggregate.Event):
        certificate_id: str
        body: str

        def apply(self, aggregate: UserKeyring) -> None:
            aggregate.signing_certificates[self.certificate_id] = SigningCertificate(
                self.certificate_id, self.body, "Active", self.timestamp
            )

    def upload_signing_certificate(self, certificate_id: str, body: str) -> None:
        """Add an (already validated) certificate; at most two per user, each once."""
        if any(c.certificate_id == certificate_id for c in self.signing_certificates.values()):
            raise TranslatedError(
                "DuplicateCertificate",
                "The request was rejected because the same certificate is associated with an IAM user in the account.",
                409,
                sender_fault=True,
            )
        if len(self.signing_certificates) >= SIGNING_CERTIFICATES_PER_USER:
            raise LimitExceededError(f"Cannot exceed quota for CertificatesPerUser: {SIGNING_CERTIFICATES_PER_USER}")
        self.trigger_event(self.SigningCertificateUploaded, certificate_id=certificate_id, body=body)

    def signing_certificate(self, certificate_id: str) -> SigningCertificate:
        """One of the user's signing certificates; ``NoSuchEntity`` otherwise."""
        cert = self.signing_certificates.get(certificate_id)
        if cert is None:
            raise NoSuchEntityError(signing_certificate_not_found(certificate_id))
        return cert

    class SigningCertificateUpdated(AuditedAggregate.Event):
        certificate_id: str
        status: str

        def apply(self, aggregate: UserKeyring) -> None:
            cert = aggregate.signing_certificates[self.certificate_id]
            aggregate.signing_certificates[self.certificate_id] = replace(cert, status=self.status)

    def update_signing_certificate(self, certificate_id: str, status: str) -> None:
        """Activate or deactivate a certificate (nothing is recorded when it already has ``status``)."""
        cert = self.signing_certificate(certificate_id)
        if cert.status != check_status(status):
            self.trigger_event(self.SigningCertificateUpdated, certificate_id=certificate_id, status=status)

    class SigningCertificateDeleted(AuditedAggregate.Event):
        certificate_id: str

        def apply(self, aggregate: UserKeyring) -> None:
            aggregate.signing_certificates.pop(self.certificate_id, None)

    def delete_signing_certificate(self, certificate_id: str) -> None:
        """Forget a certificate."""
        self.signing_certificate(certificate_id)
        self.trigger_event(self.SigningCertificateDeleted, certificate_id=certificate_id)

    # -- MFA devices ------------------------------------------------------------------------------------------

    class MFADeviceEnabled(AuditedAggregate.Event):
        serial_number: str
        device_uuid: uuid.UUID

        def apply(self, aggregate: UserKeyring) -> None:
            aggregate.mfa_devices[self.serial_number] = self.timestamp

    def enable_mfa_device(self, serial_number: str, device_uuid: uuid.UUID) -> None:
        """Note a device enabled for the user; at most eight per user."""
        if len(self.mfa_devices) >= MFA_DEVICES_PER_USER:
            raise LimitExceededError(f"Cannot exceed quota for MFADevicesPerUser: {MFA_DEVICES_PER_USER}")
        self.trigger_event(self.MFADeviceEnabled, serial_number=serial_number, device_uuid=device_uuid)

    class MFADeviceDeactivated(AuditedAggregate.Event):
        serial_number: str
        device_uuid: uuid.UUID

        def apply(self, aggregate: UserKeyring) -> None:
            aggregate.mfa_devices.pop(self.serial_number, None)

    def deactivate_mfa_device(self, serial_number: str, device_uuid: uuid.UUID) -> None:
        """Note that a device of the user was deactivated."""
        self.trigger_event(self.MFADeviceDeactivated, serial_number=serial_number, device_uuid=device_uuid)

    # -- service-specific credentials -------------------------------------------------------------------------

    class ServiceCredentialCreated(AuditedAggregate.Event):
        account_id: str
        user_uuid: uuid.UUID
        credential_id: str
        service_name: str
        service_user_name: str | None
        alias: str | None
        expiration_date: datetime | None

        def apply(self, aggregate: UserKeyring) -> None:
            aggregate.service_credentials[self.credential_id] = ServiceCredential(
                self.credential_id,
                self.service_name,
                self.service_user_name,
                self.alias,
                "Active",
                self.timestamp,
                self.expiration_date,
            )

    def create_service_credential(
        self,
        credential_id: str,
        service_name: str,
        *,
        service_user_name: str | None,
        alias: str | None,
        expiration_date: datetime | None,
    ) -> ServiceCredential:
        """Add a credential for ``service_name``; at most two per service."""
        same = [c for c in self.service_credentials.values() if c.service_name == service_name]
        if len(same) >= SERVICE_CREDENTIALS_PER_SERVICE:
            quota = "ServiceSpecificCredentialsPerUserPerService"
            raise LimitExceededError(f"Cannot exceed quota for {quota}: {SERVICE_CREDENTIALS_PER_SERVICE}")
        self.trigger_event(
            self.ServiceCredentialCreated,
            account_id=self.account_id,
            user_uuid=self.user_uuid,
            credential_id=credential_id,
            service_name=service_name,
            service_user_name=service_user_name,
            alias=alias,
            expiration_date=expiration_date,
        )
        return self.service_credentials[credential_id]

    def service_credential(self, credential_id: str) -> ServiceCredential:
        """One of the user's service-specific credentials; ``NoSuchEntity`` otherwise."""
        credential = self.service_credentials.get(credential_id)
        if credential is None:
            raise NoSuchEntityError(service_credential_not_found(credential_id))
        return credential

    class ServiceCredentialReset(AuditedAggregate.Event):
        credential_id: str

        def apply(self, aggregate: UserKeyring) -> None:
            """A new password, in the vault: nothing the aggregate holds changes."""

    def reset_service_credential(self, credential_id: str) -> ServiceCredential:
        """Note that a credential's password was replaced."""
        credential = self.service_credential(credential_id)
        self.trigger_event(self.ServiceCredentialReset, credential_id=credential_id)
        return credential

    class ServiceCredentialUpdated(AuditedAggregate.Event):
        credential_id: str
        status: str

        def apply(self, aggregate: UserKeyring) -> None:
            credential = aggregate.service_credentials[self.credential_id]
            aggregate.service_credentials[self.credential_id] = replace(credential, status=self.status)

    def update_service_credential(self, credential_id: str, status: str) -> None:
        """Activate or deactivate a credential (nothing is recorded when it already has ``status``)."""
        credential = self.service_credential(credential_id)
        if credential.status != check_status(status):
            self.trigger_event(self.ServiceCredentialUpdated, credential_id=credential_id, status=status)

    class ServiceCredentialDeleted(AuditedAggregate.Event):
        credential_id: str

        def apply(self, aggregate: UserKeyring) -> None:
            aggregate.service_credentials.pop(self.credential_id, None)

    def delete_service_credential(self, credential_id: str) -> None:
        """Forget a credential."""
        self.service_credential(credential_id)
        self.trigger_event(self.ServiceCredentialDeleted, credential_id=credential_id)
