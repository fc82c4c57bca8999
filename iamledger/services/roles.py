"""IAM roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription, UpdateAssumeRolePolicy,
DeleteRole, tags and permissions boundaries. Inline and attached policies of roles are in
:mod:`iamledger.services.permissions`; instance profiles in :mod:`iamledger.services.instance_profiles`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Connection

from iamledger.domain.errors import EntityAlreadyExistsError, InvalidInputError, NoSuchEntityError
from iamledger.domain.ids import new_unique_id
from iamledger.domain.tags import parse_tags
from iamledger.projections.views.role_usage import role_last_used
from iamledger.projections.views.roles import current_roles, find_role
from iamledger.projections.views.tags import current_tags
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.permissions import policy_document_shape
from iamledger.services.shapes import aws_datetime, boundary_shape, tags_shape

if TYPE_CHECKING:
    from iamledger.domain.roles import Role

KIND = "role"


def role_not_found(role_name: str) -> str:
    """AWS's message for a role that does not exist."""
    return f"The role with name {role_name} cannot be found."


def role_shape(row: dict[str, Any]) -> dict[str, Any]:
    """A ``Role`` as ``CreateRole`` and the instance profile operations return it: its trust policy as parsed JSON
    (AWS sends it URL-encoded; boto3 decodes it), no description, duration, boundary or tags."""
    return {
        "Path": row["path"],
        "RoleName": row["role_name"],
        "RoleId": row["role_id"],
        "Arn": row["arn"],
        "CreateDate": aws_datetime(row["create_date"]),
        "AssumeRolePolicyDocument": policy_document_shape(row["trust_policy"]),
    }


def role_list_shape(row: dict[str, Any]) -> dict[str, Any]:
    """A ``Role`` as ``ListRoles`` returns it: with description and session duration, without boundary, tags or
    last use."""
    shape = role_shape(row)
    if row["description"]:
        shape["Description"] = row["description"]
    shape["MaxSessionDuration"] = row["max_session_duration"]
    return shape


def role_detail_shape(
    row: dict[str, Any], tags: list[tuple[str, str]], last_used: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``Role`` as ``GetRole`` returns it: everything, with ``RoleLastUsed`` (``{}`` for a role never assumed)."""
    shape = role_list_shape(row) | boundary_shape(row["boundary_arn"]) | tags_shape(tags)
    return shape | {"RoleLastUsed": last_used or {}}


def role_row(role: Role) -> dict[str, Any]:
    """The view row a role aggregate would have, for the shapes of commands that answer with the role."""
    return {
        "path": role.path,
        "role_name": role.role_name,
        "role_id": role.role_id,
        "arn": role.arn,
        "create_date": role.created_on,
        "trust_policy": role.assume_role_policy_document,
        "description": role.description,
        "max_session_duration": role.max_session_duration,
        "boundary_arn": role.permissions_boundary,
    }


class RolesService(ServiceBase):
    """The role operations of the store."""

    def _role(self, account_id: str, role_name: str) -> tuple[Role, Any]:
        from iamledger.domain.roles import Role

        role, index = self._entity(account_id, KIND, role_name, role_not_found(role_name))
        assert isinstance(role, Role)  # noqa: S101 - the index of kind "role" only ever holds roles
        return role, index

    def _role_row(self, conn: Connection, account_id: str, role_name: str) -> dict[str, Any]:
        row = find_role(conn, account_id, role_name)
        if row is None:
            raise NoSuchEntityError(role_not_found(role_name))
        return row

    @command("CreateRole")
    def create_role(
        self,
        account_id: str,
        *,
        RoleName: str,
        AssumeRolePolicyDocument: str,
        Path: str | None = None,
        Description: str | None = None,
        MaxSessionDuration: int | None = None,
        PermissionsBoundary: str | None = None,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create a role with its trust policy; ``EntityAlreadyExists`` when the name (in any case) is taken."""
        from iamledger.domain.roles import DEFAULT_MAX_SESSION_DURATION, Role, check_new_role_path, check_trust_policy

        path = Path or "/"
        check_new_role_path(path)
        tags = parse_tags(Tags)
        check_trust_policy(AssumeRolePolicyDocument)
        if PermissionsBoundary is not None:
            self._require_policy(account_id, PermissionsBoundary)
        entity_id = uuid.uuid4()
        conflict = f"Role with name {RoleName} already exists."
        index = self._claim_name(account_id, KIND, RoleName, entity_id, conflict)
        role = Role.create_with_id(
            entity_id,
            account_id=account_id,
            role_id=new_unique_id("AROA"),
            role_name=RoleName,
            path=path,
            assume_role_policy_document=AssumeRolePolicyDocument,
            description=Description,
            max_session_duration=MaxSessionDuration or DEFAULT_MAX_SESSION_DURATION,
            permissions_boundary=PermissionsBoundary,
            tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        self._save(role, index)
        shape = role_shape(role_row(role))
        if Description:
            shape["Description"] = Description
        return {"Role": shape | boundary_shape(PermissionsBoundary) | tags_shape(tags)}

    @query("GetRole")
    def get_role(self, conn: Connection, account_id: str, *, RoleName: str) -> dict[str, Any]:
        """A role with its trust policy, boundary, tags and last use."""
        row = self._role_row(conn, account_id, RoleName)
        entity = row["entity_uuid"]
        return {"Role": role_detail_shape(row, current_tags(conn, entity), role_last_used(conn, entity))}

    @query("ListRoles")
    def list_roles(
        self,
        conn: Connection,
        account_id: str,
        *,
        PathPrefix: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The account's roles (no boundary, tags or last use, as AWS lists them), a page at a time."""
        rows, more = page(current_roles(conn, account_id, PathPrefix or "/"), Marker, MaxItems)
        return {"Roles": [role_list_shape(r) for r in rows], **more}

    @command("UpdateRole")
    def update_role(
        self, account_id: str, *, RoleName: str, Description: str | None = None, MaxSessionDuration: int | None = None
    ) -> dict[str, Any]:
        """Change a role's description and/or maximum session duration (roles cannot be renamed)."""
        role, _ = self._role(account_id, RoleName)
        if Description is not None or MaxSessionDuration is not None:
            role.update(description=Description, max_session_duration=MaxSessionDuration)
            self._save(role)
        return {}

    @command("UpdateRoleDescription")
    def update_role_description(self, account_id: str, *, RoleName: str, Description: str) -> dict[str, Any]:
        """Change a role's description; returns the role as ``GetRole`` does."""
        role, _ = self._role(account_id, RoleName)
        role.update(description=Description)
        self._save(role)
        last_used = {} if role.last_used is None else {"LastUsedDate": role.last_used[0], "Region": role.last_used[1]}
        return {"Role": role_detail_shape(role_row(role), role.tags, last_used)}

    @command("UpdateAssumeRolePolicy")
    def update_assume_role_policy(self, account_id: str, *, RoleName: str, PolicyDocument: str) -> dict[str, Any]:
        """Replace a role's trust policy."""
        role, _ = self._role(account_id, RoleName)
        role.update_assume_role_policy(PolicyDocument)
        self._save(role)
        return {}

    @command("DeleteRole")
    def delete_role(self, account_id: str, *, RoleName: str) -> dict[str, Any]:
        """Delete a role; ``DeleteConflict`` while it has policies or is in an instance profile."""
        role, index = self._role(account_id, RoleName)
        role.delete()
        index.release()
        self._save(role, index)
        return {}

    @command("TagRole")
    def tag_role(self, account_id: str, *, RoleName: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        """Add or overwrite tags of a role (keys compare case-insensitively); at most 50."""
        role, _ = self._role(account_id, RoleName)
        role.tag(parse_tags(Tags))
        self._save(role)
        return {}

    @command("UntagRole")
    def untag_role(self, account_id: str, *, RoleName: str, TagKeys: list[str]) -> dict[str, Any]:
        """Remove tags of a role (keys in any case; unknown keys are ignored)."""
        role, _ = self._role(account_id, RoleName)
        role.untag(TagKeys)
        self._save(role)
        return {}

    @query("ListRoleTags")
    def list_role_tags(
        self,
        conn: Connection,
        account_id: str,
        *,
        RoleName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The tags of a role."""
        row = self._role_row(conn, account_id, RoleName)
        tags, more = page(current_tags(conn, row["entity_uuid"]), Marker, MaxItems)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags], **more}

    @command("PutRolePermissionsBoundary")
    def put_role_permissions_boundary(
        self, account_id: str, *, RoleName: str, PermissionsBoundary: str
    ) -> dict[str, Any]:
        """Set or replace the permissions boundary of a role (a managed policy)."""
        role, _ = self._role(account_id, RoleName)
        role.require_modifiable()
        self._require_policy(account_id, PermissionsBoundary)
        role.put_permissions_boundary(PermissionsBoundary)
        self._save(role)
        return {}

    @command("DeleteRolePermissionsBoundary")
    def delete_role_permissions_boundary(self, account_id: str, *, RoleName: str) -> dict[str, Any]:
        """Remove the permissions boundary of a role."""
        role, _ = self._role(account_id, RoleName)
        role.delete_permissions_boundary()
        self._save(role)
        return {}

    # -- service-linked roles -------------------------------------------------------------------------------

    @command("CreateServiceLinkedRole")
    def create_service_linked_role(
        self, account_id: str, *, AWSServiceName: str, Description: str | None = None, CustomSuffix: str | None = None
    ) -> dict[str, Any]:
        """Create the role an AWS service uses: ``/aws-service-role/SERVICE/`` ``AWSServiceRoleForX[_SUFFIX]``,
        trusted by the service; only ``DeleteServiceLinkedRole`` can remove it."""
        from iamledger.domain.roles import (
            DEFAULT_MAX_SESSION_DURATION,
            SERVICE_LINKED_PATH,
            Role,
            check_service_principal,
            service_linked_role_name,
            service_trust_policy,
        )

        check_service_principal(AWSServiceName)
        role_name = service_linked_role_name(AWSServiceName, CustomSuffix)
        entity_id = uuid.uuid4()
        conflict = f"Service role name {role_name} has been taken in this account, please try a different suffix."
        try:
            index = self._claim_name(account_id, KIND, role_name, entity_id, conflict)
        except EntityAlreadyExistsError:  # AWS answers InvalidInput for a taken name
            raise InvalidInputError(conflict) from None
        role = Role._create(  # noqa: SLF001 - the aggregate's own factory, with its service-linked event
            Role.ServiceLinkedCreated,
            id=entity_id,
            account_id=account_id,
            role_id=new_unique_id("AROA"),
            role_name=role_name,
            path=f"{SERVICE_LINKED_PATH}{AWSServiceName}/",
            assume_role_policy_document=service_trust_policy(AWSServiceName),
            description=Description,
            max_session_duration=DEFAULT_MAX_SESSION_DURATION,
            permissions_boundary=None,
            tags=[],
            aws_service_name=AWSServiceName,
            custom_suffix=CustomSuffix,
        )
        self._save(role, index)
        shape = role_shape(role_row(role))
        if Description:
            shape["Description"] = Description
        return {"Role": shape}

    @command("DeleteServiceLinkedRole")
    def delete_service_linked_role(self, account_id: str, *, RoleName: str) -> dict[str, Any]:
        """Delete a service-linked role; the answer names the deletion task (done at once here)."""
        role, index = self._role(account_id, RoleName)
        task_id = role.delete_service_linked()
        index.release()
        self._save(role, index)
        return {"DeletionTaskId": task_id}

    @query("GetServiceLinkedRoleDeletionStatus")
    def get_service_linked_role_deletion_status(
        self, conn: Connection, account_id: str, *, DeletionTaskId: str
    ) -> dict[str, Any]:
        """The status of a deletion task: ``SUCCEEDED`` (deletions are done when they are asked for)."""
        from iamledger.domain.roles import Role

        del conn
        missing = f"Deletion task {DeletionTaskId} cannot be found."
        try:
            role: Any = self.repository.get(uuid.UUID(DeletionTaskId.rsplit("/", 1)[-1]))
        except (AggregateNotFoundError, ValueError):
            raise NoSuchEntityError(missing) from None
        if not isinstance(role, Role) or role.account_id != account_id or role.deletion_task_id != DeletionTaskId:
            raise NoSuchEntityError(missing)
        return {"Status": "SUCCEEDED"}
