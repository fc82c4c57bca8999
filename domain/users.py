"""IAM users: a name unique in the account (whatever its case), a path, an id that survives renames, tags,
group memberships, policies and a permissions boundary."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Final

from iamledger.domain.arns import iam_arn
from iamledger.domain.base import AuditedAggregate
from iamledger.domain.credentials import (
    ACCESS_KEY_QUOTA_MESSAGE,
    ACCESS_KEYS_PER_USER,
    AccessKey,
    KeyUse,
    LoginProfile,
    check_access_key_status,
    use_worth_recording,
)
from iamledger.domain.errors import DeleteConflictError, EntityAlreadyExistsError, LimitExceededError, NoSuchEntityError
from iamledger.domain.permissions import (
    InlinePolicyDeletedEvent,
    InlinePolicyPutEvent,
    PermissionsBoundaryDeletedEvent,
    PermissionsBoundaryPutEvent,
    PermissionsHolder,
    PolicyAttachedEvent,
    PolicyDetachedEvent,
)
from iamledger.domain.policy import SizeLimit, user_inline_limit
from iamledger.domain.tagging import Taggable, TaggedEvent, UntaggedEvent
from iamledger.domain.tags import Tag

MAX_GROUPS_PER_USER: Final = 10


def login_profile_not_found(user_name: str) -> str:
    """AWS's message for a user without a console password."""
    return f"Login Profile for User {user_name} cannot be found."


def access_key_not_found(access_key_id: str) -> str:
    """AWS's message for an access key the user (or account) does not have."""
    return f"The Access Key with id {access_key_id} cannot be found."


class User(Taggable, PermissionsHolder):
    """An IAM user."""

    case_insensitive_tag_keys: ClassVar[bool] = True

    kind: ClassVar[str] = "user"

    class Created(AuditedAggregate.Created):
        account_id: str
        user_id: str
        user_name: str
        path: str
        permissions_boundary: str | None
        tags: list[dict[str, str]]
        create_date: datetime | None = None  # AWS's CreateDate when imported; None: the event's own timestamp

    def __init__(
        self,
        account_id: str,
        user_id: str,
        user_name: str,
        path: str,
        permissions_boundary: str | None,
        tags: list[dict[str, str]],
    ) -> None:
        self.account_id = account_id
        self.user_id = user_id
        self.user_name = user_name
        self.path = path
        self.permissions_boundary = permissions_boundary
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.groups: dict[uuid.UUID, str] = {}
        self.inline_policies = {}
        self.attached_policies = []
        self.login_profile: LoginProfile | None = None
        self.access_keys: dict[str, AccessKey] = {}
        self.deleted = False

    @property
    def arn(self) -> str:
        """``arn:aws:iam::ACCOUNT:user/PATH/NAME``."""
        return iam_arn(self.account_id, "user", self.path, self.user_name)

    @property
    def display_name(self) -> str:
        """The user's name."""
        return self.user_name

    def inline_limit(self) -> SizeLimit:
        """All inline policies of a user together: 2,048 characters."""
        return user_inline_limit(self.user_name)

    class Updated(AuditedAggregate.Event):
        user_name: str
        path: str

        def apply(self, aggregate: User) -> None:
            aggregate.user_name = self.user_name
            aggregate.path = self.path

    def update(self, user_name: str, path: str) -> None:
        """Rename the user and/or move it to another path; its id, groups and policies stay."""
        self.trigger_event(self.Updated, user_name=user_name, path=path)

    class Tagged(TaggedEvent):
        pass

    class Untagged(UntaggedEvent):
        pass

    class AddedToGroup(AuditedAggregate.Event):
        group_id: uuid.UUID
        group_name: str

        def apply(self, aggregate: User) -> None:
            aggregate.groups[self.group_id] = self.group_name

    def join_group(self, group_id: uuid.UUID, group_name: str) -> bool:
        """Join a group (a no-op for a member); a user is in at most 10 groups. Returns whether it joined."""
        if group_id in self.groups:
            return False
        if len(self.groups) >= MAX_GROUPS_PER_USER:
            raise LimitExceededError(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
        self.trigger_event(self.AddedToGroup, group_id=group_id, group_name=group_name)
        return True

    class RemovedFromGroup(AuditedAggregate.Event):
        group_id: uuid.UUID

        def apply(self, aggregate: User) -> None:
            aggregate.groups.pop(self.group_id, None)

    def leave_group(self, group_id: uuid.UUID) -> None:
        """Leave a group."""
        self.trigger_event(self.RemovedFromGroup, group_id=group_id)

    class InlinePolicyPut(InlinePolicyPutEvent):
        pass

    class InlinePolicyDeleted(InlinePolicyDeletedEvent):
        pass

    class PolicyAttached(PolicyAttachedEvent):
        pass

    class PolicyDetached(PolicyDetachedEvent):
        pass

    class PermissionsBoundaryPut(PermissionsBoundaryPutEvent):
        pass

    class PermissionsBoundaryDeleted(PermissionsBoundaryDeletedEvent):
        pass

    # -- console password (the hash lives in the credential vault, never in an event) ---------------------------

    class LoginProfileCreated(AuditedAggregate.Event):
        password_reset_required: bool
        max_signin_session_duration: int | None

        def apply(self, aggregate: User) -> None:
            aggregate.login_profile = LoginProfile(
                create_date=self.timestamp,
                password_last_changed=self.timestamp,
                password_reset_required=self.password_reset_required,
                max_signin_session_duration=self.max_signin_session_duration,
            )

    def check_no_login_profile(self) -> None:
        """``EntityAlreadyExists`` when the user has a console password already: a user has at most one."""
        if self.login_profile is not None:
            raise EntityAlreadyExistsError(f"Login Profile for User {self.user_name} already exists.")

    def create_login_profile(self, *, password_reset_required: bool, max_signin_session_duration: int | None) -> None:
        """Give the user a console password (its hash is stored apart); a user has at most one."""
        self.check_no_login_profile()
        self.trigger_event(
            self.LoginProfileCreated,
            password_reset_required=password_reset_required,
            max_signin_session_duration=max_signin_session_duration,
        )

    def require_login_profile(self) -> LoginProfile:
        """The user's login profile; ``NoSuchEntity`` in AWS's words when it has none."""
        if self.login_profile is None:
            raise NoSuchEntityError(login_profile_not_found(self.user_name))
        return self.login_profile

    class LoginProfileUpdated(AuditedAggregate.Event):
        password_changed: bool
        password_reset_required: bool
        max_signin_session_duration: int | None

        def apply(self, aggregate: User) -> None:
            profile = aggregate.login_profile
            if profile is None:  # pragma: no cover - the command requires a profile
                return
            aggregate.login_profile = replace(
                profile,
                password_last_changed=self.timestamp if self.password_changed else profile.password_last_changed,
                password_reset_required=self.password_reset_required,
                max_signin_session_duration=self.max_signin_session_duration,
            )

    def update_login_profile(
        self,
        *,
        password_changed: bool,
        password_reset_required: bool | None,
        max_signin_session_duration: int | None,
        reset_max_signin_session_duration: bool,
    ) -> None:
        """An administrator's change of the password and/or its flags (omitted flags stay as they are)."""
        profile = self.require_login_profile()
        duration = profile.max_signin_session_duration
        if reset_max_signin_session_duration:
            duration = None
        elif max_signin_session_duration is not None:
            duration = max_signin_session_duration
        self.trigger_event(
            self.LoginProfileUpdated,
            password_changed=password_changed,
            password_reset_required=(
                profile.password_reset_required if password_reset_required is None else password_reset_required
            ),
            max_signin_session_duration=duration,
        )

    class LoginProfileDeleted(AuditedAggregate.Event):
        def apply(self, aggregate: User) -> None:
            aggregate.login_profile = None

    def delete_login_profile(self) -> None:
        """Remove the console password (access keys keep working)."""
        self.require_login_profile()
        self.trigger_event(self.LoginProfileDeleted)

    class PasswordChanged(AuditedAggregate.Event):
        def apply(self, aggregate: User) -> None:
            profile = aggregate.login_profile
            if profile is None:  # pragma: no cover - the command requires a profile
                return
            aggregate.login_profile = replace(
                profile, password_last_changed=self.timestamp, password_reset_required=False
            )

    def change_password(self) -> None:
        """The user changed its own password (which clears "reset required")."""
        self.require_login_profile()
        self.trigger_event(self.PasswordChanged)

    # -- access keys (the secret lives in the credential vault; events carry its fingerprint) -------------------

    class AccessKeyCreated(AuditedAggregate.Event):
        key_id: str  # not `access_key_id`: that audit field names the key the actor signed with
        secret_fingerprint: str

        def apply(self, aggregate: User) -> None:
            aggregate.access_keys[self.key_id] = AccessKey(
                key_id=self.key_id,
                secret_fingerprint=self.secret_fingerprint,
                status="Active",
                create_date=self.timestamp,
            )

    def create_access_key(self, key_id: str, secret_fingerprint: str) -> None:
        """Record a new, active access key; a user has at most two (active or not)."""
        if len(self.access_keys) >= ACCESS_KEYS_PER_USER:
            raise LimitExceededError(ACCESS_KEY_QUOTA_MESSAGE)
        self.trigger_event(self.AccessKeyCreated, key_id=key_id, secret_fingerprint=secret_fingerprint)

    def access_key(self, key_id: str) -> AccessKey:
        """One of the user's keys; ``NoSuchEntity`` in AWS's words otherwise."""
        key = self.access_keys.get(key_id)
        if key is None:
            raise NoSuchEntityError(access_key_not_found(key_id))
        return key

    class AccessKeyUpdated(AuditedAggregate.Event):
        key_id: str
        status: str

        def apply(self, aggregate: User) -> None:
            key = aggregate.access_keys[self.key_id]
            aggregate.access_keys[self.key_id] = replace(key, status=self.status)

    def update_access_key(self, key_id: str, status: str) -> None:
        """Activate or deactivate a key (a no-op when it already has ``status``)."""
        key = self.access_key(key_id)
        if key.status != check_access_key_status(status):
            self.trigger_event(self.AccessKeyUpdated, key_id=key_id, status=status)

    class AccessKeyDeleted(AuditedAggregate.Event):
        key_id: str

        def apply(self, aggregate: User) -> None:
            aggregate.access_keys.pop(self.key_id, None)

    def delete_access_key(self, key_id: str) -> None:
        """Forget a key for good."""
        self.access_key(key_id)
        self.trigger_event(self.AccessKeyDeleted, key_id=key_id)

    class AccessKeyUsed(AuditedAggregate.Event):
        key_id: str
        service_name: str
        region: str

        def apply(self, aggregate: User) -> None:
            key = aggregate.access_keys.get(self.key_id)
            if key is not None:
                use = KeyUse(date=self.timestamp, service_name=self.service_name, region=self.region)
                aggregate.access_keys[self.key_id] = replace(key, last_used=use)

    def record_access_key_use(self, key_id: str, service_name: str, region: str, now: datetime) -> bool:
        """Note that a key signed a request for ``service_name`` in ``region`` at ``now``; recorded only when
        :func:`use_worth_recording` says so. Returns whether an event was triggered."""
        key = self.access_key(key_id)
        if not use_worth_recording(key.last_used, service_name, region, now):
            return False
        self.trigger_event(self.AccessKeyUsed, key_id=key_id, service_name=service_name, region=region)
        return True

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: User) -> None:
            aggregate.deleted = True

    def delete(self) -> None:
        """Delete the user; AWS refuses while anything still hangs on it (DeleteConflict)."""
        blockers: list[tuple[Any, str]] = [
            (self.login_profile, "must delete login profile first."),
            (self.access_keys, "must delete access keys first."),
            (self.inline_policies, "must delete policies first."),
            (self.attached_policies, "must detach all policies first."),
            (self.groups, "must remove user from all groups first."),
        ]
        for present, what in blockers:
            if present:
                raise DeleteConflictError(f"Cannot delete entity, {what}")
        self.trigger_event(self.Deleted)
