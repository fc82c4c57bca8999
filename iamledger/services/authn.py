"""Authenticating callers against the store: a presented access key (id, secret and, for temporary keys, session
token), as the command line does with a ``--profile``; and SigV4-signed HTTP requests, checked by
``iamledger.auth`` with the keys of the access-keys view and the secrets of the vault."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from iamledger.auth import AuthenticationError, HttpRequest, KeyRecord, VerifiedCaller, verify
from iamledger.context import bound_audit_context
from iamledger.domain.audit import audit_context
from iamledger.domain.errors import TranslatedError
from iamledger.projections.views.access_keys import find_access_key
from iamledger.services.base import ServiceBase

INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105 - a message, not a secret


@dataclass(frozen=True)
class Authenticated:
    """Whom a valid access key belongs to."""

    access_key_id: str
    owner_arn: str
    account_id: str
    temporary: bool


def _invalid() -> TranslatedError:
    return TranslatedError("InvalidClientTokenId", INVALID_TOKEN, 403, sender_fault=True)


class AuthenticationService(ServiceBase):
    """Access-key authentication for local callers."""

    def authenticate_access_key(
        self, access_key_id: str, secret_access_key: str, session_token: str | None = None
    ) -> Authenticated:
        """The owner of a valid, active, unexpired key whose secret (and session token) match; else AWS's errors:
        ``InvalidClientTokenId`` (unknown, deleted or inactive key, wrong token), ``SignatureDoesNotMatch`` (wrong
        secret), ``ExpiredToken``. Every refusal is recorded in the security log."""
        self.projector.catch_up()
        with self.engine.connect() as conn:
            row = find_access_key(conn, access_key_id)
        try:
            self._check_key(row, access_key_id, secret_access_key, session_token)
        except TranslatedError as error:
            self.record_security_incident(
                "CredentialsRejected",
                account_id=row["account_id"] if row is not None else "",
                reason=error.code,
                user_name=None,
            )
            raise
        assert row is not None  # noqa: S101 - _check_key refused a missing key
        digest = row["session_token_digest"]
        return Authenticated(access_key_id, str(row["owner_arn"]), str(row["account_id"]), digest is not None)

    def _check_key(self, row: Any, access_key_id: str, secret_access_key: str, session_token: str | None) -> None:
        if row is None or row["status"] != "Active":
            raise _invalid()
        stored = self.vault.get_secret(access_key_id)
        if stored is None or not hmac.compare_digest(stored.encode(), secret_access_key.encode()):
            raise TranslatedError(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method. Consult the service documentation for details.",
                403,
                sender_fault=True,
            )
        digest = row["session_token_digest"]
        if digest is not None:
            presented = hashlib.sha256((session_token or "").encode()).hexdigest()
            if not hmac.compare_digest(presented, str(digest)):
                raise _invalid()
            if row["expiration"] is not None and row["expiration"] <= self.clock():
                raise TranslatedError(
                    "ExpiredToken", "The security token included in the request is expired", 403, sender_fault=True
                )

    def verify_request(
        self,
        request: HttpRequest,
        *,
        expected_service: AbstractSet[str] | None = None,
        as_key_owner: bool = False,
    ) -> VerifiedCaller:
        """Verify a SigV4-signed HTTP request against the store's keys (long-term keys of root and users, and
        temporary session keys with their tokens) at the store's clock. A refusal raises AWS's error and is recorded
        in the security log; an accepted long-term key's last use is noted (``GetAccessKeyLastUsed``).

        Both records are made in the bound audit context; with ``as_key_owner`` (the endpoint, which cannot know the
        caller before this check) its actor is replaced by the owner of the key the request names, when the store
        holds that key: a refusal is then recorded under the identity the request claimed."""
        position = self.projector.catch_up()
        found: dict[str, dict[str, Any] | None] = {}

        def lookup(access_key_id: str) -> KeyRecord | None:
            row = found[access_key_id] = self.access_key_rows.find(self.engine, access_key_id, position)
            secret = None if row is None else self.vault.get_access_key_secret(access_key_id)
            if row is None or secret is None:
                return None
            return KeyRecord(
                access_key_id=access_key_id,
                secret_access_key=secret,
                status="Active" if row["status"] == "Active" else "Inactive",
                owner_arn=str(row["owner_arn"]),
                account_id=str(row["account_id"]),
                expiration=row["expiration"],
                session_token_digest=row["session_token_digest"],
            )

        try:
            caller = verify(request, lookup=lookup, now=self.clock(), expected_service=expected_service)
        except AuthenticationError as error:
            with self._as_owner_of(found, enabled=as_key_owner):
                self.record_security_incident("SignatureRejected", account_id="", reason=error.code)
            raise
        if not caller.temporary:
            with self._as_owner_of(found, enabled=as_key_owner):
                self.record_access_key_use(
                    caller.access_key_id, caller.service, caller.region, row=found.get(caller.access_key_id)
                )
        return caller

    @staticmethod
    def _as_owner_of(found: dict[str, dict[str, Any] | None], *, enabled: bool) -> Any:
        """The bound audit context with the owner of the looked-up key as its actor (unchanged when not
        ``enabled``, when no context is bound or when the request named no key the store holds)."""
        ctx = audit_context.get()
        rows = [row for row in found.values() if row is not None]
        if not enabled or ctx is None or not rows:
            return contextlib.nullcontext()
        return bound_audit_context(ctx.acting_as(str(rows[0]["owner_arn"])))
