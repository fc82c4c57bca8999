"""The import of one account of a dump: what the dump holds for the account, what the store holds (its live users,
groups and roles by their AWS ids, the AWS managed policies it knows), and where the import's aggregates and changes
go."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from iamledger.projections.views.catalogue import AWS_ACCOUNT, StoreCatalogue
from iamledger.projections.views.groups import current_groups
from iamledger.projections.views.roles import current_roles
from iamledger.projections.views.users import current_users
from iamledger.services.base import ServiceBase
from iamledger.services.dump import Dump
from iamledger.services.import_workspace import Changes, ImportWorkspace, name_index_id

if TYPE_CHECKING:
    from iamledger.domain.groups import Group


class AccountImport:
    """The import of one account: plan and record the differences between the store and the dump (the steps are
    the functions of the ``iamledger.services.import_*`` modules, run by
    :meth:`~iamledger.services.importer.ImportService.import_authorization_details`)."""

    def __init__(
        self,
        service: ServiceBase,
        workspace: ImportWorkspace,
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
        from iamledger.domain.instance_profiles import InstanceProfile
        from iamledger.domain.policies import ManagedPolicy

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
