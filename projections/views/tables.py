"""The SQL views of the identity store, as SQLAlchemy tables.

Every view row carries the interval of notification ids in which it was true: ``valid_from`` (the id of the event
that made it true) and ``valid_to`` (the id of the event that ended it; ``NULL`` while it is current). Current state
is ``valid_to IS NULL``; the state at position P is ``valid_from <= P AND (valid_to IS NULL OR valid_to > P)``.
Entities are keyed by their aggregate id (``entity_uuid``), which never changes, not by their name, which can.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import BigInteger, Column, Dialect, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.types import DateTime as _DateTime
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class DateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no time zone: UTC is restored on read)."""

    impl = _DateTime(timezone=True)
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        del timezone
        super().__init__()

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        del dialect
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        del dialect
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


ledger_metadata = MetaData()
"""Tables that are not views: the time index and hash chain of the log. A rebuild of the views never drops them."""

POSITIONS: Final = Table(
    "iamledger_positions",
    ledger_metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # the event's notification id
    Column("recorded_at", DateTime(timezone=True), nullable=False),  # max(previous recorded_at, event timestamp)
    Column("event_time", DateTime(timezone=True), nullable=False),  # the writer's clock, as stored in the event
    Column("link", String(64), nullable=False),  # sha256(previous link + this stored event's bytes), hex
)
Index("ix_iamledger_positions_recorded_at", POSITIONS.c.recorded_at, POSITIONS.c.position)

TRACKING: Final = Table(
    "iamledger_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)


def _temporal(name: str, *columns: Column[object], indexes: tuple[tuple[str, ...], ...] = ()) -> Table:
    table = Table(
        name,
        metadata,
        Column("row_id", Integer, primary_key=True, autoincrement=True),
        *columns,
        Column("valid_from", BigInteger, nullable=False),
        Column("valid_to", BigInteger, nullable=True),
    )
    for cols in indexes:
        Index(f"ix_{name}_{'_'.join(cols)}", *(table.c[c] for c in cols), table.c.valid_to)
    return table


ACCOUNTS: Final = _temporal(
    "iamledger_accounts",
    Column("account_id", String(12), nullable=False),
    Column("alias", String(63), nullable=True),
    Column("create_date", DateTime(timezone=True), nullable=False),
    indexes=(("account_id",), ("alias",)),
)

USERS: Final = _temporal(
    "iamledger_users",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("boundary_arn", String(2048), nullable=True),
    indexes=(("entity_uuid",), ("account_id", "name_key"), ("account_id", "path"), ("boundary_arn",), ("arn",)),
)

GROUPS: Final = _temporal(
    "iamledger_groups",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("group_id", String(128), nullable=False),
    Column("group_name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    indexes=(("entity_uuid",), ("account_id", "name_key"), ("arn",)),
)

GROUP_MEMBERS: Final = _temporal(
    "iamledger_group_members",
    Column("account_id", String(12), nullable=False),
    Column("group_uuid", String(36), nullable=False),
    Column("user_uuid", String(36), nullable=False),
    indexes=(("group_uuid",), ("user_uuid",)),
)

ROLES: Final = _temporal(
    "iamledger_roles",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("role_id", String(128), nullable=False),
    Column("role_name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("trust_policy", Text, nullable=False),
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("boundary_arn", String(2048), nullable=True),
    indexes=(("entity_uuid",), ("account_id", "name_key"), ("boundary_arn",), ("arn",)),
)

POLICIES: Final = _temporal(
    "iamledger_policies",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("policy_id", String(128), nullable=False),
    Column("policy_name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("default_version_id", String(32), nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("update_date", DateTime(timezone=True), nullable=False),
    indexes=(("entity_uuid",), ("account_id", "name_key"), ("arn",), ("account_id", "arn")),
)

POLICY_VERSIONS: Final = _temporal(
    "iamledger_policy_versions",
    Column("policy_uuid", String(36), nullable=False),
    Column("version_id", String(32), nullable=False),
    Column("document", Text, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    indexes=(("policy_uuid", "version_id"),),
)

ATTACHMENTS: Final = _temporal(
    "iamledger_attachments",
    Column("account_id", String(12), nullable=False),
    Column("principal_kind", String(16), nullable=False),
    Column("principal_uuid", String(36), nullable=False),
    Column("policy_arn", String(2048), nullable=False),
    indexes=(("principal_uuid",), ("policy_arn",)),
)

INLINE_POLICIES: Final = _temporal(
    "iamledger_inline_policies",
    Column("account_id", String(12), nullable=False),
    Column("principal_kind", String(16), nullable=False),
    Column("principal_uuid", String(36), nullable=False),
    Column("policy_name", String(128), nullable=False),
    Column("document", Text, nullable=False),
    indexes=(("principal_uuid", "policy_name"),),
)

POLICY_SERVICES: Final = _temporal(
    "iamledger_policy_services",
    Column("account_id", String(12), nullable=False),
    # an inline policy's principal (user, group, role) or a managed policy (its version ``name``)
    Column("owner_uuid", String(36), nullable=False),
    Column("name", String(128), nullable=False),  # the inline policy's name, or the version id
    Column("service", String(64), nullable=False),  # lowercased service prefix; ``*`` when it may be any
    indexes=(("service", "account_id"), ("owner_uuid", "name")),
)
"""The permission index: for each inline policy and each managed policy version, the services whose actions one of
its ``Allow`` statements can match (see :mod:`iamledger.projections.access.permissions`). Reverse questions ("who can do
s3:GetObject?") read the principals holding such a policy, not every principal."""

INSTANCE_PROFILES: Final = _temporal(
    "iamledger_instance_profiles",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("instance_profile_id", String(128), nullable=False),
    Column("instance_profile_name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    indexes=(("entity_uuid",), ("account_id", "name_key")),
)

INSTANCE_PROFILE_ROLES: Final = _temporal(
    "iamledger_instance_profile_roles",
    Column("account_id", String(12), nullable=False),
    Column("instance_profile_uuid", String(36), nullable=False),
    Column("role_uuid", String(36), nullable=False),
    indexes=(("instance_profile_uuid",), ("role_uuid",)),
)

OIDC_PROVIDERS: Final = _temporal(
    "iamledger_oidc_providers",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("url", String(512), nullable=False),  # the issuer URL without https://, as the ARN names it
    Column("arn", String(2048), nullable=False),
    Column("client_ids", Text, nullable=False),  # JSON list, in the order they were added
    Column("thumbprints", Text, nullable=False),  # JSON list
    Column("create_date", DateTime(timezone=True), nullable=False),
    indexes=(("entity_uuid",), ("account_id", "url")),
)

SAML_PROVIDERS: Final = _temporal(
    "iamledger_saml_providers",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("name", String(128), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("metadata_document", Text, nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Column("create_date", DateTime(timezone=True), nullable=False),
    indexes=(("entity_uuid",), ("account_id", "name")),
)

TAGS: Final = _temporal(
    "iamledger_tags",
    Column("account_id", String(12), nullable=False),
    Column("resource_kind", String(32), nullable=False),
    Column("resource_uuid", String(36), nullable=False),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    Column("ordinal", Integer, nullable=False, default=0),
    indexes=(("resource_uuid",),),
)

ACCESS_KEYS: Final = _temporal(
    "iamledger_access_keys",
    Column("access_key_id", String(128), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("owner_kind", String(16), nullable=False),  # root | user | session
    Column("owner_uuid", String(36), nullable=True),  # the user's or the role session's aggregate id
    Column("owner_arn", String(2048), nullable=False),
    Column("user_name", String(128), nullable=True),
    Column("status", String(16), nullable=False),  # Active | Inactive
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("expiration", DateTime(timezone=True), nullable=True),  # temporary (ASIA) keys only
    Column("session_token_digest", String(128), nullable=True),  # sha256 of the session token, never the token
    Column("last_used_date", DateTime(timezone=True), nullable=True),
    Column("last_used_service", String(64), nullable=True),
    Column("last_used_region", String(64), nullable=True),
    indexes=(("access_key_id",), ("owner_uuid",)),
)

LOGIN_PROFILES: Final = _temporal(
    "iamledger_login_profiles",
    Column("user_uuid", String(36), nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    indexes=(("user_uuid",),),
)
"""Which users have a console password, and since when (the hash is in the credential vault, never here)."""

MFA_DEVICES: Final = _temporal(
    "iamledger_mfa_devices",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("serial_number", String(2048), nullable=False),
    Column("virtual_mfa_device_name", String(226), nullable=False),
    Column("path", String(512), nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("user_uuid", String(36), nullable=True),  # the user it is enabled for, if any
    Column("enable_date", DateTime(timezone=True), nullable=True),
    indexes=(("entity_uuid",), ("account_id",), ("user_uuid",)),
)

SSH_PUBLIC_KEYS: Final = _temporal(
    "iamledger_ssh_public_keys",
    Column("keyring_uuid", String(36), nullable=False),  # the UserKeyring aggregate of the user
    Column("ssh_public_key_id", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("upload_date", DateTime(timezone=True), nullable=False),
    indexes=(("keyring_uuid",),),
)

SIGNING_CERTIFICATES: Final = _temporal(
    "iamledger_signing_certificates",
    Column("keyring_uuid", String(36), nullable=False),  # the UserKeyring aggregate of the user
    Column("certificate_id", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("upload_date", DateTime(timezone=True), nullable=False),
    indexes=(("keyring_uuid",),),
)

SERVICE_CREDENTIALS: Final = _temporal(
    "iamledger_service_credentials",
    Column("keyring_uuid", String(36), nullable=False),  # the UserKeyring aggregate of the user
    Column("account_id", String(12), nullable=False),
    Column("user_uuid", String(36), nullable=False),
    Column("credential_id", String(128), nullable=False),
    Column("service_name", String(128), nullable=False),
    Column("service_user_name", String(200), nullable=True),  # a user name and password's
    Column("alias", String(200), nullable=True),  # an API key's
    Column("status", String(16), nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("expiration_date", DateTime(timezone=True), nullable=True),
    indexes=(("keyring_uuid",), ("account_id", "service_name")),
)
"""Users' service-specific credentials (their passwords are only in the credential vault, hashed)."""

SERVER_CERTIFICATES: Final = _temporal(
    "iamledger_server_certificates",
    Column("entity_uuid", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("server_certificate_id", String(128), nullable=False),
    Column("server_certificate_name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("certificate_body", Text, nullable=False),
    Column("certificate_chain", Text, nullable=True),
    Column("upload_date", DateTime(timezone=True), nullable=False),
    Column("expiration", DateTime(timezone=True), nullable=False),
    indexes=(("entity_uuid",), ("account_id", "name_key")),
)

ROLE_LAST_USED: Final = _temporal(
    "iamledger_role_last_used",
    Column("entity_uuid", String(36), nullable=False),
    Column("last_used_date", DateTime(timezone=True), nullable=False),
    Column("region", String(32), nullable=False),
    indexes=(("entity_uuid",),),
)
