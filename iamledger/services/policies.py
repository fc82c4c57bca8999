"""Managed policies: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy, the version operations, tags and
ListEntitiesForPolicy. AWS managed policies come from the built-in catalogue and are read-only."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection

from iamledger.domain.arns import is_aws_managed_policy_arn, policy_arn_parts
from iamledger.domain.audit import audit_context
from iamledger.domain.errors import NoSuchEntityError, TranslatedError
from iamledger.domain.ids import new_unique_id, root_arn
from iamledger.domain.names import NameIndex
from iamledger.domain.tags import parse_tags
from iamledger.projections.views import policies as views
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.projections.views.tags import current_tags
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.policy_shapes import aws_managed_versions, policy_not_found, policy_shape, version_shape

if TYPE_CHECKING:
    from iamledger.domain.policies import ManagedPolicy

KIND: Final = "policy"
ENTITY_KINDS: Final = {"User": "user", "Group": "group", "Role": "role"}
ENTITY_LISTS: Final = {
    "user": ("PolicyUsers", "User"),
    "group": ("PolicyGroups", "Group"),
    "role": ("PolicyRoles", "Role"),
}


def invalid_arn(policy_arn: str) -> TranslatedError:
    """AWS's ``InvalidInput`` for a string that is not a managed policy ARN."""
    return TranslatedError("InvalidInput", f"ARN {policy_arn} is not valid.", 400, sender_fault=True)


class PoliciesService(ServiceBase):
    """The managed policy operations of the store."""

    # -- lookups ---------------------------------------------------------------------------------------------

    def _policy(self, account_id: str, policy_arn: str, operation: str) -> tuple[ManagedPolicy, NameIndex]:
        """The customer managed policy ``policy_arn`` to change, and its name index. An AWS managed policy cannot
        be changed by a customer: AWS owns it, so the request is refused as a cross-account write."""
        from iamledger.domain.policies import ManagedPolicy

        if is_aws_managed_policy_arn(policy_arn):
            ctx = audit_context.get()
            actor = ctx.actor if ctx is not None else root_arn(account_id)
            msg = f"User: {actor} is not authorized to perform: iam:{operation} on resource: policy {policy_arn}"
            raise TranslatedError("AccessDenied", msg, 403, sender_fault=True)
        parts = policy_arn_parts(policy_arn)
        if parts is None:
            raise invalid_arn(policy_arn)
        account, _, name = parts
        index = self._name_index(account_id, KIND, name) if account == account_id else None
        if index is None or index.entity_id is None:
            raise NoSuchEntityError(policy_not_found(policy_arn))
        policy: Any = self.repository.get(index.entity_id)
        if not isinstance(policy, ManagedPolicy) or policy.arn != policy_arn:
            raise NoSuchEntityError(policy_not_found(policy_arn))
        return policy, index

    def _policy_row(self, conn: Connection, account_id: str, policy_arn: str) -> dict[str, Any]:
        """The view row (with usage counts) of an AWS managed or customer managed policy; ``NoSuchEntity``."""
        if not is_aws_managed_policy_arn(policy_arn) and policy_arn_parts(policy_arn) is None:
            raise invalid_arn(policy_arn)
        row = views.find_policy(conn, account_id, policy_arn, StoreCatalogue(conn))
        if row is None:
            raise NoSuchEntityError(policy_not_found(policy_arn))
        return row

    def _versions(self, conn: Connection, row: dict[str, Any]) -> list[dict[str, Any]]:
        if row["aws_managed"]:
            return aws_managed_versions(row)
        return views.policy_versions(conn, row["entity_uuid"])

    # -- policies --------------------------------------------------------------------------------------------

    @command("CreatePolicy")
    def create_policy(
        self,
        account_id: str,
        *,
        PolicyName: str,
        PolicyDocument: str,
        Path: str | None = None,
        Description: str | None = None,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create a customer managed policy whose version ``v1`` is the default."""
        from iamledger.domain.policies import ManagedPolicy, check_document

        tags = parse_tags(Tags)
        check_document(PolicyDocument)
        entity_id = uuid.uuid4()
        conflict = f"A policy called {PolicyName} already exists. Duplicate names are not allowed."
        index = self._claim_name(account_id, KIND, PolicyName, entity_id, conflict)
        policy = ManagedPolicy.create_with_id(
            entity_id,
            account_id=account_id,
            policy_id=new_unique_id("ANPA"),
            policy_name=PolicyName,
            path=Path or "/",
            description=Description,
            document=PolicyDocument,
            tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        self._save(policy, index)
        return {"Policy": policy_shape(_aggregate_row(policy), tags=tags)}

    @query("GetPolicy")
    def get_policy(self, conn: Connection, account_id: str, *, PolicyArn: str) -> dict[str, Any]:
        """A managed policy with its usage counts, description and tags."""
        row = self._policy_row(conn, account_id, PolicyArn)
        if row["aws_managed"]:
            return {"Policy": policy_shape(row, description=True)}
        # GetPolicy, unlike CreatePolicy and ListPolicies, answers an empty `Tags` list for a customer managed
        # policy without tags (moto's aws_verified test_policy_resource_returns_subset_of_available_attributes).
        tags = current_tags(conn, row["entity_uuid"])
        shape = policy_shape(row, description=True)
        return {"Policy": shape | {"Tags": [{"Key": k, "Value": v} for k, v in tags]}}

    @query("ListPolicies")
    def list_policies(
        self,
        conn: Connection,
        account_id: str,
        *,
        Scope: str | None = None,
        OnlyAttached: bool | None = None,
        PathPrefix: str | None = None,
        PolicyUsageFilter: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The managed policies of ``Scope`` (``All``, ``AWS`` or ``Local``), a page at a time.

        ``OnlyAttached`` keeps the policies in use: attached to an entity, or, with ``PolicyUsageFilter`` set to
        ``PermissionsBoundary``, used as a boundary. ``PermissionsBoundary`` alone keeps the policies used as a
        boundary; ``PermissionsPolicy`` alone keeps every policy (any managed policy can be a permissions policy).
        """
        scope = Scope or "All"
        rows: list[dict[str, Any]] = []
        if scope in {"All", "AWS"}:
            rows += views.aws_managed_policies(conn, account_id, StoreCatalogue(conn))
        if scope in {"All", "Local"}:
            rows += views.customer_policies(conn, account_id)
        rows = [r for r in rows if r["path"].startswith(PathPrefix or "/")]
        if PolicyUsageFilter == "PermissionsBoundary":
            rows = [r for r in rows if r["boundary_count"]]
        elif OnlyAttached:
            rows = [r for r in rows if r["attachment_count"]]
        chunk, more = page(rows, Marker, MaxItems)
        return {"Policies": [policy_shape(r) for r in chunk], **more}

    @command("DeletePolicy")
    def delete_policy(self, account_id: str, *, PolicyArn: str) -> dict[str, Any]:
        """Delete a customer managed policy. Refused while it is attached to an entity or is an entity's
        permissions boundary, and while versions other than the default remain (``DeleteConflict``)."""
        policy, index = self._policy(account_id, PolicyArn, "DeletePolicy")
        self.projector.catch_up()
        with self.engine.connect() as conn:
            boundary_uses = views.boundary_counts(conn, account_id).get(policy.arn, 0)
        policy.delete(boundary_uses)
        index.release()
        self._save(policy, index)
        return {}

    # -- versions --------------------------------------------------------------------------------------------

    @command("CreatePolicyVersion")
    def create_policy_version(
        self, account_id: str, *, PolicyArn: str, PolicyDocument: str, SetAsDefault: bool | None = None
    ) -> dict[str, Any]:
        """Store a new version (at most five); with ``SetAsDefault`` it becomes operative at once."""
        policy, _ = self._policy(account_id, PolicyArn, "CreatePolicyVersion")
        version = policy.create_version(PolicyDocument, set_as_default=bool(SetAsDefault))
        self._save(policy)
        is_default = version.version_id == policy.default_version_id
        return {"PolicyVersion": version_shape(version.version_id, version.create_date, is_default=is_default)}

    @query("GetPolicyVersion")
    def get_policy_version(
        self, conn: Connection, account_id: str, *, PolicyArn: str, VersionId: str
    ) -> dict[str, Any]:
        """One version of a managed policy, its document as parsed JSON."""
        row = self._policy_row(conn, account_id, PolicyArn)
        for version in self._versions(conn, row):
            if version["version_id"] == VersionId:
                shape = version_shape(
                    VersionId,
                    version["create_date"],
                    is_default=VersionId == row["default_version_id"],
                    document=version["document"],
                )
                return {"PolicyVersion": shape}
        raise NoSuchEntityError(f"Policy {PolicyArn} version {VersionId} does not exist or is not attachable.")

    @query("ListPolicyVersions")
    def list_policy_versions(
        self,
        conn: Connection,
        account_id: str,
        *,
        PolicyArn: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The stored versions of a managed policy, newest first, without their documents."""
        row = self._policy_row(conn, account_id, PolicyArn)
        chunk, more = page(self._versions(conn, row), Marker, MaxItems)
        versions = [
            version_shape(v["version_id"], v["create_date"], is_default=v["version_id"] == row["default_version_id"])
            for v in chunk
        ]
        return {"Versions": versions, **more}

    @command("SetDefaultPolicyVersion")
    def set_default_policy_version(self, account_id: str, *, PolicyArn: str, VersionId: str) -> dict[str, Any]:
        """Make a stored version the operative one for every entity the policy is attached to."""
        policy, _ = self._policy(account_id, PolicyArn, "SetDefaultPolicyVersion")
        policy.set_default_version(VersionId)
        self._save(policy)
        return {}

    @command("DeletePolicyVersion")
    def delete_policy_version(self, account_id: str, *, PolicyArn: str, VersionId: str) -> dict[str, Any]:
        """Delete a version other than the default one."""
        policy, _ = self._policy(account_id, PolicyArn, "DeletePolicyVersion")
        policy.delete_version(VersionId)
        self._save(policy)
        return {}

    # -- tags ------------------------------------------------------------------------------------------------

    @command("TagPolicy")
    def tag_policy(self, account_id: str, *, PolicyArn: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        """Add or overwrite tags of a customer managed policy (keys are case-sensitive); at most 50."""
        policy, _ = self._policy(account_id, PolicyArn, "TagPolicy")
        policy.tag(parse_tags(Tags))
        self._save(policy)
        return {}

    @command("UntagPolicy")
    def untag_policy(self, account_id: str, *, PolicyArn: str, TagKeys: list[str]) -> dict[str, Any]:
        """Remove tags of a customer managed policy."""
        policy, _ = self._policy(account_id, PolicyArn, "UntagPolicy")
        policy.untag(TagKeys)
        self._save(policy)
        return {}

    @query("ListPolicyTags")
    def list_policy_tags(
        self,
        conn: Connection,
        account_id: str,
        *,
        PolicyArn: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The tags of a managed policy (none for AWS's)."""
        row = self._policy_row(conn, account_id, PolicyArn)
        tags = [] if row["aws_managed"] else current_tags(conn, row["entity_uuid"])
        chunk, more = page(tags, Marker, MaxItems)
        return {"Tags": [{"Key": k, "Value": v} for k, v in chunk], **more}

    # -- usage -----------------------------------------------------------------------------------------------

    @query("ListEntitiesForPolicy")
    def list_entities_for_policy(
        self,
        conn: Connection,
        account_id: str,
        *,
        PolicyArn: str,
        EntityFilter: str | None = None,
        PathPrefix: str | None = None,
        PolicyUsageFilter: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The users, groups and roles a managed policy is attached to (``PermissionsPolicy``) and/or that use it
        as their permissions boundary (``PermissionsBoundary``); both when no usage filter is given."""
        row = self._policy_row(conn, account_id, PolicyArn)
        kinds = list(ENTITY_LISTS) if EntityFilter is None else [k for k in [ENTITY_KINDS.get(EntityFilter)] if k]
        found: list[tuple[str, dict[str, Any]]] = []
        for kind in kinds:
            entities: dict[str, dict[str, Any]] = {}
            if PolicyUsageFilter in {None, "PermissionsPolicy"}:
                entities |= {e["id"]: e for e in views.attached_entities(conn, account_id, row["arn"], kind)}
            if PolicyUsageFilter in {None, "PermissionsBoundary"} and kind != "group":
                entities |= {e["id"]: e for e in views.boundary_entities(conn, account_id, row["arn"], kind)}
            ordered = sorted(entities.values(), key=lambda e: e["name"].casefold())
            found += [(kind, e) for e in ordered if e["path"].startswith(PathPrefix or "/")]
        chunk, more = page(found, Marker, MaxItems)
        result: dict[str, Any] = {key: [] for key, _ in ENTITY_LISTS.values()}
        for kind, entity in chunk:
            key, prefix = ENTITY_LISTS[kind]
            result[key].append({f"{prefix}Name": entity["name"], f"{prefix}Id": entity["id"]})
        return result | more


def _aggregate_row(policy: ManagedPolicy) -> dict[str, Any]:
    """The view row a new policy aggregate would have, for the shape of CreatePolicy's answer."""
    return {
        "policy_name": policy.policy_name,
        "policy_id": policy.policy_id,
        "arn": policy.arn,
        "path": policy.path,
        "description": policy.description,
        "default_version_id": policy.default_version_id,
        "is_attachable": True,
        "create_date": policy.created_on,
        "update_date": policy.update_date,
    }
