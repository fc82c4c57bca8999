"""Users' SSH public keys and X.509 signing certificates: UploadSSHPublicKey, GetSSHPublicKey, ListSSHPublicKeys,
UpdateSSHPublicKey, DeleteSSHPublicKey, UploadSigningCertificate, ListSigningCertificates,
UpdateSigningCertificate and DeleteSigningCertificate; and the user lookups the MFA operations share."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Connection

from iamledger.domain.audit import audit_context
from iamledger.domain.errors import NoSuchEntityError, TranslatedError, ValidationError
from iamledger.domain.ids import new_access_key_id, root_arn
from iamledger.projections.views.credential_material import signing_certificates_of, ssh_public_keys_of
from iamledger.projections.views.users import find_user, find_user_by_uuid
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.shapes import aws_datetime

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    from iamledger.domain.user_keys import UserKeyring
    from iamledger.domain.users import User

USER_KIND: Final = "user"
ROOT_NAME: Final = "root"
NOT_A_USER: Final = "Must specify userName when calling with non-User credentials"
USER_ARN: Final = re.compile(r"arn:aws:iam::(?P<account>[0-9]{12}):user(?:/.*)?/(?P<name>[\w+=,.@-]+)")
MIN_SSH_KEY_BITS: Final = 2048
SSH_RSA: Final = b"ssh-rsa"


def _user_not_found(user_name: str) -> str:
    return f"The user with name {user_name} cannot be found."


def _invalid_public_key() -> TranslatedError:
    return TranslatedError(
        "InvalidPublicKey",
        "The request was rejected because the public key is malformed or otherwise invalid.",
        400,
        sender_fault=True,
    )


def _unrecognized_encoding() -> TranslatedError:
    return TranslatedError(
        "UnrecognizedPublicKeyEncoding",
        "The request was rejected because the public key encoding format is unsupported or unrecognized.",
        400,
        sender_fault=True,
    )


def malformed_certificate(
    detail: str = "Unable to parse certificate. Please ensure the certificate is in PEM format.",
) -> TranslatedError:
    """AWS's ``MalformedCertificate``."""
    return TranslatedError("MalformedCertificate", detail, 400, sender_fault=True)


def parse_ssh_public_key(body: str) -> rsa.RSAPublicKey:
    """The RSA public key of ``body`` (OpenSSH ``ssh-rsa AAAA... [comment]`` or a PEM ``PUBLIC KEY``), refused in
    AWS's words when it is no RSA key of at least 2048 bits."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    text = body.strip()
    key: Any
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, UnsupportedAlgorithm):
            raise _invalid_public_key() from None
    elif text.startswith("ssh-"):
        parts = text.split()
        if len(parts) < 2 or parts[0] != SSH_RSA.decode():  # noqa: PLR2004 - type and blob
            raise _unrecognized_encoding()
        try:
            key = serialization.load_ssh_public_key(f"ssh-rsa {parts[1]}".encode())
        except (ValueError, UnsupportedAlgorithm):
            raise _invalid_public_key() from None
    else:
        raise _unrecognized_encoding()
    if not isinstance(key, rsa.RSAPublicKey):
        raise _unrecognized_encoding()
    if key.key_size < MIN_SSH_KEY_BITS:
        raise _invalid_public_key()
    return key


def ssh_fingerprint(key: rsa.RSAPublicKey) -> str:
    """The key's MD5 fingerprint as AWS shows it (``aa:bb:...``)."""
    from cryptography.hazmat.primitives import serialization

    blob = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).split()[1]
    digest = hashlib.md5(base64.b64decode(blob), usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def ssh_key_body(key: rsa.RSAPublicKey, encoding: str) -> str:
    """The key as ``GetSSHPublicKey`` returns it in ``encoding`` (``SSH`` or ``PEM``)."""
    from cryptography.hazmat.primitives import serialization

    if encoding == "PEM":
        return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def parse_certificate(body: str) -> x509.Certificate:
    """The X.509 certificate of a PEM ``body``; ``MalformedCertificate`` otherwise."""
    from cryptography import x509

    if "-----BEGIN CERTIFICATE-----" not in body:
        raise malformed_certificate()
    try:
        return x509.load_pem_x509_certificate(body.strip().encode())
    except ValueError:
        raise malformed_certificate() from None


def certificate_id_of(cert: x509.Certificate) -> str:
    """A signing certificate's id: derived from the certificate (so one certificate has one id), 32 characters of
    upper-case base32 as AWS's ids look."""
    from cryptography.hazmat.primitives import serialization

    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    return base64.b32encode(digest).decode()[:32]


def _ssh_shape(row: dict[str, Any], user_name: str, *, encoding: str | None) -> dict[str, Any]:
    shape: dict[str, Any] = {"UserName": user_name, "SSHPublicKeyId": row["ssh_public_key_id"]}
    if encoding is not None:
        body = row["body"]
        if encoding == "PEM":
            body = ssh_key_body(parse_ssh_public_key(row["body"]), "PEM")
        shape |= {"Fingerprint": row["fingerprint"], "SSHPublicKeyBody": body}
    return shape | {"Status": row["status"], "UploadDate": aws_datetime(row["upload_date"])}


def _certificate_shape(row: dict[str, Any], user_name: str) -> dict[str, Any]:
    return {
        "UserName": user_name,
        "CertificateId": row["certificate_id"],
        "CertificateBody": row["body"],
        "Status": row["status"],
        "UploadDate": aws_datetime(row["upload_date"]),
    }


class KeyringBase(ServiceBase):
    """Finding the user an operation is about and its keyring."""

    def _keyring_user(self, account_id: str, user_name: str | None) -> User:
        """The named user, or (without a name) the calling IAM user; ``ValidationError`` for any other caller."""
        from iamledger.domain.users import User

        if user_name is None:
            ctx = audit_context.get()
            actor = ctx.actor if ctx is not None else root_arn(account_id)
            match = USER_ARN.fullmatch(actor)
            if match is None or match["account"] != account_id:
                raise ValidationError(NOT_A_USER)
            user_name = match["name"]
        user = self._entity_only(account_id, USER_KIND, user_name, _user_not_found(user_name))
        assert isinstance(user, User)  # noqa: S101 - the index of kind "user" only ever holds users
        return user

    def _keyring(self, account_id: str, owner_id: uuid.UUID) -> UserKeyring:
        """The keyring of a user (or of the root user: ``owner_id`` is then the account's aggregate id), a new one
        to save when it has none yet."""
        from iamledger.domain.user_keys import UserKeyring

        try:
            keyring: UserKeyring = self.repository.get(UserKeyring.create_id(owner_id))
        except AggregateNotFoundError:
            keyring = UserKeyring.create_with_id(
                UserKeyring.create_id(owner_id), account_id=account_id, user_uuid=owner_id
            )
        return keyring

    @staticmethod
    def _root_calls(account_id: str, user_name: str | None) -> bool:
        """Whether a call without ``user_name`` is the account's root user's (whose signing certificates belong to
        the account, reported under the user name ``root``)."""
        ctx = audit_context.get()
        return user_name is None and (ctx is None or ctx.actor == root_arn(account_id))

    def _certificate_owner(self, account_id: str, user_name: str | None) -> tuple[uuid.UUID, str]:
        """Whose signing certificates a call acts on: (owner id, user name); the root user's without a name."""
        from iamledger.domain.accounts import Account

        if self._root_calls(account_id, user_name):
            return Account.create_id(account_id), ROOT_NAME
        user = self._keyring_user(account_id, user_name)
        return user.id, user.user_name

    def _certificate_owner_row(self, conn: Connection, account_id: str, user_name: str | None) -> tuple[str, str]:
        """(keyring id, user name) of the owner of the signing certificates a read is about."""
        from iamledger.domain.accounts import Account
        from iamledger.domain.user_keys import UserKeyring

        if self._root_calls(account_id, user_name):
            return str(UserKeyring.create_id(Account.create_id(account_id))), ROOT_NAME
        user = self._user_row_of(conn, account_id, user_name)
        return str(UserKeyring.create_id(uuid.UUID(user["entity_uuid"]))), str(user["user_name"])

    def _user_row_of(self, conn: Connection, account_id: str, user_name: str | None) -> dict[str, Any]:
        """The users view's row of the named user, or of the calling IAM user."""
        if user_name is None:
            ctx = audit_context.get()
            actor = ctx.actor if ctx is not None else root_arn(account_id)
            match = USER_ARN.fullmatch(actor)
            if match is None or match["account"] != account_id:
                raise ValidationError(NOT_A_USER)
            user_name = match["name"]
        row = find_user(conn, account_id, user_name)
        if row is None:
            raise NoSuchEntityError(_user_not_found(user_name))
        return row

    @staticmethod
    def _user_by_uuid(conn: Connection, user_uuid: str) -> dict[str, Any] | None:
        return find_user_by_uuid(conn, user_uuid)


class UserKeysService(KeyringBase):
    """The SSH public key and signing certificate operations of the store."""

    # -- SSH public keys ------------------------------------------------------------------------------------------

    @command("UploadSSHPublicKey")
    def upload_ssh_public_key(self, account_id: str, *, UserName: str, SSHPublicKeyBody: str) -> dict[str, Any]:
        """Add an SSH public key (``ssh-rsa`` or PEM, RSA of at least 2048 bits) to a user; at most five."""
        user = self._keyring_user(account_id, UserName)
        key = parse_ssh_public_key(SSHPublicKeyBody)
        fingerprint = ssh_fingerprint(key)
        keyring = self._keyring(account_id, user.id)
        key_id = "APKA" + new_access_key_id()[4:]  # 20 characters, as AWS's SSH key ids
        keyring.upload_ssh_public_key(key_id, SSHPublicKeyBody, fingerprint)
        self._save(keyring)
        row = {
            "ssh_public_key_id": key_id,
            "body": SSHPublicKeyBody,
            "fingerprint": fingerprint,
            "status": "Active",
            "upload_date": keyring.ssh_public_keys[key_id].upload_date,
        }
        return {"SSHPublicKey": _ssh_shape(row, user.user_name, encoding="SSH")}

    @query("GetSSHPublicKey")
    def get_ssh_public_key(
        self, conn: Connection, account_id: str, *, UserName: str, SSHPublicKeyId: str, Encoding: str
    ) -> dict[str, Any]:
        """One SSH public key of a user, in ``SSH`` or ``PEM`` encoding."""
        from iamledger.domain.user_keys import UserKeyring

        user = self._user_row_of(conn, account_id, UserName)
        keyring = str(UserKeyring.create_id(uuid.UUID(user["entity_uuid"])))
        for row in ssh_public_keys_of(conn, keyring):
            if row["ssh_public_key_id"] == SSHPublicKeyId:
                return {"SSHPublicKey": _ssh_shape(row, user["user_name"], encoding=Encoding)}
        raise NoSuchEntityError(f"The Public Key with id {SSHPublicKeyId} cannot be found.")

    @query("ListSSHPublicKeys")
    def list_ssh_public_keys(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """A user's SSH public keys (without their bodies), a page at a time."""
        from iamledger.domain.user_keys import UserKeyring

        user = self._user_row_of(conn, account_id, UserName)
        keyring = str(UserKeyring.create_id(uuid.UUID(user["entity_uuid"])))
        rows, more = page(ssh_public_keys_of(conn, keyring), Marker, MaxItems)
        return {"SSHPublicKeys": [_ssh_shape(r, user["user_name"], encoding=None) for r in rows], **more}

    @command("UpdateSSHPublicKey")
    def update_ssh_public_key(
        self, account_id: str, *, UserName: str, SSHPublicKeyId: str, Status: str
    ) -> dict[str, Any]:
        """Activate or deactivate an SSH public key."""
        user = self._keyring_user(account_id, UserName)
        keyring = self._keyring(account_id, user.id)
        keyring.update_ssh_public_key(SSHPublicKeyId, Status)
        self._save(keyring)
        return {}

    @command("DeleteSSHPublicKey")
    def delete_ssh_public_key(self, account_id: str, *, UserName: str, SSHPublicKeyId: str) -> dict[str, Any]:
        """Delete an SSH public key."""
        user = self._keyring_user(account_id, UserName)
        keyring = self._keyring(account_id, user.id)
        keyring.delete_ssh_public_key(SSHPublicKeyId)
        self._save(keyring)
        return {}

    # -- signing certificates -------------------------------------------------------------------------------------

    @command("UploadSigningCertificate")
    def upload_signing_certificate(
        self, account_id: str, *, CertificateBody: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """Add an X.509 signing certificate (PEM) to a user (the calling user without ``UserName``); at most two."""
        owner_id, owner_name = self._certificate_owner(account_id, UserName)
        cert = parse_certificate(CertificateBody)
        certificate_id = certificate_id_of(cert)
        keyring = self._keyring(account_id, owner_id)
        keyring.upload_signing_certificate(certificate_id, CertificateBody)
        self._save(keyring)
        row = {
            "certificate_id": certificate_id,
            "body": CertificateBody,
            "status": "Active",
            "upload_date": keyring.signing_certificates[certificate_id].upload_date,
        }
        return {"Certificate": _certificate_shape(row, owner_name)}

    @query("ListSigningCertificates")
    def list_signing_certificates(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """A user's signing certificates, a page at a time."""
        keyring, owner_name = self._certificate_owner_row(conn, account_id, UserName)
        rows, more = page(signing_certificates_of(conn, keyring), Marker, MaxItems)
        return {"Certificates": [_certificate_shape(r, owner_name) for r in rows], **more}

    @command("UpdateSigningCertificate")
    def update_signing_certificate(
        self, account_id: str, *, CertificateId: str, Status: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """Activate or deactivate a signing certificate."""
        owner_id, _ = self._certificate_owner(account_id, UserName)
        keyring = self._keyring(account_id, owner_id)
        keyring.update_signing_certificate(CertificateId, Status)
        self._save(keyring)
        return {}

    @command("DeleteSigningCertificate")
    def delete_signing_certificate(
        self, account_id: str, *, CertificateId: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """Delete a signing certificate."""
        owner_id, _ = self._certificate_owner(account_id, UserName)
        keyring = self._keyring(account_id, owner_id)
        keyring.delete_signing_certificate(CertificateId)
        self._save(keyring)
        return {}
