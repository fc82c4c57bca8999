"""Users' service-specific credentials: CreateServiceSpecificCredential, ListServiceSpecificCredentials,
ResetServiceSpecificCredential, UpdateServiceSpecificCredential and DeleteServiceSpecificCredential.

A credential is a user name and password for CodeCommit (Git over HTTPS) or Amazon Keyspaces, or an API key (an
alias and a secret) for Amazon Bedrock or CloudWatch Logs, at most two per user and service. The password (or the
API key's secret) is generated here and returned by Create and Reset only; it never enters an event, a view, a log
or the audit trail: the credential vault keeps its argon2id hash (kind ``service_credential``), all a service ever
needs to check one, and a reset replaces the hash before the reset is recorded, so the old password stops working
even if the recording fails.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection

from iamledger.domain.errors import InvalidInputError, TranslatedError
from iamledger.domain.ids import new_unique_id
from iamledger.logconfig import get_logger
from iamledger.passwords import hash_password
from iamledger.projections.views.service_credentials import account_service_credentials, service_credentials_of
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.shapes import aws_datetime
from iamledger.services.user_keys import KeyringBase

if TYPE_CHECKING:
    from iamledger.domain.user_keys import ServiceCredential

log = get_logger(__name__)

PASSWORD_SERVICES: Final = frozenset({"codecommit.amazonaws.com", "cassandra.amazonaws.com"})
"""The services whose credentials are a user name and a password."""
API_KEY_SERVICES: Final = frozenset({"bedrock.amazonaws.com", "logs.amazonaws.com"})
"""The services whose credentials are long-term API keys (an alias and a secret, optionally expiring)."""
SECRET_KIND: Final = "service_credential"  # noqa: S105 - a vault row kind, not a secret
PASSWORD_BYTES: Final = 32
ID_PREFIX: Final = "ACCA"


def secret_id(credential_id: str) -> str:
    """The vault id of a credential's password hash."""
    return f"service-credential:{credential_id}"


def service_not_supported(service_name: str) -> TranslatedError:
    """AWS's ``NotSupportedService`` (HTTP 404) for a service that takes no service-specific credentials."""
    return TranslatedError(
        "NotSupportedService",
        f"The specified service ({service_name}) does not support service-specific credentials.",
        404,
        sender_fault=True,
    )


def _status(credential: dict[str, Any], now: datetime) -> str:
    """``Expired`` for an API key past its expiration date, else the stored status."""
    expires = credential["expiration_date"]
    return "Expired" if expires is not None and now >= expires else str(credential["status"])


def _metadata(row: dict[str, Any], user_name: str, now: datetime) -> dict[str, Any]:
    """``ServiceSpecificCredentialMetadata``: everything but the secret."""
    shape: dict[str, Any] = {"UserName": user_name, "Status": _status(row, now)}
    if row["service_user_name"] is not None:
        shape["ServiceUserName"] = row["service_user_name"]
    if row["alias"] is not None:
        shape["ServiceCredentialAlias"] = row["alias"]
    shape["CreateDate"] = aws_datetime(row["create_date"])
    if row["expiration_date"] is not None:
        shape["ExpirationDate"] = aws_datetime(row["expiration_date"])
    return shape | {"ServiceSpecificCredentialId": row["credential_id"], "ServiceName": row["service_name"]}


def _with_secret(credential: ServiceCredential, user_name: str, secret: str, now: datetime) -> dict[str, Any]:
    """``ServiceSpecificCredential``: the metadata and the secret, as Create and Reset return them (once)."""
    row = {
        "credential_id": credential.credential_id,
        "service_name": credential.service_name,
        "service_user_name": credential.service_user_name,
        "alias": credential.alias,
        "status": credential.status,
        "create_date": credential.create_date,
        "expiration_date": credential.expiration_date,
    }
    shape = _metadata(row, user_name, now)
    if credential.alias is not None:
        return shape | {"ServiceCredentialSecret": secret}
    return shape | {"ServicePassword": secret}


def _free_name(user_name: str, account_id: str, taken: set[str]) -> str:
    """The credential's user name (or API key's alias): ``alice-at-123456789012``, then ``alice+1-at-...`` as
    AWS's documented examples show for a user's second CodeCommit credential."""
    number = 0
    while True:
        suffix = "" if number == 0 else f"+{number}"
        name = f"{user_name}{suffix}-at-{account_id}"
        if name not in taken:
            return name
        number += 1


class ServiceCredentialsService(KeyringBase):
    """The service-specific credential operations of the store."""

    def _store_secret(self, account_id: str, credential_id: str, owner_arn: str, secret: str) -> None:
        self.vault.put_secret(
            secret_id=secret_id(credential_id),
            account_id=account_id,
            kind=SECRET_KIND,
            owner_arn=owner_arn,
            secret=hash_password(secret),
        )

    @command("CreateServiceSpecificCredential")
    def create_service_specific_credential(
        self, account_id: str, *, UserName: str, ServiceName: str, CredentialAgeDays: int | None = None
    ) -> dict[str, Any]:
        """A new credential of a user for one service: a user name and password (CodeCommit, Keyspaces) or an API
        key (Bedrock, CloudWatch Logs; ``CredentialAgeDays`` makes it expire). The secret is returned here and by a
        reset only; at most two credentials per user and service (``LimitExceeded``)."""
        user = self._keyring_user(account_id, UserName)
        if ServiceName not in PASSWORD_SERVICES | API_KEY_SERVICES:
            raise service_not_supported(ServiceName)
        api_key = ServiceName in API_KEY_SERVICES
        if CredentialAgeDays is not None and not api_key:
            raise InvalidInputError(f"CredentialAgeDays is only valid for API keys, not for {ServiceName}.")
        keyring = self._keyring(account_id, user.id)
        same_service = [c for c in keyring.service_credentials.values() if c.service_name == ServiceName]
        taken = {c.service_user_name or c.alias or "" for c in same_service}
        name = _free_name(user.user_name, account_id, taken)
        now = self.clock()
        credential_id = new_unique_id(ID_PREFIX)
        secret = base64.b64encode(secrets.token_bytes(PASSWORD_BYTES)).decode("ascii")
        credential = keyring.create_service_credential(
            credential_id,
            ServiceName,
            service_user_name=None if api_key else name,
            alias=name if api_key else None,
            expiration_date=None if CredentialAgeDays is None else now + timedelta(days=CredentialAgeDays),
        )
        self._store_secret(account_id, credential_id, user.arn, secret)
        try:
            self._save(keyring)
        except BaseException:
            self.vault.delete_secret(secret_id(credential_id))
            raise
        log.info("service_credential_created", credential_id=credential_id, owner=user.arn, service=ServiceName)
        return {"ServiceSpecificCredential": _with_secret(credential, user.user_name, secret, now)}

    @command("ResetServiceSpecificCredential")
    def reset_service_specific_credential(
        self, account_id: str, *, ServiceSpecificCredentialId: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """A new password (or API-key secret) for a credential of a user (the calling user without ``UserName``);
        the old one stops working at once."""
        user = self._keyring_user(account_id, UserName)
        keyring = self._keyring(account_id, user.id)
        credential = keyring.reset_service_credential(ServiceSpecificCredentialId)
        secret = base64.b64encode(secrets.token_bytes(PASSWORD_BYTES)).decode("ascii")
        self.vault.delete_secret(secret_id(ServiceSpecificCredentialId))
        self._store_secret(account_id, ServiceSpecificCredentialId, user.arn, secret)
        self._save(keyring)
        log.info("service_credential_reset", credential_id=ServiceSpecificCredentialId, owner=user.arn)
        return {"ServiceSpecificCredential": _with_secret(credential, user.user_name, secret, self.clock())}

    @command("UpdateServiceSpecificCredential")
    def update_service_specific_credential(
        self, account_id: str, *, ServiceSpecificCredentialId: str, Status: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """Activate or deactivate a credential of a user (the calling user without ``UserName``)."""
        user = self._keyring_user(account_id, UserName)
        keyring = self._keyring(account_id, user.id)
        keyring.update_service_credential(ServiceSpecificCredentialId, Status)
        self._save(keyring)
        return {}

    @command("DeleteServiceSpecificCredential")
    def delete_service_specific_credential(
        self, account_id: str, *, ServiceSpecificCredentialId: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """Delete a credential of a user (the calling user without ``UserName``) and its password hash."""
        user = self._keyring_user(account_id, UserName)
        keyring = self._keyring(account_id, user.id)
        keyring.delete_service_credential(ServiceSpecificCredentialId)
        self._save(keyring)
        self.vault.delete_secret(secret_id(ServiceSpecificCredentialId))
        return {}

    @query("ListServiceSpecificCredentials")
    def list_service_specific_credentials(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str | None = None,
        ServiceName: str | None = None,
        AllUsers: bool | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The credentials of a user (the calling user without ``UserName``), or with ``AllUsers`` of every user of
        the account, for one service when ``ServiceName`` is given; without their secrets, oldest first."""
        from iamledger.domain.user_keys import UserKeyring

        if ServiceName is not None and ServiceName not in PASSWORD_SERVICES | API_KEY_SERVICES:
            raise service_not_supported(ServiceName)
        now = self.clock()
        if AllUsers:
            if UserName is not None:
                raise InvalidInputError("AllUsers cannot be specified together with UserName.")
            rows = account_service_credentials(conn, account_id, ServiceName)
            names = {}
            for row in rows:
                if row["user_uuid"] not in names:
                    user_row = self._user_by_uuid(conn, row["user_uuid"])
                    names[row["user_uuid"]] = "" if user_row is None else str(user_row["user_name"])
            chunk, more = page(rows, Marker, MaxItems)
            found = [_metadata(r, names[r["user_uuid"]], now) for r in chunk]
            return {"ServiceSpecificCredentials": found, **more}
        user = self._user_row_of(conn, account_id, UserName)
        keyring = str(UserKeyring.create_id(uuid.UUID(user["entity_uuid"])))
        chunk, more = page(service_credentials_of(conn, keyring, ServiceName), Marker, MaxItems)
        found = [_metadata(r, str(user["user_name"]), now) for r in chunk]
        return {"ServiceSpecificCredentials": found, **more}
