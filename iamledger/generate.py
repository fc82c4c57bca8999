"""A synthetic organisation and its history, generated with the real domain aggregates (``iamledger bench generate``).

The organisation grows to the populations asked for (users, groups, roles, customer managed policies) while it
lives: users are onboarded into their team's groups and later join and leave others, policies get new versions and
new default versions, policies are attached and detached (customer and AWS managed, to users, groups and roles),
inline policies are put and deleted, role trust policies change, access keys are created, rotated, used and deleted,
tags come and go, users are renamed and given permissions boundaries, roles are assumed, and people leave (removed
from everything, then deleted, and replaced so the population holds). Every change is the events one IAM command
would record, with an audit context per request, saved in transactions of about 2,000 events: what the projector
and the as-of queries then work on is indistinguishable from a store that served those commands.

The seed drives every choice the generator makes (ids and times are fresh each run).
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeAlias

from iamledger.domain.audit import AuditContext, audit_context
from iamledger.domain.errors import EntityAlreadyExistsError, InvalidInputError
from iamledger.domain.groups import Group
from iamledger.domain.ids import new_access_key_id, new_unique_id, root_arn
from iamledger.domain.names import NameIndex
from iamledger.domain.policies import ManagedPolicy, check_document
from iamledger.domain.roles import Role
from iamledger.domain.sessions import RoleSession
from iamledger.domain.users import User
from iamledger.projections.catalogue import aws_managed_policies
from iamledger.store import IdentityStore

SERVICES: Final = ("s3", "ec2", "iam", "dynamodb", "sqs", "sns", "lambda", "kms", "logs", "cloudwatch")
VERBS: Final = ("Get", "Put", "List", "Describe", "Create", "Delete", "Update", "Tag")
NOUNS: Final = ("Object", "Bucket", "Instance", "User", "Table", "Queue", "Topic", "Function", "Key", "LogGroup")
TAG_KEYS: Final = ("team", "cost-center", "env", "owner", "project")
SAVE_EVERY: Final = 2000  # events per store.save(): one transaction
GROWTH_SHARE: Final = 0.6  # the populations are complete after about this share of the events
USER_AGENT: Final = "iamledger-bench-generate"
MAX_GROUPS_PER_USER: Final = 10
MAX_ATTACHED: Final = 10

Holder: TypeAlias = User | Group | Role
ProgressCallback: TypeAlias = Callable[[int, int], None]


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate: the populations the organisation reaches and the number of events in its history."""

    users: int
    groups: int
    roles: int
    events: int
    policies: int | None = None  # customer managed policies; default one per 100 users (at least 3)
    seed: int = 7
    account_id: str = "123456789012"

    @property
    def policy_count(self) -> int:
        return self.policies if self.policies is not None else max(3, self.users // 100)

    @property
    def minimum_events(self) -> int:
        """Creating the populations alone: each entity's creation and its name's claim."""
        return 2 * (self.users + self.groups + self.roles + self.policy_count)

    def check(self) -> None:
        """Refuse impossible specifications (nothing is written)."""
        for name, value in (("users", self.users), ("groups", self.groups), ("roles", self.roles)):
            if value < 1:
                raise InvalidInputError(f"--{name} must be at least 1 (got {value}).")
        if self.policy_count < 1:
            raise InvalidInputError(f"--policies must be at least 1 (got {self.policy_count}).")
        if self.events < self.minimum_events:
            raise InvalidInputError(
                f"--events must be at least {self.minimum_events:,} for these populations "
                f"(two events to create and name each user, group, role and policy); got {self.events:,}."
            )


@dataclass(frozen=True)
class GenerateResult:
    events: int
    requests: int
    users: int
    groups: int
    roles: int
    policies: int
    users_deleted: int
    role_sessions: int
    first_position: int
    last_position: int


def _document(rng: random.Random, account_id: str) -> str:
    statements = []
    for index in range(rng.randint(1, 4)):
        service = rng.choice(SERVICES)
        choices: list[str | list[str]] = [
            f"{service}:*",
            f"{service}:{rng.choice(VERBS)}*",
            [f"{service}:{rng.choice(VERBS)}{rng.choice(NOUNS)}"],
        ]
        action = rng.choice(choices)
        if service == "s3":
            specific = f"arn:aws:s3:::bucket-{rng.randrange(50)}/*"
        elif service == "iam":
            specific = f"arn:aws:iam::{account_id}:user/team{rng.randrange(50)}/*"
        else:
            specific = f"arn:aws:{service}:us-east-1:{account_id}:thing-{rng.randrange(50)}/*"
        resource = rng.choice(["*", specific])
        statement: dict[str, Any] = {"Sid": f"S{index}", "Effect": "Allow", "Action": action, "Resource": resource}
        if rng.random() < 0.1:
            statement["Effect"] = "Deny"
        statements.append(statement)
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _trust(rng: random.Random, account_id: str) -> str:
    principal = rng.choice(
        [
            {"Service": "ec2.amazonaws.com"},
            {"Service": "lambda.amazonaws.com"},
            {"AWS": f"arn:aws:iam::{account_id}:root"},
        ]
    )
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class Organisation:
    """Generates the history with the domain aggregates and saves it in large batches.

    The populations grow to the spec's sizes over about the first 60% of the events (creations are spread among the
    other changes, so early entities have a longer history than late ones, as in a real account); after that, the
    users who leave are replaced and the rest is churn.
    """

    store: IdentityStore
    spec: GenerateSpec
    rng: random.Random
    events: int = 0
    requests: int = 0
    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    policies: list[ManagedPolicy] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    users_deleted: int = 0
    role_sessions: int = 0
    indexes: dict[tuple[str, str], NameIndex] = field(default_factory=dict)
    groups_by_id: dict[uuid.UUID, Group] = field(default_factory=dict)
    policies_by_arn: dict[str, ManagedPolicy] = field(default_factory=dict)
    touched: dict[uuid.UUID, Any] = field(default_factory=dict)
    counted: dict[uuid.UUID, int] = field(default_factory=dict)
    serial: int = 0
    saved: int = 0

    def __post_init__(self) -> None:
        account = self.spec.account_id
        self.aws_arns = sorted(a for a in aws_managed_policies() if "/service-role/" not in a)[:15]
        self.documents = [_document(self.rng, account) for _ in range(64)]
        for document in self.documents:
            check_document(document)  # once here: the events below skip the per-call parse
        self.trusts = [_trust(self.rng, account) for _ in range(8)]
        self.actor = root_arn(account)
        self.teams = max(1, self.spec.groups // 3)  # a user's team: the groups it is onboarded into

    # -- bookkeeping ----------------------------------------------------------------------------------------------

    def _touch(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            pending = len(aggregate.pending_events)
            self.events += pending - self.counted.get(aggregate.id, 0)
            self.counted[aggregate.id] = pending
            self.touched[aggregate.id] = aggregate

    def flush(self) -> None:
        if self.touched:
            self.store.save(*self.touched.values())
        self.saved = self.events
        self.touched.clear()
        self.counted.clear()

    def _name(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:07d}"

    def _claim(self, kind: str, name: str, entity_id: uuid.UUID) -> NameIndex:
        key = (kind, name.casefold())
        index = self.indexes.get(key)
        if index is None:
            index = NameIndex(account_id=self.spec.account_id, kind=kind, name=name, entity_id=entity_id)
            self.indexes[key] = index
        else:
            index.claim(name, entity_id, "taken")
        return index

    # -- creations ------------------------------------------------------------------------------------------------

    def create_user(self) -> None:
        entity_id = uuid.uuid4()
        name = self._name("user")
        index = self._claim("user", name, entity_id)
        tags = [{"Key": "team", "Value": f"t{self.rng.randrange(20)}"}] if self.rng.random() < 0.5 else []
        user = User.create_with_id(
            entity_id,
            account_id=self.spec.account_id,
            user_id=new_unique_id("AIDA"),
            user_name=name,
            path=self.rng.choice(["/", "/eng/", "/ops/"]),
            permissions_boundary=None,
            tags=tags,
        )
        self.users.append(user)
        self._touch(user, index)
        if self.groups and self.rng.random() < 0.8:  # onboarding: into one to three of the team's groups
            team = self.rng.randrange(self.teams)
            for _ in range(self.rng.randint(1, 3)):
                group = self.groups[(team * 3 + self.rng.randrange(3)) % len(self.groups)]
                self._join(user, group)

    def create_group(self) -> None:
        entity_id = uuid.uuid4()
        name = self._name("group")
        index = self._claim("group", name, entity_id)
        group = Group.create_with_id(
            entity_id, account_id=self.spec.account_id, group_id=new_unique_id("AGPA"), group_name=name, path="/"
        )
        self.groups.append(group)
        self.groups_by_id[group.id] = group
        self._touch(group, index)

    def create_policy(self) -> None:
        entity_id = uuid.uuid4()
        name = self._name("policy")
        index = self._claim("policy", name, entity_id)
        policy = ManagedPolicy.create_with_id(
            entity_id,
            account_id=self.spec.account_id,
            policy_id=new_unique_id("ANPA"),
            policy_name=name,
            path="/",
            description=None,
            document=self.rng.choice(self.documents),
            tags=[],
        )
        self.policies.append(policy)
        self.policies_by_arn[policy.arn] = policy
        self._touch(policy, index)

    def create_role(self) -> None:
        entity_id = uuid.uuid4()
        name = self._name("role")
        index = self._claim("role", name, entity_id)
        role = Role.create_with_id(
            entity_id,
            account_id=self.spec.account_id,
            role_id=new_unique_id("AROA"),
            role_name=name,
            path="/",
            assume_role_policy_document=self.rng.choice(self.trusts),
            description=None,
            max_session_duration=3600,
            permissions_boundary=None,
            tags=[],
        )
        self.roles.append(role)
        self._touch(role, index)

    # -- changes --------------------------------------------------------------------------------------------------

    def _join(self, user: User, group: Group) -> None:
        if len(user.groups) < MAX_GROUPS_PER_USER and user.join_group(group.id, group.group_name):
            group.add_member(user.id)
            self._touch(user, group)

    def join(self) -> None:
        self._join(self.rng.choice(self.users), self.rng.choice(self.groups))

    def leave(self) -> None:
        user = self.rng.choice(self.users)
        if user.groups:
            group_id = self.rng.choice(list(user.groups))
            group = self.groups_by_id[group_id]
            user.leave_group(group_id)
            group.remove_member(user.id)
            self._touch(user, group)

    def _holder(self) -> Holder:
        kind = self.rng.random()
        if kind < 0.4:
            return self.rng.choice(self.users)
        if kind < 0.7:
            return self.rng.choice(self.groups)
        return self.rng.choice(self.roles)

    def attach(self) -> None:
        holder = self._holder()
        if len(holder.attached_policies) >= MAX_ATTACHED:
            return
        if self.rng.random() < 0.3:
            if holder.attach_policy(self.rng.choice(self.aws_arns)):
                self._touch(holder)
            return
        policy = self.rng.choice(self.policies)
        if holder.attach_policy(policy.arn):
            policy.record_attachment(holder.id, holder.kind)
            self._touch(holder, policy)

    def detach(self) -> None:
        holder = self._holder()
        if holder.attached_policies:
            arn = self.rng.choice(holder.attached_policies)
            holder.detach_policy(arn)
            self._touch(holder)
            policy = self.policies_by_arn.get(arn)
            if policy is not None:
                policy.record_detachment(holder.id)
                self._touch(policy)

    def new_version(self) -> None:
        policy = self.rng.choice(self.policies)
        if len(policy.versions) >= 5:
            oldest = min((v for v in policy.versions if v != policy.default_version_id), key=lambda v: int(v[1:]))
            policy.delete_version(oldest)
        # create_version's guard parses the document; these were checked once up front (see __post_init__)
        policy.trigger_event(
            ManagedPolicy.VersionCreated,
            version_id=f"v{policy.last_version_number + 1}",
            document=self.rng.choice(self.documents),
            set_as_default=self.rng.random() < 0.5,
        )
        self._touch(policy)

    def set_default(self) -> None:
        policy = self.rng.choice(self.policies)
        choices = [v for v in policy.versions if v != policy.default_version_id]
        if choices:
            policy.set_default_version(self.rng.choice(choices))
            self._touch(policy)

    def put_inline(self) -> None:
        holder = self._holder()
        document = self.rng.choice(self.documents[:16])  # checked up front; small enough for every quota
        holder.trigger_event(
            holder.InlinePolicyPut, policy_name=f"inline{self.rng.randrange(3)}", policy_document=document
        )
        self._touch(holder)

    def delete_inline(self) -> None:
        holder = self._holder()
        if holder.inline_policies:
            holder.delete_inline_policy(self.rng.choice(list(holder.inline_policies)))
            self._touch(holder)

    def trust_update(self) -> None:
        role = self.rng.choice(self.roles)
        role.update_assume_role_policy(self.rng.choice(self.trusts))
        self._touch(role)

    def role_update(self) -> None:
        role = self.rng.choice(self.roles)
        role.update(description=f"updated {self.serial}", max_session_duration=self.rng.choice([3600, 7200]))
        self._touch(role)

    def key_create(self) -> None:
        user = self.rng.choice(self.users)
        if len(user.access_keys) < 2:
            # A fingerprint of a random secret nobody keeps: generated keys sign nothing.
            user.create_access_key(new_access_key_id(), "sha256:" + secrets.token_hex(16))
            self._touch(user)

    def key_update(self) -> None:
        user = self.rng.choice(self.users)
        if user.access_keys:
            key = self.rng.choice(list(user.access_keys.values()))
            user.update_access_key(key.key_id, "Inactive" if key.status == "Active" else "Active")
            self._touch(user)

    def key_delete(self) -> None:
        user = self.rng.choice(self.users)
        if user.access_keys:
            user.delete_access_key(self.rng.choice(list(user.access_keys)))
            self._touch(user)

    def key_used(self) -> None:
        user = self.rng.choice(self.users)
        if user.access_keys:
            key = self.rng.choice(list(user.access_keys))
            service = self.rng.choice(SERVICES)
            user.trigger_event(User.AccessKeyUsed, key_id=key, service_name=service, region="us-east-1")
            self._touch(user)

    def tag(self) -> None:
        entity: User | Role = self.rng.choice(self.users) if self.rng.random() < 0.5 else self.rng.choice(self.roles)
        entity.tag([(self.rng.choice(TAG_KEYS), f"v{self.rng.randrange(10)}")])
        self._touch(entity)

    def untag(self) -> None:
        user = self.rng.choice(self.users)
        if user.tags:
            user.untag([self.rng.choice(user.tags)[0]])
            self._touch(user)

    def rename_user(self) -> None:
        user = self.rng.choice(self.users)
        old = self.indexes[("user", user.user_name.casefold())]
        old.release()
        new_name = self._name("renamed")
        index = self._claim("user", new_name, user.id)
        user.update(new_name, user.path)
        self._touch(user, old, index)

    def boundary(self) -> None:
        user = self.rng.choice(self.users)
        if user.permissions_boundary is None:
            user.put_permissions_boundary(self.rng.choice(self.policies).arn)
        else:
            user.delete_permissions_boundary()
        self._touch(user)

    def assume_role(self) -> None:
        role = self.rng.choice(self.roles)
        now = datetime.now(UTC)
        session = RoleSession(
            account_id=self.spec.account_id,
            role_uuid=role.id,
            role_arn=role.arn,
            role_id=role.role_id,
            role_name=role.role_name,
            session_name=f"s{self.serial}",
            caller_arn=self.actor,
            key_id=new_access_key_id(temporary=True),
            secret_fingerprint="sha256:" + secrets.token_hex(16),
            session_token_digest=secrets.token_hex(32),
            issued_at=now,
            expiration=now + timedelta(hours=1),
            duration_seconds=3600,
            session_policy=None,
            policy_arns=[],
            source_identity=None,
            tags=[],
            transitive_tag_keys=[],
            chained=False,
            external_id_given=False,
        )
        self.role_sessions += 1
        self._touch(session)

    def offboard(self) -> None:
        """Remove everything from a user, then delete it (as an administrator would, one command at a time)."""
        user = self.users.pop(self.rng.randrange(len(self.users)))
        for group_id in list(user.groups):
            group = self.groups_by_id[group_id]
            user.leave_group(group_id)
            group.remove_member(user.id)
            self._touch(group)
        for arn in list(user.attached_policies):
            user.detach_policy(arn)
            policy = self.policies_by_arn.get(arn)
            if policy is not None:
                policy.record_detachment(user.id)
                self._touch(policy)
        for name in list(user.inline_policies):
            user.delete_inline_policy(name)
        for key in list(user.access_keys):
            user.delete_access_key(key)
        user.delete()
        index = self.indexes.pop(("user", user.user_name.casefold()))
        index.release()
        self._touch(user, index)
        self.users_deleted += 1

    # -- the mix --------------------------------------------------------------------------------------------------

    def _missing(self) -> list[tuple[Callable[[], None], int]]:
        spec = self.spec
        return [
            (self.create_user, spec.users - len(self.users)),
            (self.create_group, spec.groups - len(self.groups)),
            (self.create_policy, spec.policy_count - len(self.policies)),
            (self.create_role, spec.roles - len(self.roles)),
        ]

    def _grow(self) -> bool:
        """Create an entity when the populations are behind their schedule; whether one was created."""
        missing = [(make, count) for make, count in self._missing() if count > 0]
        if not missing:
            return False
        need = sum(count for _, count in missing)
        budget = max(1.0, GROWTH_SHARE * self.spec.events - self.events)
        # about 2.5 events per creation (a user's onboarding adds memberships): spread the rest of them evenly
        if self.rng.random() >= min(1.0, need * 2.5 / budget):
            return False
        make = self.rng.choices([m for m, _ in missing], [c for _, c in missing])[0]
        make()
        return True

    def step(self) -> None:
        if self._grow():
            return
        full = len(self.users) >= self.spec.users
        weights: list[tuple[Callable[[], None], float]] = [
            (self.offboard, 0.35 if full else 0.0),
            (self.join, 8.0),
            (self.leave, 5.0),
            (self.attach, 5.0),
            (self.detach, 3.5),
            (self.new_version, 2.5),
            (self.set_default, 2.0),
            (self.put_inline, 2.5),
            (self.delete_inline, 1.0),
            (self.trust_update, 1.5),
            (self.role_update, 0.5),
            (self.key_create, 2.0),
            (self.key_update, 1.2),
            (self.key_delete, 1.0),
            (self.key_used, 3.0),
            (self.tag, 1.5),
            (self.untag, 0.5),
            (self.rename_user, 0.4),
            (self.boundary, 0.4),
            (self.assume_role, 2.0),
        ]
        operation = self.rng.choices([w[0] for w in weights], [w[1] for w in weights])[0]
        operation()

    def build(self, progress: ProgressCallback | None = None) -> None:
        target = self.spec.events
        while self.events < target:
            self.requests += 1
            ctx = AuditContext(actor=self.actor, request_id=str(uuid.uuid4()), user_agent=USER_AGENT)
            token = audit_context.set(ctx)
            try:
                if not (self.users and self.groups and self.policies and self.roles):
                    for make in (self.create_group, self.create_policy, self.create_role, self.create_user):
                        make()
                else:
                    self.step()
            finally:
                audit_context.reset(token)
            if len(self.touched) >= SAVE_EVERY // 4 or self.events - self.saved >= SAVE_EVERY:
                self.flush()
                if progress is not None:
                    progress(min(self.events, target), target)
        self.flush()
        if progress is not None:
            progress(self.events, max(self.events, target))


def generate(store: IdentityStore, spec: GenerateSpec, progress: ProgressCallback | None = None) -> GenerateResult:
    """Generate ``spec``'s organisation and history into ``store`` in account ``spec.account_id``.

    The account is created (the store initialised when it is empty); an account that already exists is refused
    with :class:`EntityAlreadyExistsError`, and a spec that cannot be met with :class:`InvalidInputError`, before
    anything is written. The views are not brought up to date here (the next read, or ``iamledger projections
    rebuild``, builds them in one bulk load).
    """
    spec.check()
    if spec.account_id in (store.account_ids() if store.is_initialized() else []):
        raise EntityAlreadyExistsError(
            f"Account {spec.account_id} already exists in this store: generate into a new account (--account-id) "
            "or a new store."
        )
    first = store.projector.head() + 1
    if store.is_initialized():
        store.create_account(spec.account_id)
    else:
        store.init(spec.account_id)
    organisation = Organisation(store, spec, random.Random(spec.seed))
    organisation.build(progress)
    return GenerateResult(
        events=organisation.events,
        requests=organisation.requests,
        users=len(organisation.users),
        groups=len(organisation.groups),
        roles=len(organisation.roles),
        policies=len(organisation.policies),
        users_deleted=organisation.users_deleted,
        role_sessions=organisation.role_sessions,
        first_position=first,
        last_position=store.projector.head(),
    )
