"""Long-term credentials: console passwords (login profiles, ChangePassword, the account password policy, sign-in)
and access keys (Create/List/Update/DeleteAccessKey, GetAccessKeyLastUsed, and recording their use: those in
:mod:`iamledger.services.access_key_operations`, whose service this one extends).

Secrets never enter the log: password hashes (argon2id) and secret access keys live only in the credential vault;
events carry key ids, fingerprints and timestamps. A vault row is written before the save that records its
credential (and removed again if that save fails) and deleted after the save that forgets it; a password change
is saved first and then replaces the hash, so a retried save never checks a half-changed password.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy import Connection

from iamledger.awsmodel import validate_input
from iamledger.domain.credentials import (
    DEFAULT_MINIMUM_LENGTH,
    DEFAULT_SIGNIN_SESSION,
    REUSE_VIOLATION,
    SIGN_IN_FAILED,
    LoginProfile,
    PasswordPolicy,
    check_password,
    password_expired,
)
from iamledger.domain.errors import (
    AuthenticationFailedError,
    ConcurrentModificationError,
    IdentityStoreError,
    InvalidInputError,
    InvalidUserTypeError,
    NoSuchEntityError,
    PasswordPolicyViolationError,
    TranslatedError,
    ValidationError,
)
from iamledger.logconfig import get_logger
from iamledger.passwords import PasswordVault, burn_verification_time, verify_password
from iamledger.services.access_key_operations import NOT_A_USER, AccessKeysService
from iamledger.services.base import SAVE_RETRIES, translated
from iamledger.services.operations import command, query
from iamledger.services.shapes import aws_datetime
from iamledger.services.users import KIND as USER_KIND

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account
    from iamledger.domain.users import User

T = TypeVar("T")
log = get_logger(__name__)

HIDDEN_USER_NAME: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"
"""What CloudTrail records instead of a user name that does not exist, in case it was a mistyped password."""
SIGN_IN_SERVICE: Final = "signin"


def _must_not_be_null(param: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value null at '{param}' failed to satisfy constraint: Member must not be null"
    )


class CredentialsService(AccessKeysService):
    """The password and access-key operations of the store: the access-key ones, and the lookups of whose
    credentials an operation acts on, inherited from
    :class:`~iamledger.services.access_key_operations.AccessKeysService`."""

    # -- plumbing --------------------------------------------------------------------------------------------------

    def _own_password_command(
        self, operation: str, params: Mapping[str, Any], body: Callable[[str], T], *, service: str
    ) -> T:
        """ChangePassword's pipeline: as :meth:`_command`, except that a user may change its own password without an
        ``iam:ChangePassword`` allow when the account policy lets users change their passwords, or when its
        password must be reset or has expired (AWS grants that implicitly); a failure is not recorded as a failed
        write."""
        present = {k: v for k, v in params.items() if v is not None}
        # checked here: a user changing its own password may never reach _authorize
        self._refuse_by_credentials(service, operation, present)
        validate_input(service, operation, present)
        account_id = self.current_account_id()
        if not self._may_change_own_password(account_id):
            self._authorize(service, operation, present, account_id)
        with self.acting(account_id), translated():
            for attempt in range(1, SAVE_RETRIES + 1):
                try:
                    return body(account_id)
                except ConcurrentModificationError:
                    if attempt == SAVE_RETRIES:
                        raise
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _may_change_own_password(self, account_id: str) -> bool:
        policy = self._account_aggregate(account_id).password_policy
        if policy is not None and policy.allow_users_to_change_password:
            return True
        try:
            with self.acting(account_id):
                user = self._calling_user(account_id)
        except IdentityStoreError:
            return False  # the body reports it
        profile = None if user is None else user.login_profile
        if profile is None:
            return False
        return profile.password_reset_required or password_expired(policy, profile.password_last_changed, self.clock())

    def _target_user(self, account_id: str, user_name: str | None) -> User:
        """The named user, or (without a name) the calling IAM user."""
        if user_name is not None:
            return self._named_user(account_id, user_name)
        try:
            user = self._calling_user(account_id)
        except InvalidUserTypeError:
            user = None
        if user is None:
            raise ValidationError(NOT_A_USER)
        return user

    def _passwords(self, user: User) -> PasswordVault:
        return PasswordVault(self.vault, user_uuid=user.id, account_id=user.account_id, owner_arn=user.arn)

    def _check_new_password(self, account: Account, password: str) -> None:
        check_password(account.password_policy, password, forbidden=(account.alias or "", account.account_id))

    # -- login profiles --------------------------------------------------------------------------------------------

    @command("CreateLoginProfile")
    def create_login_profile(
        self,
        account_id: str,
        *,
        UserName: str | None = None,
        Password: str | None = None,
        PasswordResetRequired: bool | None = None,
        MaxSigninSessionDuration: int | None = None,
    ) -> dict[str, Any]:
        """Give a user a console password, checked against the account password policy (AWS's default rules
        when the account has none). ``EntityAlreadyExists`` when it has one already."""
        user = self._target_user(account_id, UserName)
        if Password is None:
            raise _must_not_be_null("password")
        user.check_no_login_profile()
        self._check_new_password(self._account_aggregate(account_id), Password)
        user.create_login_profile(
            password_reset_required=bool(PasswordResetRequired),
            max_signin_session_duration=MaxSigninSessionDuration,
        )
        passwords = self._passwords(user)
        passwords.set_password(Password)
        try:
            self._save(user)
        except BaseException:
            passwords.forget()
            raise
        log.info("login_profile_created", user_name=user.user_name)
        return {"LoginProfile": _login_profile_shape(user.user_name, user.require_login_profile())}

    @query("GetLoginProfile")
    def get_login_profile(self, conn: Connection, account_id: str, *, UserName: str | None = None) -> dict[str, Any]:
        """A user's login profile (creation date, reset flag); ``NoSuchEntity`` when it has no password."""
        del conn  # no view holds it: the user's aggregate, as of the call, does
        user = self._target_user(account_id, UserName)
        return {"LoginProfile": _login_profile_shape(user.user_name, user.require_login_profile())}

    @command("UpdateLoginProfile")
    def update_login_profile(
        self,
        account_id: str,
        *,
        UserName: str,
        Password: str | None = None,
        PasswordResetRequired: bool | None = None,
        MaxSigninSessionDuration: int | None = None,
        ResetMaxSigninSessionDuration: bool | None = None,
    ) -> dict[str, Any]:
        """An administrator's change of a user's password and/or flags; omitted settings stay as they are."""
        if MaxSigninSessionDuration is not None and ResetMaxSigninSessionDuration:
            raise InvalidInputError(
                "You cannot specify MaxSigninSessionDuration and set ResetMaxSigninSessionDuration to true "
                "in the same request."
            )
        user = self._named_user(account_id, UserName)
        user.require_login_profile()
        if Password is not None:
            self._check_new_password(self._account_aggregate(account_id), Password)
        user.update_login_profile(
            password_changed=Password is not None,
            password_reset_required=PasswordResetRequired,
            max_signin_session_duration=MaxSigninSessionDuration,
            reset_max_signin_session_duration=bool(ResetMaxSigninSessionDuration),
        )
        self._save(user)
        if Password is not None:
            self._passwords(user).set_password(Password)
        return {}

    @command("DeleteLoginProfile")
    def delete_login_profile(self, account_id: str, *, UserName: str | None = None) -> dict[str, Any]:
        """Remove a user's console password (and its vault rows); its access keys keep working."""
        user = self._target_user(account_id, UserName)
        user.delete_login_profile()
        self._save(user)
        self._passwords(user).forget()
        return {}

    @command("ChangePassword", pipeline=_own_password_command)
    def change_password(self, account_id: str, *, OldPassword: str, NewPassword: str) -> dict[str, Any]:
        """The calling IAM user changes its own password (``InvalidUserType`` for the root user and for other
        principals); the new one must comply with the password policy and not reuse a recent one."""
        user = self._calling_user(account_id)
        if user is None:
            raise InvalidUserTypeError("Only IAM users can change their own password.")
        user.require_login_profile()
        passwords = self._passwords(user)
        current = passwords.current()
        if current is None or not verify_password(current, OldPassword):
            raise TranslatedError("AccessDenied", "The old password was incorrect.", 403, sender_fault=True)
        account = self._account_aggregate(account_id)
        self._check_new_password(account, NewPassword)
        policy = account.password_policy
        if policy is not None and passwords.reused(NewPassword, policy.password_reuse_prevention):
            raise PasswordPolicyViolationError(REUSE_VIOLATION)
        user.change_password()
        self._save(user)
        passwords.set_password(NewPassword)
        return {}

    # -- the account password policy -------------------------------------------------------------------------------

    @command("UpdateAccountPasswordPolicy")
    def update_account_password_policy(
        self,
        account_id: str,
        *,
        MinimumPasswordLength: int | None = None,
        RequireSymbols: bool | None = None,
        RequireNumbers: bool | None = None,
        RequireUppercaseCharacters: bool | None = None,
        RequireLowercaseCharacters: bool | None = None,
        AllowUsersToChangePassword: bool | None = None,
        MaxPasswordAge: int | None = None,
        PasswordReusePrevention: int | None = None,
        HardExpiry: bool | None = None,
    ) -> dict[str, Any]:
        """Set the account password policy. As AWS's, not a partial update: every omitted setting returns to its
        default (length 6, nothing required, no expiry, no reuse prevention)."""
        policy = PasswordPolicy(
            minimum_password_length=DEFAULT_MINIMUM_LENGTH if MinimumPasswordLength is None else MinimumPasswordLength,
            require_symbols=bool(RequireSymbols),
            require_numbers=bool(RequireNumbers),
            require_uppercase_characters=bool(RequireUppercaseCharacters),
            require_lowercase_characters=bool(RequireLowercaseCharacters),
            allow_users_to_change_password=bool(AllowUsersToChangePassword),
            max_password_age=MaxPasswordAge or 0,
            password_reuse_prevention=PasswordReusePrevention or 0,
            hard_expiry=bool(HardExpiry),
        )
        account = self._account_aggregate(account_id)
        account.update_password_policy(policy)
        self._save(account)
        return {}

    @query("GetAccountPasswordPolicy")
    def get_account_password_policy(self, conn: Connection, account_id: str) -> dict[str, Any]:
        """The account password policy; ``NoSuchEntity`` when none is set (AWS's default rules apply then)."""
        from iamledger.domain.accounts import password_policy_not_found

        del conn  # no view holds it: the account's aggregate, as of the call, does
        policy = self._account_aggregate(account_id).password_policy
        if policy is None:
            raise NoSuchEntityError(password_policy_not_found(account_id))
        return {"PasswordPolicy": _password_policy_shape(policy)}

    @command("DeleteAccountPasswordPolicy")
    def delete_account_password_policy(self, account_id: str) -> dict[str, Any]:
        """Remove the account password policy; ``NoSuchEntity`` when none is set."""
        account = self._account_aggregate(account_id)
        account.delete_password_policy()
        self._save(account)
        return {}

    # -- console sign-in -------------------------------------------------------------------------------------------

    def authenticate_password(self, account_id: str | None, user_name: str, password: str) -> dict[str, Any]:
        """Sign an IAM user in with its console password, as the AWS console does, and describe the session:
        ``{"Account", "UserName", "UserId", "Arn", "PasswordResetRequired", "PasswordExpired", "Expiration"}``.
        When reset is required or the password expired, the session may only change the password.

        Raises :class:`AuthenticationFailedError` with one message for an unknown user, a user without a
        password and a wrong password alike (never revealing which); each failure is reported to
        ``record_security_incident`` when the store has it. With ``HardExpiry``, an expired password is refused
        even when correct."""
        from iamledger.domain.users import User

        account_id = self.resolve_account_id(account_id)
        with self.acting(account_id):
            index = self._name_index(account_id, USER_KIND, user_name)
            if index is None or index.entity_id is None:
                burn_verification_time(password)
                self._sign_in_failed(account_id, HIDDEN_USER_NAME, None)
                raise AuthenticationFailedError(SIGN_IN_FAILED)
            user: Any = self.repository.get(index.entity_id)
            assert isinstance(user, User)  # noqa: S101 - the index of kind "user" only ever holds users
            profile = user.login_profile
            stored = self._passwords(user).current() if profile is not None else None
            if profile is None or stored is None:
                burn_verification_time(password)
                self._sign_in_failed(account_id, user.user_name, user.arn)
                raise AuthenticationFailedError(SIGN_IN_FAILED)
            if not verify_password(stored, password):
                self._sign_in_failed(account_id, user.user_name, user.arn)
                raise AuthenticationFailedError(SIGN_IN_FAILED)
            now = self.clock()
            policy = self._account_aggregate(account_id).password_policy
            expired = password_expired(policy, profile.password_last_changed, now)
            if expired and policy is not None and policy.hard_expiry:
                raise AuthenticationFailedError("Your password has expired and can only be reset by an administrator.")
            duration = profile.max_signin_session_duration
            lifetime = DEFAULT_SIGNIN_SESSION if duration is None else timedelta(seconds=duration)
            log.info("signed_in", user_name=user.user_name, account_id=account_id)
            return {
                "Account": account_id,
                "UserName": user.user_name,
                "UserId": user.user_id,
                "Arn": user.arn,
                "PasswordResetRequired": profile.password_reset_required,
                "PasswordExpired": expired,
                "Expiration": aws_datetime(now + lifetime),
            }

    def _sign_in_failed(self, account_id: str, user_name: str, user_arn: str | None) -> None:
        """Report a failed sign-in to the store's security incident log, when it has one."""
        log.warning("sign_in_failed", account_id=account_id, user_name=user_name)
        hook = getattr(self, "record_security_incident", None)
        if not callable(hook):
            return
        try:
            hook(
                kind="SignInFailed",
                account_id=account_id,
                user_name=user_name,
                principal_arn=user_arn,
                event_name="ConsoleLogin",
                error_message="Failed authentication",
            )
        except IdentityStoreError as error:  # the refusal stands even if the incident cannot be recorded
            log.warning("security_incident_not_recorded", error=error.message)


def _login_profile_shape(user_name: str, profile: LoginProfile) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "UserName": user_name,
        "CreateDate": aws_datetime(profile.create_date),
        "PasswordResetRequired": profile.password_reset_required,
    }
    if profile.max_signin_session_duration is not None:
        shape["MaxSigninSessionDuration"] = profile.max_signin_session_duration
    return shape


def _password_policy_shape(policy: PasswordPolicy) -> dict[str, Any]:
    """``PasswordPolicy`` as AWS returns it: ``MaxPasswordAge`` and ``PasswordReusePrevention`` only when set (their
    model ranges start at 1); ``HardExpiry`` when true, and also as ``false`` when passwords expire. Real
    ``get-account-password-policy`` outputs show ``"HardExpiry": false`` next to ``"MaxPasswordAge": 90``, and neither
    member after an ``update-account-password-policy`` without options."""
    shape: dict[str, Any] = {
        "MinimumPasswordLength": policy.minimum_password_length,
        "RequireSymbols": policy.require_symbols,
        "RequireNumbers": policy.require_numbers,
        "RequireUppercaseCharacters": policy.require_uppercase_characters,
        "RequireLowercaseCharacters": policy.require_lowercase_characters,
        "AllowUsersToChangePassword": policy.allow_users_to_change_password,
        "ExpirePasswords": policy.expire_passwords,
    }
    if policy.max_password_age:
        shape["MaxPasswordAge"] = policy.max_password_age
    if policy.password_reuse_prevention:
        shape["PasswordReusePrevention"] = policy.password_reuse_prevention
    if policy.hard_expiry or policy.max_password_age:
        shape["HardExpiry"] = policy.hard_expiry
    return shape
