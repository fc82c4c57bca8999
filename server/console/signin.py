"""Signing in to the console: a user's console password (and a code of its MFA device when it has one), or an access
key pair. Each check is the store's own (:meth:`IdentityStore.authenticate_password`,
:meth:`IdentityStore.authenticate_access_key`), made under the anonymous audit context of the request, so that a
refusal is recorded in the security log with where it came from. Nothing here ever logs, records or returns a
password, secret key or code."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from iamledger.context import bound_audit_context
from iamledger.domain.audit import ANONYMOUS, AuditContext
from iamledger.domain.credentials import DEFAULT_SIGNIN_SESSION
from iamledger.domain.errors import AuthenticationFailedError, IdentityStoreError
from iamledger.domain.mfa import SIGN_IN_WINDOW_STEPS, code_step
from iamledger.projections.engine.temporal import reading_now
from iamledger.projections.views.access_keys import find_access_key
from iamledger.projections.views.credential_material import mfa_devices_of_user
from iamledger.projections.views.users import find_user, user_uuid_of_arn
from iamledger.server.console.session import ConsoleSession
from iamledger.services.mfa import seed_secret_id
from iamledger.store import IdentityStore

MFA_FAILED: Final = "Your authentication information is incorrect. Please try again."
PASSWORD_CHANGE_NEEDED: Final = (  # a message, not a password
    "Your password must be changed before you sign in to the console, which only reads: change it with "  # noqa: S105
    "`iamledger login --user-name NAME` (or ChangePassword), then sign in again."
)
ACCESS_KEY_SESSION: Final = DEFAULT_SIGNIN_SESSION


class SignInError(Exception):
    """A refused sign-in: the message shown (AWS's wording) and the HTTP status of the page."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class MfaPending:
    """A correct password of a user with an MFA device: the sign-in waits for a code."""

    principal_arn: str
    account_id: str
    user_name: str
    expires: datetime


class UsedCodes:
    """The last MFA time step accepted per device in this process: a code is never accepted twice."""

    def __init__(self) -> None:
        self._steps: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()

    def accept(self, device_id: uuid.UUID, step: int, last_step: int) -> bool:
        with self._lock:
            if step <= max(last_step, self._steps.get(device_id, 0)):
                return False
            self._steps[device_id] = step
            return True


def anonymous_context(source_ip: str | None, user_agent: str | None, access_key_id: str | None = None) -> AuditContext:
    return AuditContext(
        actor=ANONYMOUS,
        request_id=AuditContext.new_request_id(),
        access_key_id=access_key_id,
        source_ip=source_ip,
        user_agent=user_agent,
    )


def sign_in_with_password(
    store: IdentityStore, context: AuditContext, account_id: str | None, user_name: str, password: str
) -> ConsoleSession | MfaPending:
    """Check the password; a session, or :class:`MfaPending` when the user has an MFA device."""
    if not user_name or not password:
        raise SignInError("Enter the user name and the password.", 400)
    with bound_audit_context(context):
        try:
            answer = store.authenticate_password(account_id or _account_of(store, user_name), user_name, password)
        except AuthenticationFailedError as error:
            raise SignInError(error.message) from None
    if answer["PasswordResetRequired"] or answer["PasswordExpired"]:
        raise SignInError(PASSWORD_CHANGE_NEEDED, 403)
    expires = datetime.fromisoformat(str(answer["Expiration"]))
    arn, account, name = str(answer["Arn"]), str(answer["Account"]), str(answer["UserName"])
    if _mfa_devices(store, arn):
        return MfaPending(arn, account, name, expires)
    return ConsoleSession(arn, account, None, "password", expires, name)


def _account_of(store: IdentityStore, user_name: str) -> str | None:
    """Without an account id: the one account of the store that has a user called ``user_name``, if exactly one has
    (``None``: the store's default account decides). A sign-in then needs no account id in a store of one account
    with users, such as the quickstart's; the answer to a wrong guess stays the same refusal."""
    store.projector.catch_up()
    with reading_now(), store.engine.connect() as conn:
        found = [a for a in store.account_ids() if find_user(conn, a, user_name) is not None]
    return found[0] if len(found) == 1 else None


def _mfa_devices(store: IdentityStore, user_arn: str) -> list[dict[str, Any]]:
    store.projector.catch_up()
    with reading_now(), store.engine.connect() as conn:
        user = user_uuid_of_arn(conn, user_arn)
        return [] if user is None else mfa_devices_of_user(conn, user)


def complete_mfa(
    store: IdentityStore, context: AuditContext, pending: MfaPending, code: str, used: UsedCodes
) -> ConsoleSession:
    """Check a code of one of the user's MFA devices (a time step around now, later than any code accepted before
    for it); the session, or :class:`SignInError` (recorded as a failed console sign-in)."""
    from iamledger.domain.mfa import VirtualMFADevice

    code = code.strip()
    for row in _mfa_devices(store, pending.principal_arn):
        device: Any = store.repository.get(uuid.UUID(str(row["entity_uuid"])), deepcopy_from_cache=False)
        if not isinstance(device, VirtualMFADevice):
            continue
        seed = store.vault.get_secret(seed_secret_id(device.id))
        step = None if seed is None else code_step(seed, code, store.clock(), SIGN_IN_WINDOW_STEPS)
        if step is not None and used.accept(device.id, step, device.last_step):
            return ConsoleSession(
                pending.principal_arn, pending.account_id, None, "password+mfa", pending.expires, pending.user_name
            )
    with bound_audit_context(context):
        store.record_security_incident(
            "SignInFailed",
            account_id=pending.account_id,
            user_name=pending.user_name,
            principal_arn=pending.principal_arn,
            event_name="ConsoleLogin",
            error_message="Failed authentication",
        )
    raise SignInError(MFA_FAILED)


def sign_in_with_access_key(
    store: IdentityStore, context: AuditContext, access_key_id: str, secret_access_key: str, session_token: str | None
) -> ConsoleSession:
    """Check an access key pair (and session token); the session lasts until the key's own expiry for temporary
    credentials, else :data:`ACCESS_KEY_SESSION`."""
    access_key_id = access_key_id.strip()
    if not access_key_id or not secret_access_key:
        raise SignInError("Enter the access key ID and the secret access key.", 400)
    with bound_audit_context(context):
        try:
            who = store.authenticate_access_key(access_key_id, secret_access_key, session_token or None)
        except IdentityStoreError as error:
            raise SignInError(error.message, 403) from None
    now = store.clock()
    expires = now + ACCESS_KEY_SESSION
    row = _key_row(store, access_key_id)
    if row is not None and row.get("expiration") is not None:
        expires = min(expires, _aware(row["expiration"]))
    return ConsoleSession(who.owner_arn, who.account_id, access_key_id, "access-key", expires)


def _key_row(store: IdentityStore, access_key_id: str) -> dict[str, Any] | None:
    with reading_now(), store.engine.connect() as conn:
        return find_access_key(conn, access_key_id)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def session_still_valid(store: IdentityStore, session: ConsoleSession) -> bool:
    """Whether the access key a session signed in with is still active and unexpired (a key deactivated or deleted
    ends its console sessions too); a password session is valid until it expires."""
    if session.access_key_id is None:
        return True
    row = _key_row(store, session.access_key_id)
    if row is None or row["status"] != "Active" or str(row["owner_arn"]) != session.principal_arn:
        return False
    expiration = row.get("expiration")
    return expiration is None or _aware(expiration) > store.clock()
