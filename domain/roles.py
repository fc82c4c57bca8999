"""IAM roles: a name unique in the account (whatever its case) that never changes, a trust policy saying who may
assume the role, policies, a permissions boundary, tags, and the instance profiles that hold it.

Service-linked roles (path ``/aws-service-role/...``) belong to an AWS service: their policies, trust policy and
boundary cannot be changed and they cannot be deleted with ``DeleteRole`` (``UnmodifiableEntity``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final

from iamledger.domain.arns import iam_arn
from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import DeleteConflictError, InvalidInputError, UnmodifiableEntityError
from iamledger.domain.permissions import (
    InlinePolicyDeletedEvent,
    InlinePolicyPutEvent,
    PermissionsBoundaryDeletedEvent,
    PermissionsBoundaryPutEvent,
    PermissionsHolder,
    PolicyAttachedEvent,
    PolicyDetachedEvent,
)
from iamledger.domain.policy import PolicyKind, SizeLimit, parse, role_inline_limit, trust_policy_limit
from iamledger.domain.tagging import Taggable, TaggedEvent, UntaggedEvent
from iamledger.domain.tags import Tag

SERVICE_LINKED_PATH: Final = "/aws-service-role/"
DEFAULT_MAX_SESSION_DURATION: Final = 3600
ROLE_USE_INTERVAL: Final = timedelta(hours=1)


def check_trust_policy(document: str) -> None:
    """Refuse a trust policy IAM would refuse: ``MalformedPolicyDocument``, or ``LimitExceeded`` over 2,048
    characters (whitespace not counted)."""
    parse(document, PolicyKind.TRUST, max_size=trust_policy_limit())


#: The role names AWS gives the service-linked roles of some services (``AWSServiceRoleFor`` + this); another
#: service's role is named after its service principal's first label, as given.
SERVICE_LINKED_ROLE_NAMES: Final = {
    "autoscaling.amazonaws.com": "AutoScaling",
    "elasticbeanstalk.amazonaws.com": "ElasticBeanstalk",
    "custom-resource.application-autoscaling.amazonaws.com": "ApplicationAutoScaling_CustomResource",
    "dynamodb.application-autoscaling.amazonaws.com": "ApplicationAutoScaling_DynamoDBTable",
    "ecs.application-autoscaling.amazonaws.com": "ApplicationAutoScaling_ECSService",
    "ecs.amazonaws.com": "ECS",
    "eks.amazonaws.com": "AmazonEKS",
    "eks-nodegroup.amazonaws.com": "AmazonEKSNodegroup",
    "elasticloadbalancing.amazonaws.com": "ElasticLoadBalancing",
    "es.amazonaws.com": "AmazonElasticsearchService",
    "opensearchservice.amazonaws.com": "AmazonOpenSearchService",
    "rds.amazonaws.com": "RDS",
    "redshift.amazonaws.com": "Redshift",
    "elasticache.amazonaws.com": "ElastiCache",
    "organizations.amazonaws.com": "Organizations",
    "config.amazonaws.com": "Config",
    "cloudtrail.amazonaws.com": "CloudTrail",
    "guardduty.amazonaws.com": "AmazonGuardDuty",
    "securityhub.amazonaws.com": "SecurityHub",
    "ssm.amazonaws.com": "AmazonSSM",
    "spot.amazonaws.com": "EC2Spot",
    "spotfleet.amazonaws.com": "EC2SpotFleet",
    "support.amazonaws.com": "Support",
    "trustedadvisor.amazonaws.com": "TrustedAdvisor",
    "backup.amazonaws.com": "Backup",
    "kafka.amazonaws.com": "Kafka",
    "sso.amazonaws.com": "SSO",
    "transitgateway.amazonaws.com": "VPCTransitGateway",
    "globalaccelerator.amazonaws.com": "GlobalAccelerator",
}


def service_linked_role_name(service_name: str, custom_suffix: str | None) -> str:
    """The name AWS gives the service-linked role of ``service_name`` (``autoscaling.amazonaws.com`` ->
    ``AWSServiceRoleForAutoScaling``), with ``_SUFFIX`` when a custom suffix is given."""
    base = SERVICE_LINKED_ROLE_NAMES.get(service_name) or service_name.removesuffix(".amazonaws.com")
    name = f"AWSServiceRoleFor{base}"
    return f"{name}_{custom_suffix}" if custom_suffix else name


def check_service_principal(service_name: str) -> None:
    """``InvalidInput`` unless ``service_name`` is a service principal (``NAME.amazonaws.com``)."""
    prefix = service_name.removesuffix(".amazonaws.com")
    if prefix == service_name or not prefix or "/" in prefix:
        raise InvalidInputError(f"Invalid service name: {service_name}.")


def service_trust_policy(service_name: str) -> str:
    """The trust policy of a service-linked role: the service may assume it."""
    statement = {"Effect": "Allow", "Principal": {"Service": service_name}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def deletion_task_id(service_name: str, role_name: str, role_uuid: uuid.UUID) -> str:
    """The id of the task deleting a service-linked role, in AWS's form
    ``task/aws-service-role/SERVICE/ROLE-NAME/UUID`` (the uuid is the role's own, so the task finds its role)."""
    return f"task{SERVICE_LINKED_PATH}{service_name}/{role_name}/{role_uuid}"


def check_new_role_path(path: str) -> None:
    """``InvalidInput`` for a path reserved to service-linked roles, which only AWS services create."""
    if path.startswith(SERVICE_LINKED_PATH):
        raise InvalidInputError(f"Path prefix '{SERVICE_LINKED_PATH}' can only be used for AWS Service linked Roles")


class Role(Taggable, PermissionsHolder):
    """An IAM role."""

    case_insensitive_tag_keys: ClassVar[bool] = True

    kind: ClassVar[str] = "role"

    class Created(AuditedAggregate.Created):
        account_id: str
        role_id: str
        role_name: str
        path: str
        assume_role_policy_document: str
        description: str | None
        max_session_duration: int
        permissions_boundary: str | None
        tags: list[dict[str, str]]
        create_date: datetime | None = None  # AWS's CreateDate when imported; None: the event's own timestamp

    class ServiceLinkedCreated(Created):
        """A service-linked role was created (``CreateServiceLinkedRole``), with its service's trust policy."""

        # Keyword-only: they follow Created's optional create_date.
        aws_service_name: str = field(kw_only=True)
        custom_suffix: str | None = field(kw_only=True)

    def __init__(
        self,
        account_id: str,
        role_id: str,
        role_name: str,
        path: str,
        assume_role_policy_document: str,
        description: str | None,
        max_session_duration: int,
        permissions_boundary: str | None,
        tags: list[dict[str, str]],
        aws_service_name: str | None = None,
        custom_suffix: str | None = None,
    ) -> None:
        del custom_suffix  # part of the role's name
        self.aws_service_name = aws_service_name
        self.deletion_task_id: str | None = None
        self.account_id = account_id
        self.role_id = role_id
        self.role_name = role_name
        self.path = path
        self.assume_role_policy_document = assume_role_policy_document
        self.description = description
        self.max_session_duration = max_session_duration
        self.permissions_boundary = permissions_boundary
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.instance_profiles: dict[uuid.UUID, str] = {}
        self.last_used: tuple[datetime, str] | None = None
        self.inline_policies = {}
        self.attached_policies = []
        self.deleted = False

    @property
    def arn(self) -> str:
        """``arn:aws:iam::ACCOUNT:role/PATH/NAME``."""
        return iam_arn(self.account_id, "role", self.path, self.role_name)

    @property
    def display_name(self) -> str:
        """The role's name."""
        return self.role_name

    @property
    def is_service_linked(self) -> bool:
        """Whether the role belongs to an AWS service (its path starts with ``/aws-service-role/``)."""
        return self.path.startswith(SERVICE_LINKED_PATH)

    def inline_limit(self) -> SizeLimit:
        """All inline policies of a role together: 10,240 characters."""
        return role_inline_limit(self.role_name)

    def require_modifiable(self) -> None:
        """``UnmodifiableEntity`` for a service-linked role, in AWS's words."""
        if self.is_service_linked:
            raise UnmodifiableEntityError(
                f"Cannot perform the operation on the protected role '{self.role_name}'"
                " - this role is only modifiable by AWS"
            )

    # -- description and session duration ------------------------------------------------------------------

    class Updated(AuditedAggregate.Event):
        description: str | None
        max_session_duration: int

        def apply(self, aggregate: Role) -> None:
            aggregate.description = self.description
            aggregate.max_session_duration = self.max_session_duration

    def update(self, description: str | None = None, max_session_duration: int | None = None) -> None:
        """Change the description and/or the maximum session duration; what is not given stays."""
        self.trigger_event(
            self.Updated,
            description=self.description if description is None else description,
            max_session_duration=(self.max_session_duration if max_session_duration is None else max_session_duration),
        )

    # -- last use ------------------------------------------------------------------------------------------

    class LastUsed(AuditedAggregate.Event):
        last_used_date: datetime
        region: str

        def apply(self, aggregate: Role) -> None:
            aggregate.last_used = (self.last_used_date, self.region)

    def record_use(self, now: datetime, region: str, *, always: bool = False) -> bool:
        """Note that the role was assumed (``RoleLastUsed``): the first use, a use in another region, or the first
        an hour or more after the last recorded one (AWS's date is approximate too), unless ``always``."""
        if not always and self.last_used is not None:
            last_date, last_region = self.last_used
            if last_region == region and now - last_date < ROLE_USE_INTERVAL:
                return False
        self.trigger_event(self.LastUsed, last_used_date=now, region=region)
        return True

    # -- trust policy ----------------------------------------------------------------------------------------

    class AssumeRolePolicyUpdated(AuditedAggregate.Event):
        policy_document: str

        def apply(self, aggregate: Role) -> None:
            aggregate.assume_role_policy_document = self.policy_document

    def update_assume_role_policy(self, policy_document: str) -> None:
        """Replace the trust policy (raw JSON text, kept as given)."""
        self.require_modifiable()
        check_trust_policy(policy_document)
        self.trigger_event(self.AssumeRolePolicyUpdated, policy_document=policy_document)

    # -- tags ------------------------------------------------------------------------------------------------

    class Tagged(TaggedEvent):
        pass

    class Untagged(UntaggedEvent):
        pass

    # -- policies and boundary ----------------------------------------------------------------------------

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

    def put_inline_policy(self, policy_name: str, policy_document: str) -> None:
        """Create or replace an inline policy (not on a service-linked role); 10,240 characters in all."""
        self.require_modifiable()
        super().put_inline_policy(policy_name, policy_document)

    def delete_inline_policy(self, policy_name: str) -> None:
        """Delete an inline policy (not of a service-linked role)."""
        self.require_modifiable()
        super().delete_inline_policy(policy_name)

    def attach_policy(self, policy_arn: str) -> bool:
        """Attach a managed policy (not to a service-linked role); at most 10."""
        self.require_modifiable()
        return super().attach_policy(policy_arn)

    def detach_policy(self, policy_arn: str) -> None:
        """Detach a managed policy (not from a service-linked role)."""
        self.require_modifiable()
        super().detach_policy(policy_arn)

    def put_permissions_boundary(self, policy_arn: str) -> None:
        """Set or replace the role's permissions boundary."""
        self.require_modifiable()
        super().put_permissions_boundary(policy_arn)

    def delete_permissions_boundary(self) -> None:
        """Remove the role's permissions boundary (a no-op when it has none)."""
        self.require_modifiable()
        super().delete_permissions_boundary()

    # -- instance profiles ----------------------------------------------------------------------------------

    class AddedToInstanceProfile(AuditedAggregate.Event):
        instance_profile_uuid: uuid.UUID
        instance_profile_name: str

        def apply(self, aggregate: Role) -> None:
            aggregate.instance_profiles[self.instance_profile_uuid] = self.instance_profile_name

    def join_instance_profile(self, instance_profile_uuid: uuid.UUID, instance_profile_name: str) -> None:
        """Record that an instance profile now holds the role (the profile's side enforces its quota)."""
        self.require_modifiable()
        if instance_profile_uuid not in self.instance_profiles:
            self.trigger_event(
                self.AddedToInstanceProfile,
                instance_profile_uuid=instance_profile_uuid,
                instance_profile_name=instance_profile_name,
            )

    class RemovedFromInstanceProfile(AuditedAggregate.Event):
        instance_profile_uuid: uuid.UUID

        def apply(self, aggregate: Role) -> None:
            aggregate.instance_profiles.pop(self.instance_profile_uuid, None)

    def leave_instance_profile(self, instance_profile_uuid: uuid.UUID) -> None:
        """Record that an instance profile no longer holds the role."""
        self.require_modifiable()
        if instance_profile_uuid in self.instance_profiles:
            self.trigger_event(self.RemovedFromInstanceProfile, instance_profile_uuid=instance_profile_uuid)

    # -- deletion --------------------------------------------------------------------------------------------

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: Role) -> None:
            aggregate.deleted = True

    class ServiceLinkedDeleted(Deleted):
        """A service-linked role was deleted by ``DeleteServiceLinkedRole``; the task is done at once."""

        deletion_task_id: str

        def apply(self, aggregate: Role) -> None:
            aggregate.deleted = True
            aggregate.deletion_task_id = self.deletion_task_id

    def delete_service_linked(self) -> str:
        """Delete a service-linked role (only its service's operation may); the deletion task's id.
        ``InvalidInput`` for a role that is not service-linked."""
        if not self.is_service_linked:
            raise InvalidInputError(f"Role {self.role_name} is not a service-linked role.")
        service = self.aws_service_name or self.path[len(SERVICE_LINKED_PATH) :].strip("/")
        task_id = deletion_task_id(service, self.role_name, self.id)
        self.trigger_event(self.ServiceLinkedDeleted, deletion_task_id=task_id)
        return task_id

    def delete(self) -> None:
        """Delete the role; AWS refuses while it has policies or is in an instance profile (DeleteConflict)."""
        self.require_modifiable()
        blockers: list[tuple[Any, str]] = [
            (self.inline_policies, "must delete policies first."),
            (self.attached_policies, "must detach all policies first."),
            (self.instance_profiles, "must remove roles from instance profile first."),
        ]
        for present, what in blockers:
            if present:
                raise DeleteConflictError(f"Cannot delete entity, {what}")
        self.trigger_event(self.Deleted)
