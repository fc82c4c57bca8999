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

The import's steps: :mod:`~iamledger.services.import_workspace` (the aggregates it touches, saved in batches),
:mod:`~iamledger.services.import_account` (one account's import), and what it records:
:mod:`~iamledger.services.import_removals`, :mod:`~iamledger.services.import_policies`,
:mod:`~iamledger.services.import_principals`, :mod:`~iamledger.services.import_permissions`.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from iamledger.context import bound_audit_context
from iamledger.domain.audit import ANONYMOUS, AuditContext, audit_context
from iamledger.domain.errors import AccessDeniedError
from iamledger.domain.ids import root_arn
from iamledger.services.base import ServiceBase
from iamledger.services.dump import Dump, read_dump
from iamledger.services.import_account import AccountImport
from iamledger.services.import_policies import import_aws_policy, import_policy
from iamledger.services.import_principals import import_group, import_role, import_user
from iamledger.services.import_removals import delete_missing, delete_missing_policies
from iamledger.services.import_workspace import Changes, ImportWorkspace, ProgressCallback

USER_AGENT: Final = "iamledger-import"
DEFAULT_BATCH: Final = 500


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
        from iamledger.domain.imports import ImportRecord

        dump = read_dump(document)
        self._check_importer(dump)
        created_accounts = self._ensure_accounts(dump.account_ids)
        request_id = AuditContext.new_request_id()
        outer = audit_context.get()
        changes = Changes()
        workspace = ImportWorkspace(self, batch_size, progress)
        workspace.expected_events = _estimate(dump)
        for account_id in dump.account_ids:
            with bound_audit_context(_import_context(outer, account_id, request_id)):
                self.projector.catch_up()
                with self.engine.connect() as conn:
                    _import_account(AccountImport(self, workspace, dump, account_id, changes, conn))
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
            with bound_audit_context(_import_context(outer, dump.account_ids[0], request_id)):
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
                created.append(self.init(account_id))
            elif account_id not in registry:
                created.append(self.create_account(account_id))
        return created

    def _registry_account_ids(self) -> list[str] | None:
        registry = self._registry()
        return None if registry is None else list(registry.account_ids)


def _estimate(dump: Dump) -> int:
    """About how many events a first import records (for the progress bar)."""
    per_principal = sum(
        3 + len(p.inline) + 2 * len(p.attached) + len(p.tags) + 2 * len(getattr(p, "groups", []))
        for p in (*dump.users, *dump.groups, *dump.roles)
    )
    return per_principal + sum(1 + len(p.versions) for p in dump.policies)


def _import_context(outer: AuditContext | None, account_id: str, request_id: str) -> AuditContext:
    """The audit context of an import's events in ``account_id``: the caller's (the account's root when there is
    none), with the import's request id and user agent."""
    return AuditContext(
        actor=outer.actor if outer is not None else root_arn(account_id),
        request_id=request_id,
        access_key_id=outer.access_key_id if outer is not None else None,
        source_ip=outer.source_ip if outer is not None else None,
        user_agent=USER_AGENT,
    )


def _import_account(account: AccountImport) -> None:
    """Record the differences between the store and the dump in one account: the users, roles and groups the dump
    no longer has go first, then come the policies, groups, users and roles it shows (the groups before the users who
    join them), and last the customer managed policies it no longer has go."""
    delete_missing(account)
    for policy in account.policies:
        import_policy(account, policy)
    if account.account_id == account.dump.account_ids[0]:
        for policy in (p for p in account.dump.policies if p.aws_managed):
            import_aws_policy(account, policy, account.catalogue)
    for group in account.groups:
        import_group(account, group)
    for user in account.users:
        import_user(account, user)
    for role in account.roles:
        import_role(account, role)
    delete_missing_policies(account)
