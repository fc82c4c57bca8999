"""Server certificates: UploadServerCertificate, GetServerCertificate, ListServerCertificates,
UpdateServerCertificate, DeleteServerCertificate and their tags.

The private key of an upload is checked (it must be the key of the certificate's public key) and then forgotten:
it is in no event, view, log line or vault entry."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from sqlalchemy import Connection

from iamledger.domain.errors import EntityAlreadyExistsError, NoSuchEntityError, TranslatedError
from iamledger.domain.ids import new_unique_id
from iamledger.domain.names import NameIndex
from iamledger.domain.tags import parse_tags
from iamledger.projections.views.credential_material import current_server_certificates, find_server_certificate
from iamledger.projections.views.tags import current_tags
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.shapes import aws_datetime, tags_shape
from iamledger.services.user_keys import malformed_certificate, parse_certificate

if TYPE_CHECKING:
    from cryptography import x509

    from iamledger.domain.server_certificates import ServerCertificate

KIND: Final = "server-certificate"  # ServerCertificate.kind (the domain module is imported where a command needs it)


def _spki(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    der: bytes = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def check_key_pair(cert: x509.Certificate, private_key_pem: str) -> None:
    """``MalformedCertificate`` unless ``private_key_pem`` is an unencrypted PEM private key, ``KeyPairMismatch``
    unless it is the key of ``cert``'s public key. The key is only held for this check."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(private_key_pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise malformed_certificate("Unable to parse private key.") from None
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise TranslatedError(
            "KeyPairMismatch",
            "The request was rejected because the public key certificate and the private key do not match.",
            400,
            sender_fault=True,
        )


def check_chain(chain: str) -> None:
    """``MalformedCertificate`` unless ``chain`` is one or more PEM certificates."""
    from cryptography import x509

    if "-----BEGIN CERTIFICATE-----" not in chain:
        raise malformed_certificate("Unable to parse certificate chain. Please ensure the chain is in PEM format.")
    try:
        x509.load_pem_x509_certificates(chain.strip().encode())
    except ValueError:
        raise malformed_certificate(
            "Unable to parse certificate chain. Please ensure the chain is in PEM format."
        ) from None


def metadata_shape(row: dict[str, Any]) -> dict[str, Any]:
    """A ``ServerCertificateMetadata``."""
    return {
        "Path": row["path"],
        "ServerCertificateName": row["server_certificate_name"],
        "ServerCertificateId": row["server_certificate_id"],
        "Arn": row["arn"],
        "UploadDate": aws_datetime(row["upload_date"]),
        "Expiration": aws_datetime(row["expiration"]),
    }


class ServerCertificatesService(ServiceBase):
    """The server certificate operations of the store."""

    def _server_certificate(self, account_id: str, name: str) -> tuple[ServerCertificate, NameIndex]:
        from iamledger.domain.server_certificates import ServerCertificate, server_certificate_not_found

        cert, index = self._entity(account_id, KIND, name, server_certificate_not_found(name))
        assert isinstance(cert, ServerCertificate)  # noqa: S101 - this index kind only holds server certificates
        return cert, index

    def _server_certificate_row(self, conn: Connection, account_id: str, name: str) -> dict[str, Any]:
        from iamledger.domain.server_certificates import server_certificate_not_found

        row = find_server_certificate(conn, account_id, name)
        if row is None:
            raise NoSuchEntityError(server_certificate_not_found(name))
        return row

    @command("UploadServerCertificate")
    def upload_server_certificate(
        self,
        account_id: str,
        *,
        ServerCertificateName: str,
        CertificateBody: str,
        PrivateKey: str,
        Path: str | None = None,
        CertificateChain: str | None = None,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Upload a certificate, its chain and its private key (checked, never kept)."""
        from iamledger.domain.server_certificates import ServerCertificate

        tags = parse_tags(Tags)
        cert = parse_certificate(CertificateBody)
        check_key_pair(cert, PrivateKey)
        if CertificateChain is not None:
            check_chain(CertificateChain)
        entity_id = uuid.uuid4()
        conflict = f"The Server Certificate with name {ServerCertificateName} already exists."
        index = self._claim_name(account_id, KIND, ServerCertificateName, entity_id, conflict)
        server_certificate = ServerCertificate.create_with_id(
            entity_id,
            account_id=account_id,
            server_certificate_id=new_unique_id("ASCA"),
            server_certificate_name=ServerCertificateName,
            path=Path or "/",
            certificate_body=CertificateBody,
            certificate_chain=CertificateChain,
            expiration=cert.not_valid_after_utc,
            tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        self._save(server_certificate, index)
        row = {
            "path": server_certificate.path,
            "server_certificate_name": ServerCertificateName,
            "server_certificate_id": server_certificate.server_certificate_id,
            "arn": f"arn:aws:iam::{account_id}:{KIND}{server_certificate.path}{ServerCertificateName}",
            "upload_date": server_certificate.created_on,
            "expiration": server_certificate.expiration,
        }
        return {"ServerCertificateMetadata": metadata_shape(row)} | tags_shape(tags)

    @query("GetServerCertificate")
    def get_server_certificate(
        self, conn: Connection, account_id: str, *, ServerCertificateName: str
    ) -> dict[str, Any]:
        """A server certificate: its metadata, body, chain and tags (never a private key)."""
        row = self._server_certificate_row(conn, account_id, ServerCertificateName)
        shape: dict[str, Any] = {
            "ServerCertificateMetadata": metadata_shape(row),
            "CertificateBody": row["certificate_body"],
        }
        if row["certificate_chain"] is not None:
            shape["CertificateChain"] = row["certificate_chain"]
        return {"ServerCertificate": shape | tags_shape(current_tags(conn, row["entity_uuid"]))}

    @query("ListServerCertificates")
    def list_server_certificates(
        self,
        conn: Connection,
        account_id: str,
        *,
        PathPrefix: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The account's server certificates' metadata, a page at a time."""
        rows, more = page(current_server_certificates(conn, account_id, PathPrefix or "/"), Marker, MaxItems)
        return {"ServerCertificateMetadataList": [metadata_shape(r) for r in rows], **more}

    @command("UpdateServerCertificate")
    def update_server_certificate(
        self,
        account_id: str,
        *,
        ServerCertificateName: str,
        NewPath: str | None = None,
        NewServerCertificateName: str | None = None,
    ) -> dict[str, Any]:
        """Rename a server certificate and/or move it to another path."""
        cert, old_index = self._server_certificate(account_id, ServerCertificateName)
        touched: list[Any] = [cert]
        new_name = NewServerCertificateName
        if new_name is not None and new_name != cert.server_certificate_name:
            conflict = f"The Server Certificate with name {new_name} already exists."
            new_index = self._name_index(account_id, KIND, new_name)
            if new_index is not None and new_index.id == old_index.id:  # a case variant of its own name
                raise EntityAlreadyExistsError(conflict)
            old_index.release()
            touched += [old_index, self._claim_name(account_id, KIND, new_name, cert.id, conflict)]
        cert.update(new_name, NewPath)
        self._save(*touched)
        return {}

    @command("DeleteServerCertificate")
    def delete_server_certificate(self, account_id: str, *, ServerCertificateName: str) -> dict[str, Any]:
        """Delete a server certificate."""
        cert, index = self._server_certificate(account_id, ServerCertificateName)
        cert.delete()
        index.release()
        self._save(cert, index)
        return {}

    @command("TagServerCertificate")
    def tag_server_certificate(
        self, account_id: str, *, ServerCertificateName: str, Tags: list[dict[str, str]]
    ) -> dict[str, Any]:
        """Add or overwrite tags of a server certificate (keys are case-sensitive); at most 50."""
        cert, _ = self._server_certificate(account_id, ServerCertificateName)
        cert.tag(parse_tags(Tags))
        self._save(cert)
        return {}

    @command("UntagServerCertificate")
    def untag_server_certificate(
        self, account_id: str, *, ServerCertificateName: str, TagKeys: list[str]
    ) -> dict[str, Any]:
        """Remove tags of a server certificate."""
        cert, _ = self._server_certificate(account_id, ServerCertificateName)
        cert.untag(TagKeys)
        self._save(cert)
        return {}

    @query("ListServerCertificateTags")
    def list_server_certificate_tags(
        self,
        conn: Connection,
        account_id: str,
        *,
        ServerCertificateName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The tags of a server certificate."""
        row = self._server_certificate_row(conn, account_id, ServerCertificateName)
        tags, more = page(current_tags(conn, row["entity_uuid"]), Marker, MaxItems)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags], **more}
