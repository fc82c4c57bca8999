"""Importing an account's authorization details (``aws iam get-account-authorization-details``) as events.

The first import of an account records its users, groups, memberships, roles with trust policies and instance
profiles, customer managed policies with every version, the AWS managed policies it uses that the built-in catalogue
lacks (or knows in another version), inline policies, attachments, boundaries and tags, keeping the ids, ARNs and
create dates it is given. A later import of a newer dump records only the differences, as the ordinary events of
the operations that would have made them (``User.AddedToGroup``, ``ManagedPolicy.VersionCreated``, ...): the
history of successive dumps becomes a timeline. Importing the same dump again records nothing.

Every event of one import carries the import's request id and the user agent ``iamledger-import/VERSION``, and an
``ImportRecord.Recorded`` event names the source file, its SHA-256 and what changed. What AWS accepted is accepted
as it is: the importer records the state the dump shows, not the operations that built it, so quotas that AWS lets
accounts raise (managed policies per principal) and rules of operations (service-linked roles are unmodifiable) do
not refuse a dump.
"""

from __future__ import annotations

import functools
import gc
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Connection

from iamledger.context import bound_audit_context
from iamledger.domain.audit import ANONYMOUS, AuditContext, audit_context
from iamledger.domain.errors import AccessDeniedError
from iamledger.domain.groups import Group
from iamledger.domain.ids import root_arn
from iamledger.domain.imports import ImportRecord
from iamledger.domain.instance_profiles import InstanceProfile
from iamledger.domain.names import NameIndex
from iamledger.domain.permissions import PermissionsHolder
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.roles import DEFAULT_MAX_SESSION_DURATION, Role
from iamledger.domain.users import User
from iamledger.projections.catalogue import AWS_ACCOUNT, StoreCatalogue
from iamledger.projections.groups import current_groups
from iamledger.projections.policies import customer_policies
from iamledger.projections.roles import current_roles
from iamledger.projections.users import current_users
from iamledger.services.base import ServiceBase
from iamledger.services.dump import (
    Dump,
    DumpInstanceProfile,
    DumpPolicy,
    DumpRole,
    DumpUser,
    Principal,
    malformed,
    read_dump,
)

USER_AGENT: Final = "iamledger-import"
DEFAULT_BATCH: Final = 500
ProgressCallback = Callable[[int, int], None]


GC_THRESHOLD: Final = 20_000  # allocations between two young-generation collections while an import runs
_gc_lock = threading.Lock()
_gc_imports = 0
_gc_thresholds: tuple[int, int, int] = (0, 0, 0)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Fewer cyclic garbage collections while an import runs. An import allocates hundreds of thousands of objects
    that live until it ends (the dump, aggregates, events), and with Python's default thresholds (a young collection
    every 700 net allocations, an older one every ten of those) the collector scans them over and over: about a
    tenth of an import's time. The young threshold is raised to :data:`GC_THRESHOLD` (never lowered) and restored
    when the last running import ends; nothing is collected less in the end, only in fewer, larger passes."""
    global _gc_imports, _gc_thresholds  # noqa: PLW0603 - one process-wide setting, shared by concurrent imports
    with _gc_lock:
        if _gc_imports == 0:
            _gc_thresholds = gc.get_threshold()
            young, middle, old = _gc_thresholds
            gc.set_threshold(max(young, GC_THRESHOLD), middle, old)
        _gc_imports += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_imports -= 1
            if _gc_imports == 0:
                gc.set_threshold(*_gc_thresholds)


@functools.lru_cache(maxsize=65536)
def name_index_id(account_id: str, kind: str, name: str) -> uuid.UUID:
    """:meth:`NameIndex.create_id`, remembered: an import asks for each name's index several times."""
    return NameIndex.create_id(account_id, kind, name)


def _same_document(left: str, right: str) -> bool:
    """Whether two policy documents are the same JSON (whitespace and key order aside)."""
    try:
        return bool(json.loads(left) == json.loads(right))
    except ValueError:
        return left == right


@dataclass(slots=True)
class Changes:
    """What an import changed, counted by kind of change (the keys of the import's summary)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, number: int = 1) -> None:
        if number:
            self.counts[what] = self.counts.get(what, 0) + number

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _Workspace:
    """The aggregates an import touches, loaded once and saved in batches of ``batch_size`` aggregates."""

    def __init__(self, service: ImportService, batch_size: int, progress: ProgressCallback | None) -> None:
        self.service = service
        self.batch_size = batch_size
        self.progress = progress
        self.cache: dict[uuid.UUID, Any] = {}
        self.missing: set[uuid.UUID] = set()
        self.dirty: dict[uuid.UUID, Any] = {}
        self.saved_events = 0
        self.expected_events = 0
        self.after_save: list[Callable[[], None]] = []  # vault clean-ups of deleted credentials

    def get(self, entity_id: uuid.UUID) -> Any:
        if entity_id in self.cache:
            return self.cache[entity_id]
        if entity_id in self.missing:
            return None
        try:
            aggregate: Any = self.service.repository.get(entity_id)
        except AggregateNotFoundError:
            self.missing.add(entity_id)
            return None
        self.cache[entity_id] = aggregate
        return aggregate

    def known_absent(self, entity_ids: list[uuid.UUID]) -> None:
        """Learn in one query which of ``entity_ids`` have no events, so that loading them costs nothing."""
        unknown = [i for i in entity_ids if i not in self.cache and i not in self.missing]
        self.missing.update(set(unknown) - self.service.existing_aggregates(unknown))  # type: ignore[attr-defined]

    def touch(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            self.cache[aggregate.id] = aggregate
            self.missing.discard(aggregate.id)
            self.dirty[aggregate.id] = aggregate
        if len(self.dirty) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch = [a for a in self.dirty.values() if a.pending_events]
        self.dirty.clear()
        if not batch:
            return
        events = sum(len(a.pending_events) for a in batch)
        self.service.save(*batch)
        self.saved_events += events
        for action in self.after_save:
            action()
        self.after_save.clear()
        if self.progress is not None:
            self.progress(self.saved_events, max(self.expected_events, self.saved_events))

    # -- names ----------------------------------------------------------------------------------------------------

    def index(self, account_id: str, kind: str, name: str) -> NameIndex | None:
        found: NameIndex | None = self.get(name_index_id(account_id, kind, name))
        return found

    def holder(self, account_id: str, kind: str, name: str) -> Any:
        """The live entity holding ``name``, or ``None``."""
        index = self.index(account_id, kind, name)
        if index is None or index.entity_id is None:
            return None
        return self.get(index.entity_id)

    def claim(self, account_id: str, kind: str, name: str, entity_id: uuid.UUID) -> None:
        index = self.index(account_id, kind, name)
        if index is None:  # created with the id already computed (NameIndex(...) would compute it again)
            index = NameIndex.create_with_id(
                name_index_id(account_id, kind, name), account_id=account_id, kind=kind, name=name, entity_id=entity_id
            )
        else:
            index.claim(name, entity_id, f"The {kind} name {name} is taken.")
        self.touch(index)

    def release(self, account_id: str, kind: str, name: str) -> None:
        index = self.index(account_id, kind, name)
        if index is not None:
            index.release()
            self.touch(index)


class ImportService(ServiceBase):
    """``import_authorization_details``: load an account dump as events."""

    def import_authorization_details(
        self,
        document: Any,
        *,
        source: str = "<document>",
        sha256: str | None = None,
        progress: ProgressCallback | None = None,
        batch_size: int = DEFAULT_BATCH,
    ) -> dict[str, Any]:
        """Import a parsed ``GetAccountAuthorizationDetails`` response (one, or a list of pages) and return a summary:
        ``{"Accounts", "Source", "Sha256", "RequestId", "Changes": {...}, "ChangeCount", "Events"}``.

        Everything is checked first (``MalformedAuthorizationDetails`` with the JSON path of the problem); nothing is
        written then. Accounts the store lacks are created (with a root access key, returned once under
        ``CreatedAccounts``). Only an account's root (or the local administrator) may import into it.
        """
        with fewer_collections():
            return self._import(document, source, sha256, progress, batch_size)

    def _import(
        self, document: Any, source: str, sha256: str | None, progress: ProgressCallback | None, batch_size: int
    ) -> dict[str, Any]:
        dump = read_dump(document)
        self._check_importer(dump)
        created_accounts = self._ensure_accounts(dump.account_ids)
        request_id = AuditContext.new_request_id()
        outer = audit_context.get()
        changes = Changes()
        workspace = _Workspace(self, batch_size, progress)
        workspace.expected_events = _estimate(dump)
        for account_id in dump.account_ids:
            ctx = AuditContext(
                actor=outer.actor if outer is not None else root_arn(account_id),
                request_id=request_id,
                access_key_id=outer.access_key_id if outer is not None else None,
                source_ip=outer.source_ip if outer is not None else None,
                user_agent=USER_AGENT,
            )
            with bound_audit_context(ctx):
                self.projector.catch_up()
                with self.engine.connect() as conn:
                    _Importer(self, workspace, dump, account_id, changes, conn).run()
                workspace.flush()
        summary: dict[str, Any] = {
            "Accounts": dump.account_ids,
            "Source": source,
            "Sha256": sha256,
            "RequestId": request_id,
            "Contents": dump.counts(),
            "Changes": dict(sorted(changes.counts.items())),
            "ChangeCount": changes.total,
            "Events": workspace.saved_events,
        }
        if changes.total:
            ctx = AuditContext(
                actor=outer.actor if outer is not None else root_arn(dump.account_ids[0]),
                request_id=request_id,
                access_key_id=outer.access_key_id if outer is not None else None,
                source_ip=outer.source_ip if outer is not None else None,
                user_agent=USER_AGENT,
            )
            with bound_audit_context(ctx):
                record = ImportRecord(
                    accounts=dump.account_ids,
                    source=source,
                    sha256=sha256,
                    contents=dump.counts(),
                    changes=dict(sorted(changes.counts.items())),
                )
                self.save(record)
                summary["Events"] += 1
        if created_accounts:
            summary["CreatedAccounts"] = created_accounts
        return summary

    def _check_importer(self, dump: Dump) -> None:
        """Only the root of every account of the dump (or the unbound local administrator) may import."""
        ctx = audit_context.get()
        if ctx is None or ctx.actor == ANONYMOUS:
            return
        for account_id in dump.account_ids:
            if ctx.actor != root_arn(account_id) and account_id in self.account_ids():
                msg = (
                    f"User: {ctx.actor} is not authorized to import authorization details into account {account_id}: "
                    "only the account's root user may."
                )
                raise AccessDeniedError(msg)

    def _ensure_accounts(self, account_ids: Iterable[str]) -> list[dict[str, Any]]:
        created = []
        for account_id in account_ids:
            registry = self._registry_account_ids()
            if registry is None:
                created.append(self.init(account_id))  # type: ignore[attr-defined]
            elif account_id not in registry:
                created.append(self.create_account(account_id))  # type: ignore[attr-defined]
        return created

    def _registry_account_ids(self) -> list[str] | None:
        registry = self._registry()  # type: ignore[attr-defined]
        return None if registry is None else list(registry.account_ids)


def _estimate(dump: Dump) -> int:
    """About how many events a first import records (for the progress bar)."""
    per_principal = sum(
        3 + len(p.inline) + 2 * len(p.attached) + len(p.tags) + 2 * len(getattr(p, "groups", []))
        for p in (*dump.users, *dump.groups, *dump.roles)
    )
    return per_principal + sum(1 + len(p.versions) for p in dump.policies)


class _Importer:
    """The import of one account: plan and record the differences between the store and the dump."""

    def __init__(
        self,
        service: ImportService,
        workspace: _Workspace,
        dump: Dump,
        account_id: str,
        changes: Changes,
        conn: Connection,
    ) -> None:
        self.service = service
        self.ws = workspace
        self.dump = dump
        self.account_id = account_id
        self.changes = changes
        self.conn = conn
        self.users = [u for u in dump.users if u.account_id == account_id]
        self.groups = [g for g in dump.groups if g.account_id == account_id]
        self.roles = [r for r in dump.roles if r.account_id == account_id]
        self.policies = [p for p in dump.policies if p.account_id == account_id]
        self.group_entities: dict[str, Group] = {}
        self.catalogue = StoreCatalogue(conn)
        # The store's live users, groups and roles by their AWS id (read once: a dump is matched against them).
        self.by_id: dict[str, dict[str, str]] = {
            "user": {str(r["user_id"]): str(r["entity_uuid"]) for r in current_users(conn, account_id)},
            "group": {str(r["group_id"]): str(r["entity_uuid"]) for r in current_groups(conn, account_id)},
            "role": {str(r["role_id"]): str(r["entity_uuid"]) for r in current_roles(conn, account_id)},
        }
        workspace.known_absent(self._name_ids())

    def _name_ids(self) -> list[uuid.UUID]:
        """The name indexes this import may claim: checked for existence in one query instead of one each."""
        ids = [name_index_id(self.account_id, "user", u.name) for u in self.users]
        ids += [name_index_id(self.account_id, "group", g.name) for g in self.groups]
        ids += [name_index_id(self.account_id, "role", r.name) for r in self.roles]
        ids += [name_index_id(self.account_id, ManagedPolicy.kind, p.name) for p in self.policies]
        ids += [
            name_index_id(self.account_id, InstanceProfile.kind, profile.name)
            for r in self.roles
            for profile in r.instance_profiles
        ]
        if self.account_id == self.dump.account_ids[0]:
            ids += [name_index_id(AWS_ACCOUNT, ManagedPolicy.kind, p.name) for p in self.dump.policies]
        return ids

    def run(self) -> None:
        self._delete_missing()
        for policy in self.policies:
            self._policy(policy)
        if self.account_id == self.dump.account_ids[0]:
            for policy in (p for p in self.dump.policies if p.aws_managed):
                self._aws_policy(policy, self.catalogue)
        for group in self.groups:
            self._group(group)
        for user in self.users:
            self._user(user)
        for role in self.roles:
            self._role(role)
        self._delete_missing_policies()

    # -- what the dump no longer has --------------------------------------------------------------------------

    def _delete_missing(self) -> None:
        """Delete the users, roles and groups the store has and the dump does not (matched by id, then name)."""
        for kind, wanted in (("user", self.users), ("role", self.roles), ("group", self.groups)):
            kept = {p.entity_id for p in wanted}
            for entity_id, entity_uuid in list(self.by_id[kind].items()):
                if entity_id not in kept:
                    self._delete_principal(self.ws.get(uuid.UUID(entity_uuid)))
                    del self.by_id[kind][entity_id]

    def _delete_principal(self, entity: Any) -> None:
        if entity is None:
            return
        for arn in list(entity.attached_policies):
            self._detach(entity, arn)
        for name in list(entity.inline_policies):
            entity.trigger_event(entity.InlinePolicyDeleted, policy_name=name)
        if getattr(entity, "permissions_boundary", None) is not None:
            entity.trigger_event(entity.PermissionsBoundaryDeleted)
        if isinstance(entity, User):
            self._strip_user(entity)
        if isinstance(entity, Group):
            for user_id in list(entity.members):
                self._leave(self.ws.get(user_id), entity)
        if isinstance(entity, Role):
            self._strip_role(entity)
        entity.trigger_event(entity.Deleted)
        self.ws.release(self.account_id, entity.kind, entity.display_name)
        self.ws.touch(entity)
        self.changes.add(f"{entity.kind.capitalize()}sDeleted")

    def _strip_role(self, role: Role) -> None:
        for profile_id in list(role.instance_profiles):
            profile = self.ws.get(profile_id)
            if profile is not None:
                profile.remove_role(role.id, role.role_name)
                self.ws.touch(profile)
            role.trigger_event(role.RemovedFromInstanceProfile, instance_profile_uuid=profile_id)

    def _strip_user(self, user: User) -> None:
        """What AWS makes one remove before deleting a user: groups, password, access keys (their secrets too)."""
        for group_id in list(user.groups):
            self._leave(user, self.ws.get(group_id))
        if user.login_profile is not None:
            user.delete_login_profile()
            self.ws.after_save.append(self.service._passwords(user).forget)  # type: ignore[attr-defined]  # noqa: SLF001
        vault = self.service.vault
        for key_id in list(user.access_keys):
            user.delete_access_key(key_id)
            self.ws.after_save.append(functools.partial(vault.delete_secret, key_id))

    def _delete_missing_policies(self) -> None:
        kept = {p.arn for p in self.policies}
        for row in customer_policies(self.conn, self.account_id):
            if row["arn"] in kept:
                continue
            policy = self.ws.get(uuid.UUID(row["entity_uuid"]))
            if policy is None or policy.deleted:
                continue
            for version_id in [v for v in policy.versions if v != policy.default_version_id]:
                policy.delete_version(version_id)
            for entity_id in list(policy.attachments):
                holder = self.ws.get(entity_id)
                if holder is not None and policy.arn in holder.attached_policies:
                    self._detach(holder, policy.arn)
            policy.trigger_event(policy.Deleted)
            self.ws.release(self.account_id, ManagedPolicy.kind, policy.policy_name)
            self.ws.touch(policy)
            self.changes.add("PoliciesDeleted")

    # -- managed policies -------------------------------------------------------------------------------------

    def _policy(self, wanted: DumpPolicy) -> None:
        existing = self.ws.holder(self.account_id, ManagedPolicy.kind, wanted.name)
        if existing is not None and existing.policy_id != wanted.policy_id:
            self._delete_policy_for_replacement(existing)
            existing = None
        if existing is None:
            self._create_policy(self.account_id, wanted, wanted.versions)
            self.changes.add("PoliciesCreated")
            return
        self._update_versions(existing, wanted)

    def _delete_policy_for_replacement(self, policy: ManagedPolicy) -> None:
        for entity_id in list(policy.attachments):
            holder = self.ws.get(entity_id)
            if holder is not None and policy.arn in holder.attached_policies:
                self._detach(holder, policy.arn)
        for version_id in [v for v in policy.versions if v != policy.default_version_id]:
            policy.delete_version(version_id)
        policy.trigger_event(policy.Deleted)
        self.ws.release(policy.account_id, ManagedPolicy.kind, policy.policy_name)
        self.ws.touch(policy)
        self.changes.add("PoliciesDeleted")

    def _create_policy(self, account_id: str, wanted: DumpPolicy, versions: list[Any]) -> ManagedPolicy:
        first, *rest = versions
        entity_id = uuid.uuid4()
        self.ws.claim(account_id, ManagedPolicy.kind, wanted.name, entity_id)
        policy = ManagedPolicy.create_with_id(
            entity_id,
            account_id=account_id,
            policy_id=wanted.policy_id,
            policy_name=wanted.name,
            path=wanted.path,
            description=wanted.description,
            document=first.document,
            tags=[],
            first_version_id=first.version_id,
            create_date=wanted.create_date,
            update_date=wanted.update_date if first.version_id == wanted.default_version_id else None,
            version_create_date=first.create_date,
        )
        for version in rest:
            default = version.version_id == wanted.default_version_id
            policy.trigger_event(
                policy.VersionCreated,
                version_id=version.version_id,
                document=version.document,
                set_as_default=default,
                create_date=version.create_date,
                update_date=wanted.update_date if default else None,
            )
        self.ws.touch(policy)
        return policy

    def _update_versions(self, policy: ManagedPolicy, wanted: DumpPolicy) -> None:
        wanted_ids = {v.version_id for v in wanted.versions}
        if wanted.default_version_id in policy.versions and policy.default_version_id != wanted.default_version_id:
            policy.trigger_event(
                policy.DefaultVersionSet, version_id=wanted.default_version_id, update_date=wanted.update_date
            )
            self.changes.add("DefaultVersionsSet")
        for version_id in [v for v in policy.versions if v not in wanted_ids]:
            if version_id == policy.default_version_id:
                continue  # replaced below, once the new default exists
            policy.trigger_event(policy.VersionDeleted, version_id=version_id)
            self.changes.add("PolicyVersionsDeleted")
        for version in wanted.versions:
            stored = policy.versions.get(version.version_id)
            if stored is not None and _same_document(stored.document, version.document):
                continue
            if stored is not None:  # same id, another document: the dump is of a different history
                if version.version_id == policy.default_version_id:
                    continue
                policy.trigger_event(policy.VersionDeleted, version_id=version.version_id)
            default = version.version_id == wanted.default_version_id
            policy.trigger_event(
                policy.VersionCreated,
                version_id=version.version_id,
                document=version.document,
                set_as_default=default and policy.default_version_id != version.version_id,
                create_date=version.create_date,
                update_date=wanted.update_date if default else None,
            )
            self.changes.add("PolicyVersionsCreated")
        if policy.default_version_id not in wanted_ids:
            old = policy.default_version_id
            policy.trigger_event(
                policy.DefaultVersionSet, version_id=wanted.default_version_id, update_date=wanted.update_date
            )
            policy.trigger_event(policy.VersionDeleted, version_id=old)
            self.changes.add("PolicyVersionsDeleted")
        if policy.pending_events:
            self.ws.touch(policy)

    def _aws_policy(self, wanted: DumpPolicy, catalogue: StoreCatalogue) -> None:
        """An AWS managed policy of the dump: recorded (default version only) when the store does not know it in
        that version with that document."""
        known = catalogue.get(wanted.arn)
        if (
            known is not None
            and known["DefaultVersionId"] == wanted.default_version_id
            and _same_document(str(known["Document"]), wanted.default_document)
        ):
            return
        default = next(v for v in wanted.versions if v.version_id == wanted.default_version_id)
        stored = self.ws.holder(AWS_ACCOUNT, ManagedPolicy.kind, wanted.name)
        if stored is None:
            self._create_policy(AWS_ACCOUNT, wanted, [default])
            self.changes.add("AWSManagedPoliciesRecorded")
            return
        if wanted.default_version_id not in stored.versions:
            if len(stored.versions) >= 5:  # noqa: PLR2004 - keep at most AWS's five versions
                oldest = next(v for v in stored.versions if v != stored.default_version_id)
                stored.trigger_event(stored.VersionDeleted, version_id=oldest)
            stored.trigger_event(
                stored.VersionCreated,
                version_id=default.version_id,
                document=default.document,
                set_as_default=True,
                create_date=default.create_date,
                update_date=wanted.update_date,
            )
        elif stored.default_version_id != wanted.default_version_id:
            stored.trigger_event(
                stored.DefaultVersionSet, version_id=wanted.default_version_id, update_date=wanted.update_date
            )
        self.ws.touch(stored)
        self.changes.add("AWSManagedPoliciesUpdated")

    # -- principals --------------------------------------------------------------------------------------------

    def _existing(self, kind: str, wanted: Principal, id_attribute: str) -> Any:
        """The store's entity for ``wanted``: the live one with its id (renamed or moved, perhaps), else none. A
        different entity holding the name (deleted and recreated in AWS) is deleted first."""
        by_name = self.ws.holder(self.account_id, kind, wanted.name)
        if by_name is not None and getattr(by_name, id_attribute) == wanted.entity_id:
            return by_name
        if by_name is not None:
            self._delete_principal(by_name)
        entity_uuid = self.by_id[kind].get(wanted.entity_id)
        return None if entity_uuid is None else self.ws.get(uuid.UUID(entity_uuid))

    def _rename(self, entity: Any, kind: str, wanted: Principal) -> None:
        if entity.display_name != wanted.name:
            self.ws.release(self.account_id, kind, entity.display_name)
            self.ws.claim(self.account_id, kind, wanted.name, entity.id)
            entity.update(wanted.name, wanted.path)
            self.changes.add(f"{kind.capitalize()}sRenamed")
        elif entity.path != wanted.path:
            entity.update(wanted.name, wanted.path)
            self.changes.add(f"{kind.capitalize()}sMoved")

    def _group(self, wanted: Principal) -> None:
        group = self._existing("group", wanted, "group_id")
        if group is None:
            entity_id = uuid.uuid4()
            self.ws.claim(self.account_id, "group", wanted.name, entity_id)
            group = Group.create_with_id(
                entity_id,
                account_id=self.account_id,
                group_id=wanted.entity_id,
                group_name=wanted.name,
                path=wanted.path,
                create_date=wanted.create_date,
            )
            self.changes.add("GroupsCreated")
        else:
            self._rename(group, "group", wanted)
        self.group_entities[wanted.name.lower()] = group
        self._permissions(group, wanted)
        self.ws.touch(group)

    def _user(self, wanted: DumpUser) -> None:
        user = self._existing("user", wanted, "user_id")
        if user is None:
            entity_id = uuid.uuid4()
            self.ws.claim(self.account_id, "user", wanted.name, entity_id)
            user = User.create_with_id(
                entity_id,
                account_id=self.account_id,
                user_id=wanted.entity_id,
                user_name=wanted.name,
                path=wanted.path,
                permissions_boundary=wanted.boundary,
                tags=[{"Key": k, "Value": v} for k, v in wanted.tags],
                create_date=wanted.create_date,
            )
            self.changes.add("UsersCreated")
        else:
            self._rename(user, "user", wanted)
            self._boundary(user, wanted)
            self._tags(user, wanted)
        self._permissions(user, wanted)
        wanted_groups = {g.lower() for g in wanted.groups}
        for group_id, group_name in list(user.groups.items()):
            if group_name.lower() not in wanted_groups:
                self._leave(user, self.ws.get(group_id))
        for name in wanted.groups:
            group = self.group_entities[name.lower()]
            if group.id not in user.groups:
                user.trigger_event(user.AddedToGroup, group_id=group.id, group_name=group.group_name)
                group.trigger_event(group.MemberAdded, user_id=user.id)
                self.ws.touch(group)
                self.changes.add("MembershipsAdded")
        self.ws.touch(user)

    def _leave(self, user: User | None, group: Group | None) -> None:
        if user is None or group is None:
            return
        if group.id in user.groups:
            user.leave_group(group.id)
            self.ws.touch(user)
        if user.id in group.members:
            group.remove_member(user.id)
            self.ws.touch(group)
        self.changes.add("MembershipsRemoved")

    def _role(self, wanted: DumpRole) -> None:
        role = self._existing("role", wanted, "role_id")
        if role is None:
            entity_id = uuid.uuid4()
            self.ws.claim(self.account_id, "role", wanted.name, entity_id)
            role = Role.create_with_id(
                entity_id,
                account_id=self.account_id,
                role_id=wanted.entity_id,
                role_name=wanted.name,
                path=wanted.path,
                assume_role_policy_document=wanted.trust_policy,
                description=wanted.description,
                max_session_duration=wanted.max_session_duration or DEFAULT_MAX_SESSION_DURATION,
                permissions_boundary=wanted.boundary,
                tags=[{"Key": k, "Value": v} for k, v in wanted.tags],
                create_date=wanted.create_date,
            )
            self.changes.add("RolesCreated")
        else:
            if not _same_document(role.assume_role_policy_document, wanted.trust_policy):
                role.trigger_event(role.AssumeRolePolicyUpdated, policy_document=wanted.trust_policy)
                self.changes.add("TrustPoliciesUpdated")
            description = wanted.description if wanted.description is not None else role.description
            duration = wanted.max_session_duration or role.max_session_duration
            if (description, duration) != (role.description, role.max_session_duration):
                role.trigger_event(role.Updated, description=description, max_session_duration=duration)
                self.changes.add("RolesUpdated")
            self._boundary(role, wanted)
            self._tags(role, wanted)
        if wanted.last_used is not None and role.last_used != wanted.last_used:
            role.record_use(wanted.last_used[0], wanted.last_used[1], always=True)
            self.changes.add("RoleUsesRecorded")
        self._permissions(role, wanted)
        self.ws.touch(role)
        self._instance_profiles(role, wanted)

    def _instance_profiles(self, role: Role, wanted: DumpRole) -> None:
        wanted_names = {p.name.lower() for p in wanted.instance_profiles}
        for profile_id, profile_name in list(role.instance_profiles.items()):
            if profile_name.lower() not in wanted_names:
                profile = self.ws.get(profile_id)
                if profile is not None:
                    profile.remove_role(role.id, role.role_name)
                    self.ws.touch(profile)
                role.trigger_event(role.RemovedFromInstanceProfile, instance_profile_uuid=profile_id)
                self.changes.add("InstanceProfileRolesRemoved")
        for wanted_profile in wanted.instance_profiles:
            profile = self._instance_profile(wanted_profile)
            if profile.id not in role.instance_profiles:
                for other_id, other_name in list(profile.roles.items()):
                    other = self.ws.get(other_id)
                    profile.remove_role(other_id, other_name)
                    if other is not None:
                        other.trigger_event(other.RemovedFromInstanceProfile, instance_profile_uuid=profile.id)
                        self.ws.touch(other)
                profile.trigger_event(profile.RoleAdded, role_uuid=role.id, role_name=role.role_name)
                role.trigger_event(
                    role.AddedToInstanceProfile,
                    instance_profile_uuid=profile.id,
                    instance_profile_name=profile.instance_profile_name,
                )
                self.ws.touch(profile)
                self.changes.add("InstanceProfileRolesAdded")
        self.ws.touch(role)

    def _instance_profile(self, wanted: DumpInstanceProfile) -> InstanceProfile:
        existing = self.ws.holder(self.account_id, InstanceProfile.kind, wanted.name)
        if existing is not None and existing.instance_profile_id == wanted.profile_id:
            return existing  # type: ignore[no-any-return]
        if existing is not None:  # another profile of that name: deleted and recreated in AWS
            for other_id, other_name in list(existing.roles.items()):
                existing.remove_role(other_id, other_name)
                other = self.ws.get(other_id)
                if other is not None:
                    other.trigger_event(other.RemovedFromInstanceProfile, instance_profile_uuid=existing.id)
                    self.ws.touch(other)
            existing.delete()
            self.ws.release(self.account_id, InstanceProfile.kind, existing.instance_profile_name)
            self.ws.touch(existing)
        entity_id = uuid.uuid4()
        self.ws.claim(self.account_id, InstanceProfile.kind, wanted.name, entity_id)
        profile = InstanceProfile.create_with_id(
            entity_id,
            account_id=self.account_id,
            instance_profile_id=wanted.profile_id,
            instance_profile_name=wanted.name,
            path=wanted.path,
            tags=[{"Key": k, "Value": v} for k, v in wanted.tags],
            create_date=wanted.create_date,
        )
        self.ws.touch(profile)
        self.changes.add("InstanceProfilesCreated")
        return profile

    # -- what principals share ---------------------------------------------------------------------------------

    def _boundary(self, entity: User | Role, wanted: Principal) -> None:
        if entity.permissions_boundary == wanted.boundary:
            return
        if wanted.boundary is None:
            entity.trigger_event(entity.PermissionsBoundaryDeleted)
        else:
            entity.trigger_event(entity.PermissionsBoundaryPut, policy_arn=wanted.boundary)
        self.changes.add("BoundariesChanged")

    def _tags(self, entity: User | Role, wanted: Principal) -> None:
        current = dict(entity.tags)
        desired = dict(wanted.tags)
        removed = [k for k in current if k not in desired]
        if removed:
            entity.trigger_event(entity.Untagged, tag_keys=removed)
            self.changes.add("TagsRemoved", len(removed))
        changed = [(k, v) for k, v in wanted.tags if current.get(k) != v]
        if changed:
            entity.trigger_event(entity.Tagged, tags=[{"Key": k, "Value": v} for k, v in changed])
            self.changes.add("TagsSet", len(changed))

    def _permissions(self, entity: PermissionsHolder, wanted: Principal) -> None:
        for name in [n for n in entity.inline_policies if n not in wanted.inline]:
            entity.trigger_event(entity.InlinePolicyDeleted, policy_name=name)
            self.changes.add("InlinePoliciesDeleted")
        for name, document in wanted.inline.items():
            stored = entity.inline_policies.get(name)
            if stored is None or not _same_document(stored, document):
                entity.trigger_event(entity.InlinePolicyPut, policy_name=name, policy_document=document)
                self.changes.add("InlinePoliciesPut")
        for arn in [a for a in entity.attached_policies if a not in wanted.attached]:
            self._detach(entity, arn)
            self.changes.add("PoliciesDetached")
        for arn in wanted.attached:
            if arn not in entity.attached_policies:
                self._attach(entity, arn)
                self.changes.add("PoliciesAttached")

    def _policy_entity(self, arn: str) -> ManagedPolicy | None:
        parts = arn.split(":", 5)
        account, name = parts[4], arn.rsplit("/", 1)[1]
        if account == AWS_ACCOUNT:
            return None
        policy: ManagedPolicy | None = self.ws.holder(account, ManagedPolicy.kind, name)
        return policy

    def _attach(self, entity: PermissionsHolder, arn: str) -> None:
        policy = self._policy_entity(arn)
        if arn.split(":")[4] == AWS_ACCOUNT:
            if (
                self.catalogue.get(arn) is None
                and self.ws.holder(AWS_ACCOUNT, ManagedPolicy.kind, arn.rsplit("/", 1)[1]) is None
            ):
                raise malformed(
                    f"$ ({entity.kind} {entity.display_name})",
                    f"the AWS managed policy {arn} is attached, but neither the file nor the catalogue has it",
                )
        elif policy is None or policy.arn != arn:
            raise malformed(
                f"$ ({entity.kind} {entity.display_name})",
                f"the policy {arn} is attached, but neither the file nor the store has it",
            )
        entity.trigger_event(entity.PolicyAttached, policy_arn=arn)
        if policy is not None:
            policy.record_attachment(entity.id, entity.kind)
            self.ws.touch(policy)

    def _detach(self, entity: PermissionsHolder, arn: str) -> None:
        entity.trigger_event(entity.PolicyDetached, policy_arn=arn)
        policy = self._policy_entity(arn)
        if policy is not None:
            policy.record_detachment(entity.id)
            self.ws.touch(policy)
        self.ws.touch(entity)
