"""Given root credentials for throwaway stores (``iamledger serve --ephemeral``).

A test suite signs its requests with fixed credentials (moto's suites use ``FOOBARKEY``/``FOOBARSECRET``); an
ephemeral store makes exactly those the account root's access key, so the suite's signatures are really verified.
:func:`install_root_access_key` replaces the random root key ``init`` created with a given key pair: the old key is
deleted (event and vault row), the new one recorded like any root key (the event holds the key id and a fingerprint
of the secret, the vault the encrypted secret).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from iamledger.domain.errors import EntityAlreadyExistsError, ValidationError
from iamledger.domain.ids import secret_fingerprint
from iamledger.projections.views.access_keys import find_access_key

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account
    from iamledger.store import IdentityStore

ACCESS_KEY_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_]{1,128}")
"""What AWS's model allows for an access key id (``accessKeyIdType``: ``[\\w]+``, 16 to 128 long); any length from
1 is accepted here because test suites use short made-up ids such as ``FOOBARKEY``."""


def install_root_access_key(
    store: IdentityStore, access_key_id: str, secret_access_key: str, account_id: str | None = None
) -> dict[str, Any]:
    """Make ``access_key_id``/``secret_access_key`` the only root access key of ``account_id`` (default: the store's
    first account), deleting the root keys it had. Returns ``{"AccessKey": {...}}`` without the secret."""
    from iamledger.domain.accounts import Account

    if not ACCESS_KEY_ID_PATTERN.fullmatch(access_key_id):
        raise ValidationError(f"The access key id {access_key_id!r} must be 1 to 128 letters, digits or underscores.")
    if not secret_access_key or len(secret_access_key) > 128 or not secret_access_key.isprintable():  # noqa: PLR2004
        raise ValidationError("The secret access key must be 1 to 128 printable characters.")
    account_id = store.resolve_account_id(account_id)
    store.projector.catch_up()
    with store.engine.connect() as conn:
        existing = find_access_key(conn, access_key_id)
    if existing is not None and existing["owner_kind"] != "root":
        raise EntityAlreadyExistsError(f"The access key id {access_key_id} is already in use.")
    with store.acting(account_id):
        account: Account = store.repository.get(Account.create_id(account_id))
        old_keys = list(account.root_access_keys)
        for old in old_keys:
            account.delete_root_access_key(old)
        account.create_root_access_key(access_key_id, secret_fingerprint(secret_access_key))
        for old in old_keys:
            store.vault.delete_secret(old)
        store.vault.put_secret(
            secret_id=access_key_id,
            account_id=account_id,
            kind="access_key",
            owner_arn=account.root_arn,
            secret=secret_access_key,
        )
        store.save(account)
    key = account.root_access_keys[access_key_id]
    return {
        "AccessKey": {
            "UserName": "root",
            "AccessKeyId": access_key_id,
            "Status": key.status,
            "CreateDate": key.create_date,
        }
    }
