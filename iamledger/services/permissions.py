"""Inline policies and attached managed policies of users, groups and roles: Put/Get/Delete/List{Kind}Policy and
Attach/Detach/ListAttached{Kind}Policies, written once for every kind of principal."""

from __future__ import annotations

import json
from typing import Any, Final

from sqlalchemy import Connection

from iamledger.domain.errors import NoSuchEntityError
from iamledger.domain.permissions import PermissionsHolder
from iamledger.projections.views.principals import attached_policy_arns, find_named, inline_policies
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page

# kind -> (operation suffix, name parameter, not-found message template)
KINDS: Final = {
    "user": ("User", "UserName", "The user with name {} cannot be found."),
    "group": ("Group", "GroupName", "The group with name {} cannot be found."),
    "role": ("Role", "RoleName", "The role with name {} cannot be found."),
}


def policy_document_shape(document: str) -> Any:
    """A stored policy document as boto3 returns it: parsed JSON (AWS sends it URL-encoded; botocore decodes it)."""
    return json.loads(document)


class PermissionsService(ServiceBase):
    """Inline and attached policies of every kind of principal."""

    def _holder(self, account_id: str, kind: str, name: str) -> PermissionsHolder:
        holder = self._entity_only(account_id, kind, name, KINDS[kind][2].format(name))
        assert isinstance(holder, PermissionsHolder)  # noqa: S101
        return holder

    def _holder_row(self, conn: Connection, account_id: str, kind: str, name: str) -> dict[str, Any]:
        row = find_named(conn, kind, account_id, name)
        if row is None:
            raise NoSuchEntityError(KINDS[kind][2].format(name))
        return row

    # -- inline policies ----------------------------------------------------------------------------------------

    def _put_inline(self, account_id: str, kind: str, name: str, policy_name: str, document: str) -> dict[str, Any]:
        holder = self._holder(account_id, kind, name)
        holder.put_inline_policy(policy_name, document)
        self._save(holder)
        return {}

    def _get_inline(self, conn: Connection, account_id: str, kind: str, name: str, policy_name: str) -> dict[str, Any]:
        _, name_param, _ = KINDS[kind]
        row = self._holder_row(conn, account_id, kind, name)
        for policy in inline_policies(conn, row["entity_uuid"]):
            if policy["policy_name"] == policy_name:
                return {
                    name_param: row[f"{kind}_name"],
                    "PolicyName": policy_name,
                    "PolicyDocument": policy_document_shape(policy["document"]),
                }
        raise NoSuchEntityError(f"The {kind} policy with name {policy_name} cannot be found.")

    def _delete_inline(self, account_id: str, kind: str, name: str, policy_name: str) -> dict[str, Any]:
        holder = self._holder(account_id, kind, name)
        holder.delete_inline_policy(policy_name)
        self._save(holder)
        return {}

    def _list_inline(
        self, conn: Connection, account_id: str, kind: str, name: str, marker: str | None, max_items: int | None
    ) -> dict[str, Any]:
        row = self._holder_row(conn, account_id, kind, name)
        names = [p["policy_name"] for p in inline_policies(conn, row["entity_uuid"])]
        chunk, more = page(names, marker, max_items)
        return {"PolicyNames": chunk, **more}

    # -- attached managed policies ----------------------------------------------------------------------------

    def _attach(self, account_id: str, kind: str, name: str, policy_arn: str) -> dict[str, Any]:
        holder = self._holder(account_id, kind, name)
        self._require_policy(account_id, policy_arn)
        if holder.attach_policy(policy_arn):
            self._save(holder, *self._policy_attachment_changed(account_id, policy_arn, holder, attached=True))
        return {}

    def _detach(self, account_id: str, kind: str, name: str, policy_arn: str) -> dict[str, Any]:
        holder = self._holder(account_id, kind, name)
        holder.detach_policy(policy_arn)
        self._save(holder, *self._policy_attachment_changed(account_id, policy_arn, holder, attached=False))
        return {}

    def _policy_attachment_changed(
        self, account_id: str, policy_arn: str, holder: PermissionsHolder, *, attached: bool
    ) -> list[Any]:
        """The customer managed policy aggregate that counts this attachment, to save with it (none for AWS's).

        Saving the policy in the same transaction as the principal makes an attach that races a DeletePolicy fail
        on the policy's version, so a deleted policy never stays attached."""
        from iamledger.domain.arns import is_aws_managed_policy_arn, policy_arn_parts
        from iamledger.domain.policies import ManagedPolicy

        parts = None if is_aws_managed_policy_arn(policy_arn) else policy_arn_parts(policy_arn)
        index = self._name_index(account_id, ManagedPolicy.kind, parts[2]) if parts else None
        if index is None or index.entity_id is None:
            return []
        policy: Any = self.repository.get(index.entity_id)
        if not isinstance(policy, ManagedPolicy):
            return []
        if attached:
            policy.record_attachment(holder.id, holder.kind)
        else:
            policy.record_detachment(holder.id)
        return [policy]

    def _list_attached(
        self,
        conn: Connection,
        account_id: str,
        kind: str,
        name: str,
        path_prefix: str | None,
        marker: str | None,
        max_items: int | None,
    ) -> dict[str, Any]:
        row = self._holder_row(conn, account_id, kind, name)
        arns = attached_policy_arns(conn, row["entity_uuid"])
        prefix = path_prefix or "/"
        selected = [a for a in arns if a.split(":", 5)[5][len("policy") :].startswith(prefix)]
        chunk, more = page(selected, marker, max_items)
        return {"AttachedPolicies": [{"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a} for a in chunk], **more}

    # -- the operations -------------------------------------------------------------------------------------------

    @command("PutUserPolicy")
    def put_user_policy(
        self, account_id: str, *, UserName: str, PolicyName: str, PolicyDocument: str
    ) -> dict[str, Any]:
        """Create or replace an inline policy of a user."""
        return self._put_inline(account_id, "user", UserName, PolicyName, PolicyDocument)

    @query("GetUserPolicy")
    def get_user_policy(self, conn: Connection, account_id: str, *, UserName: str, PolicyName: str) -> dict[str, Any]:
        """An inline policy of a user, its document as parsed JSON."""
        return self._get_inline(conn, account_id, "user", UserName, PolicyName)

    @command("DeleteUserPolicy")
    def delete_user_policy(self, account_id: str, *, UserName: str, PolicyName: str) -> dict[str, Any]:
        """Delete an inline policy of a user."""
        return self._delete_inline(account_id, "user", UserName, PolicyName)

    @query("ListUserPolicies")
    def list_user_policies(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The names of a user's inline policies."""
        return self._list_inline(conn, account_id, "user", UserName, Marker, MaxItems)

    @command("AttachUserPolicy")
    def attach_user_policy(self, account_id: str, *, UserName: str, PolicyArn: str) -> dict[str, Any]:
        """Attach a managed policy to a user (at most 10)."""
        return self._attach(account_id, "user", UserName, PolicyArn)

    @command("DetachUserPolicy")
    def detach_user_policy(self, account_id: str, *, UserName: str, PolicyArn: str) -> dict[str, Any]:
        """Detach a managed policy from a user."""
        return self._detach(account_id, "user", UserName, PolicyArn)

    @query("ListAttachedUserPolicies")
    def list_attached_user_policies(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str,
        PathPrefix: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The managed policies attached to a user."""
        return self._list_attached(conn, account_id, "user", UserName, PathPrefix, Marker, MaxItems)

    @command("PutGroupPolicy")
    def put_group_policy(
        self, account_id: str, *, GroupName: str, PolicyName: str, PolicyDocument: str
    ) -> dict[str, Any]:
        """Create or replace an inline policy of a group."""
        return self._put_inline(account_id, "group", GroupName, PolicyName, PolicyDocument)

    @query("GetGroupPolicy")
    def get_group_policy(self, conn: Connection, account_id: str, *, GroupName: str, PolicyName: str) -> dict[str, Any]:
        """An inline policy of a group, its document as parsed JSON."""
        return self._get_inline(conn, account_id, "group", GroupName, PolicyName)

    @command("DeleteGroupPolicy")
    def delete_group_policy(self, account_id: str, *, GroupName: str, PolicyName: str) -> dict[str, Any]:
        """Delete an inline policy of a group."""
        return self._delete_inline(account_id, "group", GroupName, PolicyName)

    @query("ListGroupPolicies")
    def list_group_policies(
        self,
        conn: Connection,
        account_id: str,
        *,
        GroupName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The names of a group's inline policies."""
        return self._list_inline(conn, account_id, "group", GroupName, Marker, MaxItems)

    @command("AttachGroupPolicy")
    def attach_group_policy(self, account_id: str, *, GroupName: str, PolicyArn: str) -> dict[str, Any]:
        """Attach a managed policy to a group (at most 10)."""
        return self._attach(account_id, "group", GroupName, PolicyArn)

    @command("DetachGroupPolicy")
    def detach_group_policy(self, account_id: str, *, GroupName: str, PolicyArn: str) -> dict[str, Any]:
        """Detach a managed policy from a group."""
        return self._detach(account_id, "group", GroupName, PolicyArn)

    @query("ListAttachedGroupPolicies")
    def list_attached_group_policies(
        self,
        conn: Connection,
        account_id: str,
        *,
        GroupName: str,
        PathPrefix: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The managed policies attached to a group."""
        return self._list_attached(conn, account_id, "group", GroupName, PathPrefix, Marker, MaxItems)

    @command("PutRolePolicy")
    def put_role_policy(
        self, account_id: str, *, RoleName: str, PolicyName: str, PolicyDocument: str
    ) -> dict[str, Any]:
        """Create or replace an inline policy of a role (10,240 characters for all of them; not on a service-linked
        role)."""
        return self._put_inline(account_id, "role", RoleName, PolicyName, PolicyDocument)

    @query("GetRolePolicy")
    def get_role_policy(self, conn: Connection, account_id: str, *, RoleName: str, PolicyName: str) -> dict[str, Any]:
        """An inline policy of a role, its document as parsed JSON."""
        return self._get_inline(conn, account_id, "role", RoleName, PolicyName)

    @command("DeleteRolePolicy")
    def delete_role_policy(self, account_id: str, *, RoleName: str, PolicyName: str) -> dict[str, Any]:
        """Delete an inline policy of a role."""
        return self._delete_inline(account_id, "role", RoleName, PolicyName)

    @query("ListRolePolicies")
    def list_role_policies(
        self,
        conn: Connection,
        account_id: str,
        *,
        RoleName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The names of a role's inline policies."""
        return self._list_inline(conn, account_id, "role", RoleName, Marker, MaxItems)

    @command("AttachRolePolicy")
    def attach_role_policy(self, account_id: str, *, RoleName: str, PolicyArn: str) -> dict[str, Any]:
        """Attach a managed policy to a role (at most 10; not to a service-linked role)."""
        return self._attach(account_id, "role", RoleName, PolicyArn)

    @command("DetachRolePolicy")
    def detach_role_policy(self, account_id: str, *, RoleName: str, PolicyArn: str) -> dict[str, Any]:
        """Detach a managed policy from a role."""
        return self._detach(account_id, "role", RoleName, PolicyArn)

    @query("ListAttachedRolePolicies")
    def list_attached_role_policies(
        self,
        conn: Connection,
        account_id: str,
        *,
        RoleName: str,
        PathPrefix: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The managed policies attached to a role."""
        return self._list_attached(conn, account_id, "role", RoleName, PathPrefix, Marker, MaxItems)
