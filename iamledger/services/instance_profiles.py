"""EC2 instance profiles: CreateInstanceProfile, GetInstanceProfile, ListInstanceProfiles, DeleteInstanceProfile,
AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile, ListInstanceProfilesForRole and tags."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from iamledger.domain.errors import NoSuchEntityError
from iamledger.domain.ids import new_unique_id
from iamledger.domain.names import NameIndex
from iamledger.domain.tags import parse_tags
from iamledger.projections.views.instance_profiles import (
    current_instance_profiles,
    find_instance_profile,
    instance_profiles_of_role,
    roles_of_instance_profile,
)
from iamledger.projections.views.roles import find_role
from iamledger.projections.views.tags import current_tags
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.roles import role_not_found, role_shape
from iamledger.services.shapes import aws_datetime, tags_shape

if TYPE_CHECKING:
    from iamledger.domain.instance_profiles import InstanceProfile
    from iamledger.domain.roles import Role

KIND = "instance-profile"  # InstanceProfile.kind (the domain module is imported where a command needs it)


def instance_profile_not_found(name: str) -> str:
    """AWS's message for an instance profile that does not exist."""
    return f"Instance Profile {name} cannot be found."


def instance_profile_shape(row: dict[str, Any], roles: list[dict[str, Any]]) -> dict[str, Any]:
    """An ``InstanceProfile`` with its roles (rows of the roles view), without tags (as the list operations give)."""
    return {
        "Path": row["path"],
        "InstanceProfileName": row["instance_profile_name"],
        "InstanceProfileId": row["instance_profile_id"],
        "Arn": row["arn"],
        "CreateDate": aws_datetime(row["create_date"]),
        "Roles": [role_shape(r) for r in roles],
    }


class InstanceProfilesService(ServiceBase):
    """The instance profile operations of the store."""

    def _instance_profile(self, account_id: str, name: str) -> tuple[InstanceProfile, NameIndex]:
        from iamledger.domain.instance_profiles import InstanceProfile

        profile, index = self._entity(account_id, KIND, name, instance_profile_not_found(name))
        assert isinstance(profile, InstanceProfile)  # noqa: S101 - this index kind only holds instance profiles
        return profile, index

    def _profile_and_role(self, account_id: str, profile_name: str, role_name: str) -> tuple[InstanceProfile, Role]:
        from iamledger.domain.roles import Role

        profile, _ = self._instance_profile(account_id, profile_name)
        role = self._entity_only(account_id, Role.kind, role_name, role_not_found(role_name))
        assert isinstance(role, Role)  # noqa: S101 - the index of kind "role" only ever holds roles
        return profile, role

    def _profile_row(self, conn: Connection, account_id: str, name: str) -> dict[str, Any]:
        row = find_instance_profile(conn, account_id, name)
        if row is None:
            raise NoSuchEntityError(instance_profile_not_found(name))
        return row

    @command("CreateInstanceProfile")
    def create_instance_profile(
        self,
        account_id: str,
        *,
        InstanceProfileName: str,
        Path: str | None = None,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create an empty instance profile; ``EntityAlreadyExists`` when the name (in any case) is taken."""
        from iamledger.domain.instance_profiles import InstanceProfile

        tags = parse_tags(Tags)
        entity_id = uuid.uuid4()
        conflict = f"Instance Profile {InstanceProfileName} already exists."
        index = self._claim_name(account_id, KIND, InstanceProfileName, entity_id, conflict)
        profile = InstanceProfile.create_with_id(
            entity_id,
            account_id=account_id,
            instance_profile_id=new_unique_id("AIPA"),
            instance_profile_name=InstanceProfileName,
            path=Path or "/",
            tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        self._save(profile, index)
        row = {
            "path": profile.path,
            "instance_profile_name": profile.instance_profile_name,
            "instance_profile_id": profile.instance_profile_id,
            "arn": profile.arn,
            "create_date": profile.created_on,
        }
        return {"InstanceProfile": instance_profile_shape(row, []) | tags_shape(tags)}

    @query("GetInstanceProfile")
    def get_instance_profile(self, conn: Connection, account_id: str, *, InstanceProfileName: str) -> dict[str, Any]:
        """An instance profile with its role and tags."""
        row = self._profile_row(conn, account_id, InstanceProfileName)
        entity = row["entity_uuid"]
        shape = instance_profile_shape(row, roles_of_instance_profile(conn, entity))
        # GetInstanceProfile, unlike CreateInstanceProfile and GetRole, answers an empty `Tags` list for an
        # instance profile without tags (as real `aws iam get-instance-profile` output shows).
        tags = current_tags(conn, entity)
        return {"InstanceProfile": shape | {"Tags": [{"Key": k, "Value": v} for k, v in tags]}}

    @query("ListInstanceProfiles")
    def list_instance_profiles(
        self,
        conn: Connection,
        account_id: str,
        *,
        PathPrefix: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The account's instance profiles with their roles (no tags, as AWS lists them), a page at a time."""
        rows, more = page(current_instance_profiles(conn, account_id, PathPrefix or "/"), Marker, MaxItems)
        profiles = [instance_profile_shape(r, roles_of_instance_profile(conn, r["entity_uuid"])) for r in rows]
        return {"InstanceProfiles": profiles, **more}

    @query("ListInstanceProfilesForRole")
    def list_instance_profiles_for_role(
        self,
        conn: Connection,
        account_id: str,
        *,
        RoleName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The instance profiles that hold a role."""
        role = find_role(conn, account_id, RoleName)
        if role is None:
            raise NoSuchEntityError(role_not_found(RoleName))
        rows, more = page(instance_profiles_of_role(conn, role["entity_uuid"]), Marker, MaxItems)
        profiles = [instance_profile_shape(r, roles_of_instance_profile(conn, r["entity_uuid"])) for r in rows]
        return {"InstanceProfiles": profiles, **more}

    @command("DeleteInstanceProfile")
    def delete_instance_profile(self, account_id: str, *, InstanceProfileName: str) -> dict[str, Any]:
        """Delete an instance profile; ``DeleteConflict`` while it holds a role."""
        profile, index = self._instance_profile(account_id, InstanceProfileName)
        profile.delete()
        index.release()
        self._save(profile, index)
        return {}

    @command("AddRoleToInstanceProfile")
    def add_role_to_instance_profile(
        self, account_id: str, *, InstanceProfileName: str, RoleName: str
    ) -> dict[str, Any]:
        """Put a role in an instance profile; a profile holds at most one role (``LimitExceeded``)."""
        profile, role = self._profile_and_role(account_id, InstanceProfileName, RoleName)
        role.require_modifiable()
        profile.add_role(role.id, role.role_name)
        role.join_instance_profile(profile.id, profile.instance_profile_name)
        self._save(profile, role)
        return {}

    @command("RemoveRoleFromInstanceProfile")
    def remove_role_from_instance_profile(
        self, account_id: str, *, InstanceProfileName: str, RoleName: str
    ) -> dict[str, Any]:
        """Take a role out of an instance profile; ``NoSuchEntity`` when the profile does not hold it."""
        profile, role = self._profile_and_role(account_id, InstanceProfileName, RoleName)
        role.require_modifiable()
        profile.remove_role(role.id, role.role_name)
        role.leave_instance_profile(profile.id)
        self._save(profile, role)
        return {}

    @command("TagInstanceProfile")
    def tag_instance_profile(
        self, account_id: str, *, InstanceProfileName: str, Tags: list[dict[str, str]]
    ) -> dict[str, Any]:
        """Add or overwrite tags of an instance profile (keys are case-sensitive); at most 50."""
        profile, _ = self._instance_profile(account_id, InstanceProfileName)
        profile.tag(parse_tags(Tags))
        self._save(profile)
        return {}

    @command("UntagInstanceProfile")
    def untag_instance_profile(
        self, account_id: str, *, InstanceProfileName: str, TagKeys: list[str]
    ) -> dict[str, Any]:
        """Remove tags of an instance profile (exact keys; unknown keys are ignored)."""
        profile, _ = self._instance_profile(account_id, InstanceProfileName)
        profile.untag(TagKeys)
        self._save(profile)
        return {}

    @query("ListInstanceProfileTags")
    def list_instance_profile_tags(
        self,
        conn: Connection,
        account_id: str,
        *,
        InstanceProfileName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The tags of an instance profile."""
        row = self._profile_row(conn, account_id, InstanceProfileName)
        tags, more = page(current_tags(conn, row["entity_uuid"]), Marker, MaxItems)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags], **more}
