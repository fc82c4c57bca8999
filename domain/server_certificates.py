"""Server certificates: an X.509 certificate (and its chain) that load balancers and CloudFront serve, named in the
account. The private key uploaded with it is checked against the certificate and then dropped: it is never
recorded, not even in the credential vault. Names are unique in the account whatever their case; tag keys are
case-sensitive."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from iamledger.domain.base import AuditedAggregate
from iamledger.domain.tagging import Taggable, TaggedEvent, UntaggedEvent
from iamledger.domain.tags import Tag


def server_certificate_not_found(name: str) -> str:
    """AWS's message for a server certificate that does not exist."""
    return f"The Server Certificate with name {name} cannot be found."


class ServerCertificate(Taggable, AuditedAggregate):
    """A server certificate."""

    case_insensitive_tag_keys: ClassVar[bool] = False

    kind: ClassVar[str] = "server-certificate"

    class Created(AuditedAggregate.Created):
        account_id: str
        server_certificate_id: str
        server_certificate_name: str
        path: str
        certificate_body: str
        certificate_chain: str | None
        expiration: datetime
        tags: list[dict[str, str]]

    def __init__(
        self,
        account_id: str,
        server_certificate_id: str,
        server_certificate_name: str,
        path: str,
        certificate_body: str,
        certificate_chain: str | None,
        expiration: datetime,
        tags: list[dict[str, str]],
    ) -> None:
        self.account_id = account_id
        self.server_certificate_id = server_certificate_id
        self.server_certificate_name = server_certificate_name
        self.path = path
        self.certificate_body = certificate_body
        self.certificate_chain = certificate_chain
        self.expiration = expiration
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.deleted = False

    class Updated(AuditedAggregate.Event):
        server_certificate_name: str
        path: str

        def apply(self, aggregate: ServerCertificate) -> None:
            aggregate.server_certificate_name = self.server_certificate_name
            aggregate.path = self.path

    def update(self, new_name: str | None, new_path: str | None) -> None:
        """Rename the certificate and/or move it to another path (nothing is recorded when neither changes)."""
        name = new_name or self.server_certificate_name
        path = new_path or self.path
        if (name, path) != (self.server_certificate_name, self.path):
            self.trigger_event(self.Updated, server_certificate_name=name, path=path)

    class Tagged(TaggedEvent):
        pass

    class Untagged(UntaggedEvent):
        pass

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: ServerCertificate) -> None:
            aggregate.deleted = True

    def delete(self) -> None:
        """Delete the certificate."""
        self.trigger_event(self.Deleted)
