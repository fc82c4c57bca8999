"""Access keys: Create/List/Update/DeleteAccessKey, GetAccessKeyLastUsed and recording their use, and whose
credentials an operation acts on (the named user, or the calling IAM user or root user).

Secret access keys never enter the log: they live only in the credential vault; events carry key ids, fingerprints
and timestamps. A vault row is written before the save that records its key (and removed again if that save fails)
and deleted after the save that forgets it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection

from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext, audit_context
from iamledger.domain.credentials import (
    NEVER_USED,
    KeyUse,
    use_worth_recording,
)
from iamledger.domain.errors import (
    ConcurrentModificationError,
    InvalidUserTypeError,
    NoSuchEntityError,
    ValidationError,
)
from iamledger.domain.ids import new_access_key_id, new_secret_access_key, root_arn, secret_fingerprint
from iamledger.logconfig import get_logger
from iamledger.projections.views.access_keys import find_access_key, keys_of_owner
from iamledger.projections.views.users import find_user
from iamledger.services.base import SAVE_RETRIES, ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.shapes import aws_datetime
from iamledger.services.users import KIND as USER_KIND
from iamledger.services.users import user_not_found

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account
    from iamledger.domain.users import User

log = get_logger(__name__)

ROOT_USER_NAME: Final = "root"
"""The ``UserName`` the root user's keys are reported under (as ``iamledger init`` reports its key)."""
NOT_A_USER: Final = "Must specify userName when calling with non-User credentials"
USER_ARN: Final = re.compile(r"arn:aws:iam::(?P<account>[0-9]{12}):user(?:/.*)?/(?P<name>[\w+=,.@-]+)")


class AccessKeysService(ServiceBase):
    """The access-key operations of the store, and the lookups of whose credentials an operation acts on."""

    # -- whose credentials -----------------------------------------------------------------------------------------

    def _account_aggregate(self, account_id: str) -> Account:
        return self._get_account(account_id)

    def _named_user(self, account_id: str, user_name: str) -> User:
        from iamledger.domain.users import User

        user = self._entity_only(account_id, USER_KIND, user_name, user_not_found(user_name))
        assert isinstance(user, User)  # noqa: S101 - the index of kind "user" only ever holds users
        return user

    def _calling_user(self, account_id: str) -> User | None:
        """The IAM user the bound caller is, or ``None`` for the root user; ``InvalidUserType`` for anything else
        (a role session, a federated user, another account's principal)."""
        ctx = audit_context.get()
        actor = ctx.actor if ctx is not None else root_arn(account_id)
        if actor == root_arn(account_id):
            return None
        match = USER_ARN.fullmatch(actor)
        if match is None or match["account"] != account_id:
            raise InvalidUserTypeError(f"{actor} is not an IAM user of account {account_id}.")
        user = self._named_user(account_id, match["name"])
        if user.arn != actor:  # same name, another path: the caller's user is gone
            raise NoSuchEntityError(user_not_found(match["name"]))
        return user

    def _key_owner(self, account_id: str, user_name: str | None) -> User | Account:
        """Whose keys an access-key operation acts on: the named user; without a name, the caller (an IAM user, or
        the root user, whose keys belong to the account)."""
        if user_name is not None:
            return self._named_user(account_id, user_name)
        try:
            user = self._calling_user(account_id)
        except InvalidUserTypeError:
            raise ValidationError(NOT_A_USER) from None
        return self._account_aggregate(account_id) if user is None else user

    # -- access keys -----------------------------------------------------------------------------------------------

    @command("CreateAccessKey")
    def create_access_key(self, account_id: str, *, UserName: str | None = None) -> dict[str, Any]:
        """A new access key for the user (default: the calling user; for the root caller, a root access key). The
        secret is returned here and never again; at most two keys per user (``LimitExceeded``)."""
        from iamledger.domain.accounts import Account

        owner = self._key_owner(account_id, UserName)
        key_id = new_access_key_id()
        secret = new_secret_access_key()
        if isinstance(owner, Account):
            owner.create_root_access_key(key_id, secret_fingerprint(secret))
            owner_arn, owner_name = owner.root_arn, ROOT_USER_NAME
            created = owner.root_access_keys[key_id].create_date
        else:
            owner.create_access_key(key_id, secret_fingerprint(secret))
            owner_arn, owner_name = owner.arn, owner.user_name
            created = owner.access_keys[key_id].create_date
        self.vault.put_secret(
            secret_id=key_id, account_id=account_id, kind="access_key", owner_arn=owner_arn, secret=secret
        )
        try:
            self._save(owner)
        except BaseException:
            self.vault.delete_secret(key_id)
            raise
        log.info("access_key_created", key_id=key_id, owner=owner_arn)
        return {
            "AccessKey": {
                "UserName": owner_name,
                "AccessKeyId": key_id,
                "Status": "Active",
                "SecretAccessKey": secret,
                "CreateDate": aws_datetime(created),
            }
        }

    @query("ListAccessKeys")
    def list_access_keys(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The access keys of a user (default: the caller; the root caller's own keys), oldest first."""
        if UserName is not None:
            row = find_user(conn, account_id, UserName)
            if row is None:
                raise NoSuchEntityError(user_not_found(UserName))
            owner_uuid = str(row["entity_uuid"])
        else:
            with self.acting(account_id):
                owner_uuid = str(self._key_owner(account_id, None).id)
        rows, more = page(keys_of_owner(conn, owner_uuid), Marker, MaxItems)
        return {"AccessKeyMetadata": [_key_metadata_shape(r) for r in rows], **more}

    @command("UpdateAccessKey")
    def update_access_key(
        self, account_id: str, *, AccessKeyId: str, Status: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """Activate or deactivate a key (an inactive key cannot sign requests)."""
        from iamledger.domain.accounts import Account

        owner = self._key_owner(account_id, UserName)
        if isinstance(owner, Account):
            owner.update_root_access_key(AccessKeyId, Status)
        else:
            owner.update_access_key(AccessKeyId, Status)
        self._save(owner)
        return {}

    @command("DeleteAccessKey")
    def delete_access_key(self, account_id: str, *, AccessKeyId: str, UserName: str | None = None) -> dict[str, Any]:
        """Delete a key for good, its secret included."""
        from iamledger.domain.accounts import Account

        owner = self._key_owner(account_id, UserName)
        if isinstance(owner, Account):
            owner.delete_root_access_key(AccessKeyId)
        else:
            owner.delete_access_key(AccessKeyId)
        self._save(owner)
        self.vault.delete_secret(AccessKeyId)
        log.info("access_key_deleted", key_id=AccessKeyId)
        return {}

    @query("GetAccessKeyLastUsed")
    def get_access_key_last_used(self, conn: Connection, account_id: str, *, AccessKeyId: str) -> dict[str, Any]:
        """When a key of this account was last used, for which service and in which region (``N/A`` for a key
        never used). Uses are recorded at most once an hour per key unless the service or region changes."""
        from iamledger.domain.users import access_key_not_found

        row = find_access_key(conn, AccessKeyId)
        if row is None or row["account_id"] != account_id:
            raise NoSuchEntityError(access_key_not_found(AccessKeyId))
        last_used: dict[str, Any] = {
            "ServiceName": row["last_used_service"] or NEVER_USED,
            "Region": row["last_used_region"] or NEVER_USED,
        }
        if row["last_used_date"] is not None:
            last_used = {"LastUsedDate": aws_datetime(row["last_used_date"]), **last_used}
        return {"UserName": row["user_name"] or ROOT_USER_NAME, "AccessKeyLastUsed": last_used}

    def record_access_key_use(
        self, access_key_id: str, service: str, region: str, *, row: Mapping[str, Any] | None = None
    ) -> bool:
        """Note that ``access_key_id`` signed a request to ``service`` in ``region`` (for GetAccessKeyLastUsed).

        To keep the log small an event is recorded at most once an hour per key, unless the service or region
        differs from the last recorded use. Returns whether an event was recorded; an unknown or deleted key
        records nothing. Acts in the bound audit context, else as the key's owner signing with that key. ``row``:
        the key's current view row when the caller has just read it (request authentication), saving a query."""
        from iamledger.domain.accounts import Account
        from iamledger.domain.users import User

        if row is None:
            self.projector.catch_up()
            with self.engine.connect() as conn:
                row = find_access_key(conn, access_key_id)
        if row is None or not _use_worth_loading(row, service, region, self.clock()):
            return False  # no such long-term key, or the view shows a recent enough use: no need to load the owner
        ctx = audit_context.get() or AuditContext(
            actor=row["owner_arn"], request_id=AuditContext.new_request_id(), access_key_id=access_key_id
        )
        owner_uuid = uuid.UUID(row["owner_uuid"])
        with bound_audit_context(ctx):
            for attempt in range(1, SAVE_RETRIES + 1):
                owner: Any = self.repository.get(owner_uuid)
                try:
                    if isinstance(owner, Account):
                        recorded = owner.record_root_access_key_use(access_key_id, service, region, self.clock())
                    elif isinstance(owner, User):
                        recorded = owner.record_access_key_use(access_key_id, service, region, self.clock())
                    else:  # pragma: no cover - the view only holds keys of accounts and users
                        return False
                    if recorded:
                        self._save(owner)
                except NoSuchEntityError:  # deleted meanwhile
                    return False
                except ConcurrentModificationError:
                    if attempt == SAVE_RETRIES:
                        raise
                    continue
                return recorded
        raise AssertionError  # pragma: no cover - the loop returns or raises


def _use_worth_loading(row: Mapping[str, Any], service: str, region: str, now: datetime) -> bool:
    """Whether a key's use may be worth recording, judged from its view row (the aggregate decides for good): never
    for a session's key, whose use is not recorded."""
    if row["owner_uuid"] is None or row["owner_kind"] not in {"root", "user"}:
        return False
    if row["last_used_date"] is None:
        return True
    last = KeyUse(row["last_used_date"], row["last_used_service"], row["last_used_region"])
    return use_worth_recording(last, service, region, now)


def _key_metadata_shape(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "UserName": row["user_name"] or ROOT_USER_NAME,
        "AccessKeyId": row["access_key_id"],
        "Status": row["status"],
        "CreateDate": aws_datetime(row["create_date"]),
    }
