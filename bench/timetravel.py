"""Benchmark: time travel at scale. As-of queries and projection catch-up on histories of 10,000 and 1,000,000 events.

For each size a realistic history (users joining and leaving groups, managed policies with new versions and default
version changes, attachments and detachments, inline policies, role trust updates, access keys, tags, renames, role
sessions, offboarded users...) is generated with the real domain aggregates and saved in large batches on a fresh
store, so the projector must process real stored events. Then, in the same run:

(a) the bare ``eventsourcing`` replay rate: ``recorder.select_notifications`` in batches + ``mapper.to_domain_event``;
(b) the projection catch-up rate from empty views (``store.projector.catch_up``), and its ratio to (a);
(c) as-of membership queries at random times: ``store.at(time).list_groups_for_user(UserName=...)``, p50/p99;
(d) as-of simulations at random times: ``store.at(time).simulate_principal_policy(...)``, p50/p99.

Targets (reported, never asserted): p50 at the largest size <= 2x p50 at the smallest, and < 10 ms; catch-up >= 50%
of the bare replay rate.

    python bench/timetravel.py                          # 10,000 and 1,000,000 events on SQLite
    python bench/timetravel.py --quick                  # CI smoke run: 500 and 2,000 events, a few seconds
    python bench/timetravel.py --db postgresql://u:p@127.0.0.1:5432/db   # also on PostgreSQL (a scratch schema)
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import select

from iamledger import IdentityStore
from iamledger.catalogue import aws_managed_policies
from iamledger.domain.audit import AuditContext, audit_context
from iamledger.domain.groups import Group
from iamledger.domain.ids import new_access_key_id, new_unique_id, root_arn
from iamledger.domain.names import NameIndex
from iamledger.domain.policies import ManagedPolicy, check_document
from iamledger.domain.roles import Role
from iamledger.domain.sessions import RoleSession
from iamledger.domain.users import User
from iamledger.projections.tables import POSITIONS, USERS

ACCOUNT = "123456789012"
SERVICES = ("s3", "ec2", "iam", "dynamodb", "sqs", "sns", "lambda", "kms", "logs", "cloudwatch")
VERBS = ("Get", "Put", "List", "Describe", "Create", "Delete", "Update", "Tag")
NOUNS = ("Object", "Bucket", "Instance", "User", "Table", "Queue", "Topic", "Function", "Key", "LogGroup")
TAG_KEYS = ("team", "cost-center", "env", "owner", "project")
SIMULATED_ACTIONS = ["s3:GetObject", "ec2:DescribeInstances", "iam:CreateUser", "dynamodb:PutItem", "sqs:SendMessage"]
SAVE_EVERY = 2000  # events per store.save(): one transaction


# -- progress --------------------------------------------------------------------------------------------------


class Progress:
    """A live counter on a terminal (stderr), one line every few seconds in a log."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.live = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.shown = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        total = self.total if total is None else total
        elapsed = time.perf_counter() - self.started
        if not self.live and elapsed - self.shown < 5.0 and done < total:
            return
        self.shown = elapsed
        rate = done / elapsed if elapsed > 0 else 0.0
        line = f"  {self.label}: {done:,}/{total:,} events ({rate:,.0f}/s, {elapsed:.1f}s)"
        print(line, file=sys.stderr, end="\r" if self.live else "\n", flush=True)

    def done(self) -> None:
        if self.live:
            print(file=sys.stderr)


# -- the history --------------------------------------------------------------------------------------------------


def _document(rng: random.Random) -> str:
    statements = []
    for index in range(rng.randint(1, 4)):
        service = rng.choice(SERVICES)
        action: str | list[str] = rng.choice(
            [f"{service}:*", f"{service}:{rng.choice(VERBS)}*", [f"{service}:{rng.choice(VERBS)}{rng.choice(NOUNS)}"]]
        )
        if service == "s3":
            specific = f"arn:aws:s3:::bucket-{rng.randrange(50)}/*"
        elif service == "iam":
            specific = f"arn:aws:iam::{ACCOUNT}:user/team{rng.randrange(50)}/*"
        else:
            specific = f"arn:aws:{service}:us-east-1:{ACCOUNT}:thing-{rng.randrange(50)}/*"
        resource = rng.choice(["*", specific])
        statement: dict[str, Any] = {"Sid": f"S{index}", "Effect": "Allow", "Action": action, "Resource": resource}
        if rng.random() < 0.1:
            statement["Effect"] = "Deny"
        statements.append(statement)
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _trust(rng: random.Random) -> str:
    principal = rng.choice(
        [{"Service": "ec2.amazonaws.com"}, {"Service": "lambda.amazonaws.com"}, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}]
    )
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class History:
    """Generates a history with the domain aggregates and saves it in large batches. Populations grow with the
    target size (about one user per 60 events, one group per 1,000, one managed policy per 500, one role per 800),
    so each entity's own history has about the same depth at every size: what grows is the log and the views."""

    store: IdentityStore
    target: int
    rng: random.Random
    events: int = 0
    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    policies: list[ManagedPolicy] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    indexes: dict[tuple[str, str], NameIndex] = field(default_factory=dict)
    groups_by_id: dict[uuid.UUID, Group] = field(default_factory=dict)
    policies_by_arn: dict[str, ManagedPolicy] = field(default_factory=dict)
    touched: dict[uuid.UUID, Any] = field(default_factory=dict)
    counted: dict[uuid.UUID, int] = field(default_factory=dict)
    serial: int = 0
    saved: int = 0

    def __post_init__(self) -> None:
        self.aws_arns = sorted(a for a in aws_managed_policies() if "/service-role/" not in a)[:15]
        n = self.target
        self.want_users = max(8, n // 60)
        self.want_groups = max(3, n // 1000)
        self.want_policies = max(3, n // 500)
        self.want_roles = max(2, n // 800)
        self.documents = [_document(self.rng) for _ in range(64)]
        for document in self.documents:
            check_document(document)
        self.trusts = [_trust(self.rng) for _ in range(8)]

    # bookkeeping

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
            index = NameIndex(account_id=ACCOUNT, kind=kind, name=name, entity_id=entity_id)
            self.indexes[key] = index
        else:
            index.claim(name, entity_id, "taken")
        return index

    # operations: each triggers the events one IAM command would

    def create_user(self) -> None:
        entity_id = uuid.uuid4()
        name = self._name("user")
        index = self._claim("user", name, entity_id)
        tags = [{"Key": "team", "Value": f"t{self.rng.randrange(20)}"}] if self.rng.random() < 0.5 else []
        user = User.create_with_id(
            entity_id,
            account_id=ACCOUNT,
            user_id=new_unique_id("AIDA"),
            user_name=name,
            path=self.rng.choice(["/", "/eng/", "/ops/"]),
            permissions_boundary=None,
            tags=tags,
        )
        self.users.append(user)
        self._touch(user, index)

    def create_group(self) -> None:
        entity_id = uuid.uuid4()
        name = self._name("group")
        index = self._claim("group", name, entity_id)
        group = Group.create_with_id(
            entity_id, account_id=ACCOUNT, group_id=new_unique_id("AGPA"), group_name=name, path="/"
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
            account_id=ACCOUNT,
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
            account_id=ACCOUNT,
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

    def join(self) -> None:
        user, group = self.rng.choice(self.users), self.rng.choice(self.groups)
        if len(user.groups) < 10 and user.join_group(group.id, group.group_name):
            group.add_member(user.id)
            self._touch(user, group)

    def leave(self) -> None:
        user = self.rng.choice(self.users)
        if user.groups:
            group_id = self.rng.choice(list(user.groups))
            group = self.groups_by_id[group_id]
            user.leave_group(group_id)
            group.remove_member(user.id)
            self._touch(user, group)

    def _holder(self) -> User | Group | Role:
        kind = self.rng.random()
        if kind < 0.4:
            return self.rng.choice(self.users)
        if kind < 0.7:
            return self.rng.choice(self.groups)
        return self.rng.choice(self.roles)

    def attach(self) -> None:
        holder = self._holder()
        if len(holder.attached_policies) >= 10:
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
        entity = self.rng.choice([self.rng.choice(self.users), self.rng.choice(self.roles)])
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
            account_id=ACCOUNT,
            role_uuid=role.id,
            role_arn=role.arn,
            role_id=role.role_id,
            role_name=role.role_name,
            session_name=f"s{self.serial}",
            caller_arn=root_arn(ACCOUNT),
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
        index = self.indexes[("user", user.user_name.casefold())]
        index.release()
        self._touch(user, index)

    def step(self) -> None:
        growing = len(self.users) < self.want_users
        weights: list[tuple[Callable[[], None], float]] = [
            (self.create_user, 4.0 if growing else 0.4),
            (self.offboard, 0.0 if growing else 0.35),
            (self.create_group, 2.0 if len(self.groups) < self.want_groups else 0.0),
            (self.create_policy, 2.0 if len(self.policies) < self.want_policies else 0.0),
            (self.create_role, 2.0 if len(self.roles) < self.want_roles else 0.0),
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

    def build(self, progress: Progress) -> None:
        request = 0
        while self.events < self.target:
            request += 1
            ctx = AuditContext(actor=root_arn(ACCOUNT), request_id=f"bench-{request}", user_agent="iamledger-bench")
            token = audit_context.set(ctx)
            try:
                if not (self.users and self.groups and self.policies and self.roles):
                    for make in (self.create_user, self.create_group, self.create_policy, self.create_role):
                        make()
                else:
                    self.step()
            finally:
                audit_context.reset(token)
            if len(self.touched) >= SAVE_EVERY // 4 or self.events - self.saved >= SAVE_EVERY:
                self.flush()
                progress(self.events)
        self.flush()
        progress(self.events)
        progress.done()


# -- measurements --------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bare_replay(store: IdentityStore, head: int) -> float:
    """Events/s of eventsourcing alone: select the notifications in batches of 1,000 and decode each event."""
    recorder, mapper = store.recorder, store.mapper
    progress = Progress("bare replay", head)
    started = time.perf_counter()
    position = 0
    while position < head:
        notifications = recorder.select_notifications(start=position + 1, limit=1000, stop=head)
        if not notifications:
            break
        for notification in notifications:
            mapper.to_domain_event(notification)
        position = notifications[-1].id
        progress(position)
    elapsed = time.perf_counter() - started
    progress.done()
    return head / elapsed


def catch_up(store: IdentityStore, head: int) -> float:
    """Events/s of the projector bringing empty views (and the time index) up to the head."""
    progress = Progress("projection catch-up", head)
    started = time.perf_counter()
    reached = store.projector.catch_up(progress)
    elapsed = time.perf_counter() - started
    progress.done()
    if reached != head:
        raise SystemExit(f"catch-up stopped at {reached}, not at the head {head}")
    return head / elapsed


@dataclass(frozen=True)
class Sample:
    when: datetime
    position: int
    user_name: str
    user_arn: str


def samples(store: IdentityStore, count: int, rng: random.Random) -> list[Sample]:
    """Random times, each resolved to its position and given a user that existed then (found without timing; the
    time is resolved with an index-friendly query of our own, see :func:`time_lookup`)."""
    recorded = POSITIONS.c.recorded_at
    with store.engine.connect() as conn:
        first, last = conn.execute(select(sqlalchemy.func.min(recorded), sqlalchemy.func.max(recorded))).one()
        rows = conn.execute(select(USERS.c.user_name, USERS.c.arn, USERS.c.valid_from, USERS.c.valid_to)).all()
        span = (last - first).total_seconds()
        found: list[Sample] = []
        while len(found) < count:
            when = first + timedelta(seconds=rng.random() * span)
            query = (
                select(POSITIONS.c.position)
                .where(recorded <= when)
                .order_by(recorded.desc(), POSITIONS.c.position.desc())
                .limit(1)
            )
            position = int(conn.execute(query).scalar() or 0)
            for _ in range(1000):
                name, arn, valid_from, valid_to = rng.choice(rows)
                if valid_from <= position and (valid_to is None or valid_to > position):
                    found.append(Sample(when, position, name, arn))
                    break
    return found


def timed(label: str, items: Sequence[Sample], run: Callable[[Sample], object]) -> tuple[float, float]:
    """p50 and p99 in milliseconds of ``run`` over ``items`` (queries, not events, in the progress lines)."""
    for item in items[:10]:  # warm-up: statement caches, catalogue, page cache
        run(item)
    times = []
    progress = Progress(label, len(items))
    for number, item in enumerate(items, start=1):
        started = time.perf_counter()
        run(item)
        times.append((time.perf_counter() - started) * 1000)
        progress(number)
    progress.done()
    return percentile(times, 0.50), percentile(times, 0.99)


def time_lookup(store: IdentityStore) -> Callable[[Sample], object]:
    """``store.at(time)`` alone: the time index lookup every time-based as-of query starts with (timed apart, on
    fewer samples, because at 1,000,000 events it is far slower than the queries themselves)."""

    def run(sample: Sample) -> None:
        if store.at(sample.when).position != sample.position:
            raise SystemExit(f"store.at({sample.when}) disagrees with the time index: not {sample.position}")

    return run


@dataclass
class Result:
    backend: str
    size: int
    events: int = 0
    build_s: float = 0.0
    replay_rate: float = 0.0
    catch_up_rate: float = 0.0
    membership: tuple[float, float] = (0.0, 0.0)
    simulation: tuple[float, float] = (0.0, 0.0)
    time_lookup: tuple[float, float] = (0.0, 0.0)
    groups_seen: int = 0


@contextmanager
def fresh_store(backend: str, postgres: str | None, workdir: Path, size: int) -> Iterator[IdentityStore]:
    """A new, empty store (its own SQLite file, or its own PostgreSQL schema dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'timetravel-{size}.db'}"
    else:
        if postgres is None:
            raise SystemExit("a PostgreSQL run needs --db")
        schema = f"bench_timetravel_{secrets.token_hex(6)}"
        url = f"{postgres}{'&' if '?' in postgres else '?'}schema={schema}"
    store = IdentityStore.open(url, master_key=secrets.token_bytes(32))
    try:
        yield store
    finally:
        store.close()
        if backend == "postgres" and postgres is not None:
            engine = sqlalchemy.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


def run_size(backend: str, postgres: str | None, workdir: Path, size: int, queries: int, seed: int) -> Result:
    result = Result(backend, size)
    rng = random.Random(seed)
    print(f"== {backend}, {size:,} events", file=sys.stderr)
    with fresh_store(backend, postgres, workdir, size) as store:
        store.init(ACCOUNT)
        started = time.perf_counter()
        history = History(store, size, rng)
        history.build(Progress("building history", size))
        result.build_s = time.perf_counter() - started
        head = store.projector.head()
        result.events = head
        result.replay_rate = bare_replay(store, head)
        result.catch_up_rate = catch_up(store, head)
        chosen = samples(store, queries, rng)
        groups_seen = 0

        def membership(sample: Sample) -> None:
            nonlocal groups_seen
            answer = store.at(sample.position).list_groups_for_user(UserName=sample.user_name)
            groups_seen += len(answer["Groups"])

        def simulation(sample: Sample) -> None:
            store.at(sample.position).simulate_principal_policy(
                PolicySourceArn=sample.user_arn, ActionNames=SIMULATED_ACTIONS
            )

        result.membership = timed("as-of membership queries", chosen, membership)
        result.groups_seen = groups_seen
        result.simulation = timed("as-of simulations", chosen[: max(10, queries // 2)], simulation)
        result.time_lookup = timed("time -> position lookups", chosen[: max(10, queries // 20)], time_lookup(store))
    return result


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def report(results: list[Result], sizes: Sequence[int]) -> None:
    print()
    header = (
        f"{'backend':<9}{'events':>11}{'build s':>9}{'replay ev/s':>13}{'catch-up ev/s':>15}{'ratio':>7}"
        f"{'member p50':>12}{'p99 ms':>8}{'simul p50':>11}{'p99 ms':>8}{'at(time) p50':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.backend:<9}{r.events:>11,}{r.build_s:>9.1f}{r.replay_rate:>13,.0f}{r.catch_up_rate:>15,.0f}"
            f"{r.catch_up_rate / r.replay_rate:>6.0%} {r.membership[0]:>11.2f}{r.membership[1]:>8.2f}"
            f"{r.simulation[0]:>11.2f}{r.simulation[1]:>8.2f}{r.time_lookup[0]:>14.2f}"
        )
    print()
    small, large = min(sizes), max(sizes)
    for backend in dict.fromkeys(r.backend for r in results):
        by_size = {r.size: r for r in results if r.backend == backend}
        lo, hi = by_size[small], by_size[large]
        print(f"{backend}: targets at {hi.events:,} events against {lo.events:,}")
        picks = (
            ("as-of membership", "membership"),
            ("as-of simulation", "simulation"),
            ("at(time) lookup", "time_lookup"),
        )
        for label, pick in picks:
            p50_lo, p50_hi = getattr(lo, pick)[0], getattr(hi, pick)[0]
            ratio = p50_hi / p50_lo
            print(
                f"  {label:<18} p50 ratio {ratio:5.2f}x (target <= 2x: {verdict(ratio <= 2.0)}); "
                f"p50 {p50_hi:.2f} ms (target < 10 ms: {verdict(p50_hi < 10.0)})"
            )
        for r in (lo, hi):
            share = r.catch_up_rate / r.replay_rate
            print(
                f"  catch-up at {r.events:>9,} events: {r.catch_up_rate:,.0f} ev/s = {share:.0%} of bare replay "
                f"{r.replay_rate:,.0f} ev/s (target >= 50%: {verdict(share >= 0.5)})"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a CI smoke run (500 and 2,000 events)")
    parser.add_argument("--sizes", help="comma-separated history sizes (default 10000,1000000)")
    parser.add_argument("--queries", type=int, default=None, help="as-of queries per size (default 1000)")
    parser.add_argument("--db", help="also run on this PostgreSQL URL (a scratch schema, dropped afterwards)")
    parser.add_argument("--workdir", help="where the SQLite files go (default: a temporary folder, removed)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    else:
        sizes = [500, 2000] if args.quick else [10_000, 1_000_000]
    queries = args.queries or (40 if args.quick else 1000)
    if args.db and not args.db.startswith("postgresql://"):
        parser.error("--db takes a postgresql:// URL (SQLite always runs)")
    backends = ["sqlite"] + (["postgres"] if args.db else [])
    started = time.perf_counter()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="iamledger-timetravel-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = [
            run_size(backend, args.db, workdir, size, queries, args.seed) for backend in backends for size in sizes
        ]
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results, sizes)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
